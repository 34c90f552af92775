"""Attention time-lapse: how the attention on one probe sentence changes while a model trains.

During a run, `Recorder` takes a `Snapshot` at step 0, every few steps and at the last step: one
forward pass on the probe sentence, in eager attention and eval mode, then the model goes back to
exactly the state training left it in. No gradients, no random numbers: training is unchanged.
Snapshots are per training stage, like the loss curve: a two-stage run keeps its last stage's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..inspection import attention
from ..messages import say

DEFAULT_PROBE = "A gorgeous, witty and moving film."
MAX_SNAPSHOTS = 40  # a slider's worth; also bounds the cost (~20 ms each for MiniLM on a CPU) and the memory
SNAPSHOT_EVERY_S = 2.0  # a budgeted run: at most one snapshot per this much training time
PROBE_TOKENS = 64  # (layers, heads, T, T) float16: 0.6 MB per snapshot for MiniLM at 64 tokens


@dataclass
class Snapshot:
    step: int
    loss: float | None  # the training loss at this step; None before the first step
    tokens: list[str]
    attentions: np.ndarray  # (layers, heads, T, T) float16; each row sums to 1
    probabilities: dict[str, float]  # label name -> probability
    pooling: str = "cls"  # what the classifier head reads: "cls" or "mean" (`attention.reader_weights`)
    special: list[bool] | None = None  # True for the tokens the tokenizer added

    @property
    def prediction(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)

    def reader_row(self) -> np.ndarray:
        """(T,): the last layer's attention (heads averaged) of what the classifier reads at this step: [CLS]'s
        row, or the mean of every token's for a mean-pooling head."""
        return attention.reader_row(self.attentions[-1].astype(np.float32).mean(axis=0), self.pooling)

    def reads_most(self) -> tuple[str, float]:
        """The word (no special token, where there is one) that row weighs most, and its share of the row."""
        row = self.reader_row()
        special = attention.special_flags(self.tokens, self.special)
        words = [i for i, flag in enumerate(special) if not flag] or list(range(len(row)))
        top = max(words, key=lambda i: row[i])
        return self.tokens[top], float(row[top])

    def caption(self, words=None) -> str:
        """'step 120 · loss 0.41 · predicts positive (0.83)', in `words`' language (figures.style.Words;
        English by default)."""
        loss = say("figure.before_training") if self.loss is None else say("figure.loss_at", loss=f"{self.loss:.2f}")
        caption = say("figure.snapshot", step=self.step, loss=loss, prediction=self.prediction,
                      p=f"{self.probabilities[self.prediction]:.2f}")
        return caption.english() if words is None else words(caption.key, **caption.params)


def snapshot(model, tokenizer, text: str, step: int, loss: float | None, max_length: int = PROBE_TOKENS) -> Snapshot:
    """The attention of `model` on `text` now, leaving the model exactly as it was (attention kernel, train modes)."""
    target = model.get_base_model() if hasattr(model, "get_base_model") else model  # peft: LoRA layers stay inside
    implementation = target.config._attn_implementation
    modes = [(module, module.training) for module in target.modules()]
    target.set_attn_implementation("eager")  # only eager returns attention weights; SDPA trains faster
    target.eval()  # no dropout: the snapshot is deterministic and draws no random numbers
    try:
        seen = attention.inspect(target, tokenizer, text, max_length)
    finally:
        target.set_attn_implementation(implementation)
        for module, training in modes:
            module.training = training
    return Snapshot(step, loss, seen.tokens, seen.attentions.astype(np.float16), seen.probabilities, seen.pooling,
                    seen.special)


def last_layer_frames(snapshots: list[Snapshot]) -> np.ndarray:
    """(snapshots, T, T): the last layer's attention averaged over heads, the short story of a run."""
    return np.stack([shot.attentions[-1].astype(np.float32).mean(axis=0) for shot in snapshots])


def snapshot_every(step_s: float, budget_s: float | None, max_steps: int, cap: int = MAX_SNAPSHOTS) -> int:
    """Steps between snapshots so that about `cap` of them spread over the run.

    A fixed step count is split evenly; a time budget is split by the measured step time, never more
    often than every SNAPSHOT_EVERY_S. A wrong estimate is caught by the Recorder's thinning.
    """
    if budget_s is None:
        return max(1, math.ceil(max_steps / cap))
    return max(1, round(max(SNAPSHOT_EVERY_S, budget_s / cap) / step_s))


class Recorder:
    """Takes one stage's snapshots: step 0, every `every` steps, and the last step; at most `cap`.

    At the cap, every other snapshot goes and the interval doubles: the kept ones stay evenly spread.
    """

    def __init__(self, model, tokenizer, text: str, every: int, max_length: int = PROBE_TOKENS,
                 cap: int = MAX_SNAPSHOTS):
        self.model, self.tokenizer, self.text, self.max_length = model, tokenizer, text, max_length
        self.every, self.cap = every, max(2, cap)
        self.snapshots: list[Snapshot] = []

    def take(self, step: int, loss: float | None, last: bool = False) -> None:
        if self.snapshots and self.snapshots[-1].step == step:
            return
        if not last and step % self.every:
            return
        if len(self.snapshots) >= self.cap:
            self.snapshots[:] = self.snapshots[::2]  # in place: the live log shares this list
            self.every *= 2
            if not last and step % self.every:
                return
        self.snapshots.append(snapshot(self.model, self.tokenizer, self.text, step, loss, self.max_length))
