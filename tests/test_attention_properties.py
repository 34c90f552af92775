"""Property-based tests (hypothesis) of word merging: any tokenisation, any attention matrix."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ktdemo.inspection.attention import token_view, view_attention, word_groups

PIECE = st.sampled_from(["film", "un", "##believ", "##ably", "good", "##s", "!", "é", "🙂", "a"])
SPECIAL = st.sampled_from(["[CLS]", "[SEP]", "[PAD]"])


@st.composite
def tokenisations(draw):
    """[CLS] + pieces (some continuing a word with ##) + [SEP], sometimes with specials inside."""
    middle = draw(st.lists(st.one_of(PIECE, PIECE, PIECE, SPECIAL), min_size=0, max_size=12))
    return ["[CLS]", *middle, "[SEP]"]


@st.composite
def tokens_and_attention(draw):
    tokens = draw(tokenisations())
    seed = draw(st.integers(0, 2**16))
    weights = np.random.default_rng(seed).random((len(tokens), len(tokens))) + 1e-3
    return tokens, weights / weights.sum(axis=1, keepdims=True)


@given(tokenisations())
@settings(max_examples=200, deadline=None)
def test_word_groups_partition_the_tokens_in_order(tokens):
    groups = word_groups(tokens)
    assert [i for group in groups for i in group] == list(range(len(tokens)))  # every position once, in order
    for group in groups:
        assert group == list(range(group[0], group[-1] + 1))  # contiguous
        if tokens[group[0]] in ("[CLS]", "[SEP]", "[PAD]"):
            assert len(group) == 1  # a special token stays alone
        assert all(tokens[i].startswith("##") for i in group[1:])  # only continuations join a word


@given(tokenisations(), st.data())
@settings(max_examples=100, deadline=None)
def test_word_ids_decide_the_groups_when_given(tokens, data):
    word_ids, word = [], -1
    for token in tokens:
        if token in ("[CLS]", "[SEP]", "[PAD]"):
            word_ids.append(None)
        else:
            word += data.draw(st.sampled_from([0, 1]))  # 0: the same word as the previous piece
            word_ids.append(max(word, 0))
    groups = word_groups(tokens, word_ids, [w is None for w in word_ids])
    for group in groups:
        assert len({word_ids[i] for i in group}) == 1


@given(tokens_and_attention(), st.booleans(), st.booleans())
@settings(max_examples=200, deadline=None)
def test_every_view_keeps_rows_summing_to_one(case, words, show_special):
    tokens, weights = case
    view = token_view(tokens, words=words, show_special=show_special)
    merged = view_attention(weights, view)
    assert merged.shape == (len(view.groups), len(view.groups))
    assert np.all(merged >= 0)
    np.testing.assert_allclose(merged.sum(axis=1), 1.0, atol=1e-9)


@given(tokens_and_attention())
@settings(max_examples=100, deadline=None)
def test_the_piece_view_with_special_tokens_is_the_attention_itself(case):
    tokens, weights = case
    np.testing.assert_allclose(view_attention(weights, token_view(tokens)), weights, atol=1e-12)
