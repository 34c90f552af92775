"""One user's workspace: their runs, their current model, their Stop button.

Each browser session gets its own Workspace, so one user never sees or overwrites another's
model. A run trains a private copy in a background thread; only a finished (or stopped, with a
best checkpoint) run replaces the current model, so a failed or cancelled run loses nothing.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import attention, data, models
from .runs import RunCancelled, RunConfig, RunFailed, TrainingLog

if TYPE_CHECKING:
    from .transfer import RunResult


@dataclass
class Job:
    """A run in a background thread; the UI polls `log` and reads `result` or `error` when done."""

    config: RunConfig
    log: TrainingLog = field(default_factory=TrainingLog)
    cancel: threading.Event = field(default_factory=threading.Event)
    result: RunResult | None = None
    error: str | None = None
    thread: threading.Thread | None = None

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
        self.history: list[dict] = []  # one summary per finished run
        self.datasets: dict[str, data.Splits] = {}  # this session's uploads and Hub datasets, by key
        self.job: Job | None = None
        self.closed = False  # the session ended: a run finishing late must not store its model
        self._lock = threading.Lock()
        self._last_inspection: tuple[tuple, attention.Inspection] | None = None

    def __deepcopy__(self, memo) -> "Workspace":
        # gr.State deep-copies each new session's initial value; a copy must never share models or threads.
        return Workspace()

    def start(self, config: RunConfig) -> Job:
        """Start a run in the background, unless one is already running here."""
        with self._lock:
            if self.job and self.job.running():
                raise RuntimeError("A run is already in progress in this session; stop it first.")
            job = Job(config)
            job.thread = threading.Thread(target=self._run, args=(job, self.datasets.get(config.dataset)),
                                          name="ktdemo-train", daemon=True)
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

    def _run(self, job: Job, splits: data.Splits | None) -> None:
        try:
            from .transfer import run_transfer  # Trainer & co. take seconds to import: not at app start-up

            job.result = run_transfer(job.config, job.log, job.cancel, splits)
        except (RunCancelled, RunFailed, models.ModelError, ValueError) as error:
            job.error = str(error)
            job.log.phase = "stopped" if isinstance(error, RunCancelled) else "failed"
            return
        except Exception as error:  # noqa: BLE001 - a crash must never take the session down with it
            job.error = f"The run failed: {type(error).__name__}: {str(error).splitlines()[0][:200]}"
            job.log.phase = "failed"
            return
        with self._lock:
            if self.closed:
                return
            self.current = job.result
            self.history.append(summarise(job.result))

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


def summarise(run: RunResult) -> dict:
    return {
        "model": run.config.model,
        "dataset": run.config.dataset,
        "before_accuracy": run.before.accuracy,
        "after_accuracy": run.after.accuracy,
        "after_macro_f1": run.after.macro_f1,
        **{k: run.stats[k] for k in ("steps", "train_seconds", "examples_per_s", "stopped_by_user")},
    }


def warm_up(model: str = models.DEFAULT_MODEL) -> None:
    """Import the training stack and load the default model ahead of the first click (run in a thread)."""
    from . import transfer  # noqa: F401

    models.load_tokenizer(model)
    models.pretrained_classifier(model, data.DATASETS[data.DEFAULT_DATASET].label_names)


def release(workspace: Workspace) -> None:
    """Called when a session ends: stop its run and drop its models."""
    workspace.closed = True
    workspace.stop()
    workspace.current = None
    workspace.job = None
    workspace.datasets.clear()
