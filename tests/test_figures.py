import numpy as np

from ktdemo.figures.attention import attention_heatmap_figure, attention_overview_figure, probabilities_figure
from ktdemo.figures.training import before_after_figure, confusion_figure, training_curves_figure


def test_heatmap_keeps_repeated_tokens_apart():
    tokens = ["[CLS]", "fine", "fine", "[SEP]"]
    weights = np.full((4, 4), 0.25)
    figure = attention_heatmap_figure(weights, tokens, "L1 H1")
    heatmap = figure.data[0]
    assert np.asarray(heatmap.z).shape == (4, 4)
    assert list(figure.layout.xaxis.ticktext) == tokens
    assert heatmap.text[1][2] == "fine → fine"


def test_overview_tiles_every_head_with_gaps():
    attentions = np.random.default_rng(0).random((3, 4, 5, 5))
    figure = attention_overview_figure(attentions, selected=(2, 3))
    grid = np.asarray(figure.data[0].z, dtype=float)
    assert grid.shape == (3 * 6 - 1, 4 * 6 - 1)
    np.testing.assert_allclose(grid[12:17, 18:23], np.round(attentions[2, 3], 3))
    assert np.isnan(grid[5]).all()
    assert list(figure.layout.xaxis.ticktext) == ["H1", "H2", "H3", "H4"]
    assert len(figure.layout.shapes) == 1


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



def test_shaded_tokens_escape_user_text_and_scale_by_weight():
    from ktdemo.figures.attention import agreement_markdown, shaded_tokens_html

    snippet = shaded_tokens_html(["<b>bold</b>", "fine"], [0.5, -1.0], "IG & co", signed=True)
    assert "<b>bold</b>" not in snippet and "&lt;b&gt;bold&lt;/b&gt;" in snippet and "IG &amp; co" in snippet
    assert "rgba(230,159,0,0.50)" in snippet and "rgba(0,114,178,1.00)" in snippet  # orange half, blue full
    assert "rgba" in shaded_tokens_html(["a"], [0.0], "zero")  # all-zero scores do not divide by zero
    table = agreement_markdown({"attention vs rollout": 0.5, "rollout vs gradient": float("nan")}, "Why.")
    assert "+0.50" in table and "n/a" in table and table.endswith("Why.")
