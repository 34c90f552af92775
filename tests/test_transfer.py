import json
import math
import threading
import time

import pytest

from ktdemo.config import RunConfig
from ktdemo.progress import RunCancelled, TrainingLog
from ktdemo.training import loop, transfer
from ktdemo.training.transfer import run_transfer

TRANSFER = dict(dataset="rotten_tomatoes", per_class=16, max_steps=4, eval_every_s=0.0)  # four steps on 16 per class


def test_config_round_trips_through_json_and_rejects_unknown_keys():
    config = RunConfig(learning_rate=3e-5, per_class=8)
    assert RunConfig.from_dict(json.loads(config.to_json())) == config
    with pytest.raises(ValueError, match="Unknown setting"):
        RunConfig.from_dict({"learning_rat": 1})


def test_run_reports_metrics_stats_and_live_log(tiny_config, tiny_model):
    log = TrainingLog()
    result = run_transfer(tiny_config(TRANSFER), log)
    assert result.stats.steps == 4 and result.stats.examples_seen == 32
    assert result.stats.train_examples == 32  # 16 per class
    assert 0 < result.stats.trainable_params < result.stats.total_params  # embeddings frozen
    for metrics in (result.before, result.after):
        assert 0.0 <= metrics.accuracy <= 1.0 and metrics.examples == result.stats.test_examples
        assert sum(map(sum, metrics.confusion)) == metrics.examples
    assert [step for step, _ in log.losses] == [1, 2, 3, 4]
    assert log.evals and log.state == "done"
    assert result.model.config._attn_implementation == "eager"  # ready for attention views
    assert all(row["true"] != row["predicted"] for row in result.misclassified)


def test_same_config_and_seed_give_the_same_metrics(tiny_config, tiny_model):
    first = run_transfer(tiny_config(TRANSFER, seed=7))
    second = run_transfer(tiny_config(TRANSFER, seed=7))
    assert first.after.predictions == second.after.predictions
    assert [loss for _, loss in first.log.losses] == pytest.approx([loss for _, loss in second.log.losses])


def test_time_budget_is_kept(tiny_config, tiny_model):
    result = run_transfer(tiny_config(TRANSFER, max_steps=None, time_budget_s=2.0, per_class=None))
    assert result.stats.train_seconds < 2.0 + 1.5
    assert result.stats.steps >= 1


def test_cancel_before_training_raises_and_creates_nothing(tiny_config, tiny_model):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(RunCancelled):
        run_transfer(tiny_config(TRANSFER), cancel=cancel)


def test_stop_mid_run_ends_fast_and_keeps_the_best_checkpoint(tiny_config, tiny_model):
    cancel, log = threading.Event(), TrainingLog()
    config = tiny_config(TRANSFER, max_steps=None, time_budget_s=120, per_class=None)
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(result=run_transfer(config, log, cancel)))
    worker.start()
    while log.step < 3 or not log.training:  # past the warm start, into training
        assert worker.is_alive(), "the run ended before it could be stopped"
        time.sleep(0.05)
    stopped_at = time.monotonic()
    cancel.set()
    worker.join(timeout=30)
    assert not worker.is_alive()
    result = outcome["result"]
    assert result.stats.stopped_by_user and log.state == "stopped"
    assert time.monotonic() - stopped_at < 10  # a hang guard; the benchmark times Stop
    assert result.stats.best_step <= result.stats.steps
    # scored on a sample to stop fast, "before" on the very same sample
    assert result.stats.test_examples == transfer.STOPPED_TEST_SAMPLE < result.stats.test_split_examples
    assert result.before.examples == result.after.examples == transfer.STOPPED_TEST_SAMPLE


def test_nan_loss_is_reported_as_a_failure():
    log = TrainingLog(train_started=time.monotonic())
    callback = loop._RunCallback(log, threading.Event(), None, model=None)

    class Control:
        should_training_stop = False

    class State:
        global_step = 3

    control = Control()
    callback.on_log(None, State(), control, logs={"loss": math.nan})
    assert control.should_training_stop and callback.failure.key == "notice.nan_loss" and "NaN" in str(callback.failure)
    assert log.losses == []


def test_time_budget_mode_reports_no_fixed_step_count(tiny_config, tiny_model):
    log = TrainingLog()
    run_transfer(tiny_config(TRANSFER, max_steps=None, time_budget_s=1.5, per_class=None), log)
    assert log.max_steps == 0 and log.step > 0 and log.fraction() == 1.0
