"""Every transfer method on the same data and budget, against the plain run_glue recipe; printed, never asserted.

    python benchmarks/methods.py                  # Rotten Tomatoes, MiniLM, 60 s per run
    python benchmarks/methods.py --budget 20 --dataset sms_spam

Each run is a fresh process, so one run's caches (features, "before" scores) never flatter the next:
every figure includes its own loading, scoring and feature extraction.
The baseline is run_glue.py's defaults: full fine-tune of every weight, lr 5e-5, batch 8, max length 128,
no warm-up, linear decay over 3 epochs, cut at the same budget. (run_glue also pads every batch to 128
tokens; this baseline pads dynamically, so it is if anything flattered.)
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

RUNS = {
    "ktdemo default: full fine-tune": {},
    "top 2 layers": {"method": "top_layers"},
    "LoRA r8": {"method": "lora"},
    "linear probe": {"method": "linear_probe"},
    "auto": {"method": "auto"},
    "control: random init, default recipe": {"kind": "from_scratch"},
    "zero-shot similarity (no training)": {"kind": "zero_shot"},
    "baseline: run_glue recipe": {"learning_rate": 5e-5, "batch_size": 8, "max_length": 128, "warmup_ratio": 0.0,
                                  "freeze_embeddings": False, "head_lr_scale": 1.0, "pooling": "cls", "warm_start": "none",
                                  "epochs": 3},
}


def run(name: str, overrides: dict, dataset: str, budget: float) -> dict:
    overrides = dict(overrides)
    if overrides.pop("epochs", None):  # a step schedule over 3 epochs, stopped by the budget
        from ktdemo import data

        train = len(data.load_splits(dataset).train)
        overrides["max_steps"] = 3 * -(-train // overrides["batch_size"])
    config = {"dataset": dataset, "time_budget_s": budget, **overrides}
    out = subprocess.run([sys.executable, "-m", "ktdemo", "train", "--config", "/dev/stdin"], input=json.dumps(config),
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        return {"run": name, "error": out.stderr.strip().splitlines()[-1]}
    result = json.loads(out.stdout)
    stats = result["stats"]
    return {"run": name, "accuracy": result["after"]["accuracy"], "macro_f1": result["after"]["macro_f1"],
            "train_s": stats.train_seconds, "total_s": stats.total_seconds,
            "trainable_params": stats.trainable_params, "trainable_pct": stats.trainable_pct,
            "examples_seen": stats.examples_seen, "peak_memory_mb": stats.peak_memory_mb,
            "method": result["config"]["method"], "max_length": result["config"]["max_length"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--dataset", default="rotten_tomatoes")
    parser.add_argument("--only", nargs="*", help="run names to keep (substrings)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "methods.json"))
    args = parser.parse_args()
    out = Path(args.out)
    kept = json.loads(out.read_text())["runs"] if args.only and out.exists() else []  # --only updates those rows
    rows = []
    header = f"{'run':40} {'accuracy':>8} {'F1':>6} {'train s':>7} {'total s':>7} {'trainable':>12} {'seen':>6} {'+MB':>6}"
    print(header)
    for name, overrides in RUNS.items():
        if args.only and not any(part in name for part in args.only):
            continue
        row = run(name, overrides, args.dataset, args.budget)
        rows.append(row)
        if "error" in row:
            print(f"{name:40} error: {row['error']}", flush=True)
            continue
        print(f"{name:40} {row['accuracy']:8.1%} {row['macro_f1']:6.1%} {row['train_s']:7.1f} {row['total_s']:7.1f} "
              f"{row['trainable_params']:>12,} {row['examples_seen']:6} {row['peak_memory_mb'] or 0:6.0f}", flush=True)
    names = {row["run"] for row in rows}
    rows = [row for row in kept if row["run"] not in names] + rows
    out.write_text(json.dumps({"dataset": args.dataset, "budget_s": args.budget, "runs": rows}, indent=2))
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
