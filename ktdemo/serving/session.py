"""One browser session: its runs, its datasets, its models, its files; and the app's use cases on them.

Each browser session gets its own `Session`, so one user never sees or overwrites another's model.
A session keeps one ordered list of runs (queued, running, done, stopped, failed). Runs train in a
worker (`worker.Trainers`: a process of its own, one run at a time on a CPU machine); their weights
come back as safetensors in the session's folder. Only a finished (or stopped, with a best
checkpoint) run replaces the model predictions use, so a failed or cancelled run loses nothing; the
models of earlier runs stay on disk only. Ending a session frees all of it (`release`).

`Sessions` finds a session again by the secret token its browser keeps, so a reloaded page gets its
run back; a session no page holds is released after a grace period.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import logging
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .. import data, models
from ..config import HUB_PREFIX, RunConfig
from ..inspection import attention, explain
from ..network import is_hub_id
from ..progress import RunCancelled, RunFailed, TrainingLog, failure_sentence
from .shared import SHARED, SharedRun, run_key
from .worker import RunRequest, Trainers, WorkerCrashed, default_trainers

log = logging.getLogger(__name__)

UPLOAD_PREFIX = "upload:"  # a session dataset from the user's file; "hub:<id>" from the Hub
RUN_STATES = ("queued", "running", "done", "stopped", "failed")
COMPARE_SENTENCES, RANK_EXAMPLES = 32, 64  # fixed validation samples: fast enough on 2 CPU cores
GRACE_S = 600  # a session no page holds any more (closed, or reloading) is released after this

if TYPE_CHECKING:
    from ..training.transfer import RunResult


class NoRun(ValueError):
    """A use case that needs a finished run, asked for before there is one."""


@dataclass
class Run:
    """One run of the session, from queued to its end."""

    number: int  # 1, 2, ... in the order the session started them
    config: RunConfig
    log: TrainingLog
    study: str | None = None
    state: str = "queued"  # one of RUN_STATES
    result: RunResult | None = None
    weights: str | None = None  # its trained model on disk (None: zero-shot, or not finished)
    error: str | None = None  # why it failed or stopped, in one sentence
    summary: RunSummary | None = None  # its row of the Compare tab
    own_copy: bool = False  # never shared with other sessions, even when it could be
    shared: SharedRun | None = None  # the public run it joined (trained once for every session in it)
    reused: bool = False  # it joined a public run that had finished already

    def ended(self) -> bool:
        return self.state in ("done", "stopped", "failed")

    def sharing(self) -> str | None:
        """What sharing did for this run, in one sentence (None: it trained on its own)."""
        shared = self.shared
        if shared is None:
            return None
        if self.reused:
            return "Another session here had already trained this exact run: its result, at once."
        others = (shared.peak if shared.done.is_set() else shared.members) - 1
        if others <= 0:
            return None
        return f"The same run as {others} other session{'s' if others > 1 else ''} here: trained once."


@dataclass
class Job:
    """Runs started together (one run, or a study's several), trained one after the other in a thread."""

    runs: list[Run]
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def index(self) -> int:
        """The run in progress (or the last one)."""
        return next((i for i, run in enumerate(self.runs) if not run.ended()), len(self.runs) - 1)

    @property
    def run(self) -> Run:
        return self.runs[self.index]

    @property
    def log(self) -> TrainingLog:
        return self.run.log

    @property
    def configs(self) -> list[RunConfig]:
        return [run.config for run in self.runs]

    @property
    def results(self) -> list[RunResult]:
        return [run.result for run in self.runs if run.result is not None]

    @property
    def result(self) -> RunResult | None:
        return self.results[-1] if self.results else None

    @property
    def error(self) -> str | None:
        return next((run.error for run in self.runs if run.error), None)

    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return not self.running()


@dataclass
class ModelView:
    """What a prediction runs on, and how to describe it to the user."""

    model: object
    tokenizer: object
    trained: bool
    description: str


@dataclass
class Look:
    """A model's prediction and attention on one text, and the line that says which model answered."""

    view: ModelView
    inspection: attention.Inspection
    description: str


@dataclass
class AttentionChange:
    """How far fine-tuning moved each head, and one sentence in the pretrained and the fine-tuned model."""

    change: np.ndarray  # (layers, heads): Jensen-Shannon divergence of the attention rows, 0..1
    sentences: int  # validation sentences it is averaged over
    kind: str  # the run's kind: a from-scratch run's heads never were the pretrained ones
    before: attention.Inspection | None  # None: the sentence could not be used (`problem` says why)
    after: attention.Inspection | None
    problem: str | None = None


class Session:
    def __init__(self, trainers: Trainers | None = None) -> None:
        self.runs: list[Run] = []
        self.datasets: dict[str, data.Splits] = {}  # this session's uploads and Hub datasets, by key
        self.job: Job | None = None
        self.closed = False  # the session ended: a run finishing late must not store its model
        self.language: str = "en"  # the page's language ("en", "zh-CN"): the UI's text the server builds
        self._trainers = trainers
        self._folder: str | None = None
        self._lock = threading.Lock()
        self._last_inspection: tuple[tuple, attention.Inspection] | None = None
        self._inside_views: tuple[RunResult, InsideViews] | None = None

    def __deepcopy__(self, memo) -> "Session":
        # gr.State deep-copies each new session's initial value; a copy must never share models or threads.
        return Session(self._trainers)

    # -- what the session holds -----------------------------------------------------------------

    @property
    def current(self) -> RunResult | None:
        """The run whose model predictions use: the last one that trained a model."""
        return next((run.result for run in reversed(self.runs) if run.result and run.result.model is not None), None)

    @property
    def latest(self) -> RunResult | None:
        """The last run with a result (a zero-shot run too): what the report, the config and the time-lapse show."""
        return next((run.result for run in reversed(self.runs) if run.result is not None), None)

    @property
    def history(self) -> list[dict]:
        """One summary row per run with a result, as plain data for the Compare tab's table and figures."""
        return [asdict(run.summary) for run in self.runs if run.summary]

    @property
    def folder(self) -> Path:
        """The session's own temporary folder (weights, downloads): removed when it ends."""
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="ktdemo-session-")
        return Path(self._folder)

    # -- runs -------------------------------------------------------------------------------------

    def start(self, configs: RunConfig | list[RunConfig], study: str | None = None,
              probe_text: str | None = None, own_copy: bool = False) -> Job:
        """Queue one run, or a study's runs in turn, unless this session's runs are still going.

        `probe_text`: a sentence whose attention is snapshotted during training (the time-lapse). A public run
        (`shared`) that another session runs or ran with the same settings is joined, unless `own_copy`."""
        configs = [configs] if isinstance(configs, RunConfig) else list(configs)
        with self._lock:
            if self.closed:
                raise RuntimeError("This session has ended; reload the page.")
            if self.job and self.job.running():
                raise RuntimeError("A run is already in progress in this session; stop it first.")
            runs = [Run(len(self.runs) + i + 1, config, TrainingLog(probe_text=probe_text), study, own_copy=own_copy)
                    for i, config in enumerate(configs)]
            self.runs.extend(runs)
            job = Job(runs)
            job.thread = threading.Thread(target=self._drive, args=(job,), name="ktdemo-run", daemon=True)
            self.job = job
        job.thread.start()
        return job

    def stop(self) -> bool:
        """Ask the running job to stop; True if there was one."""
        job = self.job
        if job and job.running():
            job.cancel.set()
            return True
        return False

    def _drive(self, job: Job) -> None:
        for run in job.runs:
            if job.cancel.is_set() or self.closed or not self._train(run, job.cancel):
                break
        for run in job.runs:
            if not run.ended():
                self._end(run, "stopped", "Not run: the study ended first.")

    def _train(self, run: Run, cancel: threading.Event) -> bool:
        """Train `run` when its turn comes (or join the same public run); False if the job should not go on."""
        try:
            start_from = self._start_from(run.config)
            if self._public(run, start_from):
                result, run.weights = self._join(run, cancel)
            else:
                result, run.weights = self._train_here(run, cancel, start_from)
        except RunCancelled as error:
            if run.shared is not None and not run.shared.done.is_set():  # it left a run others still watch
                log = run.log
                run.log = dataclasses.replace(log, losses=list(log.losses), evals=list(log.evals),
                                              snapshots=list(log.snapshots))
            return self._end(run, "stopped", str(error))
        except (RunFailed, WorkerCrashed, models.ModelError, ValueError) as error:
            return self._end(run, "failed", str(error))
        except Exception as error:  # noqa: BLE001 - a crash must never take the session down with it
            return self._end(run, "failed", failure_sentence(error))
        with self._lock:
            if self.closed:
                return False
            run.result, run.summary = result, summarise(result, run.number, run.study)
            run.state = "stopped" if result.stats.stopped_by_user else "done"
            if result.model is not None:
                self._unload_older(run)
        return not result.stats.stopped_by_user

    def _train_here(self, run: Run, cancel: threading.Event, start_from: str | None) -> tuple:
        request = RunRequest(run.config, str(self.folder), dict(self.datasets), start_from, run.log.probe_text,
                             _catalog(run.config))
        return _in_turn(self._trainers or default_trainers(), request, run.log, cancel, self._eta(run.config),
                        lambda: setattr(run, "state", "running"))

    def _join(self, run: Run, cancel: threading.Event) -> tuple:
        """The run every session with the same public settings shares: trained once, by whoever came first."""
        trainers, eta = self._trainers or default_trainers(), self._eta(run.config)
        request = RunRequest(run.config, SHARED.folder, {}, None, run.log.probe_text, _catalog(run.config))

        def train(shared: SharedRun) -> tuple:
            def started() -> None:
                shared.training = True

            return _in_turn(trainers, request, shared.log, shared.cancel, eta, started)

        run.shared, run.reused = SHARED.join(run_key(run.config, run.log.probe_text), run.log.probe_text, train)
        run.log = run.shared.log  # every session in it watches the same live log
        return SHARED.wait(run.shared, cancel, lambda: setattr(run, "state", "running"))

    def _public(self, run: Run, start_from: str | None) -> bool:
        """Whether `run` reads only public data and no model of this session's: then it can be shared."""
        config = run.config
        read = {config.dataset, config.source_dataset, *(config.also_test_on or [])}
        return not run.own_copy and start_from is None and not read & set(self.datasets)

    def _eta(self, config: RunConfig) -> float | None:
        try:
            return self.plan(config).eta_s
        except Exception:  # noqa: BLE001 - the expected wait is a hint
            return None

    def _end(self, run: Run, state: str, error: str) -> bool:
        run.state, run.log.phase, run.error = state, state, error
        return False

    def _unload_older(self, current: Run) -> None:
        """Only the current model stays in memory; the others are on disk (`weights`)."""
        for run in self.runs:
            if run is not current and run.result is not None and run.result.model is not None:
                run.result = dataclasses.replace(run.result, model=None)

    def _start_from(self, config: RunConfig) -> str | None:
        """A sequential run's first stage, when this session has trained it already (its weights)."""
        if config.kind != "sequential":
            return None
        first_stage_config, resolve_head = models.heavy_import("ktdemo.training.transfer", "first_stage_config",
                                                               "resolve_head")
        first = resolve_head(first_stage_config(config))
        return next((r.weights for r in reversed(self.runs)
                     if r.weights and r.result.config == first and Path(r.weights).exists()), None)

    # -- data ---------------------------------------------------------------------------------------

    def add_dataset(self, key: str, splits: data.Splits) -> None:
        """Keep an uploaded or Hub dataset for this session's runs."""
        self.datasets[key] = splits

    def add_upload(self, file: str, text_column: str | None = None, label_column: str | None = None) -> str:
        """Read the user's file as a dataset of this session; its key ('upload:<name>'). DataError: one sentence."""
        name = Path(file).name
        try:
            splits = data.read_upload(file, text_column or None, label_column or None)
        except data.DataError:
            raise
        except Exception as error:  # a file the data layer did not foresee: one sentence, never a traceback
            log.exception("reading upload %s", name)
            raise data.DataError(f"'{name}' could not be read as a table of texts and labels.") from error
        self.add_dataset(UPLOAD_PREFIX + name, splits)
        return UPLOAD_PREFIX + name

    def add_hub(self, dataset_id: str, config: str | None = None, split: str | None = None,
                text_column: str | None = None, label_column: str | None = None) -> str:
        """Load a Hub dataset (or a preset's) into this session; its key ('hub:<id>'). DataError: one sentence."""
        dataset_id = (dataset_id or "").strip()
        if dataset_id in data.HUB_PRESETS:
            key = HUB_PREFIX + data.HUB_PRESETS[dataset_id].dataset_id
        elif is_hub_id(dataset_id) and not Path(dataset_id).exists():  # load_hub reads local folders too
            key = HUB_PREFIX + dataset_id
        else:
            raise data.DataError(f"'{dataset_id[:80]}' is not a Hub dataset id like 'stanfordnlp/imdb'.")
        optional = ((value or "").strip() or None for value in (config, split, text_column, label_column))
        try:
            splits = data.load_hub(dataset_id, *optional)
        except data.DataError:
            raise
        except Exception as error:  # noqa: BLE001
            log.exception("loading Hub dataset %s", dataset_id)
            raise data.DataError(f"'{dataset_id}' could not be loaded from the Hub.") from error
        self.add_dataset(key, splits)
        return key

    def preview(self, model: str, dataset: str) -> DataPreview:
        """What the Data tab shows of `dataset`: classes per split, text lengths in `model`'s tokens (in words
        when its tokenizer cannot be loaded, e.g. a Hub model offline) and a few examples of each class."""
        if dataset in self.datasets:
            return _preview(self.datasets[dataset], model)
        if dataset not in data.DATASETS:
            raise data.DataError(f"There is no dataset '{dataset}' in this session; pick one from the list.")
        try:
            return bundled_preview(model, dataset)
        except models.ModelError as error:
            return _preview(data.load_splits(dataset), model, problem=error)

    def labels_of(self, dataset: str) -> tuple[list[str], str]:
        """Label names and display name of a bundled or session dataset."""
        if dataset in self.datasets:
            splits = self.datasets[dataset]
            return list(splits.label_names), splits.name
        spec = data.DATASETS.get(dataset) or data.DATASETS[data.DEFAULT_DATASET]
        return list(spec.label_names), spec.name

    def plan(self, config: RunConfig):
        """What a run of `config` would do and how long it would take, before it starts."""
        from ..training.planning import plan

        load_data, relabel = models.heavy_import("ktdemo.training.transfer", "load_data", "relabel")

        key = config.source_dataset if config.kind == "cross_domain" else config.dataset
        splits = self.datasets.get(key) or load_data(config, key, config.per_class)
        if config.kind == "cross_domain":  # a label map that does not fit is said now, not after loading a model
            splits = relabel(splits, self.labels_of(config.dataset)[0], config.label_map)
        return plan(config, splits)

    # -- looking inside the model ----------------------------------------------------------------------

    def model_view(self, model: str, dataset: str) -> ModelView:
        """The fine-tuned model if there is one, else the pretrained encoder with an untrained head."""
        run = self.current
        if run is not None:
            return ModelView(run.model, run.tokenizer, True,
                             f"Fine-tuned **{models.resolve(run.config.model).name}** on **{run.dataset_name}** "
                             f"(test accuracy {run.after.accuracy:.1%}).")
        spec = models.resolve(model)
        dataset_labels, dataset_name = self.labels_of(dataset)
        return ModelView(models.pretrained_classifier(spec.key, dataset_labels), models.load_tokenizer(spec.key), False,
                         f"Pretrained **{spec.name}** with an **untrained head** for {dataset_name}: "
                         "its predictions are chance until you train.")

    def inspect(self, view: ModelView, text: str) -> attention.Inspection:
        """Predict and capture attention; Predict then Attention on the same text costs one forward pass."""
        key = (id(view.model), text)
        if self._last_inspection is None or self._last_inspection[0] != key:
            self._last_inspection = (key, attention.inspect(view.model, view.tokenizer, text))
        return self._last_inspection[1]

    def look(self, model: str, dataset: str, text: str) -> Look:
        """The model that answers, its prediction and attention on `text`, and how to describe them."""
        view = self.model_view(model, dataset)
        inspection = self.inspect(view, text)
        description = view.description
        if inspection.truncated:
            description += f" The text was cut to its first {len(inspection.tokens)} tokens."
        return Look(view, inspection, description)

    def saliency(self, model: str, dataset: str, text: str) -> tuple[Look, explain.Saliency, dict[str, float]]:
        """Gradient attributions for the predicted class, and how well attention agrees with them."""
        look = self.look(model, dataset, text)
        salient = explain.saliency(look.view.model, look.view.tokenizer, text)
        return look, salient, explain.agreement(look.inspection, salient)

    def ablate(self, model: str, dataset: str, text: str, heads: str) -> tuple[Look, list, attention.Inspection]:
        """The prediction on `text` with the heads named in `heads` ('L1H2, L6H3') switched off."""
        look = self.look(model, dataset, text)
        chosen = attention.parse_heads(heads, *look.inspection.shape)
        if not chosen:
            raise attention.InputError("Name at least one head to switch off, e.g. L1H2.")
        return look, chosen, attention.inspect_ablated(look.view.model, look.view.tokenizer, text, chosen)

    def attention_change(self, text: str) -> AttentionChange:
        """How far fine-tuning moved each head (on a fixed validation sample), and `text` in both models."""
        run = _needed(self.current, "the comparison needs a fine-tuned model")
        pretrained = self.pretrained_of(run)
        sentences = self.validation_sample(run.config.dataset, COMPARE_SENTENCES).text.tolist()
        change = attention.attention_change(pretrained, run.model, run.tokenizer, sentences, run.config.max_length)
        try:
            pair = (attention.inspect(pretrained, run.tokenizer, text), attention.inspect(run.model, run.tokenizer, text))
        except attention.InputError as error:  # the per-head change does not need a sentence
            return AttentionChange(change, len(sentences), run.config.kind, None, None, str(error))
        return AttentionChange(change, len(sentences), run.config.kind, *pair)

    def head_importance(self, model: str, dataset: str, on_head=None) -> tuple:
        """(accuracy lost per head, examples measured on, what model it was) on a fixed validation sample."""
        view = self.model_view(model, dataset)
        sample = self.validation_sample(dataset, RANK_EXAMPLES)
        max_length = self.current.config.max_length if self.current else RunConfig.max_length
        drop = attention.head_importance(view.model, view.tokenizer, sample.text.tolist(), sample.label.tolist(),
                                         max_length, on_head=on_head)
        return drop, len(sample), view.description

    # -- what transfer did inside the model (cached per run: the same run always gives the same views) --------

    def sentence_space(self):
        """The test sentences as the head reads them, in the pretrained and the fine-tuned model, in 2-D."""
        return self._inside().space

    def layer_change(self):
        """How far each layer moved (CKA) and how linearly readable the task is in it, before and after."""
        return self._inside().layers

    def norm_attention(self, model: str, dataset: str, text: str):
        """`text`'s attention in the model that answers, weighed by what each token moves (Kobayashi et al.)."""
        from ..inspection import representations

        view = self.model_view(model, dataset)
        return representations.norm_attention(view.model, view.tokenizer, text)

    def _inside_or_none(self) -> InsideViews | None:
        try:
            return self._inside()
        except ValueError:  # too few sentences or one class: the report leaves the views out
            return None

    def _inside(self) -> InsideViews:
        run = _needed(self.current, "the views compare the fine-tuned model with the pretrained one")
        with self._lock:
            cached = self._inside_views
        if cached is None or cached[0] is not run:
            cached = (run, inside_views(run, self.pretrained_of(run), self.datasets))
            with self._lock:
                self._inside_views = cached
        return cached[1]

    def pretrained_of(self, run: RunResult):
        """The pretrained model `run` started from, with an untrained head for its labels (cached per process)."""
        return models.pretrained_classifier(run.config.model, run.label_names, run.config.seed, run.config.pooling)

    def validation_sample(self, dataset: str, size: int):
        """A fixed sample of the validation split: of the current run's dataset, else of `dataset`."""
        run = self.current
        key = run.config.dataset if run else dataset
        splits = self.datasets.get(key)
        if splits is None:
            (load_data,) = models.heavy_import("ktdemo.training.transfer", "load_data")  # the training stack: seconds, once
            splits = load_data(run.config if run else RunConfig(dataset=key))
        if splits.validation.empty:
            raise attention.InputError(f"{splits.name or key} has no validation examples to measure on.")
        return _sample(splits.validation, size)

    # -- take-home files --------------------------------------------------------------------------------

    def report_files(self) -> list[Path]:
        """The last run's report: one HTML page with its figures inside, and its numbers as JSON."""
        from ..outputs import report

        run = _needed(self.latest, "the downloads are of its results")
        folder = Path(tempfile.mkdtemp(prefix="report-", dir=self.folder))
        inside = self._inside_or_none() if run is self.current else None  # a zero-shot run changed no model
        page = report.report_html(run, folder / "report.html", inside)
        (folder / "run.json").write_text(json.dumps(report.report_json(run, inside), indent=2), encoding="utf-8")
        return [page, folder / "run.json"]

    def model_zip(self) -> Path:
        """The model predictions use, as a zip of a folder `from_pretrained` loads (ValueError: none trained)."""
        from ..outputs import report

        run = _needed(self.current, "the downloads are of its results")
        return report.model_zip(run, Path(tempfile.mkdtemp(prefix="model-", dir=self.folder)) / "model.zip")

    def config_file(self) -> Path:
        """The last run's config as JSON, for `python -m ktdemo train --config`."""
        run = _needed(self.latest, "its config is what gets exported")
        path = Path(tempfile.mkdtemp(prefix="config-", dir=self.folder)) / "run.json"
        path.write_text(json.dumps(json.loads(run.config.to_json()), indent=2), encoding="utf-8")
        return path



