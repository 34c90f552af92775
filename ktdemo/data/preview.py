"""Plain data for the dataset preview: class counts, token lengths, a few examples per class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import pandas as pd

PREVIEW_SAMPLE = 2_000  # texts tokenised for the length histogram: enough for its shape, fast
EXAMPLE_CHARS = 300  # examples are cut to this many characters for display


def token_lengths(texts: Iterable[str], tokenizer: Callable | None = None) -> list[int]:
    """Tokens per text with the model's special tokens, untruncated; words when no tokenizer."""
    texts = [str(text) for text in texts]
    if tokenizer is None:
        return [len(text.split()) for text in texts]
    if not texts:
        return []
    # verbose=False silences "sequence length is longer than the maximum": we want true lengths.
    encoded = tokenizer(texts, add_special_tokens=True, truncation=False, verbose=False)
    return [len(ids) for ids in encoded["input_ids"]]


def class_counts(labels: Iterable[int], label_names: Sequence[str]) -> dict[str, int]:
    """{label name: count} in label order, zero for absent classes."""
    counts = pd.Series(list(labels), dtype="int64").value_counts()
    return {name: int(counts.get(code, 0)) for code, name in enumerate(label_names)}


def examples_per_class(
    table: pd.DataFrame, label_names: Sequence[str], k: int = 3, seed: int = 0
) -> pd.DataFrame:
    """Up to ``k`` random examples of each class as a small (label, text) table for display."""
    picked = table.sample(frac=1.0, random_state=seed).groupby("label", sort=True).head(k)
    picked = picked.sort_values("label", kind="stable")
    texts = picked["text"].astype(str)
    shortened = texts.where(texts.str.len() <= EXAMPLE_CHARS, texts.str.slice(0, EXAMPLE_CHARS - 1) + "…")
    return pd.DataFrame({
        "label": [label_names[code] for code in picked["label"]],
        "text": shortened.to_numpy(),
    })


@dataclass
class Preview:
    counts: dict[str, int]
    lengths: list[int]
    examples: pd.DataFrame
    unit: str  # "tokens" or "words"


def preview_table(
    table: pd.DataFrame,
    label_names: Sequence[str],
    tokenizer: Callable | None = None,
    *,
    sample: int = PREVIEW_SAMPLE,
    seed: int = 0,
) -> Preview:
    """Everything the preview shows; lengths come from a random sample of ``sample`` texts."""
    texts = table["text"] if len(table) <= sample else table["text"].sample(sample, random_state=seed)
    return Preview(
        counts=class_counts(table["label"], label_names),
        lengths=token_lengths(texts, tokenizer),
        examples=examples_per_class(table, label_names, seed=seed),
        unit="words" if tokenizer is None else "tokens",
    )
