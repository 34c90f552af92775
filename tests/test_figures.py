import base64
import io
import json

import numpy as np
from PIL import Image

from ktdemo.figures.attention import (OVERVIEW_LEVELS, attention_heatmap_figure, attention_overview_figure,
                                      probabilities_figure)
from ktdemo.figures.training import before_after_figure, confusion_figure, training_curves_figure


def sent(figure) -> dict:
    """The figure as gr.Plot sends it: plotly's JSON."""
    return json.loads(figure.to_json())


def typed_array(value: dict) -> np.ndarray:
    """A numpy array as plotly sends it: base64 bytes, a dtype and a shape."""
    shape = [int(size) for size in value["shape"].split(",")]
    return np.frombuffer(base64.b64decode(value["bdata"]), dtype="<" + value["dtype"]).reshape(shape)


def overview_pixels(figure) -> np.ndarray:
    """The overview image's colour steps (0 to OVERVIEW_LEVELS - 1; OVERVIEW_LEVELS in the gaps)."""
    image = Image.open(io.BytesIO(base64.b64decode(sent(figure)["data"][0]["source"].split(",", 1)[1])))
    assert image.mode == "P" and image.info["transparency"] == OVERVIEW_LEVELS
    return np.asarray(image)


def test_heatmap_keeps_repeated_tokens_apart():
    tokens = ["[CLS]", "fine", "fine", "[SEP]"]
    weights = np.full((4, 4), 0.25)
    figure = attention_heatmap_figure(weights, tokens, "L1 H1")
    heatmap = figure.data[0]
    assert np.asarray(heatmap.z).shape == (4, 4)
    assert len(set(heatmap.x)) == len(set(heatmap.y)) == 4  # one row and one column per position
    assert list(figure.layout.xaxis.ticktext) == list(figure.layout.yaxis.ticktext) == tokens
    assert heatmap.x[2] == "fine (2)" and "%{y} → %{x}" in heatmap.hovertemplate  # the hover names both tokens
    assert heatmap.text is None  # no string per cell


def test_overview_tiles_every_head_with_gaps():
    attentions = np.random.default_rng(0).random((3, 4, 5, 5))
    figure = attention_overview_figure(attentions, selected=(2, 3))
    pixels = overview_pixels(figure)
    assert pixels.shape == (3 * 6 - 1, 4 * 6 - 1)
    step = attentions.max() / (OVERVIEW_LEVELS - 1)  # colours run from 0 to the largest weight
    np.testing.assert_allclose(pixels[12:17, 18:23] * step, attentions[2, 3], atol=step / 2 + 1e-9)
    assert (pixels[5] == OVERVIEW_LEVELS).all() and (pixels[:, 5] == OVERVIEW_LEVELS).all()  # the gaps
    assert list(figure.layout.xaxis.ticktext) == ["H1", "H2", "H3", "H4"]
    assert figure.data[1].text[2][3] == "layer 3, head 4"  # hovering a tile names its head
    assert len(figure.layout.shapes) == 1


def test_attention_figures_of_a_64_token_sentence_stay_light_and_keep_3_digits(tiny_model):
    from ktdemo import models
    from ktdemo.inspection import attention

    tokenizer = models.load_tokenizer(tiny_model)
    model = models.pretrained_classifier(tiny_model, ["neg", "pos"])
    inspection = attention.inspect(model, tokenizer, " ".join(["a fine and moving film"] * 20), max_length=64)
    weights = inspection.attentions
    layers, heads, tokens, _ = weights.shape
    assert tokens == 64

    heatmap = attention_heatmap_figure(weights[1, 0], inspection.tokens, "L2 H1")
    # float32 in base64 (4 bytes a value, 4/3 for base64, escaped slashes) and a fixed part (template, labels)
    assert len(heatmap.to_json()) < 6 * tokens ** 2 + 12_000
    np.testing.assert_allclose(typed_array(sent(heatmap)["data"][0]["z"]), weights[1, 0], rtol=5e-3, atol=0)

    overview = attention_overview_figure(weights, selected=(1, 0))
    pixel_count = (layers * (tokens + 1) - 1) * (heads * (tokens + 1) - 1)
    assert len(overview.to_json()) < pixel_count // 2 + 10_000  # a PNG: at most half a byte a pixel here
    step = weights.max() / (OVERVIEW_LEVELS - 1)
    np.testing.assert_allclose(overview_pixels(overview)[:tokens, :tokens] * step, weights[0, 0], atol=step / 2)


