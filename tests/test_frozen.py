"""Frozen work done once (training/frozen, frozen_store): the cached bottom gives the whole model's outputs, its
store is keyed and bounded, and a session's own data never reaches it."""
import dataclasses
import os
import threading

import numpy as np
import pytest
import torch

from ktdemo import data, models
from ktdemo.models.evaluation import predict_probabilities
from ktdemo.progress import TrainingLog
from ktdemo.training import frozen, frozen_store, loop, methods, probe
from ktdemo.training.transfer import run_transfer

TEXTS = ["A gorgeous, moving film.", "Dull.", "The plot goes nowhere, slowly, for two long hours of nothing.",
         "Funny and warm", "I wanted to like it, but could not."] * 3
TRANSFER = dict(dataset="rotten_tomatoes", per_class=16, max_steps=3, eval_every_s=0.0, method="top_layers",
                top_layers=1)


def store_files() -> set[str]:
    return {p.name for p in frozen_store.folder().glob("*.safetensors")}


@pytest.mark.parametrize("layers", [0, 1])
def test_the_bottom_gives_the_whole_models_probabilities(tiny, tiny_mean, layers):
    for model, tokenizer in (tiny, tiny_mean):
        whole = predict_probabilities(model, tokenizer, TEXTS, 32)
        through_bottom = frozen.Bottom(model, tokenizer, layers, 32).probabilities(TEXTS, batch_size=4)
        np.testing.assert_allclose(through_bottom, whole, atol=1e-5)


def test_the_model_is_whole_again_after_running_its_top(tiny):
    model, tokenizer = tiny
    layers = models.anatomy.encoder_layers(model)
    embeddings = model.base_model.embeddings
    with pytest.raises(RuntimeError):
        with frozen.layers_only(model, 1, embedded=True):
            assert len(models.anatomy.encoder_layers(model)) == 1 and model.base_model.embeddings is not embeddings
            raise RuntimeError("a failing step")
    assert models.anatomy.encoder_layers(model) is layers and model.base_model.embeddings is embeddings


def test_training_through_the_bottom_matches_training_the_whole_model(tiny_config, tiny_model):
    """Without dropout, training the top on the cached bottom moves the weights as training the whole model does
    (on 100 validation texts both check the same texts, so both keep the same checkpoint)."""
    splits = data.load_splits("rotten_tomatoes", per_class=8)
    config = tiny_config(method="top_layers", top_layers=1, dropout=0.0, max_steps=3, eval_every_s=0.0)
    trained = {}
    for cached in (False, True):
        model = models.trainable_copy(models.pretrained_classifier(tiny_model, splits.label_names))
        methods.set_dropout(model, 0.0)
        model = methods.prepare(model, config)
        tokenizer = models.load_tokenizer(tiny_model)
        bottom = frozen.Bottom(model, tokenizer, 1, config.max_length) if cached else None
        loop.fine_tune(model, tokenizer, splits.train, splits.validation.iloc[:100], config, TrainingLog(),
                       threading.Event(), "cpu", None, 3, bottom)
        trained[cached] = {k: v.clone() for k, v in model.state_dict().items()}
    for name, weights in trained[False].items():
        torch.testing.assert_close(trained[True][name], weights, atol=1e-5, rtol=1e-4)


def test_a_top_layers_run_on_a_bundled_dataset_stores_its_bottom_and_the_next_run_reads_it(tiny_config, tiny_model):
    before = store_files()
    first = run_transfer(tiny_config(TRANSFER, seed=5))
    added = store_files() - before
    bottoms = [name for name in added if "-k" in name]
    assert len(bottoms) == 1 and "rotten_tomatoes-len32-k1" in bottoms[0]
    second = run_transfer(tiny_config(TRANSFER, seed=5))
    assert len(first.after.probabilities) == first.after.examples  # what the mistakes table is sorted by
    assert first.after.probabilities == pytest.approx(second.after.probabilities, abs=1e-5)
    phases = first.stats.phase_seconds  # where the time went, by phase
    assert {"loading_data", "loading_model", "scoring_untrained", "training_on", "scoring_trained"} <= phases.keys()
    assert sum(phases.values()) == pytest.approx(first.stats.total_seconds, abs=0.5)


def test_the_store_misses_on_another_dataset_max_length_or_split(tiny_model):
    keys = {frozen_store.entry(tiny_model, dataset, length, layers)
            for dataset, length, layers in [("rotten_tomatoes", 32, 1), ("sms_spam", 32, 1),
                                            ("rotten_tomatoes", 64, 1), ("rotten_tomatoes", 32, 2)]}
    assert len(keys) == 4


