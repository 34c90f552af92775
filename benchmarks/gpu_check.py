"""The GPU path in one command: training (bf16 where supported), LoRA, a linear probe, attention on the
device against the CPU, the same run through the worker process and through `accelerate launch`.

    python benchmarks/gpu_check.py                           # on CUDA; a bare machine uses gpu-bundle/
    python benchmarks/gpu_check.py --device cpu --budget 5   # the CPU dry run (CI runs it on a tiny model)

A bare CUDA machine (see `gpu_bundle.py`): the bundle's site/ goes on the path and its wheels are installed
when `datasets` is missing. Prints one JSON object; with $OUT set, also writes it to $OUT/gpu_check.json.
Figures to aim at on an H200 (printed, not asserted): >= 2,000 training examples/s at max length 64; the
60 s run >= 84 % on the Rotten Tomatoes test set.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = ["A gorgeous, witty and moving film.", "The plot falls apart in the second hour, and nobody cares.",
             "Not worth the ticket price, although the cast tries hard."]


def prepare(device: str, bundle: Path) -> None:
    """Before torch is imported: the device, and on a bare machine the bundle's files and wheels."""
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # a CUDA machine's dry run stays on its CPU
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    site = bundle / "site"
    if site.is_dir():
        sys.path.insert(0, str(site))
        os.environ["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT), os.environ.get("PYTHONPATH", "")])
        _fp32_weights(site)
    if importlib.util.find_spec("datasets") is None and (bundle / "wheels").is_dir():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
                        str(bundle / "wheels"), "datasets"], check=True)
    sys.path.insert(0, str(ROOT))


def _fp32_weights(site: Path) -> None:
    """The bundle carries fp16 weights (half the bytes); training wants fp32 master weights."""
    for fp16 in site.rglob("model-fp16.safetensors"):
        fp32 = fp16.with_name("model.safetensors")
        if not fp32.exists():
            import torch
            from safetensors.torch import load_file, save_file

            save_file({k: v.to(torch.float32) for k, v in load_file(fp16).items()}, fp32, metadata={"format": "pt"})


def train(config) -> tuple[dict, object]:
    """One in-process run: its figures and result."""
    import torch

    from ktdemo.training.transfer import run_transfer

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    result = run_transfer(config)
    return figures(result, config), result


def figures(result, config) -> dict:
    import torch

    stats = result.stats
    budget = config.time_budget_s
    return {"method": (stats.method or config.method), "device": stats.device, "steps": stats.steps,
            "examples_per_s": stats.examples_per_s, "tokens_per_s": stats.tokens_per_s,
            "test_accuracy": round(result.after.accuracy, 4), "start_accuracy": round(result.start.accuracy, 4)
            if result.start else None, "train_seconds": stats.train_seconds,
            "seconds_over_budget": round(stats.train_seconds - budget, 2) if budget else None,
            "peak_gpu_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20) if torch.cuda.is_available()
            else None}


def attention_agreement(result) -> float:
    """The largest difference between the attention extracted on the device and on the CPU, over SENTENCES."""
    import copy

    import numpy as np

    from ktdemo.inspection import attention

    on_cpu = copy.deepcopy(result.model).cpu()
    return float(max(np.abs(attention.inspect(result.model, result.tokenizer, text).attentions
                            - attention.inspect(on_cpu, result.tokenizer, text).attentions).max()
                     for text in SENTENCES))


def through_worker(config) -> dict:
    from ktdemo.progress import TrainingLog
    from ktdemo.serving.worker import RunRequest, Worker

    worker = Worker()
    try:
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="ktdemo-gpu-check-") as folder:
            result, _ = worker.run(RunRequest(config, folder), TrainingLog(), threading.Event())
        return {**figures(result, config), "wall_seconds": round(time.monotonic() - started, 1)}
    finally:
        worker.close()


def through_accelerate(config, device: str) -> dict:
    """`accelerate launch -m ktdemo train`: the CLI under accelerate's launcher, one process."""
    command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--num_machines", "1",
               "--mixed_precision", "no", "--dynamo_backend", "no", *(["--cpu"] if device == "cpu" else []),
               "-m", "ktdemo", "train", "--time-budget-s", str(config.time_budget_s), "--model", config.model]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1][:300] if done.stderr.strip() else "no output"}
    output = json.loads(done.stdout[done.stdout.index("{"):])
    return {"test_accuracy": round(output["after"]["accuracy"], 4), "device": output["stats"]["device"],
            "examples_per_s": output["stats"]["examples_per_s"], "wall_seconds": round(time.monotonic() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--budget", type=float, default=60.0, help="the default run's training seconds")
    parser.add_argument("--side-budget", type=float, help="LoRA, worker and accelerate runs (default: budget / 2)")
    parser.add_argument("--bundle", default=str(ROOT / "gpu-bundle"), help="what `make gpu-bundle` made")
    args = parser.parse_args(argv)
    prepare(args.device, Path(args.bundle))

    import torch

    from ktdemo import models
    from ktdemo.config import RunConfig

    if args.device == "cuda" and not torch.cuda.is_available():
        print("No CUDA device here; run with --device cpu for the dry run.")
        return 2
    side = args.side_budget or args.budget / 2
    started = time.monotonic()
    report = {"device": models.describe_device(), "torch": torch.__version__, "budget_s": args.budget}
    # "default" is full fine-tuning, what Auto picks on a GPU without a stored bottom: fixed, so that every run
    # trains steps whatever the machine's speed (on a busy CPU Auto may pick a linear probe)
    report["default"], result = train(RunConfig(method="full", time_budget_s=args.budget))
    report["attention_max_difference_vs_cpu"] = attention_agreement(result)
    report["lora"], _ = train(RunConfig(method="lora", time_budget_s=side))
    report["linear_probe"], _ = train(RunConfig(method="linear_probe", time_budget_s=side))
    report["worker"] = through_worker(RunConfig(method="full", time_budget_s=side))
    report["accelerate_launch"] = through_accelerate(RunConfig(method="full", time_budget_s=side), args.device)
    report["total_seconds"] = round(time.monotonic() - started, 1)
    text = json.dumps(report, indent=2)
    print(text)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu_check.json").write_text(text)
    ok = report["attention_max_difference_vs_cpu"] <= 1e-3 and "error" not in report["accelerate_launch"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