def test_every_figure_carries_the_shared_look_in_its_template_and_its_own_title_and_height():
    figures = [probabilities_figure({"negative": 0.2, "positive": 0.8}),
               confusion_figure([[3, 1], [0, 4]], ["negative", "positive"]),
               training_curves_figure([(1, 0.7), (2, 0.5)], [(2, 0.8)], 10)]
    for figure in figures:
        sent_layout = json.loads(figure.to_json())["layout"]  # what the page receives
        shared = sent_layout["template"]["layout"]
        assert (shared["title"]["x"], shared["font"]["size"], shared["paper_bgcolor"]) == (0.01, 13, "white")
        assert sent_layout["title"]["text"] and sent_layout["height"] >= 220
        assert "xanchor" not in sent_layout["title"]  # from the template, not repeated (and validated) per figure


def test_probabilities_highlight_the_winner():
    figure = probabilities_figure({"negative": 0.2, "positive": 0.8})
    assert list(figure.data[0].y) == ["negative", "positive"]
    assert figure.data[0].marker.color[1] != figure.data[0].marker.color[0]


def test_training_curves_with_and_without_data():
    assert len(training_curves_figure([], []).data) == 0
    figure = training_curves_figure([(1, 0.7), (2, 0.6), (3, 0.5)], [(2, 0.6)], max_steps=10)
    names = [trace.name for trace in figure.data]
    assert names == ["training loss", "loss (smoothed)", "validation accuracy"]
    assert figure.data[1].y[0] == 0.7  # bias-corrected smoothing starts at the first value


def test_confusion_and_before_after():
    figure = confusion_figure([[5, 1], [2, 7]], ["neg", "pos"])
    assert np.asarray(figure.data[0].z).tolist() == [[5, 1], [2, 7]]
    bars = before_after_figure({"accuracy": 0.5, "macro_f1": 0.4}, {"accuracy": 0.8, "macro_f1": 0.79})
    assert [bar.y[0] for bar in bars.data] == [0.5, 0.8]


def test_the_before_after_chart_draws_every_row_of_the_results_table():
    """A warm-started run's table has three rows on its test set (before, start, after): so has its chart."""
    from types import SimpleNamespace

    from ktdemo.config import RunConfig
    from ktdemo.models.evaluation import Metrics
    from ktdemo.outputs import report
    from ktdemo.progress import RunStats

    def metrics(accuracy):
        return Metrics(accuracy, accuracy - 0.01, [[1, 0], [0, 1]], 100)

    for start in (metrics(0.7), None):
        run = SimpleNamespace(config=RunConfig(warm_start="descriptions" if start else "none", method="full"),
                              stats=RunStats(device="cpu", kind="in_domain", method="full", train_seconds=30),
                              before=metrics(0.5), start=start, after=metrics(0.8), scores={})
        rows = report.result_rows(run)
        bars = report.comparison_figure(run).data
        assert [bar.y[0] for bar in bars] == [m.accuracy for _, m in rows]
        assert [bar.y[1] for bar in bars] == [m.macro_f1 for _, m in rows]
        assert [bar.name.split(" ")[0].rstrip(":") for bar in bars] == [str(name).split(":")[0] for name, _ in rows]



def test_shaded_tokens_escape_user_text_and_scale_by_weight():
    from ktdemo.figures.attention import agreement_markdown, shaded_tokens_html

    snippet = shaded_tokens_html(["<b>bold</b>", "fine"], [0.5, -1.0], "IG & co", signed=True)
    assert "<b>bold</b>" not in snippet and "&lt;b&gt;bold&lt;/b&gt;" in snippet and "IG &amp; co" in snippet
    assert "rgba(230,159,0,0.50)" in snippet and "rgba(0,114,178,1.00)" in snippet  # orange half, blue full
    assert "rgba" in shaded_tokens_html(["a"], [0.0], "zero")  # all-zero scores do not divide by zero
    table = agreement_markdown({"attention vs rollout": 0.5, "rollout vs gradient": float("nan")}, "Why.")
    assert "+0.50" in table and "n/a" in table and table.endswith("Why.")


def test_the_sessions_watching_one_shared_run_share_one_drawing_of_its_curves():
    from types import SimpleNamespace

    from ktdemo.progress import TrainingLog
    from ktdemo.ui.train_tab import curves_figure

    log = TrainingLog(losses=[(step, 0.5) for step in range(1, 300)], evals=[(0, 0.6), (150, 0.7)])
    watchers = [SimpleNamespace(log=log) for _ in range(5)]  # five sessions' jobs on one shared run's live log
    drawn = {id(curves_figure(job)) for job in watchers}
    assert len(drawn) == 1
    log.losses.append((300, 0.4))
    again = curves_figure(watchers[0])
    assert id(again) not in drawn and list(again.data[0].x)[-1] == 300  # a new step: drawn anew, with it
    assert curves_figure(watchers[1], "zh") is not again  # each language its own words
    assert curves_figure(watchers[2]) is again  # ... and its own drawing: watchers in two languages share theirs
    other = TrainingLog(losses=list(log.losses), evals=list(log.evals))
    assert curves_figure(SimpleNamespace(log=other)) is not again  # another run's log: its own figure
