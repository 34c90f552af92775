"""Each transfer kind and method, on the tiny random model: the mechanics, not the accuracy."""
import numpy as np
import pandas as pd
import pytest
import torch

from ktdemo import data, models
from ktdemo.config import RunConfig
from ktdemo.progress import english  # a Message list as its English sentences
from ktdemo.training import probe
from ktdemo.training.planning import plan
from ktdemo.training.transfer import run_transfer

TRANSFER = dict(dataset="rotten_tomatoes", per_class=16, max_steps=4, eval_every_s=0.0)  # four steps on 16 per class


def test_methods_train_ever_fewer_parameters(tiny_config, tiny_model):
    trainable = {method: run_transfer(tiny_config(TRANSFER, method=method, top_layers=1)).stats.trainable_params
                 for method in ("full", "top_layers", "lora", "linear_probe")}
    assert trainable["full"] > trainable["top_layers"] > trainable["lora"] > trainable["linear_probe"] > 0
    assert trainable["linear_probe"] == 32 * 2 + 2  # the last linear layer only: hidden 32 -> 2 labels


@pytest.mark.parametrize("method", ["full", "top_layers", "lora", "linear_probe"])
def test_every_method_replays_exactly(tiny_config, tiny_model, method):
    first, second = (run_transfer(tiny_config(TRANSFER, method=method, seed=3)) for _ in range(2))
    assert first.after.predictions == second.after.predictions
    assert first.after.probabilities == pytest.approx(second.after.probabilities)


def test_lora_merges_into_a_plain_model_that_changed_only_where_adapted(tiny_config, tiny_model):
    from ktdemo.training import methods

    # Trained directly: through run_transfer, the best checkpoint may legitimately be the untouched start.
    labels = data.DATASETS["rotten_tomatoes"].label_names
    wrapped = methods.prepare(models.trainable_copy(models.pretrained_classifier(tiny_model, labels)),
                              tiny_config(TRANSFER, method="lora"))
    optimizer = torch.optim.AdamW([p for p in wrapped.parameters() if p.requires_grad], lr=1e-2)
    batch = models.load_tokenizer(tiny_model)(["A gorgeous film.", "Dull."], return_tensors="pt", padding=True)
    for _ in range(3):
        wrapped(**batch, labels=torch.tensor([1, 0])).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model = methods.finish(wrapped)
    assert type(model).__name__ == "BertForSequenceClassification"  # merged: no peft wrapper left
    pretrained = models.pretrained_classifier(tiny_model, data.DATASETS["rotten_tomatoes"].label_names)
    state, original = model.state_dict(), pretrained.state_dict()
    changed = {name for name in original if not torch.equal(state[name], original[name])}
    assert any("attention.self.query" in name for name in changed)
    assert not any("attention.self.key" in name or "embeddings" in name for name in changed)
    assert "classifier.weight" in changed


def test_probe_weights_reproduce_sklearn_probabilities():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    for num_labels, classes in ((2, [0, 1]), (4, [0, 1, 2, 3]), (4, [0, 2, 3])):  # the last: class 1 unseen
        x = rng.normal(size=(40 * len(classes), 8)) * 3 + 1
        y = np.array(classes * 40)
        scaler = StandardScaler().fit(x)
        fitted = LogisticRegression().fit(scaler.transform(x), y)
        layer = torch.nn.Linear(8, num_labels)
        probe._write_weights(layer, fitted, scaler, num_labels)
        ours = torch.softmax(layer(torch.tensor(x, dtype=torch.float32)), -1).detach().numpy()
        np.testing.assert_allclose(ours[:, classes], fitted.predict_proba(scaler.transform(x)), atol=1e-4)


def test_probe_caches_features_so_a_second_probe_encodes_nothing(tiny_config, tiny_model, monkeypatch):
    run_transfer(tiny_config(TRANSFER, method="linear_probe", seed=11))
    calls = []
    original = probe._encode
    monkeypatch.setattr(probe, "_encode", lambda *args: calls.append(len(args[2])) or original(*args))
    run_transfer(tiny_config(TRANSFER, method="linear_probe", seed=11))
    assert sum(calls) == 0  # every text, training and test, came from the cache


def test_probe_keeps_its_time_budget_by_encoding_less(tiny_config, tiny_model):
    result = run_transfer(tiny_config(TRANSFER, method="linear_probe", per_class=None, max_steps=None,
                               time_budget_s=0.5, seed=12, max_length=40))  # a length no other test caches
    assert 0 < result.stats.examples_seen < result.stats.train_examples
    assert result.stats.train_seconds < 5  # a hang guard


