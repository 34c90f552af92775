"""Take a run home: a self-contained HTML report, its JSON, and the fine-tuned model as a zip.

The HTML opens offline (plotly.js is inlined once, every figure reuses it) and escapes every text that
came from data: test texts and label names are user input. The zip is a plain `save_pretrained` folder
(safetensors, tokenizer, model card, run.json) that `AutoModelForSequenceClassification.from_pretrained`
loads. No UI code here.
"""
from __future__ import annotations

import dataclasses
import datetime
import html
import json
import platform
import tempfile
import time
import zipfile
from pathlib import Path

from .. import data, models
from ..config import HUB_PREFIX
from ..figures.compare import domain_gap_figure
from ..figures.style import Words, english, phrase
from ..figures.training import before_after_figure, confusion_figure, training_curves_figure
from ..messages import ENGLISH, Message, UserError, plain, say
from ..models import heads

NO_MODEL = say("error.zero_shot_no_model")
STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;
vertical-align:top}th{background:#f3f3f3}pre{background:#f7f7f7;padding:1em;overflow:auto}.note{color:#555}"""


# --- JSON ------------------------------------------------------------------------------------------------------

def report_json(result, inside=None) -> dict:
    """The run as plain JSON data: config, held-out scores, what training did, when and with what (and, given
    `inside`, the separation scores and each layer's change)."""
    report = {
        "dataset": result.dataset_name,
        "label_names": list(result.label_names),
        "config": dataclasses.asdict(result.config),
        "before": result.before.summary(),
        "start": result.start.summary() if result.start else None,
        "after": {**result.after.summary(), "confusion": result.after.confusion},
        "scores": {name: metrics.summary() for name, metrics in result.scores.items()},
        "stats": result.stats.as_dict(),
        "curves": {"losses": result.log.losses, "evals": result.log.evals},
        "mistakes": result.misclassified,
        "finished_at": _finished_at(result),
        "versions": _versions(),
    }
    if inside is not None:
        layers = inside.layers
        report["inside"] = {
            "separation_before": inside.space.separation_before, "separation_after": inside.space.separation_after,
            "sentences": len(inside.space.texts), "layer_names": layers.names, "cka": layers.cka,
            "probe_before": layers.probe_before, "probe_after": layers.probe_after, "summary": str(layers.summary)}
    return json.loads(json.dumps(report, default=_plain))  # numpy scalars and tuples become plain JSON


def _finished_at(result) -> str:
    """Wall-clock end of the run: the log's clock is monotonic, so count back from now."""
    end = result.log.started + (result.stats.total_seconds or result.log.elapsed())
    moment = time.time() - (time.monotonic() - end)
    return datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).isoformat(timespec="seconds")


def _versions() -> dict:
    import torch
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__}


def _plain(value):
    return value.tolist() if hasattr(value, "tolist") else str(value)


# --- HTML ------------------------------------------------------------------------------------------------------

def report_html(result, path, inside=None) -> Path:
    """One HTML file: tables, figures (plotly.js inlined once), mistakes and the JSON; opens offline. `inside`
    (`session.InsideViews`): what transfer changed inside the model, drawn too."""
    report = report_json(result, inside)
    title = f"ktdemo run: {result.config.kind.replace('_', '-')} transfer to {result.dataset_name}"
    parts = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="note">Finished {_e(report["finished_at"])} · model {_e(result.config.model)} · '
        f'method {_e(result.config.method)} · {_e(_work(result.stats))}</p>',
        f'<p class="note">{_e(_time_by_phase(result.stats))}</p>',
        "<h2>Held-out results</h2>", _table(["", "accuracy", "macro-F1", "examples"], _result_rows(result)),
        "<h2>Figures</h2>", *_figures_html(result, inside),
        "<h2>Most confident mistakes on the test set</h2>",
        _table(["text", "true", "predicted", "confidence"],
               [[row["text"], row["true"], row["predicted"], f"{row['confidence']:.3f}"]
                for row in result.misclassified]) if result.misclassified else "<p>No mistakes.</p>",
        "<h2>Run config</h2>", _table(["setting", "value"], [[k, _value(v)] for k, v in report["config"].items()]),
        f"<details><summary>The run as JSON</summary><pre>{_e(json.dumps(report, indent=2))}</pre></details>",
    ]
    page = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path


