from ktdemo.runs import RunConfig
from ktdemo.workspace import Workspace, release


def tiny(tiny_model, **overrides):
    values = dict(model=tiny_model, per_class=8, time_budget_s=None, max_steps=2, batch_size=8, max_length=32)
    values.update(overrides)
    return RunConfig(**values)


def test_a_failed_run_keeps_the_previous_model(tiny_model):
    workspace = Workspace()
    job = workspace.start(tiny(tiny_model))
    assert job.wait(120) and job.error is None
    good = workspace.current
    failed = workspace.start(tiny(tiny_model, model="no-such-owner/no-such-model"))
    assert failed.wait(60)
    assert failed.error and "Hub" in failed.error and failed.log.phase == "failed"
    assert workspace.current is good and len(workspace.history) == 1


def test_predictions_fall_back_to_the_untrained_head(tiny_model):
    workspace = Workspace()
    view = workspace.model_view(tiny_model, "rotten_tomatoes")
    assert not view.trained and "untrained head" in view.description
    inspection = workspace.inspect(view, "What a film")
    assert workspace.inspect(view, "What a film") is inspection  # predict + attention share one pass


def test_two_workspaces_never_share_a_model(tiny_model):
    first, second = Workspace(), Workspace()
    first.start(tiny(tiny_model, seed=1)).wait(120)
    second.start(tiny(tiny_model, seed=2, dataset="sms_spam")).wait(120)
    assert first.current.model is not second.current.model
    assert first.current.label_names != second.current.label_names


def test_release_stops_and_frees(tiny_model):
    workspace = Workspace()
    job = workspace.start(tiny(tiny_model, max_steps=None, time_budget_s=60, per_class=None))
    release(workspace)
    assert job.wait(30)
    assert workspace.current is None and workspace.job is None


def test_a_study_runs_its_configs_in_turn_and_fills_the_history(tiny_model):
    from ktdemo import studies

    workspace = Workspace()
    configs = studies.build("pretraining", tiny(tiny_model))
    job = workspace.start(configs, study="pretraining")
    assert job.wait(120) and job.error is None
    assert [row["kind"] for row in workspace.history] == ["in_domain", "from_scratch"]
    assert [row["run"] for row in workspace.history] == [1, 2]
    assert all(row["study"] == "pretraining" and row["config"]["model"] == tiny_model for row in workspace.history)


def test_sequential_reuses_a_matching_earlier_run(tiny_model):
    from ktdemo.transfer import first_stage_config

    workspace = Workspace()
    sequential = tiny(tiny_model, kind="sequential", source_dataset="trec")
    workspace.start(first_stage_config(sequential)).wait(120)
    job = workspace.start(sequential)
    assert job.wait(120) and job.error is None
    assert len(job.result.stats["stages"]) == 1  # stage 1 came from the earlier run


def test_zero_shot_runs_keep_the_model_predictions_use(tiny_model):
    workspace = Workspace()
    workspace.start(tiny(tiny_model)).wait(120)
    trained = workspace.current
    job = workspace.start(tiny(tiny_model, kind="zero_shot", dataset="vader_amazon"))
    assert job.wait(120) and job.error is None
    assert workspace.current is trained and workspace.history[-1]["method"] == "similarity"
