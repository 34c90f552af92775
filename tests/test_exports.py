import struct

import numpy as np
import plotly.graph_objects as go
import pytest

from ktdemo.inspection.attention import Inspection
from ktdemo.outputs import exports

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which follows the signature and the chunk length and type."""
    header = path.read_bytes()[:24]
    assert header[:8] == PNG_SIGNATURE and header[12:16] == b"IHDR"
    return struct.unpack(">II", header[16:24])


@pytest.fixture
def figure():
    return go.Figure(go.Heatmap(z=[[0.25, 0.75], [0.6, 0.4]], x=["fine", "film"], y=["fine", "film"]),
                     layout=dict(title="L1 H1", width=300, height=200))


@pytest.fixture
def inspection():
    weights = np.random.default_rng(0).dirichlet(np.ones(4), size=(2, 3, 4)).astype(np.float32)
    return Inspection(tokens=["[CLS]", "un", "##fine", "[SEP]"], attentions=weights,
                      probabilities={"negative": 0.3, "positive": 0.7}, truncated=True,
                      word_ids=[None, 0, 0, None], special=[True, False, False, True])


needs_png = pytest.mark.skipif(not exports.png_available(), reason="kaleido 0.2.x (the offline PNG renderer) is not installed")


def test_html_is_standalone(figure, tmp_path):
    html = exports.figure_html(figure, tmp_path / "f.html").read_text(encoding="utf-8")
    assert "plotly.js v" in html and "cdn.plot.ly" not in html.split("</script>")[0]  # the bundle itself, inline
    assert '"fine","film"' in html and "L1 H1" in html  # the figure's data and title


@needs_png
def test_png_has_the_figure_size_times_scale(figure, tmp_path):
    assert png_size(exports.figure_png(figure, tmp_path / "f.png", scale=2)) == (600, 400)
    responsive = go.Figure(go.Bar(y=[1, 2]))  # no width/height: the export falls back to a fixed size
    width, height = exports.DEFAULT_SIZE
    assert png_size(exports.figure_png(responsive, tmp_path / "r.png", scale=1)) == (width, height)


def test_attention_npz_round_trips(inspection, tmp_path):
    path = exports.attention_npz(inspection, tmp_path / "a.npz", model="tiny-bert", text="Unfine.")
    with np.load(path, allow_pickle=False) as saved:  # readable without pickle, by anyone with numpy
        assert saved["attentions"].dtype == np.float32 and saved["attentions"].shape == (2, 3, 4, 4)
        assert saved["word_ids"].tolist() == [-1, 0, 0, -1]
    loaded, metadata = exports.load_attention_npz(path)
    np.testing.assert_array_equal(loaded.attentions, inspection.attentions)
    assert (loaded.tokens, loaded.word_ids, loaded.special) == (inspection.tokens, inspection.word_ids,
                                                                 inspection.special)
    assert loaded.probabilities == pytest.approx(inspection.probabilities)
    assert list(loaded.probabilities) == ["negative", "positive"]  # label order kept
    assert metadata == {"model": "tiny-bert", "text": "Unfine.", "truncated": True}


def test_npz_keeps_missing_word_ids_missing(inspection, tmp_path):
    inspection.word_ids = inspection.special = None  # a slow tokenizer's inspection
    loaded, _ = exports.load_attention_npz(exports.attention_npz(inspection, tmp_path / "a.npz"))
    assert loaded.word_ids is None and loaded.special is None


@needs_png
def test_bundle_writes_every_figure_twice_and_the_weights(figure, inspection, tmp_path):
    paths = exports.export_bundle({"Attention L1 · H1": figure, "Overview": figure}, inspection, tmp_path / "out")
    assert [p.name for p in paths] == ["attention-l1-h1.html", "attention-l1-h1.png", "overview.html",
                                       "overview.png", "attention.npz"]
    assert all(p.stat().st_size > 0 for p in paths)
