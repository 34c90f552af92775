"""Hostile input and safe settings: each gets a clear sentence (or a plain answer), never a traceback or a hang.

Data-layer cases already covered in test_data_upload / test_data_validate / test_models are driven here
once more through the app's API, the way a remote user would send them; the model cases build real
folders on disk (custom code, pickle-only weights) and check that nothing in them ever runs.
"""
import ast
import json
import pickle
import shutil
import tempfile
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from ktdemo import data, models
from ktdemo.config import RunConfig
from ktdemo.serving.app import App
from ktdemo.serving.session import Session
from ktdemo.serving.worker import Inline, Trainers

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = "<script>alert('x')</script><img src=x onerror=alert(1)> great film"
MAX_BYTES = data.MAX_UPLOAD_MB * 2**20
TEXTS = {
    "empty": "",
    "whitespace": "  \n\t \u00a0 ",
    "zero-width only": "\u200b\u200c\u200d\ufeff",
    "control characters": "\x00\x01\x02\x1b[31m\x7f",
    "emoji": "😀🔥👍🏽 great film 👨‍👩‍👧",
    "right-to-left": "\u202eהסרט היה נהדר هذا الفيلم رائع",
    "zero-width inside": "gr\u200beat fi\u200dlm",
    "100,000 characters": "great film " * 9_091,
}


def is_sentence(message) -> bool:
    return isinstance(message, str) and "Traceback" not in message and 'File "' not in message


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


# -- text ----------------------------------------------------------------------------------------

def test_hostile_texts_get_a_prediction_or_one_sentence(client, tiny_model):
    for name, text in TEXTS.items():
        label, _, note = client.predict(text, tiny_model, api_name="/predict")
        assert is_sentence(note), name
        if note.startswith("⚠️"):
            assert "Type a sentence" in note, name
        else:
            assert {c["label"] for c in label["confidences"]} == {"negative", "positive"}, name
        heatmap, overview, note = client.predict(text, 1, 1, tiny_model, api_name="/attention")
        assert is_sentence(note) and (note.startswith("⚠️") or heatmap is not None), name
        assert isinstance(client.predict(text=text, model=tiny_model, api_name="/rollout"), str), name
    _, _, note = client.predict(TEXTS["100,000 characters"], tiny_model, api_name="/predict")
    assert "cut to its first" in note


def test_script_text_is_shown_escaped_never_as_markup(client, tiny_model):
    label, _, note = client.predict(SCRIPT, tiny_model, api_name="/predict")
    assert "<script" not in note and "<img" not in note
    flow = client.predict(text=SCRIPT, model=tiny_model, api_name="/rollout")
    assert "&lt;" in flow and "<script" not in flow.lower() and "<img" not in flow.lower()
    saliency, _, note = client.predict(text=SCRIPT, model=tiny_model, api_name="/saliency")
    assert "&lt;" in saliency and "<script" not in saliency.lower() and "<img" not in saliency.lower()
    summary, _ = client.predict(text=SCRIPT, heads="L1H1", model=tiny_model, api_name="/ablate")
    assert "<script" not in summary


def test_path_traversal_model_ids_are_refused(client, tiny_model):
    for bad in ("../../etc", "/etc/passwd", "..\\..\\windows", "https://evil.example/model"):
        label, _, note = client.predict(text="A fine film.", model=bad, api_name="/predict")  # typed ids are allowed
        assert not label and "is not a model name" in note and is_sentence(note.lstrip("⚠️ "))
    job = Session().runs.start(RunConfig(model="../../etc", per_class=8, time_budget_s=None, max_steps=1))
    assert job.wait(30) and job.log.state == "failed"
    assert job.error.startswith("'../../etc' is not a model name") and is_sentence(job.error)


# -- files ---------------------------------------------------------------------------------------

def upload(client, path, tiny_model, *columns):
    dataset, note, summary, *_ = client.predict(handle_file(str(path)), *columns, model=tiny_model,
                                                api_name="/upload")
    return note, summary


