"""What the classifier reads: [CLS]'s row for a [CLS] head, the mean of every token's rows for a mean-pooling head.

Each view that stands for it (the Predict tab's shading, the agreement with gradients, the norm-based row, the
time-lapse, the Learn tab) is checked against rows computed here from the model's own outputs, on a tiny BERT
with each head, and its words are checked to name the right one in English and Chinese.
"""
import html
import re

import numpy as np
import pytest
import torch

from ktdemo import models
from ktdemo.figures import inside
from ktdemo.inspection import attention, explain, representations
from ktdemo.models import heads
from ktdemo.serving.session import Session
from ktdemo.training import timelapse
from ktdemo.ui import learn_tab, predict_tab, train_tab
from ktdemo.ui.i18n import t

TEXT = "A gorgeous, witty and moving film."
DATASET = "rotten_tomatoes"
POOLINGS = [("tiny_model", "cls"), ("tiny_mean_model", "mean")]
OTHER = {"cls": "mean", "mean": "cls"}


def _by_hand(model, tokenizer, text: str = TEXT) -> dict:
    """From one forward pass, without ktdemo: what the head reads (checked against the logits), and the
    last-layer attention and the rollout of it."""
    encoded = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        output = model(**encoded, output_attentions=True, output_hidden_states=True)
        last = output.hidden_states[-1][0]  # (tokens, hidden)
        n = last.shape[0]
        if heads.pooling_of(model) == "mean":
            share = torch.full((n,), 1.0 / n)  # one text: no padding, every token counts alike
            logits = model.classifier(torch.nn.functional.normalize(last.mean(dim=0), dim=-1))
        else:
            share = torch.zeros(n)
            share[0] = 1.0
            logits = model.classifier(model.bert.pooler(last[None]))[0]
    torch.testing.assert_close(logits, output.logits[0])  # the head reads exactly this mix of the last layer
    layers = torch.stack(output.attentions)[:, 0].mean(dim=1).double()  # (layers, tokens, tokens), heads averaged
    rolled = torch.eye(n, dtype=torch.float64)
    for layer in layers:  # rows sum to 1, so (A + I) renormalised is (A + I) / 2
        rolled = (layer + torch.eye(n, dtype=torch.float64)) / 2 @ rolled
    share = share.double()
    return {"share": share.numpy(), "attention": (share @ layers[-1]).numpy(), "rollout": (share @ rolled).numpy(),
            "tokens": tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist())}


@pytest.fixture(params=POOLINGS, ids=["cls-head", "mean-head"])
def head(request):
    """(model key, its pooling, classifier, tokenizer) for each head."""
    fixture, pooling = request.param
    key = request.getfixturevalue(fixture)
    label_names = ["negative", "positive"]
    return key, pooling, models.pretrained_classifier(key, label_names), models.load_tokenizer(key)


def _shades(snippet: str) -> list[np.ndarray]:
    """The scores behind each shaded sentence of an HTML snippet (`shaded_tokens_html` puts them in titles)."""
    parts = snippet.split('class="ktdemo-shading"')[1:]
    return [np.array([float(v) for v in re.findall(r'<span title="([^"]+)"', part)]) for part in parts]


# --- the core ---------------------------------------------------------------------------------------------------

def test_an_inspection_carries_the_pooling_and_reads_the_row_the_head_reads(head):
    key, pooling, model, tokenizer = head
    assert heads.pooling_of(model) == pooling
    expected = _by_hand(model, tokenizer)
    inspection = attention.inspect(model, tokenizer, TEXT)
    assert inspection.pooling == pooling
    np.testing.assert_allclose(attention.reader_weights(pooling, len(inspection.tokens)), expected["share"])
    np.testing.assert_allclose(attention.reader_attention(inspection), expected["attention"], atol=1e-6)
    np.testing.assert_allclose(attention.reader_rollout(inspection), expected["rollout"], atol=1e-6)
    # the [CLS] row is what a [CLS] head reads, and is not what a mean-pooling head reads
    same = np.allclose(attention.cls_attention(inspection.attentions), expected["attention"], atol=1e-6)
    assert same == (pooling == "cls")


