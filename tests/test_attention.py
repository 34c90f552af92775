import numpy as np
import pytest

from conftest import assert_ablation_moves_the_output
from ktdemo import models
from ktdemo.inspection import attention


def test_inspection_has_every_layer_and_head(tiny):
    model, tokenizer = tiny
    result = attention.inspect(model, tokenizer, "A fine film, a fine film.")
    layers, heads, queries, keys = result.attentions.shape
    assert (layers, heads) == (2, 2) == result.shape
    assert queries == keys == len(result.tokens)
    assert result.tokens[0] == "[CLS]" and result.tokens[-1] == "[SEP]"
    np.testing.assert_allclose(result.attentions.sum(axis=-1), 1.0, atol=1e-5)
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert result.prediction in {"negative", "positive"}
    assert not result.truncated


@pytest.mark.parametrize("text", ["", "   \n\t ", None])
def test_empty_text_is_refused_clearly(tiny, text):
    with pytest.raises(attention.InputError, match="Type a sentence"):
        attention.inspect(*tiny, text)


def test_huge_text_is_truncated_with_a_flag(tiny):
    result = attention.inspect(*tiny, "word " * 100_000, max_length=32)
    assert len(result.tokens) == 32 and result.truncated


def test_sdpa_model_is_refused_with_a_reason(tiny):
    model, tokenizer = tiny
    sdpa = models.trainable_copy(model)
    with pytest.raises(RuntimeError, match="eager"):
        attention.inspect(sdpa, tokenizer, "hello")


# --- word-level view -------------------------------------------------------------------------------------------

BERT_TOKENS = ["[CLS]", "un", "##bel", "##ievable", "film", "[SEP]"]


def test_wordpiece_prefixes_merge_into_words():
    view = attention.token_view(BERT_TOKENS, words=True)
    assert view.labels == ["[CLS]", "unbelievable", "film", "[SEP]"]
    assert view.groups == [[0], [1, 2, 3], [4], [5]]


@pytest.mark.parametrize("tokens, words", [
    (["<s>", "Un", "believ", "able", "Ġfilm", "Ġ!", "</s>"], ["<s>", "Unbelievable", "film", "!", "</s>"]),
    (["▁un", "believ", "able", "▁film", "</s>"], ["unbelievable", "film", "</s>"]),
])
def test_word_start_markers_merge_into_words(tokens, words):
    assert attention.token_view(tokens, words=True).labels == words


def test_word_ids_win_over_prefixes():
    # "New" "York" are two words: the fast tokenizer's word_ids say so even if a prefix guess would not
    tokens, word_ids = ["[CLS]", "new", "##york", "[SEP]"], [None, 0, 1, None]
    view = attention.token_view(tokens, words=True, word_ids=word_ids, special=[True, False, False, True])
    assert view.labels == ["[CLS]", "new", "york", "[SEP]"]
    assert view.groups == [[0], [1], [2], [3]]


def test_words_sum_key_columns_and_average_query_rows():
    view = attention.token_view(BERT_TOKENS, words=True)
    weights = np.random.default_rng(1).dirichlet(np.ones(6), size=6)
    merged = attention.view_attention(weights, view)
    assert merged.shape == (4, 4)
    np.testing.assert_allclose(merged.sum(axis=-1), 1.0)
    assert merged[2, 1] == pytest.approx(weights[4, 1:4].sum())  # "film" -> "unbelievable": summed columns
    assert merged[1, 2] == pytest.approx(weights[1:4, 4].mean())  # "unbelievable" -> "film": averaged rows


def test_hiding_special_tokens_renormalises_rows():
    weights = np.array([[0.5, 0.25, 0.25], [0.5, 0.3, 0.2], [0.9, 0.05, 0.05]])
    view = attention.token_view(["[CLS]", "fine", "film"], show_special=False)
    assert view.labels == ["fine", "film"]
    np.testing.assert_allclose(attention.view_attention(weights, view), [[0.6, 0.4], [0.5, 0.5]])


def test_inspection_view_on_a_real_tokenisation(tiny):
    result = attention.inspect(*tiny, "Unbelievably fine.")
    assert result.word_ids is not None and result.special[0] and result.special[-1]
    view = attention.inspection_view(result, words=True, show_special=False)
    assert view.labels == ["unbelievably", "fine", "."]
    merged = attention.view_attention(result.attentions, view)
    assert merged.shape == (2, 2, 3, 3)
    np.testing.assert_allclose(merged.sum(axis=-1), 1.0, atol=1e-5)


# --- rollout -----------------------------------------------------------------------------------------------------

def test_rollout_matches_a_hand_computed_example():
    cycle = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=float)  # token i attends to token i+1
    layer1 = np.stack([cycle] * 3)  # heads average to the cycle C
    layer2 = np.stack([np.eye(3), cycle, cycle @ cycle])  # heads average to uniform U
    rolled = attention.attention_rollout(np.stack([layer1, layer2]))
    # (U+I)/2 · (C+I)/2 = (2U + C + I)/4 because U·C = U; row 0 = ([2/3]*3 + [0,1,0] + [1,0,0]) / 4
    np.testing.assert_allclose(rolled[0], [5 / 12, 5 / 12, 2 / 12])
    np.testing.assert_allclose(attention.cls_rollout(np.stack([layer1, layer2])), rolled[0])
    np.testing.assert_allclose(rolled.sum(axis=-1), 1.0)


def test_cls_attention_is_last_layer_first_row_head_mean():
    attentions = np.random.default_rng(2).dirichlet(np.ones(4), size=(2, 3, 4))
    np.testing.assert_allclose(attention.cls_attention(attentions), attentions[-1, :, 0].mean(axis=0))
    view = attention.token_view(["[CLS]", "a", "b", "[SEP]"], show_special=False)
    assert attention.view_scores(attention.cls_attention(attentions), view, normalise=True).sum() == pytest.approx(1)


# --- head ablation -----------------------------------------------------------------------------------------------

def test_ablating_heads_changes_the_logits_then_restores_them(tiny):
    model, tokenizer = tiny
    hooks = [len(m._forward_pre_hooks) for m in attention.head_output_projections(model)]
    assert_ablation_moves_the_output(model, tokenizer)
    assert [len(m._forward_pre_hooks) for m in attention.head_output_projections(model)] == hooks  # ours are removed
    probabilities = attention.inspect_ablated(model, tokenizer, "A gorgeous, moving film.", [(0, 0)]).probabilities
    assert sum(probabilities.values()) == pytest.approx(1.0)


def test_ablation_does_not_leak_into_other_threads(tiny):
    import threading

    model, tokenizer = tiny
    before = attention.inspect(model, tokenizer, "Fine.").probabilities
    seen = {}
    with attention.ablated_heads(model, [(0, 0), (0, 1), (1, 0), (1, 1)]):
        worker = threading.Thread(target=lambda: seen.update(attention.inspect(model, tokenizer, "Fine.").probabilities))
        worker.start()
        worker.join()
    assert seen == pytest.approx(before, abs=1e-9)  # the other thread ran the model untouched


def test_head_list_is_parsed_and_checked():
    assert attention.parse_heads("L1H2, l2 h1,", layers=2, heads=2) == [(0, 1), (1, 0)]
    assert attention.parse_heads("", layers=2, heads=2) == []
    with pytest.raises(attention.InputError, match="does not exist"):
        attention.parse_heads("L3H1", layers=2, heads=2)
    with pytest.raises(attention.InputError, match="L<layer>H<head>"):
        attention.parse_heads("head 3", layers=2, heads=2)
