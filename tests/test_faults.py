"""Faults: Stop at any phase, a run that breaks (NaN loss, out of memory, a raised error), a missing model or Hub.

Whatever happens, the session stays consistent (no job left running, a new run can start), the
previous model stays and still predicts, and the user reads one sentence, never a traceback.
Runs here train in the test's thread (`worker.Inline`) so a test can patch the training code;
`test_worker.py` does the same across the process boundary.
"""
import time

import pytest
import torch

from conftest import one_sentence
from ktdemo import models, network
from ktdemo.inspection import attention
from ktdemo.serving.app import App
from ktdemo.serving.records import Run, summarise
from ktdemo.serving.session import Session
from ktdemo.serving.worker import Inline, Trainers
from ktdemo.training import methods, transfer

SENTENCE = "A fine, moving film."


INLINE = App(Trainers(Inline))  # trains in this process


@pytest.fixture(scope="module")
def first_run(tiny_config, tiny_model):
    session = Session(INLINE)
    job = session.runs.start(tiny_config())
    assert job.wait(120) and job.error is None
    return job.result


@pytest.fixture
def trained(first_run):
    """A session whose first run finished: its `current` is the model every fault must keep."""
    return with_first_run(first_run, INLINE.runner)


def assert_consistent(session: Session, previous) -> None:
    """No job left running, the previous model still answers, and the session can train again."""
    assert not session.runs.job.running()
    assert attention.inspect(previous.model, previous.tokenizer, SENTENCE).probabilities
    view = session.views.model_view(previous.config.model, previous.config.dataset)
    assert view.trained and session.views.inspect(view, SENTENCE).prediction in previous.label_names


def stopping_at(phase: str, seen: list) -> Trainers:
    """Trainers (in the test's thread) whose runs get Stop the moment they enter `phase`, through the log's
    public hook; every phase entered goes to `seen`."""
    class Stopping(Inline):
        def run(self, request, log, cancel):
            def entered(name) -> None:
                seen.append(name.key)
                if name.key == phase:
                    cancel.set()

            log.on_phase = entered
            return super().run(request, log, cancel)

    return Trainers(Stopping)


def with_first_run(first_run, trainers: Trainers) -> Session:
    session = Session(App(trainers))
    session.runs.items.append(Run(1, first_run.config, first_run.log, state="done", result=first_run,
                            summary=summarise(first_run, 1)))
    return session


@pytest.mark.parametrize("phase", ["phase.loading_data", "phase.loading_model", "phase.scoring_untrained",
                                   "phase.warm_start"])
def test_stop_before_training_keeps_the_previous_model(first_run, tiny_config, phase):
    seen = []
    session = with_first_run(first_run, stopping_at(phase, seen))
    previous, runs = session.runs.current, len(session.runs.history)
    job = session.runs.start(tiny_config(seed=1))
    assert job.wait(60)
    assert phase in seen
    assert job.log.state == "stopped" and one_sentence(job.error) and "unchanged" in job.error
    assert session.runs.current is previous and len(session.runs.history) == runs
    assert_consistent(session, previous)


def test_stop_during_training_keeps_a_checkpoint_and_the_previous_model_usable(first_run, tiny_config):
    session = with_first_run(first_run, stopping_at("phase.training_on", []))
    previous = session.runs.current
    job = session.runs.start(tiny_config(seed=1, max_steps=50))
    assert job.wait(60) and job.error is None
    assert job.log.state == "stopped" and job.result.stats.stopped_by_user and job.result.stats.steps < 50
    assert session.runs.current is job.result  # a stopped run keeps its best checkpoint, as documented
    assert_consistent(session, previous)
    assert_consistent(session, session.runs.current)


def test_stop_while_evaluating_leaves_the_session_consistent(first_run, tiny_config):
    session = with_first_run(first_run, stopping_at("phase.scoring_trained", []))
    previous = session.runs.current
    job = session.runs.start(tiny_config(seed=1))
    assert job.wait(60) and job.error is None
    assert job.log.state in ("done", "stopped") and session.runs.current is job.result
    assert_consistent(session, previous)