def test_the_mean_leaves_padding_out_as_the_head_does():
    real = [True, True, True, False, False]
    np.testing.assert_allclose(attention.reader_weights("mean", 5, real), [1 / 3] * 3 + [0, 0])
    np.testing.assert_allclose(attention.reader_weights("cls", 5, real), [1, 0, 0, 0, 0])
    hidden = torch.randn(1, 5, 4, generator=torch.Generator().manual_seed(0))
    by_weights = torch.from_numpy(attention.reader_weights("mean", 5, real)).float() @ hidden[0]
    pooled = heads.mean_pool(hidden, torch.tensor([real], dtype=torch.long))[0]
    torch.testing.assert_close(pooled, torch.nn.functional.normalize(by_weights, dim=-1))  # the head's own mean
    rows = np.random.default_rng(0).dirichlet(np.ones(5), size=(2, 5))  # (heads, queries, keys)
    np.testing.assert_allclose(attention.reader_row(rows, "mean", real), rows[:, :3].mean(axis=1))
    np.testing.assert_allclose(attention.reader_row(rows, "cls"), rows[:, 0])


def test_the_agreement_ranks_the_row_the_head_reads(head):
    from scipy.stats import spearmanr

    _, pooling, model, tokenizer = head
    expected = _by_hand(model, tokenizer)
    inspection = attention.inspect(model, tokenizer, TEXT)
    salient = explain.saliency(model, tokenizer, TEXT, steps=4)
    words = [i for i, flag in enumerate(inspection.special) if not flag]
    correlations = explain.agreement(inspection, salient)
    gradient = np.abs(salient.integrated_gradients[words])
    assert correlations["attention vs gradient"] == pytest.approx(
        spearmanr(expected["attention"][words], gradient).statistic)
    assert correlations["rollout vs gradient"] == pytest.approx(spearmanr(expected["rollout"][words], gradient).statistic)


def test_the_norm_based_row_is_the_row_the_head_reads(head):
    _, pooling, model, tokenizer = head
    norm = representations.norm_attention(model, tokenizer, TEXT)
    share = _by_hand(model, tokenizer)["share"]
    assert norm.pooling == pooling
    np.testing.assert_allclose(norm.reader_raw, np.einsum("i,lhij->lj", share, norm.attentions) / norm.shape[1],
                               atol=1e-6)
    # token j's contribution to the read vector's update: Σ_heads Σ_i share_i α_ij f(x_j), from the layer's weights
    with torch.no_grad():
        states = model(**tokenizer(TEXT, return_tensors="pt"), output_hidden_states=True).hidden_states
    size = model.config.hidden_size // model.config.num_attention_heads
    for index, layer in enumerate(model.bert.encoder.layer):
        value, dense = layer.attention.self.value, layer.attention.output.dense
        v = states[index][0].numpy() @ value.weight.detach().numpy().T + value.bias.detach().numpy()
        total = 0
        for h in range(norm.shape[1]):
            span = slice(h * size, (h + 1) * size)
            f = v[:, span] @ dense.weight.detach().numpy()[:, span].T  # (tokens, hidden)
            total = total + (share @ norm.attentions[index, h])[:, None] * f
        np.testing.assert_allclose(norm.reader_norm[index], np.linalg.norm(total, axis=1), rtol=1e-4, atol=1e-6)
    if pooling == "cls":
        np.testing.assert_allclose(norm.reader_norm, norm.cls_norm, rtol=1e-5)
    figure = inside.cls_row_figure(norm)
    raw = np.asarray(figure.data[0].y, dtype=float)
    np.testing.assert_allclose(raw, norm.reader_raw[-1] / norm.reader_raw[-1].sum(), atol=2e-3)
    title = figure.layout.title.text
    assert ("mean of every token" in title) == (pooling == "mean") and ("[CLS]" in title) == (pooling == "cls")


