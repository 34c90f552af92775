"""Held-out metrics: batched inference and sklearn scores."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class Metrics:
    accuracy: float
    macro_f1: float
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    examples: int
    predictions: list[int] = field(default_factory=list, repr=False)
    probabilities: list[float] = field(default_factory=list, repr=False)  # of the predicted class

    def subset(self, indices, labels, num_labels: int) -> "Metrics":
        """The same predictions scored on the examples at `indices` (whose true labels are `labels`)."""
        subset = score(labels, [self.predictions[i] for i in indices], num_labels)
        subset.probabilities = [self.probabilities[i] for i in indices] if self.probabilities else []
        return subset

    def summary(self) -> dict:
        return {"accuracy": round(self.accuracy, 4), "macro_f1": round(self.macro_f1, 4), "examples": self.examples}


def score(labels, predictions, num_labels: int) -> Metrics:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score  # ~1 s to import: not at app start-up

    labels, predictions = np.asarray(labels), np.asarray(predictions)
    classes = list(range(num_labels))
    return Metrics(
        accuracy=float(accuracy_score(labels, predictions)),
        macro_f1=float(f1_score(labels, predictions, labels=classes, average="macro", zero_division=0)),
        confusion=confusion_matrix(labels, predictions, labels=classes).tolist(),
        examples=len(labels),
        predictions=predictions.tolist(),
    )


def length_sorted(texts: list[str], batch_size: int = 64):
    """Index batches over `texts`, each of similar lengths: little padding."""
    order = np.argsort([len(text) for text in texts], kind="stable")
    return (order[start:start + batch_size] for start in range(0, len(texts), batch_size))


def length_sorted_batches(tokenizer, texts: list[str], max_length: int, device, batch_size: int = 64):
    """(indices, encoded batch) over `texts` in batches of similar length."""
    for batch in length_sorted(texts, batch_size):
        yield batch, tokenizer([texts[i] for i in batch], truncation=True, max_length=max_length,
                               padding=True, return_tensors="pt").to(device)


@torch.inference_mode()
def predict_probabilities(model, tokenizer, texts: list[str], max_length: int, batch_size: int = 64,
                          progress=None) -> np.ndarray:
    """Class probabilities for many texts; `progress(batches, total)` may wrap the batches (a progress bar)."""
    batches = length_sorted_batches(tokenizer, texts, max_length, model.device, batch_size)
    if progress:
        batches = progress(batches, math.ceil(len(texts) / batch_size))
    return batched_probabilities(model, batches, len(texts))


@torch.inference_mode()
def batched_probabilities(model, batches, count: int, run=None) -> np.ndarray:
    """(count, classes) class probabilities from (indices, inputs) batches, each run through `run` (the model
    itself by default, or a part of it) with the model in eval mode; its mode is restored after."""
    run, was_training = run or model, model.training
    model.eval()
    out = np.zeros((count, model.config.num_labels), dtype=np.float32)
    try:
        for batch, inputs in batches:
            out[batch] = torch.softmax(run(**inputs).logits.float(), dim=-1).cpu().numpy()
    finally:
        model.train(was_training)
    return out


def evaluate(model, tokenizer, texts: list[str], labels: list[int], max_length: int) -> Metrics:
    return scored(predict_probabilities(model, tokenizer, list(texts), max_length), labels)


def scored(probabilities: np.ndarray, labels) -> Metrics:
    """Metrics of the (texts, classes) `probabilities`' predictions, with each prediction's probability."""
    metrics = score(labels, probabilities.argmax(axis=1), probabilities.shape[1])
    metrics.probabilities = probabilities.max(axis=1).tolist()
    return metrics


def misclassified(texts, labels, metrics: Metrics, label_names, limit: int = 8) -> list[dict]:
    """The most confident mistakes first: they teach the most."""
    rows = [
        {"text": text, "true": label_names[label], "predicted": label_names[pred], "confidence": round(prob, 3)}
        for text, label, pred, prob in zip(texts, labels, metrics.predictions, metrics.probabilities)
        if label != pred
    ]
    return sorted(rows, key=lambda row: -row["confidence"])[:limit]