def comparison_figure(result, words: Words = english):
    """Before vs after, or for a cross-domain run the accuracy at each step of the domain shift."""
    if result.config.kind != "cross_domain":  # the results table's rows on this test set: before, start, after
        start = result.start.summary() if result.start else None
        name = WARM_START_NAMES.get(result.config.warm_start, plain(result.config.warm_start))
        return before_after_figure(result.before.summary(), result.after.summary(), start,
                                   say("figure.start", name=name), words)
    labels = getattr(result.scores, "labels", {})  # each score's Message, to say in `words`' language
    bars = {phrase(words, labels.get(name, name)): metrics.accuracy for name, metrics in result.scores.items()}
    target = "figure.target_test_adapted" if result.config.adapt_per_class else "figure.target_test"
    bars[words(target, dataset=result.dataset_name)] = result.after.accuracy
    return domain_gap_figure(bars, words)


def report_figures(result) -> list:
    """The run's figures in reading order; no training curves when nothing was trained."""
    figures = [training_curves_figure(result.log.losses, result.log.evals)] if result.log.losses else []
    return figures + [comparison_figure(result), confusion_figure(result.after.confusion, result.label_names,
                                                                  "Confusion matrix after transfer (test set)")]


def _figures_html(result, inside=None) -> list[str]:
    # The first figure carries plotly.js (~4.7 MB, no CDN); the others reuse it.
    figures = report_figures(result)
    parts = [figure.to_html(full_html=False, include_plotlyjs=i == 0, config={"displaylogo": False})
             for i, figure in enumerate(figures)]
    if inside is not None:
        from ..figures.inside import layer_change_figure, sentence_space_figure

        parts += ["<h2>What transfer changed inside the model</h2>",
                  f"<p>{_e(inside.layers.summary)}</p>",
                  *(figure.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
                    for figure in (sentence_space_figure(inside.space), layer_change_figure(inside.layers)))]
    return parts


WARM_START_NAMES = {"descriptions": say("part.start_name.descriptions"), "probe": say("part.start_name.probe")}


def result_rows(result) -> list[tuple[Message, object]]:
    """(name, Metrics) of every held-out result of a run: the random head, the warm start, after, then its other
    scores (source test, before adapting...). The Train tab and the report show the same rows; a name is a
    Message (the report and the API say it in English, the Train tab in the page's language)."""
    s, config = result.stats, result.config
    encoder = say("part.encoder.random" if config.kind == "from_scratch" else "part.encoder.pretrained")
    if config.kind == "zero_shot":
        after = say("result.after_zero_shot", method=s.zero_shot_method or "")
    elif config.kind == "from_scratch":
        after = say("result.after_scratch", s=f"{s.train_seconds:.0f}")
    else:
        method = f"part.method.{config.method}"
        after = say("result.after_transfer", s=f"{s.train_seconds:.0f}",
                    method=say(method) if method in ENGLISH else plain(config.method.replace("_", " ")))
    start = [(say("result.start", name=WARM_START_NAMES.get(config.warm_start, plain(config.warm_start))),
              result.start)] if result.start else []
    labels = getattr(result.scores, "labels", {})
    return [(say("result.before", encoder=encoder), result.before), *start, (after, result.after),
            *((labels.get(name, plain(name)), metrics) for name, metrics in result.scores.items())]



def _result_rows(result) -> list[list[str]]:
    return [[str(name), f"{m.accuracy:.1%}", f"{m.macro_f1:.1%}", f"{m.examples:,}"] for name, m in result_rows(result)]


def _work(stats) -> str:
    return (f"{stats.steps} steps · {stats.examples_seen:,} examples seen · {stats.trainable_params:,} of "
            f"{stats.total_params:,} parameters trained · {stats.device}")


