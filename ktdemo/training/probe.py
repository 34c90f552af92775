"""Linear probe: fit only the classifier's last linear layer on frozen features.

The features (the input of that layer: BERT's pooled [CLS], or a sentence encoder's normalised mean)
come from forward passes only. For an untouched pretrained encoder on bundled data they are kept per model and
text in the training process and on disk (`frozen_store`, shared by every process on the machine), so a
second probe, and every run's untrained "before" head, on the same data takes a second or two. scikit-learn's
logistic regression fits them; its weights are then written into the model, so the probed model
predicts and shows attention like any other.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..config import RunConfig
from ..messages import say
from ..models.anatomy import last_linear
from ..models.evaluation import length_sorted_batches
from ..progress import RunCancelled, TrainingLog
from . import frozen_store
from .loop import FitOutcome

CHUNK = 256  # texts encoded between budget checks: ~2 s on 2 CPU cores
FIT_SHARE = 0.15  # of the budget kept for the logistic-regression fit
VALIDATION_TEXTS = 256  # for choosing the regularisation: ~2 s to encode
C_GRID = (0.01, 0.1, 1.0, 10.0)  # inverse regularisation strengths tried on validation

FEATURE_ENCODERS = 2  # encoders whose features stay cached; the least recently used one goes first


class Features(dict):
    """{text: feature vector} of one pretrained (model, max length, pooling), and the texts each store entry it
    has read (once per process) holds."""

    def __init__(self):
        super().__init__()
        self.stored: dict[Path, set[str]] = {}

    def read(self, path: Path) -> None:
        """Add the features stored at `path` (read once)."""
        if path not in self.stored:
            stored = frozen_store.read(path)
            self.update({text: row[0].numpy() for text, row in stored.items()})
            self.stored[path] = set(stored)

    def compute(self, model, tokenizer, texts: list[str], max_length: int) -> np.ndarray:
        return features(model, tokenizer, texts, max_length, self)

    def keep(self, path: Path, texts: list[str]) -> None:
        """Add the features this process has of `texts` (a bundled dataset's) to its entry at `path`."""
        self.read(path)  # what the entry holds stays in it
        stored = self.stored[path]
        new = [text for text in dict.fromkeys(texts) if text in self and text not in stored]
        if new:
            stored.update(new)
            frozen_store.save(path, {text: torch.from_numpy(self[text])[None] for text in stored})


# (model key, max length, pooling) -> its Features: untouched pretrained encoders on bundled data only (a
# session's texts never outlive it here). It lives in the process that trains (the worker), bounded.
_FEATURES: OrderedDict[tuple, Features] = OrderedDict()


def clear_features() -> None:
    """Forget every cached feature (the app that owns this process is closing)."""
    _FEATURES.clear()


def feature_cache(cache_key: tuple) -> Features:
    """The process-wide cache for `cache_key`, kept for the last FEATURE_ENCODERS keys."""
    cache = _FEATURES.pop(cache_key, None) or Features()
    _FEATURES[cache_key] = cache
    while len(_FEATURES) > FEATURE_ENCODERS:
        _FEATURES.popitem(last=False)
    return cache


def fit_linear_probe(model, tokenizer, train: pd.DataFrame, validation: pd.DataFrame, config: RunConfig,
                     log: TrainingLog, cancel: threading.Event, budget_s: float | None,
                     cache: dict | None, max_texts: int | None = None) -> FitOutcome:
    """Encode as much of `train` as the budget (and `max_texts`) allows, classes interleaved; fit; write
    the weights into the model's last linear layer."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    cache = {} if cache is None else cache
    log.train_started, log.budget_s, log.max_steps = time.monotonic(), budget_s, 0
    val = validation.sample(min(VALIDATION_TEXTS, len(validation)), random_state=config.seed)
    features(model, tokenizer, val.text.tolist(), config.max_length, cache)  # first: the fit needs it, in budget
    order = _classes_interleaved(train, config.seed).iloc[:max_texts]
    deadline = log.train_started + budget_s * (1 - FIT_SHARE) if budget_s else None
    done, stopped = 0, False
    while done < len(order):
        if cancel.is_set() or (done and deadline and time.monotonic() > deadline):  # always one chunk
            stopped = cancel.is_set()
            break
        features(model, tokenizer, order.text.iloc[done:done + CHUNK].tolist(), config.max_length, cache)
        done = min(len(order), done + CHUNK)
        log.step = done
    used = order.iloc[:done]
    if used.label.nunique() < 2:
        raise RunCancelled(say("notice.stopped_probe"))

    x = features(model, tokenizer, used.text.tolist(), config.max_length, cache)
    x_val = features(model, tokenizer, val.text.tolist(), config.max_length, cache)
    scaler = StandardScaler().fit(x)
    best = None
    for c in C_GRID:
        fitted = LogisticRegression(C=c, max_iter=1000).fit(scaler.transform(x), used.label)
        accuracy = fitted.score(scaler.transform(x_val), val.label)
        log.evals.append((len(log.evals) + 1, float(accuracy)))
        if best is None or accuracy > best[0]:
            best = (accuracy, fitted)
    _write_weights(last_linear(model), best[1], scaler, model.config.num_labels)
    seconds = time.monotonic() - log.train_started
    tokens = sum(len(ids) for ids in tokenizer(used.text.tolist(), truncation=True, max_length=config.max_length)["input_ids"])
    return FitOutcome(steps=0, examples_seen=done, tokens_seen=tokens, seconds=seconds, train_examples=len(train),
                      best_step=0, stopped_by_user=stopped)


def _classes_interleaved(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Shuffled, then ordered round-robin by class, so any prefix is balanced."""
    shuffled = train.sample(frac=1.0, random_state=seed)
    rank = shuffled.groupby("label").cumcount()
    return shuffled.assign(_rank=rank.values).sort_values("_rank", kind="stable").drop(columns="_rank")


@torch.inference_mode()
def features(model, tokenizer, texts: list[str], max_length: int, cache: dict | None = None) -> np.ndarray:
    """(texts, features): the input of the model's last linear layer, computed for texts not in `cache`."""
    cache = {} if cache is None else cache
    missing = list(dict.fromkeys(t for t in texts if t not in cache))
    if missing:
        _encode(model, tokenizer, missing, max_length, cache)
    return np.stack([cache[text] for text in texts]) if texts else np.zeros((0, last_linear(model).in_features))


def _encode(model, tokenizer, missing: list[str], max_length: int, cache: dict) -> None:
    captured: list[torch.Tensor] = []
    hook = last_linear(model).register_forward_pre_hook(lambda _module, args: captured.append(args[0].float().cpu()))
    was_training = model.training
    model.eval()
    try:
        for indices, encoded in length_sorted_batches(tokenizer, missing, max_length, model.device):
            captured.clear()
            model(**encoded)
            for i, row in zip(indices, captured[0].numpy()):
                cache[missing[i]] = row
    finally:
        hook.remove()
        model.train(was_training)


def _write_weights(layer: nn.Linear, fitted, scaler, num_labels: int) -> None:
    """Fold the scaler into the regression, (W/σ)x + b − W·μ/σ, and copy it into `layer`."""
    weight = fitted.coef_ / scaler.scale_
    bias = fitted.intercept_ - weight @ scaler.mean_
    if weight.shape[0] == 1:  # a two-class fit: sigmoid(z) == softmax([-z/2, z/2])
        weight, bias = np.vstack([-weight / 2, weight / 2]), np.concatenate([-bias / 2, bias / 2])
    if len(fitted.classes_) < num_labels:  # a class absent from the probed examples never wins
        full_weight, full_bias = np.zeros((num_labels, weight.shape[1])), np.full(num_labels, -1e4)
        full_weight[fitted.classes_], full_bias[fitted.classes_] = weight, bias
        weight, bias = full_weight, full_bias
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(weight, dtype=layer.weight.dtype))
        layer.bias.copy_(torch.as_tensor(bias, dtype=layer.bias.dtype))