PREVIEW_SAMPLE = 1_000  # texts tokenised for the length histogram; BBC's long articles take ~1.5 s per 1,000


@dataclass
class DataPreview:
    splits: data.Splits
    shown: data.Preview  # counts, lengths, examples of the training split
    model_name: str  # whose tokens the lengths count ("" when counted in words)
    problem: models.ModelError | None  # why the lengths are in words


@functools.lru_cache(maxsize=32)
def bundled_preview(model: str, dataset: str) -> DataPreview:
    """Bundled datasets never change, so their previews are made once per model (ModelError: not cached)."""
    return _preview(data.load_splits(dataset), model, models.load_tokenizer(model))


def _preview(splits: data.Splits, model: str, tokenizer=None, problem: models.ModelError | None = None):
    if tokenizer is None and problem is None:
        try:
            tokenizer = models.load_tokenizer(model)
        except models.ModelError as error:  # e.g. a Hub model while offline: count words instead
            problem = error
    shown = data.preview_table(splits.train, splits.label_names, tokenizer, sample=PREVIEW_SAMPLE)
    name = models.resolve(model).name.split(" · ")[0] if tokenizer is not None else ""
    return DataPreview(splits, shown, name, problem)


@dataclass
class InsideViews:
    """What transfer did inside the model: `representations.SentenceSpace` and `representations.LayerChange`."""

    space: object
    layers: object


