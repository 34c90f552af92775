"""Take-home downloads: the offline HTML report, its JSON and the fine-tuned model as a zip."""
import dataclasses
import json
import re
import zipfile
from pathlib import Path

import pytest
import torch
from gradio_client import Client

from ktdemo.config import RunConfig
from ktdemo.outputs import report

SCRIPT = "<script>alert('x')</script> & more"


@pytest.fixture(scope="module")
def result(tiny_model):
    from ktdemo.training.transfer import run_transfer

    return run_transfer(RunConfig(model=tiny_model, per_class=8, max_steps=2, time_budget_s=None, batch_size=8,
                                  max_length=32))


@pytest.fixture(scope="module")
def page(result, tmp_path_factory):
    crafted = dataclasses.replace(result, misclassified=[
        {"text": SCRIPT, "true": "negative", "predicted": "positive", "confidence": 0.9}])
    return report.report_html(crafted, tmp_path_factory.mktemp("report") / "report.html").read_text()


def test_report_html_inlines_plotly_once_and_every_figure(page, result):
    import plotly.offline

    assert page.count(plotly.offline.get_plotlyjs()) == 1
    assert page.count("Plotly.newPlot(") == 3  # curves, before/after, confusion
    assert '"type":"heatmap"' in page and '"type":"bar"' in page and "validation accuracy" in page
    assert json.dumps(result.after.confusion, separators=(",", ":")) in page.replace(" ", "")


def test_report_html_escapes_data_and_opens_offline(page):
    import plotly.offline

    assert "<script>alert(" not in page and "&lt;script&gt;alert(" in page
    own = page.replace(plotly.offline.get_plotlyjs(), "")  # the bundle's own code mentions a few links
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", own)
    assert "<details>" in page and "Run config" in page


def test_report_json_round_trips(result):
    data = report.report_json(result)
    assert json.loads(json.dumps(data)) == data
    assert data["config"]["model"] == result.config.model and data["after"]["accuracy"] == round(result.after.accuracy, 4)
    assert {"torch", "transformers"} <= set(data["versions"]) and data["finished_at"].endswith("+00:00")


def test_model_zip_loads_with_transformers_and_predicts_the_same(result, tmp_path):
    from transformers import AutoModelForSequenceClassification

    path = report.model_zip(result, tmp_path / "model.zip")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "model")
    assert {"model.safetensors", "config.json", "tokenizer_config.json", "README.md", "run.json"} <= names
    assert not any(name.endswith(".bin") for name in names)
    card = (tmp_path / "model" / "README.md").read_text()
    assert "library_name: transformers" in card and "base_model: tiny-bert" in card
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "model", use_safetensors=True).eval()
    encoded = result.tokenizer("A fine film.", return_tensors="pt")
    with torch.inference_mode():
        expected = result.model.eval()(**encoded.to(result.model.device)).logits.cpu()
        # sdpa (loaded) and eager (the run) attention, and thread counts, order the float sums differently
        assert torch.allclose(loaded(**encoded.to("cpu")).logits, expected, atol=1e-4)
    assert loaded.config.id2label == dict(enumerate(result.label_names))


def test_zero_shot_has_no_model_to_export(result, tmp_path):
    with pytest.raises(ValueError, match="zero-shot run trains no model"):
        report.model_zip(dataclasses.replace(result, model=None), tmp_path / "model.zip")


def _paths(files) -> list[Path]:
    files = files["value"] if isinstance(files, dict) else files
    return [Path(f["value"] if isinstance(f, dict) else f) for f in files or []]


def test_report_and_model_zip_endpoints(app_url, tiny_model):
    client = Client(app_url, verbose=False)
    files, note = client.predict(api_name="/report")
    assert note.startswith("Finish a run first")
    client.predict(model=tiny_model, time_budget_s=5, per_class="16", api_name="/train")
    files, note = client.predict(api_name="/report")
    assert sorted(p.suffix for p in _paths(files)) == [".html", ".json"]
    page, numbers = sorted(_paths(files), key=lambda p: p.suffix)
    assert "What transfer changed inside the model" in page.read_text()  # the sentence space and the layers
    inside = json.loads(numbers.read_text())["inside"]
    assert len(inside["cka"]) == len(inside["layer_names"]) == 3 and 0 <= inside["separation_after"] <= 1
    files, note = client.predict(api_name="/model_zip")
    [zipped] = _paths(files)
    assert "model.safetensors" in zipfile.ZipFile(zipped).namelist()


@pytest.mark.parametrize("kind, figure", [("zero_shot", "Held-out test set: before vs after"),
                                          ("cross_domain", "Domain gap")])
def test_report_of_other_kinds(result, tmp_path, kind, figure):
    from ktdemo.models.evaluation import Metrics
    from ktdemo.progress import TrainingLog

    config = dataclasses.replace(result.config, kind=kind, source_dataset="vader_tweets")
    other = dataclasses.replace(result, config=config, model=None, log=TrainingLog(),
                                scores={"source test (<tweets>)": Metrics(0.7, 0.7, [[1, 0], [0, 1]], 2)})
    page = report.report_html(other, tmp_path / "report.html").read_text()
    assert page.count("Plotly.newPlot(") == 2 and figure in page  # no training curves without training
    assert "source test (&lt;tweets&gt;)" in page
