import numpy as np
import pytest

from ktdemo import attention, models


@pytest.fixture(scope="module")
def tiny(tiny_model):
    return models.pretrained_classifier(tiny_model, ["neg", "pos"]), models.load_tokenizer(tiny_model)


def test_inspection_has_every_layer_and_head(tiny):
    model, tokenizer = tiny
    result = attention.inspect(model, tokenizer, "A fine film, a fine film.")
    layers, heads, queries, keys = result.attentions.shape
    assert (layers, heads) == (2, 2) == result.shape
    assert queries == keys == len(result.tokens)
    assert result.tokens[0] == "[CLS]" and result.tokens[-1] == "[SEP]"
    np.testing.assert_allclose(result.attentions.sum(axis=-1), 1.0, atol=1e-5)
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert result.prediction in {"neg", "pos"}
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
