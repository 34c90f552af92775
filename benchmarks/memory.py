"""Memory across consecutive runs in one process: does RSS grow run after run?

    python benchmarks/memory.py                       # 20 runs of the default model, both modes
    python benchmarks/memory.py --model tiny --runs 5 --mode fresh

Modes: "same" trains every run in one Session (only its current model stays in memory, the others
on disk, so its growth is measured from run 2);
"fresh" gives each run a new Session and releases it afterwards, as an ended session does;
"sessions" keeps every Session and its fine-tuned model, as a class of N users does: the target is
30 sessions within 8 GB (the app and its training worker together).
RSS is printed after each run (after gc, and after glibc's malloc_trim so freed memory is returned);
in "same" and "fresh" the growth from the first run to the last is what should stay flat.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402


def rss_mb(trim: bool) -> float:
    gc.collect()
    if trim:
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass
    return psutil.Process().memory_info().rss / 2**20


def tiny_model(folder: Path) -> str:
    """A 2-layer random BERT with the bundled tokenizer (like the tests'), for quick runs."""
    from transformers import BertConfig, BertForSequenceClassification

    from ktdemo import models

    tokenizer = models.load_tokenizer(models.DEFAULT_MODEL)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    models.register_model(models.ModelSpec("tiny", "tiny", "tiny", "random", path=str(folder)))
    return "tiny"


def worker_rss_mb() -> float:
    return sum(child.memory_info().rss for child in psutil.Process().children(recursive=True)) / 2**20


def series(mode: str, runs: int, config, trim: bool) -> list[float]:
    from ktdemo.serving.session import Session

    print(f"\nmode {mode}: {runs} runs")
    shared, kept = Session(), []
    sizes = []
    for number in range(1, runs + 1):
        session = shared if mode == "same" else Session()
        started = time.monotonic()
        job = session.runs.start(config, own_copy=True)  # identical public runs would be shared
        job.wait()
        if job.error:
            raise SystemExit(f"run {number} failed: {job.error}")
        accuracy = job.result.after.accuracy
        del job
        if mode == "fresh":
            session.release()
        elif mode == "sessions":
            kept.append(session)
        del session
        sizes.append(rss_mb(trim))
        growth = sizes[-1] - sizes[0]
        print(f"run {number:2d}: {time.monotonic() - started:5.1f} s · accuracy {accuracy:.1%} · "
              f"RSS {sizes[-1]:7.1f} MB (+ worker {worker_rss_mb():6.1f} MB) · since run 1 {growth:+7.1f} MB",
              flush=True)
    for session in [shared, *kept]:
        session.release()
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="minilm", help='a catalog key, or "tiny" for a random 2-layer BERT')
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--per-class", type=int, default=64)
    parser.add_argument("--max-steps", type=int, default=10)
    parser.add_argument("--mode", choices=["same", "fresh", "sessions", "both"], default="both")
    parser.add_argument("--no-trim", action="store_true", help="skip malloc_trim before measuring")
    parser.add_argument("--limit-mb", type=float, default=100.0,
                        help="fail if RSS grows more than this from the first run to the last (per mode)")
    args = parser.parse_args(argv)

    import tempfile

    from ktdemo.config import RunConfig

    print(f"start: RSS {rss_mb(not args.no_trim):.1f} MB")
    model = args.model
    if model == "tiny":
        model = tiny_model(Path(tempfile.mkdtemp(prefix="ktdemo-memory-")))
    config = RunConfig(model=model, per_class=args.per_class, max_steps=args.max_steps, time_budget_s=None,
                       method="full")  # as measured before Auto became the default
    failed = False
    for mode in (["same", "fresh"] if args.mode == "both" else [args.mode]):
        sizes = series(mode, args.runs, config, not args.no_trim)
        # "same" holds one model from run 1 on; its first run also loads the pretrained model once
        base = min(1, len(sizes) - 1) if mode == "same" else 0
        growth = sizes[-1] - sizes[base]
        later = sizes[len(sizes) // 2:]
        slope = (later[-1] - later[0]) / max(1, len(later) - 1)
        print(f"mode {mode}: RSS first {sizes[0]:.1f} MB, last {sizes[-1]:.1f} MB, max {max(sizes):.1f} MB, "
              f"growth from run {base + 1} {growth:+.1f} MB, second-half slope {slope:+.2f} MB/run")
        if mode == "sessions":
            total = sizes[-1] + worker_rss_mb()
            print(f"{len(sizes)} sessions, each with its fine-tuned model: app {sizes[-1]:.0f} MB + worker "
                  f"{worker_rss_mb():.0f} MB = {total / 1024:.2f} GB resident")
        else:
            failed |= growth > args.limit_mb
    print("verdict:", "RSS grew beyond the limit" if failed else "no growth beyond the limit")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
