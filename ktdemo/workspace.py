"""One user's workspace: their runs, their current model, their Stop button.

Each browser session gets its own Workspace, so one user never sees or overwrites another's
model. A run trains a private copy in a background thread; only a finished (or stopped, with a
best checkpoint) run replaces the current model, so a failed or cancelled run loses nothing.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from . import attention, data, models
from .hosting import on_gpu
from .runs import RunCancelled, RunConfig, RunFailed, TrainingLog

KEEP_MODELS = 3  # recent fine-tuned models kept per session, for sequential transfer to start from

if TYPE_CHECKING:
    from .transfer import RunResult


@dataclass
class Job:
    """Runs in a background thread, one after the other (one run, or a study's several); the UI polls
    `log` (the run in progress) and reads `results` or `error`."""

    configs: list[RunConfig]
    study: str | None = None
    log: TrainingLog = field(default_factory=TrainingLog)
    cancel: threading.Event = field(default_factory=threading.Event)
    results: list[RunResult] = field(default_factory=list)
    error: str | None = None
    thread: threading.Thread | None = None
    index: int = 0  # the run in progress

    @property
    def config(self) -> RunConfig:
        return self.configs[self.index]

    @property
    def result(self) -> RunResult | None:
        return self.results[-1] if self.results else None

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


class Workspace:
    def __init__(self) -> None:
        self.current: RunResult | None = None  # the model predictions use
        self.history: list[dict] = []  # one summary row per finished run, for the Compare tab
        self.datasets: dict[str, data.Splits] = {}  # this session's uploads and Hub datasets, by key
        self.job: Job | None = None
        self.closed = False  # the session ended: a run finishing late must not store its model
        self._recent: deque[RunResult] = deque(maxlen=KEEP_MODELS)  # sequential transfer can start from these
        self._lock = threading.Lock()
        self._last_inspection: tuple[tuple, attention.Inspection] | None = None

    def __deepcopy__(self, memo) -> "Workspace":
        # gr.State deep-copies each new session's initial value; a copy must never share models or threads.
        return Workspace()

    def start(self, configs: RunConfig | list[RunConfig], study: str | None = None,
              probe_text: str | None = None) -> Job:
        """Start one run, or a study's runs in turn, in the background, unless a job is already running here.

        `probe_text`: a sentence whose attention is snapshotted during training (the time-lapse)."""
        configs = [configs] if isinstance(configs, RunConfig) else list(configs)
        with self._lock:
            if self.job and self.job.running():
                raise RuntimeError("A run is already in progress in this session; stop it first.")
            job = Job(configs, study, log=TrainingLog(probe_text=probe_text))
            job.thread = threading.Thread(target=self._run, args=(job,), name="ktdemo-train", daemon=True)
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

    def add_dataset(self, key: str, splits: data.Splits) -> None:
        """Keep an uploaded or Hub dataset for this session's runs."""
        self.datasets[key] = splits

    def labels_of(self, dataset: str) -> tuple[list[str], str]:
        """Label names and display name of a bundled or session dataset."""
        if dataset in self.datasets:
            splits = self.datasets[dataset]
            return list(splits.label_names), splits.name
        spec = data.DATASETS.get(dataset) or data.DATASETS[data.DEFAULT_DATASET]
        return list(spec.label_names), spec.name

    def plan(self, config: RunConfig):
        """What a run of `config` would do and how long it would take, before it starts."""
        from .planning import plan

        load_data, relabel = models.heavy_import("ktdemo.transfer", "load_data", "relabel")

        key = config.source_dataset if config.kind == "cross_domain" else config.dataset
        splits = self.datasets.get(key) or load_data(config, key, config.per_class)
        if config.kind == "cross_domain":  # a label map that does not fit is said now, not after loading a model
            splits = relabel(splits, self.labels_of(config.dataset)[0], config.label_map)
        return plan(config, splits)

    def _run(self, job: Job) -> None:
        first_stage_config, resolve_head, run_transfer = models.heavy_import(  # Trainer & co.: seconds to import
            "ktdemo.transfer", "first_stage_config", "resolve_head", "run_transfer")

        for job.index, config in enumerate(job.configs):
            if job.index:
                job.log = TrainingLog(probe_text=job.log.probe_text)
            first = resolve_head(first_stage_config(config)) if config.kind == "sequential" else None
            start_from = next((r for r in reversed(self._recent) if r.config == first), None)
            try:
                result = on_gpu(run_transfer)(config, job.log, job.cancel, sources=self.datasets,
                                              start_from=start_from)
            except (RunCancelled, RunFailed, models.ModelError, ValueError) as error:
                job.error = str(error)
                job.log.phase = "stopped" if isinstance(error, RunCancelled) else "failed"
                return
            except Exception as error:  # noqa: BLE001 - a crash must never take the session down with it
                job.error = failure_sentence(error)
                job.log.phase = "failed"
                return
            with self._lock:
                if self.closed:
                    return
                job.results.append(result)
                self.history.append(summarise(result, len(self.history) + 1, job.study))
                if result.model is not None:  # zero-shot runs train no model: keep the one there is
                    self.current = result
                    self._recent.append(result)
            if result.stats["stopped_by_user"]:
                return

    def model_view(self, model: str, dataset: str) -> ModelView:
        """The fine-tuned model if there is one, else the pretrained encoder with an untrained head."""
        if self.current is not None:
            run = self.current
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


def failure_sentence(error: BaseException) -> str:
    """An unexpected error as one sentence; running out of memory gets advice."""
    text = str(error).strip()
    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError" or "out of memory" in text.lower():
        return ("The run ran out of memory; try a smaller model, batch size or max length. "
                "The previous model is unchanged.")
    return f"The run failed: {type(error).__name__}: {text.splitlines()[0][:200] if text else 'no details'}"


def summarise(run: RunResult, number: int, study: str | None = None) -> dict:
    """One row of the Compare tab: what ran and what it measured (plain data, JSON-ready)."""
    config, stats = run.config, run.stats
    method = stats.get("zero_shot_method") or config.method
    trained_on = config.source_dataset if config.kind == "cross_domain" else config.dataset
    return {
        "run": number,
        "label": f"#{number} {method.replace('_', ' ')} · {config.kind.replace('_', '-')} · {run.dataset_name}",
        "study": study,
        "kind": config.kind,
        "method": method,
        "model": models.resolve(config.model).name.split(" · ")[0],
        "dataset": run.dataset_name,
        "trained_on": trained_on,
        "source_dataset": config.source_dataset,
        "per_class": config.per_class,
        "accuracy": run.after.accuracy,
        "macro_f1": run.after.macro_f1,
        "before_accuracy": run.before.accuracy,
        "scores": {name: metrics.accuracy for name, metrics in run.scores.items()},
        "accuracy_by_dataset": stats["accuracy_by_dataset"],
        **{k: stats[k] for k in ("train_seconds", "total_seconds", "trainable_params", "total_params",
                                 "examples_per_s", "peak_memory_mb", "steps", "stopped_by_user")},
        "config": asdict(config),
    }


def warm_up(model: str = models.DEFAULT_MODEL) -> None:
    """Import the training stack and load the default model ahead of the first click (run in a thread)."""
    models.heavy_import("ktdemo.transfer")  # Trainer & co.: seconds to import; first requests wait for it

    models.load_tokenizer(model)
    models.pretrained_classifier(model, data.DATASETS[data.DEFAULT_DATASET].label_names)


def release(workspace: Workspace) -> None:
    """Called when a session ends: stop its run and drop its models."""
    workspace.closed = True
    workspace.stop()
    workspace.current = None
    workspace._recent.clear()
    workspace.job = None
    workspace.datasets.clear()