INSIDE_SENTENCES = 256  # per view: under 5 s for MiniLM on 2 CPU cores (benchmarks/inside.py)


def inside_views(run: RunResult, pretrained, sources: dict | None = None) -> InsideViews:
    """The sentence space on test sentences (a cross-domain run's source and target test sets, half each) and
    the layer change on validation sentences, from one forward pass per model and sample."""
    from ..inspection import representations
    from ..training.transfer import training_data

    config = run.config
    target, train = training_data(dataclasses.replace(config, per_class=None), sources)
    if config.kind == "cross_domain":
        half = INSIDE_SENTENCES // 2
        parts = [(f"source: {train.name}", _sample(train.test, half)), (f"target: {target.name}", _sample(target.test, half))]
    else:
        parts = [(target.name, _sample(target.test, INSIDE_SENTENCES))]
    texts = [text for _, frame in parts for text in frame.text.tolist()]
    labels = [label for _, frame in parts for label in frame.label.tolist()]
    domains = [name for name, frame in parts for _ in range(len(frame))] if len(parts) > 1 else None
    encode = functools.partial(representations.encode, tokenizer=run.tokenizer, max_length=config.max_length)
    space = representations.compare_spaces(encode(pretrained, texts=texts), encode(run.model, texts=texts), texts,
                                           labels, run.label_names, domains=domains, seed=config.seed)
    validation = _sample(target.validation, INSIDE_SENTENCES)
    sample = validation.text.tolist()
    layers = representations.compare_layers(encode(pretrained, texts=sample), encode(run.model, texts=sample),
                                            validation.label.tolist(), seed=config.seed)
    return InsideViews(space, layers)


