import json

import pytest

from ktdemo.__main__ import main
from ktdemo.runs import RunConfig


def test_train_from_flags_prints_json(tiny_model, capsys):
    code = main(["train", "--model", tiny_model, "--max-steps", "2", "--per-class", "8", "--budget", "30",
                 "--max-length", "32"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["stats"]["steps"] == 2
    assert out["config"]["per_class"] == 8 and out["config"]["time_budget_s"] == 30
    assert set(out["after"]) == {"accuracy", "macro_f1", "examples"}


def test_train_replays_an_exported_config(tiny_model, tmp_path, capsys):
    config = RunConfig(model=tiny_model, max_steps=2, per_class=8, time_budget_s=None, max_length=32, seed=5)
    path = tmp_path / "run.json"
    path.write_text(config.to_json())
    assert main(["train", "--config", str(path)]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["train", "--config", str(path)]) == 0
    second = json.loads(capsys.readouterr().out)
    assert first["config"] == json.loads(config.to_json())
    assert first["after"] == second["after"]


def test_unknown_config_key_is_a_usage_error(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"modle": "minilm"}))
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--config", str(path)])
    assert exit_info.value.code == 2


def test_a_failing_run_is_one_line_and_exit_1(capsys):
    assert main(["train", "--model", "../../etc", "--max-steps", "1"]) == 1
    assert "not a model name" in capsys.readouterr().err


def test_cross_domain_flags_with_a_label_map(tiny_model, capsys):
    code = main(["train", "--model", tiny_model, "--kind", "cross_domain", "--source-dataset", "rotten_tomatoes",
                 "--dataset", "sms_spam", "--label-map", "negative=spam, positive=ham", "--max-steps", "2",
                 "--per-class", "8", "--max-length", "32", "--also-test-on", "sms_spam"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["config"]["label_map"] == {"negative": "spam", "positive": "ham"}
    assert "source test (Rotten Tomatoes reviews)" in out["scores"]