def test_stop_pressed_while_watching_the_phase_ends_a_long_run_quickly(tiny_config, trained, tiny_model):
    """The way the UI does it: poll the log, press Stop once training shows."""
    previous = trained.runs.current
    job = trained.runs.start(tiny_config(seed=1, max_steps=None, time_budget_s=60, per_class=None))
    deadline = time.monotonic() + 60
    while not job.log.training and job.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.log.training
    stopped_at = time.monotonic()
    assert trained.runs.stop()
    assert job.wait(30) and time.monotonic() - stopped_at < 30
    assert job.log.state == "stopped" and job.result.stats.stopped_by_user
    assert_consistent(trained, previous)


@pytest.mark.parametrize("error, words", [
    (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total capacity)"),
     "memory"),
    (RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 123456789 bytes."), "memory"),
    (MemoryError(), "memory"),  # no message at all
    (RuntimeError("something broke\n  File 'x.py', line 3, in <module>"), "something broke"),
])
def test_a_failing_run_says_so_in_one_sentence_and_keeps_the_previous_model(tiny_config, trained, tiny_model, monkeypatch,
                                                                              error, words):
    previous, runs = trained.runs.current, len(trained.runs.history)

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(transfer, "fine_tune", broken)
    job = trained.runs.start(tiny_config(seed=1))
    assert job.wait(60)
    assert job.log.state == "failed" and one_sentence(job.error) and words in job.error
    assert trained.runs.current is previous and len(trained.runs.history) == runs
    assert_consistent(trained, previous)


def test_nan_loss_fails_the_run_with_one_sentence(tiny_config, trained, tiny_model, monkeypatch):
    previous = trained.runs.current
    prepare = methods.prepare

    def poisoned(model, config):
        model = prepare(model, config)
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if "classifier" in name:
                    parameter.fill_(float("nan"))
        return model

    monkeypatch.setattr(methods, "prepare", poisoned)
    job = trained.runs.start(tiny_config(seed=1, max_steps=4))
    assert job.wait(60)
    assert job.log.state == "failed" and one_sentence(job.error) and "NaN" in job.error
    assert trained.runs.current is previous
    assert_consistent(trained, previous)


def test_a_huge_learning_rate_never_crashes_the_session(tiny_config, trained, tiny_model):
    """lr=1e6: either the loss blows up (one sentence) or the run ends; the session is fine either way."""
    previous = trained.runs.current
    job = trained.runs.start(tiny_config(seed=1, learning_rate=1e6, max_steps=6))
    assert job.wait(60)
    if job.error:
        assert job.log.state == "failed" and one_sentence(job.error) and trained.runs.current is previous
    assert_consistent(trained, previous)


@pytest.mark.parametrize("model", ["no-such-owner/no-such-model", "no-such-model"])
def test_an_unknown_model_id_gives_one_sentence(tiny_config, trained, model):
    previous = trained.runs.current
    job = trained.runs.start(tiny_config(model=model))
    assert job.wait(60)
    assert job.log.state == "failed" and one_sentence(job.error) and model in job.error
    assert trained.runs.current is previous
    assert_consistent(trained, previous)


def test_a_model_missing_on_the_hub_is_named_as_missing():
    class RepositoryNotFoundError(Exception):  # what huggingface_hub raises, by name
        pass

    spec = models.resolve("someone/nothing-here")
    error = models.explain_load_error(spec, RepositoryNotFoundError("404 Client Error: Repository Not Found"))
    assert str(error) == "No model 'someone/nothing-here' was found on the Hugging Face Hub."


def test_an_unreachable_hub_is_said_fast(monkeypatch, tiny_model):
    monkeypatch.setattr(network, "hub_unreachable", lambda timeout=3.0: True)
    started = time.monotonic()
    with pytest.raises(models.ModelError, match="Hub is unreachable") as caught:
        models.pretrained_classifier("someone/some-model", ["a", "b"])
    assert one_sentence(str(caught.value)) and time.monotonic() - started < 5
    with pytest.raises(models.ModelError, match="Hub is unreachable"):
        models.load_tokenizer("someone/other-model")
    assert models.pretrained_classifier(tiny_model, ["a", "b"]) is not None  # local models never ask the Hub


def test_an_unreachable_hub_fails_a_run_but_not_the_session(tiny_config, trained, monkeypatch):
    monkeypatch.setattr(network, "hub_unreachable", lambda timeout=3.0: True)
    previous = trained.runs.current
    job = trained.runs.start(tiny_config(model="someone/some-model"))
    assert job.wait(30)
    assert job.log.state == "failed" and one_sentence(job.error) and "unreachable" in job.error
    assert trained.runs.current is previous
    assert_consistent(trained, previous)
