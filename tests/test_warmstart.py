"""Warm starts and the never-below-the-start rule, on the tiny random BERT (mechanics)."""
import dataclasses

import numpy as np
import pytest
import torch

from ktdemo import models
from ktdemo.config import RunConfig
from ktdemo.models import heads
from ktdemo.models.evaluation import predict_probabilities
from ktdemo.outputs import report
from ktdemo.progress import english  # a Message list as its English sentences
from ktdemo.training import warmstart, zeroshot
from ktdemo.training.transfer import run_transfer

TEXTS = ["A gorgeous, moving film.", "Dull and far too long.", "I laughed, I cried.", "Not worth the ticket.",
         "An instant classic with a weak second half that drags on"]
DESCRIPTIONS = ["This text expresses a negative opinion.", "This text expresses a positive opinion."]


TRANSFER = dict(dataset="rotten_tomatoes", per_class=16, max_steps=4, eval_every_s=0.0)  # four steps on 16 per class


def mean_pooled_copy(model_key: str):
    return models.trainable_copy(models.pretrained_classifier(model_key, ["negative", "positive"], pooling="mean"))


def test_mean_pooling_is_the_normalised_mean_over_real_tokens_only():
    hidden = torch.tensor([[[1.0, 0.0], [3.0, 4.0], [100.0, 100.0]]])
    pooled = heads.mean_pool(hidden, torch.tensor([[1, 1, 0]]))  # the padded token never counts
    torch.testing.assert_close(pooled, torch.nn.functional.normalize(torch.tensor([[2.0, 2.0]]), dim=-1))


def test_the_description_warm_start_is_exactly_the_zero_shot_classifier(tiny_model):
    model, tokenizer = mean_pooled_copy(tiny_model), models.load_tokenizer(tiny_model)
    warmstart.from_descriptions(model, tokenizer, DESCRIPTIONS, max_length=32)
    ours = predict_probabilities(model, tokenizer, TEXTS, max_length=32)
    zero_shot = zeroshot.similarity_probabilities(tiny_model, TEXTS, DESCRIPTIONS, max_length=32)
    np.testing.assert_allclose(ours, zero_shot, atol=1e-5)
    assert (ours.argmax(1) == zero_shot.argmax(1)).all()
    assert model.training  # the warm start leaves the model in the mode it found it in


def test_the_description_warm_start_refuses_a_cls_head(tiny_model):
    model = models.trainable_copy(models.pretrained_classifier(tiny_model, ["negative", "positive"], pooling="cls"))
    with pytest.raises(ValueError, match="mean-pooled"):
        warmstart.from_descriptions(model, models.load_tokenizer(tiny_model), DESCRIPTIONS, max_length=32)


def test_auto_picks_descriptions_for_mean_pooling_a_probe_otherwise_and_keeps_the_control_random():
    assert warmstart.resolve(RunConfig(), "mean") == "descriptions"
    assert warmstart.resolve(RunConfig(), "cls") == "probe"
    assert warmstart.resolve(RunConfig(kind="from_scratch"), "mean") == "none"
    assert warmstart.resolve(RunConfig(method="linear_probe"), "mean") == "none"
    assert warmstart.resolve(RunConfig(warm_start="none"), "mean") == "none"  # an explicit choice stands


def test_a_run_scores_its_warm_start_and_resolves_auto_into_its_config(tiny_config, tiny_model):
    result = run_transfer(tiny_config(TRANSFER, pooling="mean", seed=21))
    assert (result.config.pooling, result.config.warm_start) == ("mean", "descriptions")
    zero = run_transfer(tiny_config(TRANSFER, kind="zero_shot", pooling="mean", seed=21))
    assert result.start.predictions == zero.after.predictions  # step 0 is the zero-shot classifier, test set too
    assert any("warm start 'descriptions'" in reason for reason in english(result.stats.plan))
    assert [str(name) for name, _ in report.result_rows(result)][:3] == [
        "before: pretrained encoder, random head", "start: zero-shot head (label descriptions), no training yet",
        f"after: {result.stats.train_seconds:.0f} s of transfer (full)"]
    from ktdemo.ui import train_tab  # the Train tab's results read the same rows (it crashed without a probe)

    assert "start: zero-shot head (label descriptions)" in train_tab.results_markdown(result)


