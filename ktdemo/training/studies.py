"""Studies: several runs that answer one question together, and the plain data their figures need.

Each study turns the user's base config into a list of configs that differ in one thing only
(the method, the examples per class, the training dataset, the starting weights), so the
comparison is fair: same model, data, budget and seed otherwise.
"""
from __future__ import annotations

import dataclasses

from ..config import RunConfig
from ..messages import UserError, say

SENTIMENT_DOMAINS = ("rotten_tomatoes", "vader_tweets", "vader_amazon", "vader_nyt")  # same labels, four domains
KSHOT_SIZES = (8, 32, 128, None)  # None: all training examples
GRADIENT_METHODS = ("full", "top_layers", "lora")
KSHOT_METHODS = (*GRADIENT_METHODS, "linear_probe")  # the methods a k-shot curve can compare

STUDIES = {
    "methods": "Methods: full fine-tune, top layers, LoRA and linear probe on the same data and budget",
    "kshot": "k-shot curve: 8, 32, 128 and all examples per class, for the chosen methods",
    "pretraining": "What pretraining is worth: the pretrained encoder vs the same architecture from random weights",
    "sequential": "Sequential transfer: the source task first, then the target, vs the target alone",
    "matrix": "Transfer matrix: train on each sentiment domain, test on every one",
}


def build(study: str, base: RunConfig, methods: tuple[str, ...] = ("full", "linear_probe")) -> list[RunConfig]:
    """The configs of `study`, in the order they run."""
    plain = dataclasses.replace(base, kind="in_domain", source_dataset=None, label_map=None, adapt_per_class=0,
                                also_test_on=None)
    if plain.method == "auto":
        plain = dataclasses.replace(plain, method="full")
    if study == "methods":
        return [dataclasses.replace(plain, method=m) for m in KSHOT_METHODS]
    if study == "kshot":
        return [dataclasses.replace(plain, method=m, per_class=k) for m in methods for k in KSHOT_SIZES]
    if study == "pretraining":
        return [plain, dataclasses.replace(plain, kind="from_scratch")]
    if study == "sequential":
        if not base.source_dataset:
            raise UserError(say("error.study_needs_source"))
        return [plain, dataclasses.replace(plain, kind="sequential", source_dataset=base.source_dataset)]
    if study == "matrix":
        return [dataclasses.replace(plain, dataset=domain, per_class=base.per_class,
                                    also_test_on=[d for d in SENTIMENT_DOMAINS if d != domain])
                for domain in SENTIMENT_DOMAINS]
    raise UserError(say("error.unknown_study", study=study, studies=", ".join(STUDIES)))


def kshot_points(rows: list[dict]) -> list[dict]:
    """The k-shot curve's points from history rows (in-domain runs only)."""
    return [{"method": row["method"], "per_class": row["per_class"], "accuracy": row["accuracy"]}
            for row in rows if row["kind"] == "in_domain"]


def transfer_matrix(rows: list[dict], names: dict[str, str]) -> tuple[list[list[float | None]], list[str], list[str]]:
    """(accuracy[trained on][tested on], row names, column names) from runs that tested on several datasets.

    `names` maps dataset keys to display names; the latest run per training dataset wins.
    """
    by_source = {row["trained_on"]: row["accuracy_by_dataset"] for row in rows
                 if len(row.get("accuracy_by_dataset") or {}) > 1}
    sources = [key for key in SENTIMENT_DOMAINS if key in by_source] + sorted(set(by_source) - set(SENTIMENT_DOMAINS))
    targets = sorted({key for scores in by_source.values() for key in scores},
                     key=lambda k: (SENTIMENT_DOMAINS.index(k) if k in SENTIMENT_DOMAINS else len(SENTIMENT_DOMAINS), k))
    matrix = [[by_source[s].get(t) for t in targets] for s in sources]
    return matrix, [names.get(k, k) for k in sources], [names.get(k, k) for k in targets]
