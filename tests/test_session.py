import time
from pathlib import Path

from ktdemo.serving.app import App
from ktdemo.serving.session import Session


def test_a_failed_run_keeps_the_previous_model(tiny_config, tiny_model):
    session = Session()
    job = session.runs.start(tiny_config())
    assert job.wait(120) and job.error is None
    good = session.runs.current
    failed = session.runs.start(tiny_config(model="no-such-owner/no-such-model"))
    assert failed.wait(60)
    assert failed.error and "Hub" in failed.error and failed.log.state == "failed"
    assert session.runs.current is good and len(session.runs.history) == 1


def test_predictions_fall_back_to_the_untrained_head(tiny_model):
    session = Session()
    view = session.views.model_view(tiny_model, "rotten_tomatoes")
    assert not view.trained and "untrained head" in str(view.description)
    inspection = session.views.inspect(view, "What a film")
    assert session.views.inspect(view, "What a film") is inspection  # predict + attention share one pass


def test_two_sessions_training_in_the_worker_never_share_a_model(tiny_config, tiny_model):
    from ktdemo.serving.worker import local_trainers

    worker = local_trainers({"KTDEMO_TRAINING": "process"})  # the worker process, whatever the lane sets
    first, second = Session(App(worker)), Session(App(worker))
    try:
        first.runs.start(tiny_config(seed=1)).wait(120)
        second.runs.start(tiny_config(seed=2, dataset="sms_spam")).wait(120)
        assert first.runs.current.model is not second.runs.current.model
        assert first.runs.current.label_names != second.runs.current.label_names
    finally:
        worker.close()


def test_release_stops_and_frees(tiny_config, tiny_model):
    session = Session()
    job = session.runs.start(tiny_config(max_steps=None, time_budget_s=60, per_class=None))
    folder = session.folder
    session.release()
    assert job.wait(30)
    assert session.runs.current is None and session.runs.job is None and not session.runs and not folder.exists()


def test_a_failed_run_after_a_good_one_leaves_the_good_one_everywhere(tiny_config, tiny_model):
    """One run list: the report, the config and the model zip all follow the run predictions use."""
    session = Session()
    assert session.runs.start(tiny_config()).wait(120)
    good = session.runs.current
    session.runs.start(tiny_config(model="no-such-owner/no-such-model")).wait(60)
    assert [run.state for run in session.runs] == ["done", "failed"]
    assert session.runs.latest is good and session.runs.current is good
    page, numbers = session.downloads.report_files()
    downloads = session.downloads
    assert page.exists() and numbers.exists() and downloads.model_zip().exists() and downloads.config_file().exists()


def test_only_the_current_model_stays_in_memory_the_others_on_disk(tiny_config, tiny_model):
    session = Session()
    for seed in (1, 2):
        assert session.runs.start(tiny_config(seed=seed)).wait(120)
    first, second = session.runs
    assert first.result.model is None and Path(first.weights).exists()
    assert session.runs.current is second.result and second.result.model is not None


def test_a_study_runs_its_configs_in_turn_and_fills_the_history(tiny_config, tiny_model):
    from ktdemo.training import studies

    session = Session()
    configs = studies.build("pretraining", tiny_config())
    job = session.runs.start(configs, study="pretraining")
    assert job.wait(120) and job.error is None
    assert [row["kind"] for row in session.runs.history] == ["in_domain", "from_scratch"]
    assert [row["run"] for row in session.runs.history] == [1, 2]
    assert all(row["study"] == "pretraining" and row["config"]["model"] == tiny_model for row in session.runs.history)


def test_sequential_reuses_a_matching_earlier_run(tiny_config, tiny_model):
    from ktdemo.training.transfer import first_stage_config

    session = Session()
    sequential = tiny_config(kind="sequential", source_dataset="trec")
    session.runs.start(first_stage_config(sequential)).wait(120)
    job = session.runs.start(sequential)
    assert job.wait(120) and job.error is None
    assert len(job.result.stats.stages) == 1  # stage 1 came from the earlier run


def test_zero_shot_runs_keep_the_model_predictions_use(tiny_config, tiny_model):
    session = Session()
    session.runs.start(tiny_config()).wait(120)
    trained = session.runs.current
    job = session.runs.start(tiny_config(kind="zero_shot", dataset="vader_amazon"))
    assert job.wait(120) and job.error is None
    assert session.runs.current is trained and session.runs.history[-1]["method"] == "similarity"


def test_a_second_session_waits_its_turn_and_says_its_place_and_wait(tiny_config, tiny_model):
    from ktdemo.serving.worker import Inline, Trainers

    app = App(Trainers(Inline))  # one run at a time, as on a CPU machine
    first, second = Session(app), Session(app)
    try:
        running = first.runs.start(tiny_config(max_steps=None, time_budget_s=30, per_class=None))
        deadline = time.monotonic() + 30
        while running.runs[0].state != "running" and time.monotonic() < deadline:
            time.sleep(0.01)
        waiting = second.runs.start(tiny_config(seed=1))
        while "turn" not in str(waiting.log.phase) and time.monotonic() < deadline:
            time.sleep(0.01)
        phase = str(waiting.log.phase)  # English, as the CLI and API say it
        assert phase.startswith("waiting for its turn: 1 run ahead, about ") and waiting.runs[0].state == "queued"
        assert 0 < float(phase.split("about ")[1].split(" s")[0]) < 120  # the plan of the run ahead
        first.runs.stop()
        assert running.wait(30) and waiting.wait(60) and waiting.error is None and second.runs.current is not None
    finally:
        first.release()
        second.release()