def test_the_store_round_trips_and_stays_within_its_bound(tmp_path, monkeypatch):
    monkeypatch.setenv("KTDEMO_CACHE", str(tmp_path))
    outputs = {text: torch.randn(len(text) % 7 + 1, 8) for text in set(TEXTS)}
    first = frozen_store.folder() / "a.safetensors"
    frozen_store.save(first, outputs)
    loaded = frozen_store.read(first)
    assert loaded.keys() == outputs.keys()
    for text, hidden in outputs.items():
        assert torch.equal(loaded[text], hidden)
    size = first.stat().st_size
    monkeypatch.setenv("KTDEMO_CACHE_MB", str(1.5 * size / 2 ** 20))  # room for one entry, not two
    os.utime(first, (1, 1))  # the least recently used
    frozen_store.save(frozen_store.folder() / "b.safetensors", outputs)
    assert [p.name for p in frozen_store.folder().glob("*.safetensors")] == ["b.safetensors"]
    assert frozen_store.read(frozen_store.folder() / "missing.safetensors") == {}


def test_a_sessions_own_data_never_reaches_the_store(tiny_config, tiny_model):
    splits = data.load_splits("rotten_tomatoes", per_class=16)
    own = dataclasses.replace(splits, name="my reviews",
                              train=splits.train.assign(text=splits.train.text + " (mine)"))
    before = store_files()
    result = run_transfer(tiny_config(TRANSFER, dataset="session:mine", per_class=None),
                          sources={"session:mine": own})
    assert result.after.examples > 0 and store_files() == before


@pytest.mark.integration
def test_minilms_bottom_gives_its_probabilities():
    splits = data.load_splits("rotten_tomatoes")
    texts = splits.test.text.tolist()[:96]
    for pooling in ("mean", "cls"):
        model = models.pretrained_classifier(models.DEFAULT_MODEL, splits.label_names, pooling=pooling)
        tokenizer = models.load_tokenizer(models.DEFAULT_MODEL)
        whole = predict_probabilities(model, tokenizer, texts, 64)
        for layers in (2, 4):
            through_bottom = frozen.Bottom(model, tokenizer, layers, 64).probabilities(texts, batch_size=16)
            np.testing.assert_allclose(through_bottom, whole, atol=1e-5)


def test_build_stores_every_text_of_a_bundled_dataset(tiny_model):
    bottom, features = frozen_store.build(tiny_model, "autos_electronics", 32, 1, "cls")
    splits = data.load_splits("autos_electronics")
    texts = set(splits.train.text) | set(splits.validation.text) | set(splits.test.text)
    assert frozen_store.read(bottom).keys() == texts
    assert bottom == frozen_store.entry(tiny_model, "autos_electronics", 32, 1)
    assert frozen_store.read(features).keys() == texts
    assert features == frozen_store.features_entry(tiny_model, "autos_electronics", 32, "cls")


def test_a_runs_features_reach_the_store_and_a_fresh_process_reads_them_instead(tiny_config, tiny_model,
                                                                               monkeypatch):
    """The untrained head's and the probe's features (the whole pretrained encoder's) are stored; a new worker
    (its process cache empty) reads them rather than running the encoder, and they equal computed ones."""
    config = tiny_config(TRANSFER, dataset="trec", method="linear_probe", seed=3)
    first = run_transfer(config)
    splits = data.load_splits("trec", per_class=16, seed=3)
    stored = frozen_store.read(frozen_store.features_entry(tiny_model, "trec", config.max_length, "cls"))
    assert set(splits.test.text) | set(splits.train.text) <= stored.keys()
    texts = splits.test.text.tolist()
    model = models.pretrained_classifier(tiny_model, splits.label_names, pooling="cls")
    computed = probe.features(model, models.load_tokenizer(tiny_model), texts, config.max_length)
    np.testing.assert_allclose(np.stack([stored[text][0].numpy() for text in texts]), computed, atol=1e-6)

    probe.clear_features()  # as in a new worker
    encoded = encoded_texts(monkeypatch)
    second = run_transfer(config)
    assert not set(encoded) & set(texts)  # the test texts' features came from the store
    assert second.before.accuracy == first.before.accuracy and second.after.accuracy == first.after.accuracy


def test_zero_shot_reads_the_texts_embeddings_from_the_store(tiny_config, tiny_mean_model, monkeypatch):
    """A mean-pooling encoder's features are its sentence embeddings: zero-shot similarity reads them too."""
    from ktdemo.training import zeroshot

    config = tiny_config(dataset="trec", kind="zero_shot", model=tiny_mean_model)
    texts, descriptions = TEXTS[:5], ["a question about a person", "a question about a place"]
    np.testing.assert_allclose(zeroshot.similarity_probabilities(tiny_mean_model, texts, descriptions, 32,
                                                                 known=probe.Features()),
                               zeroshot.similarity_probabilities(tiny_mean_model, texts, descriptions, 32), atol=1e-5)
    first = run_transfer(config)
    probe.clear_features()
    encoded = encoded_texts(monkeypatch)
    second = run_transfer(config)
    assert encoded == [] and second.after.probabilities == pytest.approx(first.after.probabilities, abs=1e-6)


def encoded_texts(monkeypatch) -> list[str]:
    """The texts the pretrained encoder runs on from now on to get features (the store's misses)."""
    encoded, real_encode = [], probe._encode
    monkeypatch.setattr(probe, "_encode", lambda model, tokenizer, missing, *args: (
        encoded.extend(missing), real_encode(model, tokenizer, missing, *args)))
    return encoded


