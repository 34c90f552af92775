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


KINDS = {  # what is transferred from where
    "in_domain": "train and test on the target dataset's own splits",
    "cross_domain": "train on a source dataset, test on the target (then adapt with k target examples)",
    "zero_shot": "no target labels: match texts to label descriptions",
    "sequential": "fine-tune on a source task first, then on the target",
    "from_scratch": "the same architecture with random weights: what pretraining is worth",
}
METHODS = {  # which weights move
    "full": "fine-tune every layer (embeddings frozen by default)",
    "top_layers": "fine-tune only the top k encoder layers and the head",
    "linear_probe": "fit only a linear head on frozen, cached features",
    "lora": "low-rank adapters on attention (peft) plus the head",
    "auto": "pick a method, max length and data size that fit the budget",
}
POOLINGS = {  # how the classifier reads the encoder's tokens
    "auto": "the encoder's own: mean for sentence encoders (their sentence-transformers files say so), else [CLS]",
    "mean": "the normalised mean of the tokens, then one linear layer (the zero-shot classifier's shape)",
    "cls": "the family's standard head on the first token ([CLS], through BERT's pooler)",
}
WARM_STARTS = {  # where the trained head starts
    "auto": "the zero-shot classifier for mean pooling, else a quick linear probe; random for the control",
    "descriptions": "the zero-shot classifier: the head's rows are the label descriptions' embeddings",
    "probe": "a linear probe on frozen features, in a fifth of the budget, then fine-tuning (LP-FT)",
    "none": "a random head",
}
DEFAULT_LEARNING_RATES = {"full": 1e-4, "top_layers": 2e-4, "lora": 1e-3}  # small encoders like high rates


@dataclass
class RunConfig:
    """Everything that defines a run: print it, save it, replay it."""

    model: str = models.DEFAULT_MODEL
    dataset: str = data.DEFAULT_DATASET  # the target, tested on: a bundled key or "hub:<id>" (+ the columns below)
    dataset_config: str | None = None  # Hub datasets only: config name, split, columns (None: guessed)
    dataset_split: str | None = None
    text_column: str | None = None
    label_column: str | None = None
    kind: str = "in_domain"  # one of KINDS
    method: str = "full"  # one of METHODS
    pooling: str = "auto"  # one of POOLINGS
    warm_start: str = "auto"  # one of WARM_STARTS
    source_dataset: str | None = None  # cross-domain: trained on this; sequential: trained on this first
    label_map: dict[str, str] | None = None  # cross-domain: source label -> target label (None: same names)
    adapt_per_class: int = 0  # cross-domain: then adapt with this many labelled target examples per class
    label_descriptions: list[str] | None = None  # zero-shot: one per target label (None: defaults)
    nli_model: str | None = None  # zero-shot with an NLI model (Hub) instead of embedding similarity
    also_test_on: list[str] | None = None  # score on these datasets' test sets too (same labels): a transfer matrix
    time_budget_s: float | None = 60.0  # training time per stage; None trains for max_steps (or one epoch)
    max_steps: int | None = None  # fixes the step count, for exact replays
    learning_rate: float | None = None  # None: the method's default (DEFAULT_LEARNING_RATES)
    head_lr_scale: float = 10.0  # the new head (and pooler) start from scratch: let them move faster
    max_length: int = 64
    batch_size: int = 16
    warmup_ratio: float = 0.1
    dropout: float | None = None  # every dropout layer's rate while training; None: the model's own (0.1 for BERT)
    freeze_embeddings: bool = True  # half of MiniLM's weights; freezing them nearly halves a step
    top_layers: int = 2  # method "top_layers": how many of the top encoder layers train
    lora_rank: int = 8
    lora_alpha: int = 16
    per_class: int | None = None  # train on k examples per class (None: all)
    seed: int = 0
    eval_every_s: float = 10.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Unknown transfer kind '{self.kind}'; choose one of {', '.join(KINDS)}.")
        if self.method not in METHODS:
            raise ValueError(f"Unknown method '{self.method}'; choose one of {', '.join(METHODS)}.")
        if self.pooling not in POOLINGS:
            raise ValueError(f"Unknown pooling '{self.pooling}'; choose one of {', '.join(POOLINGS)}.")
        if self.warm_start not in WARM_STARTS:
            raise ValueError(f"Unknown warm start '{self.warm_start}'; choose one of {', '.join(WARM_STARTS)}.")
        if self.kind in ("cross_domain", "sequential") and not self.source_dataset:
            raise ValueError(f"A {self.kind.replace('_', '-')} run needs a source dataset to train on first.")

    @property
    def lr(self) -> float:
        """The learning rate this run uses."""
        return self.learning_rate or DEFAULT_LEARNING_RATES.get(self.method, 1e-4)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, values: dict) -> "RunConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Unknown setting(s) in the run config: {', '.join(sorted(unknown))}.")
        return cls(**values)


def parse_label_map(text: str | None) -> dict[str, str] | None:
    """'fresh=positive, rotten=negative' -> {'fresh': 'positive', 'rotten': 'negative'}; empty -> None."""
    pairs = [part.strip() for part in (text or "").replace("\n", ",").split(",") if part.strip()]
    if not pairs:
        return None
    if any(pair.count("=") != 1 for pair in pairs):
        raise ValueError("Write the label map as source=target pairs separated by commas, e.g. 'fresh=positive'.")
    return {source.strip(): target.strip() for source, target in (pair.split("=") for pair in pairs)}


@dataclass
class TrainingLog:
    """Live state of a run, written by the training thread and read by the UI."""

    phase: str = "waiting"
    stage: str = ""  # "stage 1 of 2 (...)" in runs with several training stages
    step: int = 0
    max_steps: int = 0  # 0 when the time budget decides
    started: float = field(default_factory=time.monotonic)
    train_started: float | None = None
    budget_s: float | None = None
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, training loss)
    evals: list[tuple[int, float]] = field(default_factory=list)  # (step, validation accuracy)
    probe_text: str | None = None  # set: training snapshots the attention on this sentence (see `timelapse`)
    snapshots: list = field(default_factory=list)  # timelapse.Snapshot of the last training stage, by step

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


def failure_sentence(error: BaseException) -> str:
    """An unexpected error as one sentence; running out of memory gets advice."""
    text = str(error).strip()
    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError" or "out of memory" in text.lower():
        return ("The run ran out of memory; try a smaller model, batch size or max length. "
                "The previous model is unchanged.")
    return f"The run failed: {type(error).__name__}: {text.splitlines()[0][:200] if text else 'no details'}"