def test_cross_domain_scores_source_and_target_and_never_tests_on_training_texts(tiny_config, tiny_model):
    config = tiny_config(TRANSFER, kind="cross_domain", dataset="vader_movies", source_dataset="rotten_tomatoes",
                  per_class=None, adapt_per_class=8)
    result = run_transfer(config)
    assert {"source test (Rotten Tomatoes reviews)", "target test before adapting"} <= set(result.scores)
    notices = " ".join(english(result.stats.notices))
    assert "removed from the test set" in notices  # VADER movies repeat the RT sentences
    source = data.load_splits("rotten_tomatoes")
    seen = set(data.normalize_text(source.train.text)) | set(data.normalize_text(source.validation.text))
    assert result.after.examples == result.stats.test_examples < len(data.load_splits("vader_movies").test)
    assert [stage["stage"].split()[0] for stage in result.stats.stages] == ["training", "adapting"]
    assert set(result.stats.accuracy_by_dataset) == {"rotten_tomatoes", "vader_movies"}
    shown = set(data.normalize_text(pd.Series([row["text"] for row in result.misclassified])))
    assert shown and not shown & seen


def test_cross_domain_label_map(tiny_config, tiny_model):
    with pytest.raises(data.DataError, match="Map the source labels"):
        run_transfer(tiny_config(TRANSFER, kind="cross_domain", dataset="sms_spam", source_dataset="rotten_tomatoes"))
    result = run_transfer(tiny_config(TRANSFER, kind="cross_domain", dataset="sms_spam", source_dataset="rotten_tomatoes",
                               label_map={"negative": "spam", "positive": "ham"}))
    assert result.label_names == ["ham", "spam"]


def test_sequential_trains_the_source_first_unless_given_its_result(tiny_config, tiny_model, tmp_path):
    config = tiny_config(TRANSFER, kind="sequential", source_dataset="trec")
    result = run_transfer(config)
    assert len(result.stats.stages) == 2 and result.stats.steps == 8
    assert any("after stage 1" in name for name in result.scores)
    first = run_transfer(tiny_config(TRANSFER, dataset="trec", per_class=None))
    reused = run_transfer(config, start_from=str(models.save_weights(first.model, tmp_path / "first.safetensors")))
    assert len(reused.stats.stages) == 1
    assert torch.equal(reused.model.base_model.embeddings.word_embeddings.weight,
                       first.model.base_model.embeddings.word_embeddings.weight)


def test_from_scratch_starts_from_random_weights(tiny_config, tiny_model):
    result = run_transfer(tiny_config(TRANSFER, kind="from_scratch"))
    pretrained = models.pretrained_classifier(tiny_model, data.DATASETS["rotten_tomatoes"].label_names)
    assert not torch.equal(result.model.base_model.embeddings.word_embeddings.weight,
                           pretrained.base_model.embeddings.word_embeddings.weight)


def test_zero_shot_trains_nothing(tiny_config, tiny_model):
    result = run_transfer(tiny_config(TRANSFER, kind="zero_shot", dataset="vader_amazon"))
    assert result.model is None and result.stats.trainable_params == 0
    assert result.after.examples == len(data.load_splits("vader_amazon").test)
    assert len(result.stats.descriptions) == 2


def test_also_test_on_fills_a_transfer_matrix_row(tiny_config, tiny_model):
    result = run_transfer(tiny_config(TRANSFER, also_test_on=["vader_amazon", "vader_tweets"]))
    assert set(result.stats.accuracy_by_dataset) == {"rotten_tomatoes", "vader_amazon", "vader_tweets"}
    with pytest.raises(data.DataError, match="other labels"):
        run_transfer(tiny_config(TRANSFER, also_test_on=["trec"]))


def test_auto_picks_a_concrete_method_and_says_why(tiny_config, tiny_model):
    splits = data.load_splits("rotten_tomatoes", per_class=16)
    chosen = plan(tiny_config(TRANSFER, method="auto", time_budget_s=30.0, max_steps=None), splits)
    assert chosen.config.method in ("full", "top_layers", "linear_probe")
    assert 16 <= chosen.config.max_length <= 256 and chosen.config.max_length % 8 == 0
    assert len(chosen.reasons) >= 2 and chosen.eta_s > 30
    result = run_transfer(tiny_config(TRANSFER, method="auto"))
    assert result.config.method != "auto" and result.stats.plan


@pytest.mark.parametrize("values, message", [
    ({"kind": "sideways"}, "Unknown kind 'sideways'; choose one of in_domain"),
    ({"method": "magic"}, "Unknown method"),
    ({"kind": "cross_domain"}, "needs a source dataset"),
])
def test_bad_configs_are_refused_in_one_sentence(values, message):
    with pytest.raises(ValueError, match=message):
        RunConfig(**values)