# --- the words on the page ------------------------------------------------------------------------------------

def _session(language: str) -> Session:
    session = Session()
    session.language = language
    return session


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_predict_tab_shades_the_row_the_head_reads_and_says_which(head, language):
    key, pooling, model, tokenizer = head
    expected = _by_hand(model, tokenizer)
    flow = predict_tab.show_flow(TEXT, key, DATASET, predict_tab.PIECES, True, _session(language))
    last, rolled = _shades(flow)
    np.testing.assert_allclose(last, expected["attention"], atol=1e-4)  # the titles keep 4 decimals
    np.testing.assert_allclose(rolled, expected["rollout"], atol=1e-4)
    assert html.escape(t(predict_tab.READS[pooling], language)) in flow
    assert html.escape(t(predict_tab.READS[OTHER[pooling]], language)) not in flow
    for title in predict_tab.FLOW_TITLES[pooling]:
        assert html.escape(t(title, language)) in flow
    # the agreement's note and the norm-based row's note name the same row
    _, agreement, _, _ = predict_tab.show_saliency(TEXT, key, DATASET, session=_session(language))
    assert t(predict_tab.AGREEMENT_NOTES[pooling], language) in agreement
    assert t(predict_tab.AGREEMENT_NOTES[OTHER[pooling]], language) not in agreement
    note, _, figure = predict_tab.norm_attention(TEXT, 2, 1, key, DATASET, _session(language))
    assert t(predict_tab.NORM_ROWS[pooling], language).split("{")[0] in note
    assert t(predict_tab.NORM_ROWS[OTHER[pooling]], language).split("{")[0] not in note


def test_words_hidden_from_the_shading_renormalise_the_same_row(head):
    key, _, model, tokenizer = head
    expected = _by_hand(model, tokenizer)
    flow = predict_tab.show_flow(TEXT, key, DATASET, predict_tab.PIECES, False, _session("en"))
    last, _ = _shades(flow)
    words = [i for i, token in enumerate(expected["tokens"]) if token not in ("[CLS]", "[SEP]")]
    np.testing.assert_allclose(last, expected["attention"][words] / expected["attention"][words].sum(), atol=1e-4)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_learn_tab_says_what_the_top_of_the_stream_feeds(head, language):
    key, pooling, _, _ = head
    residual_text = learn_tab.show_all(TEXT, 1, 1, 1, key, DATASET, _session(language))[8]
    assert t(learn_tab.READS[pooling], language) in residual_text
    assert t(learn_tab.READS[OTHER[pooling]], language) not in residual_text


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_time_lapse_snapshot_reads_the_row_the_head_reads(head, language):
    _, pooling, model, tokenizer = head
    expected = _by_hand(model, tokenizer)
    shot = timelapse.snapshot(model, tokenizer, TEXT, step=0, loss=None)
    assert shot.pooling == pooling
    np.testing.assert_allclose(shot.reader_row(), expected["attention"], atol=2e-3)  # stored as float16
    token, share = shot.reads_most()
    words = [i for i, flag in enumerate(shot.special) if not flag]
    top = max(words, key=lambda i: shot.reader_row()[i])
    assert (token, share) == (shot.tokens[top], pytest.approx(expected["attention"][top], abs=2e-3))
    caption = train_tab._reads_most(shot, language)
    assert caption == t(train_tab.LAPSE_READS[pooling], language, token=token, percent=f"{share:.0%}")
    assert t(train_tab.LAPSE_READS[OTHER[pooling]], language).split("{")[0] not in caption


def test_an_exported_inspection_keeps_the_pooling(tiny_mean, tmp_path):
    from ktdemo.outputs import exports

    inspection = attention.inspect(*tiny_mean, TEXT)
    loaded, _ = exports.load_attention_npz(exports.attention_npz(inspection, tmp_path / "a.npz"))
    assert loaded.pooling == "mean"
    np.testing.assert_allclose(attention.reader_attention(loaded), attention.reader_attention(inspection))
