"""A minute of transfer, measured: accuracy by time budget and seed, on an idle and on a busy machine.

    python benchmarks/budgets.py                                   # the whole grid below (~75 min on 2 cores)
    python benchmarks/budgets.py --budgets 30 --seeds 0 --recipes default --conditions idle loaded
    python benchmarks/budgets.py --budgets 30 --set warm_start=none --set pooling=cls   # one lever off
    python benchmarks/budgets.py --datasets sms_spam trec bbc_news --budgets 30
    python benchmarks/budgets.py --recipes default full --budgets 30 60   # Auto (the stored bottom) vs full
    python benchmarks/budgets.py --full-probe minilm                # frozen features + logistic regression

Printed and saved (benchmarks/budgets.json), never asserted. Runs share one process: the model and the
data load once, and the test set's pretrained features are cached, so "total s" is mostly the budget and
the final scoring. "loaded" runs a second process busy on one core throughout, as a shared classroom
machine or a free Space has. The run_glue recipe is run_glue.py's defaults (standard [CLS] head from
random, every weight trained, lr 5e-5, batch 8, max length 128, no warm-up, a step schedule over 3
epochs cut by the budget), as in benchmarks/methods.py.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

RECIPES = {
    "default": {},  # method Auto: with the frozen bottom's outputs stored, the top half of the layers on them
    "full": {"method": "full"},  # every weight but the word embeddings (the default method before 2026-12-06)
    "run_glue": {"learning_rate": 5e-5, "batch_size": 8, "max_length": 128, "warmup_ratio": 0.0,
                 "freeze_embeddings": False, "head_lr_scale": 1.0, "pooling": "cls", "warm_start": "none",
                 "epochs": 3},
}


@contextlib.contextmanager
def condition(name: str):
    """'idle', or 'loaded': another process spinning on one core for as long as the block runs."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if name == "loaded" else None
    try:
        yield
    finally:
        if busy:
            busy.kill()
            busy.wait()