def _sample(frame, size: int):
    """A fixed sample of `size` rows (all of them, in order, when there are no more)."""
    return frame.sample(n=size, random_state=0) if len(frame) > size else frame


def _needed(run: RunResult | None, why: str) -> RunResult:
    """`run`, or NoRun saying why a finished run is needed."""
    if run is None:
        raise NoRun(f"Finish a run first: {why}.")
    return run


def _in_turn(trainers: Trainers, request: RunRequest, log: TrainingLog, cancel: threading.Event,
             eta_s: float | None, on_start) -> tuple:
    """Run `request` in a training slot once its turn comes; the log says the run's place meanwhile."""
    def wait(ahead: int, seconds: float | None) -> None:
        expected = f", about {seconds:.0f} s" if seconds is not None else ""
        log.phase = f"waiting for its turn: {ahead} run{'s' if ahead != 1 else ''} ahead{expected}"

    with trainers.slot(cancel, wait, eta_s) as trainer:
        on_start()
        log.started = time.monotonic()
        result, weights = trainer.run(request, log, cancel)
        took = time.monotonic() - log.started
    if eta_s is not None and not result.stats.stopped_by_user:  # how long it really took teaches the planner
        from ..training.planning import learn

        learn(request.config, eta_s, took)
    return result, weights