@pytest.mark.integration
def test_a_background_build_runs_at_low_priority_and_ends_with_the_app(monkeypatch):
    from ktdemo.serving.app import App

    monkeypatch.setenv("KTDEMO_PREBUILD", "1")
    dataset = "autos_electronics"  # the smallest bundled one
    path = frozen_store.entry(models.DEFAULT_MODEL, dataset, 32, 1)
    features = frozen_store.features_entry(models.DEFAULT_MODEL, dataset, 32, "mean")
    process = frozen_store.build_in_background(models.DEFAULT_MODEL, dataset, 32, 1, "mean")
    assert process is not None and os.getpriority(os.PRIO_PROCESS, process.pid) >= 10
    assert process.wait(timeout=600) == 0 and path.exists() and features.exists()
    assert frozen_store.build_in_background(models.DEFAULT_MODEL, dataset, 32, 1, "mean") is None  # stored
    app = App()
    app.keep_process(running := frozen_store.build_in_background(models.DEFAULT_MODEL, dataset, 32, 2, "mean"))
    app.close()  # the app's background work ends with it
    assert running.poll() is not None


def test_no_background_build_where_it_is_switched_off(tiny, monkeypatch):
    from ktdemo.serving.session import prebuild_default_store

    monkeypatch.setenv("KTDEMO_PREBUILD", "0")
    assert prebuild_default_store(models.DEFAULT_MODEL, tiny[0]) is None


def test_a_run_adds_to_the_store_and_never_drops_what_it_held(tiny_config, tiny_model):
    path, = frozen_store.build(tiny_model, "sms_spam", 32, 1)
    stored = frozen_store.read(path)
    splits = data.load_splits("sms_spam", seed=2)
    dropped = set(splits.test.text[:20])  # as if an earlier run had not seen them
    frozen_store.save(path, {t: o for t, o in stored.items() if t not in dropped})
    run_transfer(tiny_config(TRANSFER, dataset="sms_spam", seed=2))  # 16 training texts per class, the whole test
    assert frozen_store.read(path).keys() == stored.keys()


def test_auto_trains_the_top_half_on_a_stored_bottom_and_says_so(tiny_config, tiny_model):
    from ktdemo.training.planning import plan

    splits = data.load_splits("trec", per_class=16)
    config = tiny_config(TRANSFER, dataset="trec", method="auto", time_budget_s=30.0, max_steps=None)
    assert plan(config, splits).config.method != "top_layers"  # nothing stored yet
    frozen_store.build(tiny_model, "trec", config.max_length, 1)  # the tiny model's 2 layers: the bottom 1 frozen
    chosen = plan(config, splits)
    assert (chosen.config.method, chosen.config.top_layers, chosen.config.max_length) == ("top_layers", 1, 32)
    assert "plan.frozen_bottom" in [reason.key for reason in chosen.reasons]
    result = run_transfer(dataclasses.replace(config, time_budget_s=None, max_steps=2))
    notes = [notice.key for notice in result.stats.notices]
    assert result.config.method == "top_layers" and "notice.frozen_bottom" in notes


def test_auto_probes_a_large_encoder_on_its_stored_features_and_says_so(tiny_config, tiny_model, monkeypatch,
                                                                       tmp_path):
    from ktdemo.training import planning

    monkeypatch.setenv("KTDEMO_CACHE", str(tmp_path))  # an empty store
    monkeypatch.setattr(planning, "LARGE_MODEL_PARAMS", 0)  # the tiny model stands in for all-mpnet-base-v2
    splits = data.load_splits("trec", per_class=16)
    config = tiny_config(TRANSFER, dataset="trec", method="auto", time_budget_s=30.0, max_steps=None)
    assert planning.plan(config, splits).config.method != "linear_probe"  # nothing stored yet
    frozen_store.build(tiny_model, "trec", config.max_length, pooling="cls")
    chosen = planning.plan(config, splits)
    assert (chosen.config.method, chosen.config.max_length) == ("linear_probe", 32)
    assert "plan.stored_features" in [reason.key for reason in chosen.reasons]
    monkeypatch.setattr(planning.models, "pick_device", lambda: "cuda")  # a GPU trains the layers instead
    assert planning.plan(config, splits).config.method != "linear_probe"


def test_a_linear_probe_is_scored_from_its_features_as_the_whole_model_scores_it(tiny_config):
    """Only the probe's head moves, so the test texts' features score the trained model (no forward pass)."""
    from ktdemo.models.evaluation import evaluate

    result = run_transfer(tiny_config(TRANSFER, dataset="sms_spam", method="linear_probe", seed=4))
    test = data.load_splits("sms_spam", per_class=16, seed=4).test
    whole = evaluate(result.model, models.load_tokenizer(result.config.model), test.text.tolist(),
                     test.label.tolist(), result.config.max_length)
    assert result.after.predictions == whole.predictions
    # float32 noise in the features (SDPA vs eager, batch padding) times the probe's large standardised weights
    np.testing.assert_allclose(result.after.probabilities, whole.probabilities, atol=1e-3)
