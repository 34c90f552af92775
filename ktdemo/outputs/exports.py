"""Downloads: each figure as standalone HTML and as PNG, the attention weights as .npz. No UI code here.

PNG route: kaleido 0.2.x, driven directly. Its wheel carries its own headless renderer, so it needs no
browser and no network; kaleido 1.x drives a Chrome it must find or download, which a Hugging Face Space
lacks. plotly 7's `write_image` accepts kaleido >= 1 only, hence the direct call, with plotly's own
bundled plotly.js so nothing is fetched from a CDN.
"""
from __future__ import annotations

import functools
import json
import re
import threading
from pathlib import Path

import numpy as np

from ..inspection.attention import Inspection

DEFAULT_SIZE = (800, 500)  # px, for a figure whose layout leaves width/height to the browser
PNG_SCALE = 2  # sharp on high-density screens and in slides
_RENDER_LOCK = threading.Lock()  # one kaleido process answers requests in order: sessions take turns


class ExportUnavailable(RuntimeError):
    """PNG export cannot run here; the message is one sentence for the user."""


def figure_html(figure, path) -> Path:
    """A page that opens offline: plotly.js (~4.7 MB) is embedded, not linked."""
    path = Path(path)
    figure.write_html(path, include_plotlyjs=True, full_html=True)
    return path


def figure_size(figure) -> tuple[int, int]:
    return figure.layout.width or DEFAULT_SIZE[0], figure.layout.height or DEFAULT_SIZE[1]


def figure_png(figure, path, scale: float = PNG_SCALE) -> Path:
    """The figure as a PNG of `figure_size` × `scale` pixels."""
    width, height = figure_size(figure)
    with _RENDER_LOCK:
        image = _kaleido_scope().transform(figure.to_dict(), format="png", width=width, height=height, scale=scale)
    path = Path(path)
    path.write_bytes(image)
    return path


def png_available() -> bool:
    """Whether `figure_png` can run here (the UI hides the PNG download otherwise)."""
    try:
        _scope_class()
    except ExportUnavailable:
        return False
    return True


def _scope_class():
    try:
        from kaleido.scopes.plotly import PlotlyScope
    except ImportError as error:  # kaleido missing, or kaleido >= 1 (no scopes, needs Chrome)
        raise ExportUnavailable("PNG export needs kaleido 0.2.x: pip install 'kaleido>=0.2.1,<0.3'.") from error
    return PlotlyScope


@functools.lru_cache(maxsize=1)
def _kaleido_scope():
    """The renderer, started on the first export and kept for later ones."""
    import plotly

    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return _scope_class()(plotlyjs=str(plotly_js), mathjax=False)


# --- Attention weights ------------------------------------------------------------------------------------------
# Plain arrays only (strings as unicode arrays), so np.load works with allow_pickle=False.

def attention_npz(inspection: Inspection, path, model: str = "", text: str = "") -> Path:
    """The attention tensor (layers, heads, T, T) with the tokens and prediction it belongs to."""
    path = Path(path)
    np.savez_compressed(
        path,
        attentions=inspection.attentions.astype(np.float32),
        tokens=np.array(inspection.tokens, dtype=str),
        special=np.array(inspection.special if inspection.special is not None else [], dtype=bool),
        word_ids=np.array([-1 if w is None else w for w in inspection.word_ids or []], dtype=np.int64),
        labels=np.array(list(inspection.probabilities), dtype=str),
        probabilities=np.array(list(inspection.probabilities.values()), dtype=np.float64),
        pooling=np.array(inspection.pooling),  # what the head reads: "cls" ([CLS]'s row) or "mean" (every token's)
        metadata=np.array(json.dumps({"model": model, "text": text, "truncated": inspection.truncated})),
    )
    return path


def load_attention_npz(path) -> tuple[Inspection, dict]:
    """What `attention_npz` wrote: the Inspection and its metadata (model, text, truncated)."""
    with np.load(path, allow_pickle=False) as saved:
        metadata = json.loads(str(saved["metadata"]))
        tokens = saved["tokens"].tolist()
        # empty arrays stand for None: a slow tokenizer gives no word ids or special flags
        word_ids = [None if w < 0 else w for w in saved["word_ids"].tolist()] if len(saved["word_ids"]) else None
        inspection = Inspection(
            tokens=tokens,
            attentions=saved["attentions"],
            probabilities=dict(zip(saved["labels"].tolist(), saved["probabilities"].tolist())),
            truncated=metadata["truncated"],
            word_ids=word_ids,
            special=saved["special"].tolist() if len(saved["special"]) else None,
            pooling=str(saved["pooling"]) if "pooling" in saved else "cls",  # older files: [CLS] heads only then
        )
    return inspection, metadata


# --- Everything at once ----------------------------------------------------------------------------------------

def file_stem(name: str) -> str:
    """'Attention L1 · H2' -> 'attention-l1-h2': safe in any file system and in a download link."""
    return re.sub(r"[^a-z0-9_]+", "-", name.lower()).strip("-") or "figure"


def export_bundle(figures: dict, inspection: Inspection | None, folder, model: str = "",
                  text: str = "", png: bool = True) -> list[Path]:
    """Each figure as HTML (and PNG), then the attention .npz (when there is an inspection); returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, figure in figures.items():
        stem = folder / file_stem(name)
        paths.append(figure_html(figure, stem.with_suffix(".html")))
        if png:
            paths.append(figure_png(figure, stem.with_suffix(".png")))
    if inspection is not None:
        paths.append(attention_npz(inspection, folder / "attention.npz", model, text))
    return paths
