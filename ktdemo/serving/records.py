"""A session's runs as records: one `Run` from queued to its end, the `Job` that trains runs started together,
and the Compare tab's `RunSummary` of each finished one."""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from .. import models
from ..config import RunConfig
from ..figures.style import Words, english
from ..messages import ENGLISH, Message, Said, say
from ..progress import TrainingLog
from .shared import SharedRun, sharing_notice

if TYPE_CHECKING:
    from ..training.transfer import RunResult

RUN_STATES = ("queued", "running", "done", "stopped", "failed")


class NoRun(Said, ValueError):
    """A use case that needs a finished run, asked for before there is one."""


def needed(run: RunResult | None, why: str) -> RunResult:
    """`run`, or NoRun saying why a finished run is needed (`why`: a "part.why." key's end)."""
    if run is None:
        raise NoRun(say("error.finish_run", why=say(f"part.why.{why}")))
    return run


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
    error: Message | str | None = None  # why it failed or stopped, in one sentence (str(): its English)
    summary: RunSummary | None = None  # its row of the Compare tab
    own_copy: bool = False  # never shared with other sessions, even when it could be
    shared: SharedRun | None = None  # the public run it joined (trained once for every session in it)
    reused: bool = False  # it joined a public run that had finished already

    def ended(self) -> bool:
        return self.state in ("done", "stopped", "failed")

    def sharing(self) -> Message | None:
        """What sharing did for this run, in one sentence (None: it trained on its own)."""
        shared = self.shared
        if shared is None:
            return None
        return sharing_notice(self.reused, (shared.peak if shared.done.is_set() else shared.members) - 1)


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
        """The first error's English sentence (the API's); `problem` is its Message, for the UI."""
        problem = self.problem
        return None if problem is None else str(problem)

    @property
    def problem(self) -> Message | str | None:
        return next((run.error for run in self.runs if run.error), None)

    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return not self.running()


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


def run_label(number: int, method: str, kind: str, dataset: str, words: Words = english) -> str:
    """A run's name in the Compare figures: "#3 linear probe · cross-domain · Amazon reviews", in `words`'
    language (a figures.style.Words)."""
    def part(group: str, key: str, plain: str) -> str:
        return words(f"part.{group}.{key}") if f"part.{group}.{key}" in ENGLISH else plain
    return words("figure.run_label", number=number, method=part("method", method, method.replace("_", " ")),
                 kind=part("kind", kind, kind.replace("_", "-")), dataset=dataset)


def summarise(run: RunResult, number: int, study: str | None = None, words: Words = english) -> RunSummary:
    """The Compare tab's row of `run` (its label in `words`' language; the tab says each row's label in the
    page's language again when it shows it: `run_label`)."""
    config, stats = run.config, run.stats
    method = stats.zero_shot_method or config.method
    return RunSummary(
        run=number, label=run_label(number, method, config.kind, run.dataset_name, words),
        study=study, kind=config.kind, method=method, model=models.resolve(config.model).name.split(" · ")[0],
        dataset=run.dataset_name, trained_on=config.source_dataset if config.kind == "cross_domain" else config.dataset,
        source_dataset=config.source_dataset, per_class=config.per_class, accuracy=run.after.accuracy,
        macro_f1=run.after.macro_f1, before_accuracy=run.before.accuracy,
        scores={name: metrics.accuracy for name, metrics in run.scores.items()},
        accuracy_by_dataset=stats.accuracy_by_dataset, train_seconds=stats.train_seconds,
        total_seconds=stats.total_seconds, trainable_params=stats.trainable_params, total_params=stats.total_params,
        examples_per_s=stats.examples_per_s, peak_memory_mb=stats.peak_memory_mb, steps=stats.steps,
        stopped_by_user=stats.stopped_by_user, config=asdict(config))
