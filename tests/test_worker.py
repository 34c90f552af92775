"""Runs across the process boundary: Stop in every phase, a killed worker, the log that streams back,
and a session that leaves nothing behind when it ends.

Each test gets its own worker (a spawned process) so a kill here never touches other tests' runs.
`slow_phases` runs inside the worker (its `setup`): every phase lasts long enough to be seen and stopped.
"""
import functools
import gc
import os
import signal
import time

import numpy as np
import pandas as pd
import pytest

from conftest import one_sentence, slow_phases, wait_for_phase
from ktdemo import data
from ktdemo.inspection import attention
from ktdemo.serving.app import App
from ktdemo.serving.session import Session
from ktdemo.serving.worker import STOP_GRACE_S, Inline, Trainers, Worker

SENTENCE = "A fine, moving film."
PHASES = ["loading_data", "loading_model", "scoring_untrained", "warm_start", "training_on"]  # log.state


@pytest.fixture(scope="module")
def trained(tiny_config, tiny_model):
    """A session with its own slow worker and a first model that every fault must keep."""
    worker = Worker(setup=functools.partial(slow_phases, 0.6))
    session = Session(App(Trainers(lambda: worker, warm=True)))
    assert session.runs.start(tiny_config()).wait(120) and session.runs.current is not None
    yield session, worker
    session.release()
    worker.close()


def assert_previous_model_answers(session: Session, previous) -> None:
    assert session.runs.current is previous
    view = session.views.model_view(previous.config.model, previous.config.dataset)
    assert view.trained and session.views.inspect(view, SENTENCE).prediction in previous.label_names


@pytest.mark.parametrize("phase", PHASES)
def test_stop_in_every_phase_reaches_the_worker_and_keeps_the_model(tiny_config, trained, tiny_model, phase):
    session, _ = trained
    previous = session.runs.current
    job = session.runs.start(tiny_config(seed=1, max_steps=200))
    wait_for_phase(job, phase)
    pressed = time.monotonic()
    assert session.runs.stop()
    assert job.wait(30)
    took = time.monotonic() - pressed
    run = job.runs[0]
    print(f"Stop in {phase!r}: the run ended {took:.2f} s later ({run.state}: {run.error})")
    if phase.startswith("training"):  # a stopped training keeps its best checkpoint, as documented
        assert run.state == "stopped" and run.result.stats.stopped_by_user and run.result.stats.steps < 200
        assert session.runs.current is run.result
    else:
        assert run.state == "stopped" and one_sentence(str(run.error)) and "unchanged" in str(run.error)
        assert_previous_model_answers(session, previous)
    assert took < STOP_GRACE_S + 8  # generous for a busy CI machine; the figure is printed above


def test_a_worker_that_ignores_stop_is_killed_and_replaced(tiny_config, tiny_model):
    worker = Worker(setup=functools.partial(slow_phases, 30))  # a phase that never looks at Stop
    session = Session(App(Trainers(lambda: worker)))
    try:
        job = session.runs.start(tiny_config())
        wait_for_phase(job, "loading_data", timeout=120)
        first_pid, pressed = worker.pid, time.monotonic()
        session.runs.stop()
        assert job.wait(STOP_GRACE_S + 10)
        print(f"Stop with a stuck worker: the run ended {time.monotonic() - pressed:.2f} s later")
        assert job.runs[0].state == "stopped" and one_sentence(job.error)
        worker.start()
        assert worker.pid != first_pid
    finally:
        session.release()
        worker.close()


def test_a_killed_worker_fails_its_run_in_one_sentence_and_the_next_run_works(tiny_config, trained, tiny_model):
    session, worker = trained
    previous = session.runs.current
    job = session.runs.start(tiny_config(seed=1, max_steps=None, time_budget_s=60))
    wait_for_phase(job, "training_on")
    os.kill(worker.pid, signal.SIGKILL)  # what the kernel's out-of-memory killer does
    assert job.wait(30)
    run = job.runs[0]
    assert run.state == "failed" and one_sentence(str(run.error)) and "ended unexpectedly" in str(run.error)
    assert_previous_model_answers(session, previous)
    again = session.runs.start(tiny_config(seed=2))
    assert again.wait(120) and again.error is None and session.runs.current is again.result


def test_the_log_streams_back_while_the_worker_trains(tiny_config, trained, tiny_model):
    session, _ = trained
    job = session.runs.start(tiny_config(seed=3, max_steps=None, time_budget_s=4, eval_every_s=1.0),
                             probe_text=SENTENCE)
    seen = set()
    while not job.wait(0.05):
        seen.add((job.log.state, len(job.log.losses) > 0, len(job.log.evals) > 0))
    assert any(phase == "training_on" and losses for phase, losses, _ in seen)  # live, not only at the end
    result = job.result
    assert result.log is job.log and job.log.snapshots and job.log.losses
    assert result.log.losses[-1][0] == result.stats.steps


def holders_of(marker: str) -> list[str]:
    """Every live object that holds a text containing `marker`: strings in containers, and frames' columns."""
    gc.collect()
    found = []
    for holder in gc.get_objects():
        if isinstance(holder, (pd.DataFrame, pd.Series)):
            frame = holder.to_frame() if isinstance(holder, pd.Series) else holder
            texts = frame.select_dtypes(include=["object", "string", "str"])
            if texts.apply(lambda column: column.astype(str).str.contains(marker, regex=False).any()).any():
                found.append(type(holder).__name__)
            continue
        try:
            items = gc.get_referents(holder)
        except Exception:  # noqa: BLE001 - some C objects refuse
            continue
        for item in items:
            if isinstance(item, str) and marker in item and item is not marker:
                found.append(f"{type(holder).__name__}: {item[:60]!r}")
            elif isinstance(item, np.ndarray) and item.dtype == object and any(
                    isinstance(value, str) and marker in value for value in item.ravel()):
                found.append(f"{type(holder).__name__} (array)")
    return found


def test_release_leaves_no_trace_of_an_uploaded_text(tiny_config, tiny_model, tmp_path):
    """An upload's texts are in the session's data, caches and models until it ends, then nowhere."""
    marker = "".join(["qzx", "vb"])  # built at run time: the test's own source and constants do not hold it
    upload = tmp_path / "moods.csv"
    upload.write_text("text,label\n" + "".join(f"{marker} sunny day {i},cheerful\n{marker} rainy night {i},gloomy\n"
                                               for i in range(30)))
    session = Session(App(Trainers(Inline)))  # trains in this process, so its caches can be searched too
    session.data.add_dataset("upload:moods.csv", data.read_upload(upload))
    job = session.runs.start(tiny_config(dataset="upload:moods.csv", per_class=None))
    assert job.wait(120) and job.error is None
    view = session.views.model_view(tiny_model, "upload:moods.csv")
    session.views.inspect(view, f"{marker} and more")
    assert holders_of(marker), "the search finds nothing even while the session holds the upload"
    del job, view
    session.release()
    left = holders_of(marker)
    assert left == [], left
    assert attention.inspect  # the app's modules are still there: the search covered their caches