def _time_by_phase(stats) -> str:
    """Where the run's time went: "Time: 36.2 s in all (loading data 0.4 s · ... · training on 30.1 s · ...)."."""
    phases = " · ".join(f"{state.replace('_', ' ')} {seconds:.1f} s" for state, seconds in stats.phase_seconds.items())
    return f"Time: {stats.total_seconds or 0:.1f} s in all ({phases})." if phases else ""


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _value(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _e(text) -> str:
    return html.escape(str(text))


# --- The model -------------------------------------------------------------------------------------------------

def save_model(result, folder, run: dict | None = None) -> Path:
    """The fine-tuned model as a `save_pretrained` folder (safetensors only: the loaders accept nothing else),
    its tokenizer, a model card, and `run` (default: `report_json`) as run.json, its config under "config"."""
    if result.model is None:
        raise UserError(NO_MODEL)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    result.model.save_pretrained(folder, safe_serialization=True)
    result.tokenizer.save_pretrained(folder)
    if heads.pooling_of(result.model) == "mean":  # transformers' own classifiers read [CLS]: load it this way
        heads.save_sentence_transformer(result.model, folder, result.config.max_length)
    report = report_json(result)
    (folder / "README.md").write_text(model_card(result, report), encoding="utf-8")
    (folder / "run.json").write_text(json.dumps(run if run is not None else report, indent=2), encoding="utf-8")
    return folder


def model_zip(result, path) -> Path:
    """The fine-tuned model as a zip of a `save_model` folder, everything at the zip's root."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="ktdemo-model-") as folder:
        folder = save_model(result, folder)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(folder).as_posix())
    return path


def model_card(result, report: dict) -> str:
    """A Hugging Face model card: front matter the Hub reads, then the run in words and numbers."""
    config, after = result.config, result.after
    base = models.resolve(config.model).hub_id
    dataset = _dataset_id(config.dataset)
    front = ["---", "library_name: transformers", "pipeline_tag: text-classification", f"base_model: {base}",
             *([f"datasets:\n- {dataset}"] if dataset else []), "metrics:\n- accuracy\n- f1",
             "tags:\n- ktdemo\n- knowledge-transfer", "---"]
    scores = "\n".join(f"| {name} | {metrics['accuracy']:.1%} | {metrics['macro_f1']:.1%} |"
                       for name, metrics in [("before (untrained head)", report["before"]),
                                             ("**this model**", report["after"]), *report["scores"].items()])
    source = f" (trained on {config.source_dataset} first)" if config.source_dataset else ""
    return "\n".join(front) + f"""

# {base} fine-tuned on {result.dataset_name}

Made with ktdemo: {config.kind.replace('_', '-')} transfer, method {config.method.replace('_', ' ')}{source}.
Labels: {', '.join(result.label_names)}.

## Held-out test metrics ({after.examples:,} examples)

| | accuracy | macro-F1 |
|---|---|---|
{scores}

## Use

{_usage(result)}

## Training

{_work(result.stats)}; {result.stats.train_seconds:.0f} s, finished {report['finished_at']}.
{_time_by_phase(result.stats)}
The full config, curves and statistics are in `run.json`; its `config` entry, saved as a file, replays
the run: `python -m ktdemo train --config config.json`.

## Data

{_dataset_note(config.dataset)}
"""


def _usage(result) -> str:
    labels = repr(list(result.label_names))
    if heads.pooling_of(result.model) != "mean":
        return ('```python\nfrom transformers import pipeline\n'
                'classifier = pipeline("text-classification", model="path/to/this/folder")\n```')
    return f"""This classifier mean-pools the encoder's tokens (as the sentence encoder was trained), which
transformers' own `*ForSequenceClassification` classes do not: load it with sentence-transformers,
whose modules here (Transformer → mean Pooling → Normalize → Dense) return its logits.

```python
from sentence_transformers import SentenceTransformer
model = SentenceTransformer("path/to/this/folder")
probabilities = model.encode(["a text to classify"], convert_to_tensor=True).softmax(-1)
labels = {labels}
```"""


def _dataset_id(dataset: str) -> str:
    """The dataset's Hugging Face Hub id, when it has one."""
    if dataset.startswith(HUB_PREFIX):
        return dataset[len(HUB_PREFIX):]
    spec = data.DATASETS.get(dataset)
    return spec.hub_id if spec else ""


def _dataset_note(dataset: str) -> str:
    spec = data.DATASETS.get(dataset)
    if spec is None:
        return f"`{dataset}`: a dataset of the session (Hub or upload)."
    return f"{spec.name}: {spec.description} Source: {spec.source}. Licence: {spec.licence}."
