"""The expected time of a run: the budget, plus the texts scored outside it at the speed of their batches."""
import numpy as np
import pandas as pd
import pytest

from ktdemo import data, models
from ktdemo.models.evaluation import length_sorted_batches
from ktdemo.training import planning
from ktdemo.training.loop import FINAL_CHECK_SAMPLE, VALIDATION_SAMPLE

WORDS = "a fine film that moves and amuses with wit though the plot is thin and slow".split()


def _texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=rng.integers(1, 40))) for _ in range(n)]


def _splits(train: int = 200, validation: int = 600, test: int = 300) -> data.Splits:
    def frame(n, seed):
        return pd.DataFrame({"text": _texts(n, seed), "label": [i % 2 for i in range(n)]})

    return data.Splits(frame(train, 1), frame(validation, 2), frame(test, 3), ["negative", "positive"])


def test_the_scored_length_is_the_mean_length_scoring_pads_to(tiny_model):
    tokenizer, texts = models.load_tokenizer(tiny_model), _texts(300)
    padded = [encoded["input_ids"].numel() for _, encoded in length_sorted_batches(tokenizer, texts, 32, "cpu")]
    mean = sum(padded) / len(texts)
    assert planning.scored_length(texts, tokenizer, 32) == round(mean)  # every text measured: exact
    assert planning.scored_length(texts, tokenizer, 8) == 8  # cut at max_length
    more = _texts(3000)  # a sample of LENGTH_SAMPLE, its batches shrunk alike: about the same length
    padded = [encoded["input_ids"].numel() for _, encoded in length_sorted_batches(tokenizer, more, 64, "cpu")]
    assert planning.scored_length(more, tokenizer, 64) == pytest.approx(sum(padded) / len(more), rel=0.1)


def test_the_scored_texts_count_the_test_set_twice_and_the_validation_checks(tiny_config):
    splits = _splits()
    checks = 2 * VALIDATION_SAMPLE + 2 * FINAL_CHECK_SAMPLE
    assert planning.scored_texts(tiny_config(method="full"), splits) == 2 * 300 + checks
    assert planning.scored_texts(tiny_config(method="linear_probe"), splits) == 2 * 300  # no fine-tuning checks
    assert planning.scored_texts(tiny_config(kind="zero_shot"), splits) == 2 * 300
    small = _splits(validation=100)  # the checks see the whole validation split; no larger final check
    assert planning.scored_texts(tiny_config(method="full"), small) == 2 * 300 + 2 * 100


def test_the_estimate_is_loading_scoring_and_the_budget_per_stage(tiny_config, monkeypatch):
    monkeypatch.setattr(planning, "_LEARNT", {})  # what earlier runs in this process taught the planner
    rates = []

    def rate(model, length, device, batch_size=32):
        rates.append((length, batch_size))
        return 100.0

    monkeypatch.setattr(planning, "inference_rate", rate)
    splits = _splits()
    config = tiny_config(method="full", time_budget_s=30.0, max_steps=None, max_length=32)
    scoring = planning.scored_texts(config, splits) / 100.0
    assert planning.estimate_seconds(config, splits) == pytest.approx(planning.LOAD_S + scoring + 30.0)
    length = planning.scored_length(splits.test.text, models.load_tokenizer(config.model), 32)
    assert rates[-1] == (length, planning.SCORING_BATCH)  # timed at the length and batch the scoring has
    sequential = tiny_config(kind="sequential", source_dataset="rotten_tomatoes", method="full", time_budget_s=30.0,
                             max_steps=None, max_length=32)
    assert planning.estimate_seconds(sequential, splits) == pytest.approx(2 * (planning.LOAD_S + scoring + 30.0))


def test_the_planner_learns_from_the_runs_it_sees(tiny_config, monkeypatch):
    monkeypatch.setattr(planning, "_LEARNT", {})
    monkeypatch.setattr(planning, "inference_rate", lambda *args, **kwargs: 100.0)
    splits = _splits()
    config = tiny_config(method="full", time_budget_s=30.0, max_steps=None, max_length=32)
    outside = planning.estimate_seconds(config, splits) - 30.0
    planning.learn(config, 30.0 + outside, 30.0 + 2 * outside)  # its time outside the budget took twice as long
    assert planning.estimate_seconds(config, splits) == pytest.approx(30.0 + 2 * outside)
    planning.learn(config, 30.0 + 2 * outside, 30.0 + 2 * outside)  # now on time: the estimate stays
    assert planning.estimate_seconds(config, splits) == pytest.approx(30.0 + 2 * outside)
    planning.learn(config, 30.0 + 2 * outside, 30.0 + 1000 * outside)  # one odd run moves it only so far
    assert planning.estimate_seconds(config, splits) == pytest.approx(30.0 + planning.LEARNT_RANGE[1] * outside)
    assert list(planning._LEARNT) == [(config.model, "cpu", False)]  # per model, device and zero-shot or not
    before = dict(planning._LEARNT)
    planning.learn(tiny_config(method="full", time_budget_s=None, max_steps=5), 10.0, 100.0)
    assert planning._LEARNT == before  # a step count's training time is an estimate too: it teaches nothing