def _catalog(config: RunConfig) -> list:
    """The registered models a run needs (a worker process knows only the built-in ones)."""
    return [models.MODELS[key] for key in (config.model, config.nli_model) if key in models.MODELS]


@dataclass
class RunSummary:
    """One row of the Compare tab: what ran and what it measured."""

    run: int  # the run's number in its session
    label: str
    study: str | None
    kind: str
    method: str  # a zero-shot run's: "similarity" or "nli"
    model: str  # its display name
    dataset: str  # the target's display name
    trained_on: str  # a dataset key
    source_dataset: str | None
    per_class: int | None
    accuracy: float
    macro_f1: float
    before_accuracy: float
    scores: dict[str, float]  # more held-out accuracies, by name
    accuracy_by_dataset: dict[str, float]
    train_seconds: float
    total_seconds: float | None
    trainable_params: int
    total_params: int
    examples_per_s: float | None
    peak_memory_mb: float | None
    steps: int
    stopped_by_user: bool
    config: dict


def summarise(run: RunResult, number: int, study: str | None = None) -> RunSummary:
    """The Compare tab's row of `run`."""
    config, stats = run.config, run.stats
    method = stats.zero_shot_method or config.method
    return RunSummary(
        run=number, label=f"#{number} {method.replace('_', ' ')} · {config.kind.replace('_', '-')} · {run.dataset_name}",
        study=study, kind=config.kind, method=method, model=models.resolve(config.model).name.split(" · ")[0],
        dataset=run.dataset_name, trained_on=config.source_dataset if config.kind == "cross_domain" else config.dataset,
        source_dataset=config.source_dataset, per_class=config.per_class, accuracy=run.after.accuracy,
        macro_f1=run.after.macro_f1, before_accuracy=run.before.accuracy,
        scores={name: metrics.accuracy for name, metrics in run.scores.items()},
        accuracy_by_dataset=stats.accuracy_by_dataset, train_seconds=stats.train_seconds,
        total_seconds=stats.total_seconds, trainable_params=stats.trainable_params, total_params=stats.total_params,
        examples_per_s=stats.examples_per_s, peak_memory_mb=stats.peak_memory_mb, steps=stats.steps,
        stopped_by_user=stats.stopped_by_user, config=asdict(config))