@pytest.mark.parametrize("name, content, message", [
    ("binary.csv", bytes(range(256)) * 64, "looks like a binary file"),
    ("colons.csv", "\n".join(["text:label"] + [f"text {i}:{i % 2}" for i in range(30)]), "Only one column"),
    ("many.csv", "\n".join(["text,label"] + [f"text number {i},class {i}" for i in range(20_000)]),
     "20,000 different values"),
])
def test_hostile_files_get_one_sentence(client, tiny_model, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    *_, note = client.predict(handle_file(str(path)), api_name="/columns")  # only reads and guesses
    assert is_sentence(note) and (message in note or name == "many.csv")
    note, _ = upload(client, path, tiny_model)
    assert note.startswith("⚠️") and message in note and is_sentence(note)


def test_a_file_over_the_size_limit_gets_the_data_layers_sentence(client, tiny_model, tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w") as file:
        file.write("text,label\n")
        file.write(f"{'a long text ' * 40},1\n" * (MAX_BYTES // 480 + 100))
    assert path.stat().st_size > MAX_BYTES
    note, _ = upload(client, path, tiny_model)
    assert note.startswith("⚠️") and f"over the {data.MAX_UPLOAD_MB} MB limit" in note


def test_nan_labels_are_dropped_with_a_notice(client, tiny_model, tmp_path):
    rows = ["text,label"] + [f"sunny day {i},{['good', 'bad', '', 'NaN'][i % 4]}" for i in range(80)]
    path = tmp_path / "holes.csv"
    path.write_text("\n".join(rows))
    note, summary = upload(client, path, tiny_model)
    assert note.startswith("✅") and "2 classes" in summary and "rows without a label removed" in summary


def test_a_one_class_file_gets_one_sentence(client, tiny_model, tmp_path):
    path = tmp_path / "same.csv"
    path.write_text("\n".join(["text,label"] + [f"text {i},yes" for i in range(20)]))
    note, _ = upload(client, path, tiny_model, "text", "label")
    assert note.startswith("⚠️") and is_sentence(note)


# -- models --------------------------------------------------------------------------------------

def model_folder(tmp_path, tiny_model, name):
    folder = tmp_path / name
    shutil.copytree(models.MODELS[tiny_model].path, folder)
    return folder


def test_a_model_that_needs_remote_code_is_refused_and_its_code_never_runs(tmp_path, tiny_model):
    folder = model_folder(tmp_path, tiny_model, "remote-code")
    marker = tmp_path / "code-ran"
    code = f"open({str(marker)!r}, 'w').close()\n"
    (folder / "configuration_evil.py").write_text(code + "from transformers import PretrainedConfig\n"
                                                  "class EvilConfig(PretrainedConfig):\n    model_type = 'evil'\n")
    (folder / "modeling_evil.py").write_text(code)
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="evil", architectures=["EvilModel"],
                  auto_map={"AutoConfig": "configuration_evil.EvilConfig",
                            "AutoModelForSequenceClassification": "modeling_evil.EvilModel"})
    (folder / "config.json").write_text(json.dumps(config))
    models.register_model(models.ModelSpec("remote-code", "remote code", "someone/remote-code", "", path=str(folder)))
    with pytest.raises(models.ModelError) as caught:
        models.pretrained_classifier("remote-code", ["a", "b"])
    assert str(caught.value) == "'someone/remote-code' needs custom code to run, which this app never executes."
    job = Session().runs.start(RunConfig(model="remote-code", per_class=8, time_budget_s=None, max_steps=1))
    assert job.wait(30) and job.log.state == "failed" and is_sentence(job.error) and "custom code" in job.error
    assert not marker.exists()


class _Payload:
    """Unpickling this creates a file: proof the weights were unpickled."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (self.path, "w")


def test_pickle_only_weights_are_refused_and_never_unpickled(tmp_path, tiny_model):
    folder = model_folder(tmp_path, tiny_model, "pickled")
    marker = tmp_path / "unpickled"
    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(_Payload(str(marker))))
    models.register_model(models.ModelSpec("pickled-evil", "pickled", "someone/pickled", "", path=str(folder)))
    with pytest.raises(models.ModelError, match="no safetensors weights") as caught:
        models.pretrained_classifier("pickled-evil", ["a", "b"])
    assert is_sentence(str(caught.value))
    job = Session().runs.start(RunConfig(model="pickled-evil", per_class=8, time_budget_s=None, max_steps=1))
    assert job.wait(30) and job.log.state == "failed" and "safetensors" in job.error
    assert not marker.exists()


# -- settings ------------------------------------------------------------------------------------

def sources():
    return [ROOT / "app.py", *sorted((ROOT / "ktdemo").rglob("*.py"))]


def calls(path):
    return [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)]


def keyword(call, name):
    found = [k.value for k in call.keywords if k.arg == name]
    return found[0] if found else None


def test_launch_caps_uploads_and_never_shares():
    from ktdemo.ui import UPLOAD_CAP_MB, launch_options

    options = launch_options()
    assert options["max_file_size"] == f"{UPLOAD_CAP_MB}mb" and UPLOAD_CAP_MB >= data.MAX_UPLOAD_MB
    assert "share" not in options and "allowed_paths" not in options
    for path in sources():
        for call in calls(path):
            for name in ("share", "allowed_paths"):
                value = keyword(call, name)
                assert value is None or (isinstance(value, ast.Constant) and not value.value), f"{path}: {name}"
        assert "allowed_paths" not in path.read_text(), path
        assert "GRADIO_SHARE" not in path.read_text(), path


def test_weights_load_from_safetensors_only_and_never_run_remote_code():
    loads = [(path, call) for path in sources() for call in calls(path)
             if isinstance(call.func, ast.Attribute) and call.func.attr == "from_pretrained"]
    assert len(loads) >= 3
    for path, call in loads:
        where = f"{path.name}:{call.lineno}"
        remote = keyword(call, "trust_remote_code")
        assert isinstance(remote, ast.Constant) and remote.value is False, where
        if not any(part in ast.unparse(call.func) for part in ("Tokenizer", "Config")):  # these carry no weights
            safe = keyword(call, "use_safetensors")
            assert isinstance(safe, ast.Constant) and safe.value is True, where
        assert not any(k.arg is None for k in call.keywords), f"{where}: **kwargs could smuggle options in"


def test_uploads_are_parsed_as_data_only():
    builtins = {"eval", "exec", "compile", "__import__"}
    for path in sources():
        for call in calls(path):
            where = f"{path.name}:{call.lineno} {ast.unparse(call.func)}"
            if isinstance(call.func, ast.Name):
                assert call.func.id not in builtins, where
                continue
            if not isinstance(call.func, ast.Attribute):
                continue
            name, owner = call.func.attr, ast.unparse(call.func.value)
            assert name not in ("read_pickle", "Unpickler", "literal_eval"), where
            if name in ("load", "loads"):  # pickle, torch.load, yaml.load can run code
                pickle_off = owner == "np" and getattr(keyword(call, "allow_pickle"), "value", True) is False
                assert owner in ("json", "demo") or pickle_off, where  # demo.load: Gradio's page-load event
            if name in ("read_csv", "read_json", "read_parquet"):
                assert keyword(call, "engine") is None, f"{path.name}:{call.lineno}"


def test_a_run_leaves_no_temporary_files(tmp_path, tiny_model, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    session = Session(App(Trainers(Inline)))  # in this process, where tempfile is patched
    config = RunConfig(model=tiny_model, per_class=8, time_budget_s=None, max_steps=2, batch_size=8, max_length=32)
    job = session.runs.start(config, own_copy=True)  # its own folder: a shared run's is the app's
    assert job.wait(120) and job.error is None
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith("ktdemo")]
    assert left == [session.folder.name], f"left behind: {left}"  # the session's weights, until it ends
    session.release()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("ktdemo")]
