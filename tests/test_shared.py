"""Identical public runs are trained once and shared; anything private never is."""
import time

import pytest

from ktdemo import data
from ktdemo.serving.app import App
from ktdemo.serving.session import Session
from ktdemo.serving.worker import Inline, Trainers


class Counting(Inline):
    """Runs in the test's process and counts what it trained."""

    def __init__(self):
        self.trained = 0

    def run(self, request, log, cancel):
        self.trained += 1
        return super().run(request, log, cancel)


@pytest.fixture
def slots():
    trainer = Counting()
    made, app = [], App(Trainers(lambda: trainer))  # the sessions' app: their shared runs and this trainer
    yield app, trainer, made
    for session in made:  # no run outlives its test
        session.release()
    app.close()




def sessions(slots, count):
    made = [Session(slots[0]) for _ in range(count)]
    slots[2].extend(made)
    return made


def until(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


def join_a_running_run(tiny_config, slots, tiny_model):
    """Two sessions; the second starts the first's run while it trains: (first, second, job, joined job)."""
    first, second = sessions(slots, 2)
    config = tiny_config(max_steps=None, time_budget_s=4, per_class=None)
    job = first.runs.start(config)
    until(lambda: job.runs[0].state == "running")
    return first, second, job, second.runs.start(config)


def test_a_second_session_joins_the_running_run_and_sees_the_same_live_view(tiny_config, slots, tiny_model):
    first, second, job, joined = join_a_running_run(tiny_config, slots, tiny_model)
    until(lambda: joined.log is job.log, timeout=5)  # one live log: the same curves, the same phase
    until(lambda: job.runs[0].sharing() is not None, timeout=5)
    assert str(job.runs[0].sharing()) == "The same run as 1 other session here: trained once."
    assert job.wait(60) and joined.wait(60) and job.error is None and joined.error is None
    assert slots[1].trained == 1
    assert first.runs.current is second.runs.current  # one model in memory for both
    assert [r["run"] for r in second.runs.history] == [1]  # each session numbers its own runs


def test_a_finished_public_run_is_handed_out_at_once(tiny_config, slots, tiny_model):
    first, second = sessions(slots, 2)
    assert first.runs.start(tiny_config()).wait(60)
    started = time.monotonic()
    again = second.runs.start(tiny_config())
    assert again.wait(10) and time.monotonic() - started < 5
    assert second.runs.current is first.runs.current and slots[1].trained == 1
    assert str(again.runs[0].sharing()).startswith("Another session here had already trained")
    assert second.runs[0].weights == first.runs[0].weights


def test_a_different_setting_or_a_time_lapse_sentence_is_another_run(tiny_config, slots, tiny_model):
    first, second, third = sessions(slots, 3)
    for session, job in ((first, tiny_config()), (second, tiny_config(seed=1))):
        assert session.runs.start(job).wait(60)
    assert third.runs.start(tiny_config(), probe_text="Another probe.").wait(60)
    assert slots[1].trained == 3


def test_a_run_on_an_upload_is_never_shared(tiny_config, slots, tiny_model, tmp_path):
    upload = tmp_path / "moods.csv"
    upload.write_text("text,label\n" + "".join(f"a sunny day {i},cheerful\na rainy night {i},gloomy\n"
                                               for i in range(30)))
    first, second = sessions(slots, 2)
    for session in (first, second):
        session.data.add_dataset("upload:moods.csv", data.read_upload(upload))
        assert session.runs.start(tiny_config(dataset="upload:moods.csv", per_class=None)).wait(60)
        assert session.runs[0].shared is None
    assert slots[1].trained == 2 and first.runs.current is not second.runs.current


def test_own_copy_opts_out(tiny_config, slots, tiny_model):
    first, second = sessions(slots, 2)
    assert first.runs.start(tiny_config()).wait(60)
    assert second.runs.start(tiny_config(), own_copy=True).wait(60)
    assert slots[1].trained == 2 and first.runs.current is not second.runs.current


def test_stop_by_one_of_two_leaves_the_run_going_for_the_other(tiny_config, slots, tiny_model):
    first, second, job, joined = join_a_running_run(tiny_config, slots, tiny_model)
    until(lambda: job.runs[0].shared.members == 2, timeout=5)
    second.runs.stop()
    assert joined.wait(10) and joined.runs[0].state == "stopped"
    assert "goes on for the 1 other session" in joined.error and second.runs.current is None
    assert job.log.state != "stopped" and joined.log is not job.log  # the one who left does not stop the view
    assert job.wait(60) and job.runs[0].state == "done" and not job.result.stats.stopped_by_user