def warm_up(model: str = models.DEFAULT_MODEL) -> None:
    """Start the training worker and load the default model ahead of the first click (run in a thread)."""
    default_trainers()  # spawns the warm worker, which imports the training stack in its own process
    models.heavy_import("ktdemo.training.transfer")  # plans and views use its data helpers; first requests wait for it
    models.load_tokenizer(model)
    models.pretrained_classifier(model, data.DATASETS[data.DEFAULT_DATASET].label_names)


def release(session: Session) -> None:
    """Called when a session ends: stop its run, drop its models and data, delete its folder."""
    with session._lock:
        session.closed = True
    session.stop()
    if session.job is not None:
        session.job.wait(30)
    session.runs.clear()
    session.job = None
    session.datasets.clear()
    session._last_inspection = None
    session._inside_views = None  # its sentences may be an upload's
    if session._folder is not None:
        shutil.rmtree(session._folder, ignore_errors=True)


class Sessions:
    """The live sessions by their browser's secret token: a reloaded page gets its session back."""

    def __init__(self, grace_s: float = GRACE_S):
        self.grace_s = grace_s
        self._live: dict[str, Session] = {}
        self._pages: dict[int, int] = {}  # id(session) -> pages holding it
        self._lock = threading.Lock()

    def attach(self, token: str | None, fresh: Session) -> tuple[str, Session]:
        """(token, session) for a page that opened with `token`: its live session, else `fresh` under a new token."""
        with self._lock:
            session = self.find(token)
            if session is None:
                token, session = secrets.token_urlsafe(24), fresh
                self._live[token] = session
            self._pages[id(session)] = self._pages.get(id(session), 0) + 1
            return token, session

    def find(self, token: str | None) -> Session | None:
        """The live session of `token`, without attaching a page to it."""
        session = self._live.get(token) if token else None
        return session if session is not None and not session.closed else None

    def attached(self, session: Session) -> bool:
        return self._pages.get(id(session), 0) > 0

    def caller_left(self, session: Session) -> None:
        """Whoever was following `session`'s run went away: a page can come back to it, an API client cannot,
        so an unattached session's run stops (nobody would see it)."""
        if not self.attached(session):
            session.stop()

    def detach(self, session: Session) -> None:
        """A page holding `session` went away: release it after the grace, unless a page takes it again."""
        with self._lock:
            if id(session) not in self._pages:  # never attached (an API client): nobody can come back to it
                threading.Thread(target=release, args=(session,), daemon=True).start()
                return
            self._pages[id(session)] -= 1
        timer = threading.Timer(self.grace_s, self._release_if_unheld, args=(session,))
        timer.daemon = True
        timer.start()

    def _release_if_unheld(self, session: Session) -> None:
        with self._lock:
            if self._pages.get(id(session), 0) > 0:
                return
            self._pages.pop(id(session), None)
            for token in [t for t, s in self._live.items() if s is session]:
                del self._live[token]
        release(session)

    def __len__(self) -> int:
        return len(self._live)


SESSIONS = Sessions()
