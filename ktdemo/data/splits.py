"""Stratified, seed-fixed train/validation/test splits with no test text anywhere else."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..messages import say
from .errors import DataError
from .validate import check_class_sizes, clean_table, counted, normalize_text

VALIDATION_FRACTION = 0.1
TEST_FRACTION = 0.1
PER_CLASS_CHOICES = (8, 16, 64, 256, None)  # None = all training examples


@dataclass
class Splits:
    """Three (text, label) tables that share ``label_names``; ``notices`` say what cleaning did."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    label_names: list[str]
    name: str = ""
    notices: list = field(default_factory=list)  # Messages: what the user should know about the data

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def class_counts(self) -> dict[str, dict[str, int]]:
        """{split: {label name: count}}, every label listed (0 when absent)."""
        return {
            split: {
                name: int(count)
                for name, count in zip(
                    self.label_names,
                    frame["label"].value_counts().reindex(range(self.num_labels), fill_value=0),
                )
            }
            for split, frame in self.parts().items()
        }

    def parts(self) -> dict[str, pd.DataFrame]:
        return {"train": self.train, "validation": self.validation, "test": self.test}


def drop_overlap(target: pd.DataFrame, *others: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Rows of ``target`` whose normalised text occurs in none of ``others``, and how many went.

    Use it across datasets too: the VADER movie snippets repeat the Rotten Tomatoes sentences.
    """
    seen = set().union(*(normalize_text(other["text"]) for other in others))
    leaked = normalize_text(target["text"]).isin(seen)
    return target[~leaked].reset_index(drop=True), int(leaked.sum())


def take_per_class(train: pd.DataFrame, per_class: int | None, seed: int = 0) -> pd.DataFrame:
    """At most ``per_class`` random rows of each class; smaller budgets are subsets of larger ones."""
    if per_class is None:
        return train
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
        raise DataError(say("error.per_class", value=repr(per_class)))
    shuffled = train.sample(frac=1.0, random_state=seed)
    return shuffled.groupby("label", sort=False).head(per_class).reset_index(drop=True)


def make_splits(
    df: pd.DataFrame,
    label_names: list[str],
    *,
    seed: int = 0,
    per_class: int | None = None,
    official_test: pd.DataFrame | None = None,
    name: str = "",
) -> Splits:
    """Validate ``df`` (text, label) and split it about 80/10/10, stratified by label.

    With ``official_test`` the given test set is kept and ``df`` gives train and validation.
    Duplicates are removed within the table, and every text of the test set is removed from
    train and validation. ``per_class`` trims only the training split.
    """
    label_names = [str(label) for label in label_names]
    pool, notices = clean_table(df, label_names, what=name or say("part.what.data"))
    if official_test is None:
        check_class_sizes(pool["label"], label_names)
        rest, test = _stratified_split(pool, TEST_FRACTION, seed)
    else:
        test, test_notices = clean_table(official_test, label_names, what=say("part.what.test_split"))
        notices += test_notices
        pool, leaked = drop_overlap(pool, test)
        if leaked:
            notices.append(counted("notice.leaked_removed", leaked))
        check_class_sizes(pool["label"], label_names, splits=("train", "validation"))
        rest = pool
    train, validation = _stratified_split(rest, VALIDATION_FRACTION * len(pool) / len(rest), seed)
    train = take_per_class(train, per_class, seed)
    return Splits(train, validation, test.reset_index(drop=True), label_names, name, notices)


def _stratified_split(df: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off ``fraction`` of ``df``, stratified, and never fewer rows than there are classes."""
    from sklearn.model_selection import train_test_split  # sklearn costs ~1 s to import: not at app start-up

    classes = df["label"].nunique()
    size = min(max(round(fraction * len(df)), classes), len(df) - classes)
    kept, taken = train_test_split(df, test_size=size, stratify=df["label"], random_state=seed)
    return kept.reset_index(drop=True), taken.reset_index(drop=True)