def run_one(dataset: str, recipe: str, budget: float, seed: int, overrides: dict) -> dict:
    from ktdemo import data
    from ktdemo.config import RunConfig
    from ktdemo.progress import english
    from ktdemo.training.transfer import run_transfer

    settings = {**RECIPES[recipe], **overrides}
    if settings.pop("epochs", None):  # a step schedule over 3 epochs; the budget still stops it (training.fine_tune)
        settings["max_steps"] = 3 * -(-len(data.load_splits(dataset, seed=seed).train) // settings["batch_size"])
    config = RunConfig(**{"dataset": dataset, "time_budget_s": budget, "seed": seed, **settings})
    result = run_transfer(config)
    stats = result.stats
    return {"dataset": dataset, "recipe": recipe, "budget_s": budget, "seed": seed,
            "accuracy": result.after.accuracy, "macro_f1": result.after.macro_f1,
            "start_accuracy": result.start.accuracy if result.start else None,
            "before_accuracy": result.before.accuracy, "steps": stats.steps, "best_step": stats.best_step,
            "examples_per_s": stats.examples_per_s, "train_s": stats.train_seconds,
            "total_s": stats.total_seconds, "warm_start": result.config.warm_start,
            "pooling": result.config.pooling, "method": result.config.method, "top_layers": result.config.top_layers,
            "phase_s": stats.phase_seconds, "notices": english(stats.notices + stats.plan)}


def full_probe(model: str, dataset: str, seed: int) -> dict:
    """Logistic regression on the frozen encoder's features of the whole training set (C chosen on validation):
    the yardstick SentEval reports for sentence encoders."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from ktdemo import data, models
    from ktdemo.models import heads
    from ktdemo.training import frozen_store, probe

    splits = data.load_splits(dataset, seed=seed)
    encoder, tokenizer = models.pretrained_classifier(model, splits.label_names), models.load_tokenizer(model)
    began, features = time.monotonic(), probe.Features()
    stored = frozen_store.features_entry(model, dataset, 64, heads.pooling_of(encoder))  # as the app's runs keep them
    features.read(stored)
    x, x_val, x_test = (features.compute(encoder, tokenizer, frame.text.tolist(), 64)
                        for frame in (splits.train, splits.validation, splits.test))
    features.keep(stored, frozen_store.texts_of(splits))
    encode_s = time.monotonic() - began  # reading the store's entry where it holds them
    scaler = StandardScaler().fit(x)
    fits = [LogisticRegression(C=c, max_iter=2000).fit(scaler.transform(x), splits.train.label)
            for c in probe.C_GRID]
    best = max(fits, key=lambda fit: fit.score(scaler.transform(x_val), splits.validation.label))
    return {"model": model, "dataset": dataset, "seed": seed, "C": best.C, "encode_s": round(encode_s, 1),
            "accuracy": best.score(scaler.transform(x_test), splits.test.label)}


def summarise(rows: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["recipe"], row["condition"], row["budget_s"]), []).append(row)
    out = []
    for (dataset, recipe, cond, budget), runs in groups.items():
        accuracy = [r["accuracy"] for r in runs]
        out.append({"dataset": dataset, "recipe": recipe, "condition": cond, "budget_s": budget, "seeds": len(runs),
                    "mean": statistics.mean(accuracy), "min": min(accuracy), "max": max(accuracy),
                    "macro_f1": statistics.mean(r["macro_f1"] for r in runs),
                    "start": runs[0]["start_accuracy"], "steps": statistics.mean(r["steps"] for r in runs),
                    "examples_per_s": statistics.mean(r["examples_per_s"] or 0 for r in runs)})
    return out


def _value(text: str):
    """A --set value: JSON where it parses (numbers, true, null, lists), else the text itself (top_layers, none)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["rotten_tomatoes"])
    parser.add_argument("--budgets", nargs="+", type=float, default=[15, 30, 60, 120])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--conditions", nargs="+", default=["idle", "loaded"], choices=["idle", "loaded"])
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a RunConfig field for every run (a lever), e.g. warm_start=none")
    parser.add_argument("--full-probe", nargs="*", metavar="MODEL",
                        help="instead: logistic regression on these encoders' frozen features of the whole training "
                             "set (default: the default model), by dataset and seed")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "budgets.json"))
    args = parser.parse_args()
    if args.full_probe is not None:
        from ktdemo import models

        for model in args.full_probe or [models.DEFAULT_MODEL]:
            for dataset in args.datasets:
                for seed in args.seeds:
                    print(json.dumps(full_probe(model, dataset, seed)), flush=True)
        return
    overrides = {key: _value(value) for key, value in (item.split("=", 1) for item in args.set)}

    rows = []
    print(f"{'dataset':16} {'recipe':9} {'cond':6} {'budget':>6} {'seed':>4} {'acc':>6} {'F1':>6} {'start':>6} "
          f"{'steps':>5} {'best':>4} {'ex/s':>6} {'total s':>7}", flush=True)
    for cond in args.conditions:
        with condition(cond):
            for dataset in args.datasets:
                for recipe in args.recipes:
                    for budget in args.budgets:
                        for seed in args.seeds:
                            row = {**run_one(dataset, recipe, budget, seed, overrides), "condition": cond}
                            rows.append(row)
                            start = f"{row['start_accuracy']:6.1%}" if row["start_accuracy"] is not None else "     -"
                            print(f"{dataset:16} {recipe:9} {cond:6} {budget:6.0f} {seed:4} {row['accuracy']:6.1%} "
                                  f"{row['macro_f1']:6.1%} {start} {row['steps']:5} {row['best_step']:4} "
                                  f"{row['examples_per_s'] or 0:6.1f} {row['total_s']:7.1f}", flush=True)
    print(f"\n{'dataset':16} {'recipe':9} {'cond':6} {'budget':>6} {'mean':>6} {'min':>6} {'max':>6} {'F1':>6} "
          f"{'start':>6} {'steps':>6} {'ex/s':>6}")
    summary = summarise(rows)
    for s in summary:
        start = f"{s['start']:6.1%}" if s["start"] is not None else "     -"
        print(f"{s['dataset']:16} {s['recipe']:9} {s['condition']:6} {s['budget_s']:6.0f} {s['mean']:6.1%} "
              f"{s['min']:6.1%} {s['max']:6.1%} {s['macro_f1']:6.1%} {start} {s['steps']:6.0f} {s['examples_per_s']:6.1f}")
    Path(args.out).write_text(json.dumps({"overrides": overrides, "summary": summary, "runs": rows,
                                          "finished": time.strftime("%Y-%m-%d %H:%M")}, indent=2))
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
