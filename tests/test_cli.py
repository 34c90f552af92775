import io
import json
import shutil
import zipfile
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import fields

import numpy as np
import pytest

from ktdemo.cli import main
from ktdemo.config import RunConfig


def test_train_from_flags_prints_json(tiny_model, capsys):
    code = main(["train", "--model", tiny_model, "--max-steps", "2", "--per-class", "8", "--time-budget-s", "30",
                 "--max-length", "32"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["stats"]["steps"] == 2
    assert out["config"]["per_class"] == 8 and out["config"]["time_budget_s"] == 30
    assert set(out["after"]) == {"accuracy", "macro_f1", "examples"}


def test_train_replays_an_exported_config(tiny_model, tmp_path, capsys):
    config = RunConfig(model=tiny_model, max_steps=2, per_class=8, time_budget_s=None, max_length=32, seed=5,
                       method="full")
    path = tmp_path / "run.json"
    path.write_text(config.to_json())
    assert main(["train", "--config", str(path)]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["train", "--config", str(path)]) == 0
    second = json.loads(capsys.readouterr().out)
    resolved = {"pooling": "cls", "warm_start": "probe"}  # "auto" is made concrete before the run: replayable as is
    assert first["config"] == {**json.loads(config.to_json()), **resolved}
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


# -- a saved model, and the commands on it -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained(tiny_model, tmp_path_factory):
    """(train's JSON, the folder it saved): one short run shared by the tests below."""
    folder = tmp_path_factory.mktemp("cli") / "model"
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        code = main(["train", "--model", tiny_model, "--max-steps", "2", "--per-class", "8", "--max-length", "32",
                     "--method", "full", "--seed", "3", "--save", str(folder)])
    assert code == 0
    return json.loads(out.getvalue()), folder


def run_json(capsys, *argv):
    """(exit code, stdout as JSON, stderr); stdout must be pure JSON."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def error_line(err: str) -> str:
    """The one error line, the last of stderr (progress bars, e.g. transformers' weight loading, come before)."""
    lines = err.strip().splitlines()
    assert lines[-1].startswith("error: ") and sum(line.startswith("error") for line in lines) == 1
    return lines[-1]


def test_train_saves_a_loadable_model(trained):
    out, folder = trained
    assert out["saved"] == str(folder)
    assert {"model.safetensors", "config.json", "tokenizer.json", "run.json"} <= {p.name for p in folder.iterdir()}
    assert json.loads((folder / "run.json").read_text()) == {k: v for k, v in out.items() if k != "saved"}


def test_a_folder_with_a_bare_config_uses_its_settings(trained, tmp_path, capsys):
    """run.json may also be a config file as the app exports it (no run around it)."""
    folder = tmp_path / "copy"
    shutil.copytree(trained[1], folder)
    (folder / "run.json").write_text(json.dumps({**trained[0]["config"], "max_length": 16}))
    code, out, _ = run_json(capsys, "evaluate", "--model", str(folder), "--split", "validation")
    assert code == 0 and (out["max_length"], out["seed"], out["split"]) == (16, 3, "validation")


def test_evaluate_a_saved_model_gives_the_runs_after_metrics(trained, capsys):
    train, folder = trained
    code, out, err = run_json(capsys, "evaluate", "--model", str(folder))
    assert code == 0 and "scoring" in err  # the progress bar, on stderr
    assert out["max_length"] == 32 and out["seed"] == 3 and out["split"] == "test"  # from the saved run.json
    assert {k: out[k] for k in ("accuracy", "macro_f1", "examples")} == train["after"]
    assert sum(map(sum, out["confusion"])) == out["examples"]


def test_evaluate_a_catalog_model_gives_the_untrained_head(trained, tiny_model, capsys):
    train, _ = trained
    code, out, _ = run_json(capsys, "evaluate", "--model", tiny_model, "--max-length", "32", "--seed", "3")
    assert code == 0 and {k: out[k] for k in ("accuracy", "macro_f1", "examples")} == train["before"]


def test_evaluate_on_a_dataset_with_other_labels_is_one_line(trained, capsys):
    assert main(["evaluate", "--model", str(trained[1]), "--dataset", "sms_spam"]) == 1
    assert "labels (negative, positive) are not those of" in error_line(capsys.readouterr().err)


def test_predict_texts_and_a_file(trained, tmp_path, capsys):
    lines = tmp_path / "texts.txt"
    lines.write_text("A gem of a film.\n\nDull and far too long.\n")
    code, out, _ = run_json(capsys, "predict", "--model", str(trained[1]), "Just fine.", "--file", str(lines))
    assert code == 0 and [row["text"] for row in out] == ["Just fine.", "A gem of a film.", "Dull and far too long."]
    for row in out:
        assert set(row["probabilities"]) == {"negative", "positive"}
        assert row["prediction"] == max(row["probabilities"], key=row["probabilities"].get)
        assert sum(row["probabilities"].values()) == pytest.approx(1, abs=1e-3)


def test_attention_prints_one_head_and_writes_every_head(trained, tmp_path, capsys):
    from ktdemo.outputs.exports import load_attention_npz

    path = tmp_path / "gem.npz"
    code, out, _ = run_json(capsys, "attention", "--model", str(trained[1]), "A gem of a film.", "--layer", "2",
                            "--head", "1", "--out", str(path))
    assert code == 0 and out["shape"] == [2, 2] and out["npz"] == str(path)
    matrix = np.array(out["attention"])
    assert matrix.shape == (len(out["tokens"]),) * 2 and np.allclose(matrix.sum(axis=1), 1, atol=1e-3)
    inspection, metadata = load_attention_npz(path)
    assert inspection.tokens == out["tokens"] and inspection.prediction == out["prediction"]
    assert np.allclose(inspection.attentions[1, 0], matrix, atol=1e-4) and metadata["text"] == "A gem of a film."


def test_attention_on_a_missing_head_is_one_line(trained, capsys):
    assert main(["attention", "--model", str(trained[1]), "Fine.", "--head", "3"]) == 1
    assert "L2H3 does not exist: this model has 2 layers of 2 heads." in capsys.readouterr().err


def test_export_zips_the_saved_folder(trained, tmp_path, capsys):
    code, out, _ = run_json(capsys, "export", "--model", str(trained[1]), "--out", str(tmp_path / "model.zip"))
    with zipfile.ZipFile(tmp_path / "model.zip") as archive:
        names = set(archive.namelist())
    assert code == 0 and names == set(out["files"]) and {"model.safetensors", "run.json"} <= names


@pytest.mark.parametrize("model", ["missing-folder/", "../../etc"])
def test_a_bad_model_is_one_line_and_exit_1(tmp_path, model, capsys):
    assert main(["predict", "--model", str(tmp_path / model) if model.endswith("/") else model, "hi"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and error_line(captured.err)


def test_a_folder_without_a_model_is_one_line(tmp_path, capsys):
    assert main(["export", "--model", str(tmp_path), "--out", str(tmp_path / "x.zip")]) == 1
    assert "is not a model folder" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["train", "--kind", "zero_shot", "--save", "x"], ["predict", "--model", "minilm"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


@pytest.mark.parametrize("command, options", [
    ("train", ["--config", "--save", "--report", "--max-length", "default: 64"]),
    ("evaluate", ["--model", "--dataset", "--split", "default 'test'", "--max-length", "--seed"]),
    ("predict", ["--model", "TEXT", "--file"]),
    ("attention", ["--model", "TEXT", "--layer", "--head", "--out", "default: 128"]),
    ("export", ["--model", "--out"]),
])
def test_each_command_has_help(command, options, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and all(option in out for option in options)


def test_train_writes_a_report(tiny_model, tmp_path, capsys):
    pytest.importorskip("ktdemo.outputs.report")
    path = tmp_path / "report.html"
    code, out, _ = run_json(capsys, "train", "--model", tiny_model, "--max-steps", "1", "--per-class", "8",
                            "--max-length", "32", "--report", str(path))
    assert code == 0 and out["report"] == str(path) and path.stat().st_size > 0


def test_train_help_lists_one_flag_per_setting_with_its_choices(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    shown = capsys.readouterr().out
    for field in fields(RunConfig):
        assert shown.count(f"--{field.name.replace('_', '-')} ") >= 1, field.name
    assert "--budget " not in shown  # one flag per setting: no aliases
    assert "{in_domain,cross_domain,zero_shot,sequential,from_scratch}" in shown
    assert "lora          low-rank adapters" in shown  # what each choice means


def test_a_wrong_choice_lists_the_valid_ones(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["train", "--method", "magic"])
    assert caught.value.code == 2
    assert "invalid choice: 'magic'" in capsys.readouterr().err
