"""A run's live progress and how it can end: the log the UI and the CLI read while it trains, its stats
when it is over, and the exceptions that stop it."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from .messages import Message, Said, say

# The phases in which the run trains and so has a checkpoint to score when stopped.
TRAINING_PHASES = ("phase.training_on", "phase.adapting")


class RunCancelled(Said):
    """Stopped before a new model existed; the previous model stays."""


class RunFailed(Said, RuntimeError):
    """Training broke down (e.g. the loss became NaN); the message is one sentence."""


@dataclass
class RunStats:
    """What a run did and what it cost (the report and the exported JSON hold it as `as_dict()`)."""

    device: str
    kind: str
    method: str
    steps: int = 0
    epochs: float = 0.0
    examples_seen: int = 0
    train_seconds: float = 0.0
    examples_per_s: float | None = None
    tokens_per_s: int | None = None
    trainable_params: int = 0
    total_params: int = 0
    trainable_pct: float = 0.0
    train_examples: int = 0
    test_examples: int = 0  # test texts scored (a sample after Stop)
    test_split_examples: int = 0  # test texts in the split, unseen in training
    best_step: int = 0  # the checkpoint kept (0: the start was never beaten)
    warm_start: str = "none"
    warm_start_probe: dict | None = None  # {"examples_seen", "seconds"} of a linear-probe warm start
    stopped_by_user: bool = False
    stages: list[dict] = field(default_factory=list)  # {"stage", "seconds", "steps", "examples_seen", ...} each
    accuracy_by_dataset: dict[str, float] = field(default_factory=dict)  # a row of the transfer matrix
    plan: list = field(default_factory=list)  # why "auto" chose what it chose (Messages, or English strings)
    notices: list = field(default_factory=list)  # what the user should know about the data or the run (likewise)
    peak_memory_mb: float | None = None
    total_seconds: float | None = None  # loading, scoring and training
    phase_seconds: dict[str, float] = field(default_factory=dict)  # where the time went: seconds by phase state
    descriptions: list[str] | None = None  # zero-shot: the label descriptions used
    zero_shot_method: str | None = None  # zero-shot: "similarity" or "nli"

    def as_dict(self) -> dict:
        """The stats as plain data, their messages (plan, notices) in English: what the JSON and report hold."""
        return {spec.name: english(getattr(self, spec.name)) for spec in fields(self)}


def english(value):
    """`value` with every Message in it as its English sentence (lists, tuples and dicts gone through)."""
    if isinstance(value, Message):
        return value.english()
    if isinstance(value, (list, tuple)):
        return [english(item) for item in value]
    if isinstance(value, dict):
        return {key: english(item) for key, item in value.items()}
    return value


@dataclass
class TrainingLog:
    """Live state of a run, written by the training thread and read by the UI."""

    phase: Message = field(default_factory=lambda: say("phase.waiting"))  # code reads its key, never its text
    stage: Message | None = None  # "stage 1 of 2 (...)" in runs with several training stages
    step: int = 0
    max_steps: int = 0  # 0 when the time budget decides
    started: float = field(default_factory=time.monotonic)
    train_started: float | None = None
    budget_s: float | None = None
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, training loss)
    evals: list[tuple[int, float]] = field(default_factory=list)  # (step, validation accuracy)
    probe_text: str | None = None  # set: training snapshots the attention on this sentence (see `timelapse`)
    snapshots: list = field(default_factory=list)  # timelapse.Snapshot of the last training stage, by step
    # Sees each phase as the run enters it: a tool (or a test) may set the run's cancel event there, which the
    # run notices at its next check (the next phase, or the next training step). Never crosses the process
    # boundary: it lives where the run does.
    on_phase: Callable[[Message], None] | None = field(default=None, repr=False, compare=False)

    entered: list[tuple[str, float]] = field(default_factory=list)  # (state, monotonic time) of each phase entered

    def enter(self, phase: Message) -> None:
        if self.on_phase is not None:
            self.on_phase(phase)
        self.phase = phase
        self.entered.append((self.state, time.monotonic()))

    def phase_seconds(self) -> dict[str, float]:
        """Seconds spent in each phase entered so far, by state (a phase entered twice: summed); the current
        phase up to now."""
        spent: dict[str, float] = {}
        ends = [began for _, began in self.entered[1:]] + [time.monotonic()]
        for (state, began), end in zip(self.entered, ends):
            spent[state] = round(spent.get(state, 0.0) + end - began, 1)
        return spent

    @property
    def state(self) -> str:
        """The phase's key without "phase." ("loading_data", "training_on", "done"): what code decides by."""
        return self.phase.key.removeprefix("phase.")

    @property
    def training(self) -> bool:
        """Whether the run is in a training phase (so a stopped run has a checkpoint to score)."""
        return self.phase.key in TRAINING_PHASES

    def status(self) -> list[Message]:
        """What the log says now: its stage (in a run of several) and its phase."""
        return [self.stage, self.phase] if self.stage is not None else [self.phase]

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def fraction(self) -> float:
        if not self.train_started:
            return 0.0
        by_steps = self.step / self.max_steps if self.max_steps else 0.0
        by_time = (time.monotonic() - self.train_started) / self.budget_s if self.budget_s else 0.0
        return min(1.0, max(by_steps, by_time))

    def eta_s(self) -> float | None:
        fraction = self.fraction()
        if not self.train_started or fraction <= 0:
            return None
        spent = time.monotonic() - self.train_started
        return max(0.0, spent / fraction - spent)


def waiting_phase(ahead: int, expected_s: float | None = None) -> Message:
    """The phase of a run waiting for its turn: how many runs are ahead, and about how long they take."""
    about = say("phase.about_s", s=f"{expected_s:.0f}") if expected_s is not None else ""
    return say("phase.waiting_turn_one" if ahead == 1 else "phase.waiting_turn", n=ahead, about=about)


def stage_phase(index: int, count: int, name: str | None = None) -> Message:
    """"stage 1 of 2 (its dataset)" of a run with several training stages."""
    if name:
        return say("phase.stage_of_source", i=index, n=count, name=name)
    return say("phase.stage_of", i=index, n=count)


def failure_message(error: BaseException) -> Message:
    """An unexpected error as one sentence; running out of memory gets advice."""
    text = str(error).strip()
    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError" or "out of memory" in text.lower():
        return say("notice.out_of_memory")
    return say("notice.run_failed", error=f"{type(error).__name__}: {text.splitlines()[0][:200] if text else 'no details'}")
