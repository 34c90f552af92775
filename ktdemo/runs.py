"""What a run is: its config (print it, save it, replay it), its live log, and how it can end.

Light on purpose: the UI imports this at start-up; the heavy training code (`transfer`) loads
on the first run.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields

from . import data, models

HUB_PREFIX = "hub:"


class RunCancelled(Exception):
    """Stopped before a new model existed; the previous model stays."""


class RunFailed(RuntimeError):
    """Training broke down (e.g. the loss became NaN); the message is one sentence."""


@dataclass
class RunConfig:
    """Everything that defines a run: print it, save it, replay it."""

    model: str = models.DEFAULT_MODEL
    dataset: str = data.DEFAULT_DATASET  # a bundled key, or "hub:<id>" (with the columns below)
    dataset_config: str | None = None  # Hub datasets only: config name, split, columns (None: guessed)
    dataset_split: str | None = None
    text_column: str | None = None
    label_column: str | None = None
    time_budget_s: float | None = 60.0  # training time; None trains for max_steps (or one epoch)
    max_steps: int | None = None  # fixes the step count, for exact replays
    learning_rate: float = 1e-4  # small encoders like a higher rate than BERT-base's 2e-5
    head_lr_scale: float = 10.0  # the new head (and pooler) start from scratch: let them move faster
    max_length: int = 64
    batch_size: int = 16
    warmup_ratio: float = 0.1
    freeze_embeddings: bool = True  # half of MiniLM's weights; freezing them nearly halves a step
    freeze_layers: int = 0  # also freeze this many bottom encoder layers: no backward pass through them
    per_class: int | None = None  # train on k examples per class (None: all)
    seed: int = 0
    eval_every_s: float = 10.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, values: dict) -> "RunConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Unknown setting(s) in the run config: {', '.join(sorted(unknown))}.")
        return cls(**values)


@dataclass
class TrainingLog:
    """Live state of a run, written by the training thread and read by the UI."""

    phase: str = "waiting"
    step: int = 0
    max_steps: int = 0  # 0 when the time budget decides
    started: float = field(default_factory=time.monotonic)
    train_started: float | None = None
    budget_s: float | None = None
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, training loss)
    evals: list[tuple[int, float]] = field(default_factory=list)  # (step, validation accuracy)

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
