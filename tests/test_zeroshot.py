"""Zero-shot mechanics on tiny random models; the real MiniLM only in integration tests."""
import numpy as np
import pytest

from conftest import build_tiny_model
from ktdemo import models, network
from ktdemo.data.descriptions import default_descriptions, format_descriptions, parse_descriptions
from ktdemo.training import zeroshot

NLI_LABELS = {0: "contradiction", 1: "neutral", 2: "entailment"}


def _register(key, folder):
    models.register_model(models.ModelSpec(key, key, key, "Tiny test model.", path=folder))
    return key


@pytest.fixture(scope="module")
def tiny_nli(tmp_path_factory):
    folder = build_tiny_model(tmp_path_factory.mktemp("tiny-nli"), id2label=NLI_LABELS,
                              label2id={name: i for i, name in NLI_LABELS.items()})
    return _register("tiny-nli", folder)


def test_default_descriptions_follow_the_task():
    assert default_descriptions(["negative", "positive"], "sentiment") == [
        "This text expresses a negative opinion.", "This text expresses a positive opinion."]
    assert default_descriptions(["business"], "topic") == ["This text is about business."]
    assert default_descriptions(["location", "human: individual"], "question type") == [
        "This question asks for a location.", "This question asks for an individual."]
    assert default_descriptions(["ham", "spam"], "spam detection") == [
        "This message is an ordinary message (ham).", "This message is spam."]
    assert default_descriptions(["cats"]) == ["This text is about cats."]


def test_descriptions_round_trip_in_any_order_with_defaults():
    labels = ["location", "location: city", "number"]
    descriptions = ["Where is it?", "Which city?", "How many?"]
    text = format_descriptions(labels, descriptions)
    assert parse_descriptions(text, labels) == descriptions
    shuffled = "\n".join(reversed(text.splitlines())) + "\n\n"
    assert parse_descriptions(shuffled, labels) == descriptions
    assert parse_descriptions("number:  How many? ", labels) == [
        "This text is about location.", "This text is about location: city.", "How many?"]


@pytest.mark.parametrize("text, message", [("colour: Which colour?", "Unknown label 'colour'"),
                                           ("number:  ", "description of 'number' is empty")])
def test_parse_descriptions_rejects_bad_lines(text, message):
    with pytest.raises(ValueError, match=message):
        parse_descriptions(text, ["location", "number"])


def test_embed_is_normalised_ordered_and_padding_invariant(tiny_model):
    encoder = models.pretrained_classifier(tiny_model, ["a", "b"]).base_model
    tokenizer = models.load_tokenizer(tiny_model)
    texts = ["short one", "a much longer sentence " * 12, "middle sized text here", "x"]
    vectors = zeroshot.embed(encoder, tokenizer, texts, batch_size=3)
    assert vectors.shape == (4, encoder.config.hidden_size)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    alone = np.vstack([zeroshot.embed(encoder, tokenizer, [text]) for text in texts])
    np.testing.assert_allclose(vectors, alone, atol=1e-5)


def test_similarity_prefers_the_description_equal_to_the_text(tiny_model):
    descriptions = ["The cat sat on the mat.", "Stocks fell sharply on Monday.", "A goal in the last minute."]
    probabilities = zeroshot.similarity_probabilities(tiny_model, descriptions[::-1], descriptions)
    assert probabilities.shape == (3, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert probabilities.argmax(axis=1).tolist() == [2, 1, 0]


def test_nli_probabilities_are_distributions_and_deterministic(tiny_nli):
    texts = ["The match ended in a draw.", "Shares rose.", "A new phone was released today."]
    descriptions = ["This text is about sport.", "This text is about business."]
    first = zeroshot.nli_probabilities(tiny_nli, texts, descriptions, batch_size=4)
    assert first.shape == (3, 2)
    np.testing.assert_allclose(first.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(zeroshot.nli_probabilities(tiny_nli, texts, descriptions), first, atol=1e-6)


def test_a_checkpoint_without_entailment_is_not_an_nli_model(tmp_path):
    key = _register("tiny-not-nli", build_tiny_model(tmp_path, num_labels=3))
    with pytest.raises(models.ModelError, match="is not an NLI model: its labels have no 'entailment'"):
        zeroshot.nli_probabilities(key, ["text"], ["a", "b"])


def test_an_unreachable_hub_model_gives_a_model_error(monkeypatch):
    monkeypatch.setattr(network, "hub_unreachable", lambda: True)
    with pytest.raises(models.ModelError, match="unreachable"):
        zeroshot.nli_probabilities("nobody/no-such-nli-model", ["text"], ["a", "b"])


def test_zero_shot_metrics_agree_with_probabilities(tiny_model):
    texts = ["good film", "bad film", "fine acting", "dull plot"]
    result = zeroshot.zero_shot(texts, [1, 0, 1, 0], ["negative", "positive"], model_key=tiny_model,
                                task="sentiment")
    assert (result.method, result.model, result.metrics.examples) == ("similarity", tiny_model, 4)
    assert result.descriptions == default_descriptions(["negative", "positive"], "sentiment")
    assert result.metrics.predictions == result.probabilities.argmax(axis=1).tolist()
    np.testing.assert_allclose(result.metrics.probabilities, result.probabilities.max(axis=1))
    assert result.metrics.accuracy == np.mean(np.array(result.metrics.predictions) == [1, 0, 1, 0])


def test_zero_shot_uses_nli_when_asked(tiny_nli):
    result = zeroshot.zero_shot(["a text"], [0], ["sport", "business"], nli_model=tiny_nli)
    assert (result.method, result.model, result.probabilities.shape) == ("nli", tiny_nli, (1, 2))


def test_zero_shot_needs_one_description_per_label(tiny_model):
    with pytest.raises(ValueError, match="one description per label"):
        zeroshot.zero_shot(["text"], [0], ["a", "b"], ["only one"], model_key=tiny_model)


def _accuracy(key, rows, seed=0, split="test"):
    from ktdemo import data

    splits = data.load_splits(key, seed=seed)
    table = getattr(splits, split).head(rows)
    result = zeroshot.zero_shot(table["text"], table["label"], splits.label_names, task=data.DATASETS[key].task)
    return result.metrics.accuracy


@pytest.mark.integration
def test_minilm_zero_shot_finds_bbc_topics():
    assert _accuracy("bbc_news", 150) > 0.5  # chance is 0.2


@pytest.mark.integration
def test_minilm_zero_shot_beats_chance_on_movie_sentiment():
    assert _accuracy("rotten_tomatoes", 300) > 0.55