@pytest.mark.parametrize("warm_start", ["descriptions", "probe", "none"])
def test_training_never_returns_a_model_below_its_start_on_validation(tiny_config, tiny_model, warm_start):
    result = run_transfer(tiny_config(TRANSFER, pooling="mean", warm_start=warm_start, max_steps=6, seed=22))
    evals = dict(result.log.evals)
    assert 0 in evals  # step 0 is a candidate checkpoint
    assert evals[result.stats.best_step] >= evals[0]


def test_a_run_that_learns_nothing_says_so_and_returns_its_start(tiny_config, tiny_model):
    result = run_transfer(tiny_config(TRANSFER, pooling="mean", warm_start="descriptions", learning_rate=1e-12,
                                      head_lr_scale=1.0, seed=23))
    assert any(notice.startswith("Training never beat its warm start") for notice in english(result.stats.notices))
    assert result.after.predictions == result.start.predictions


def test_the_probe_warm_start_spends_a_share_of_the_budget_then_fine_tunes(tiny_config, tiny_model):
    result = run_transfer(tiny_config(TRANSFER, pooling="cls", per_class=None, max_steps=None, time_budget_s=4,
                                      seed=24))
    assert result.config.warm_start == "probe"
    probe, (train,) = result.stats.warm_start_probe, result.stats.stages
    assert probe["examples_seen"] > 0
    # the probe's share comes out of the budget: fine-tuning gets the rest (a busy machine may slow the probe)
    assert train["seconds"] < 4 * (1 - warmstart.PROBE_SHARE) + 1.0
    assert result.start is not None


def test_warm_started_runs_replay_exactly_with_max_steps(tiny_config, tiny_model):
    config = tiny_config(TRANSFER, pooling="mean", seed=25)
    first, second = run_transfer(config), run_transfer(config)
    assert first.after.predictions == second.after.predictions
    assert first.log.losses == second.log.losses


def test_the_mean_pooled_model_exports_for_sentence_transformers_with_the_same_probabilities(tiny_config, tiny_model, tmp_path):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    result = run_transfer(tiny_config(TRANSFER, pooling="mean", seed=26))
    folder = report.save_model(result, tmp_path / "model")
    ours = predict_probabilities(result.model, result.tokenizer, TEXTS, result.config.max_length)
    loaded = sentence_transformers.SentenceTransformer(str(folder), device="cpu")
    theirs = loaded.encode(TEXTS, convert_to_tensor=True).softmax(-1).numpy()
    np.testing.assert_allclose(theirs, ours, atol=1e-5)
    models.register_model(models.ModelSpec("exported", "exported", "exported", "saved", path=str(folder)))
    reloaded = models.load_classifier("exported")  # ktdemo's own loader reads the pooling from config.json
    np.testing.assert_allclose(predict_probabilities(reloaded, result.tokenizer, TEXTS, 32), ours, atol=1e-5)
    assert "SentenceTransformer(" in (folder / "README.md").read_text()


def test_every_kind_runs_with_a_mean_pooled_warm_start(tiny_config, tiny_model):
    base = tiny_config(TRANSFER, pooling="mean", seed=27)
    for overrides in ({"method": "lora"}, {"method": "top_layers"}, {"method": "linear_probe"},
                      {"kind": "sequential", "source_dataset": "vader_movies"},
                      {"kind": "cross_domain", "dataset": "vader_amazon", "source_dataset": "rotten_tomatoes",
                       "adapt_per_class": 4},
                      {"kind": "from_scratch"}):
        result = run_transfer(dataclasses.replace(base, **overrides))
        expected = "none" if overrides.get("kind") == "from_scratch" or "method" in overrides and \
            overrides["method"] == "linear_probe" else "descriptions"
        assert result.config.warm_start == expected, overrides
        assert (result.start is None) == (expected == "none")
