"""Load test: 8 users predict + attention for 60 s while another user trains.

    python benchmarks/load.py                      # launches the app in-process (default model "minilm")
    python benchmarks/load.py --url http://127.0.0.1:7860/ --seconds 60 --users 8

Each user is its own gradio_client Client (its own session) and loops /predict then /attention on
varied sentences, as the Predict button does. One more client starts a /train run with the given
budget. Prints requests, errors (must be 0), p50/p95 latency per endpoint, and whether training
finished. Exit status 1 if any request failed or the training did not finish.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SENTENCES = [
    "A gorgeous, moving film.", "The plot falls apart in the second hour.", "I laughed, I cried, I bought the DVD.",
    "Dull, predictable and far too long.", "An uneven but often brilliant debut.", "Not worth the ticket price.",
    "The cast is wonderful and the script is sharp.", "It never quite decides what it wants to be.",
]


def launch() -> tuple[str, object]:
    from ktdemo.ui import build_demo, launch_options

    demo = build_demo()
    demo.queue(default_concurrency_limit=4)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, **launch_options())
    return url, demo


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


class Tally:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.lock = threading.Lock()

    def add(self, endpoint: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latency[endpoint].append(seconds)
            if error:
                self.errors[endpoint].append(error)


def user(url: str, model: str, number: int, deadline: float, tally: Tally) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)
    i = number
    while time.monotonic() < deadline:
        text = f"{SENTENCES[i % len(SENTENCES)]} ({number}.{i})"
        i += 1
        for endpoint, args in (("/predict", (text, model)), ("/attention", (text, 1 + i % 6, 1 + i % 12, model))):
            started = time.monotonic()
            error = None
            try:
                output = client.predict(*args, api_name=endpoint)
                note = output[2]
                if isinstance(note, str) and note.startswith("⚠️"):
                    error = note
            except Exception as caught:  # noqa: BLE001 - a load test counts failures, it does not stop on them
                error = f"{type(caught).__name__}: {str(caught)[:200]}"
            tally.add(endpoint, time.monotonic() - started, error)


def trainer(url: str, model: str, budget: float, outcome: dict) -> None:
    from gradio_client import Client

    started = time.monotonic()
    try:
        status, curves, results, *_ = Client(url, verbose=False).predict(model_key=model, budget_s=budget,
                                                                         api_name="/train")
        outcome["finished"] = isinstance(results, str) and "held-out test examples" in results
        outcome["summary"] = (results or status or "").splitlines()[0][:160] if (results or status) else ""
    except Exception as caught:  # noqa: BLE001
        outcome["finished"], outcome["summary"] = False, f"{type(caught).__name__}: {str(caught)[:200]}"
    outcome["seconds"] = time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running app; default: launch one in-process")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--train-budget", type=float, default=60.0, help="the training run's time budget (s)")
    parser.add_argument("--no-train", action="store_true")
    args = parser.parse_args(argv)

    demo = None
    url = args.url
    if url is None:
        started = time.monotonic()
        url, demo = launch()
        print(f"app launched at {url} in {time.monotonic() - started:.1f} s")
    try:
        from gradio_client import Client

        warm = time.monotonic()
        Client(url, verbose=False).predict("warm up", args.model, api_name="/predict")  # loads the model once
        print(f"first prediction (model load) {time.monotonic() - warm:.1f} s")

        outcome: dict = {}
        threads = []
        if not args.no_train:
            threads.append(threading.Thread(target=trainer, args=(url, args.model, args.train_budget, outcome)))
            threads[-1].start()
            time.sleep(1.0)  # the run is queued and loading before the users arrive
        tally = Tally()
        deadline = time.monotonic() + args.seconds
        users = [threading.Thread(target=user, args=(url, args.model, n, deadline, tally)) for n in range(args.users)]
        load_started = time.monotonic()
        for thread in users:
            thread.start()
        for thread in users:
            thread.join()
        load_seconds = time.monotonic() - load_started
        for thread in threads:
            thread.join(timeout=max(600.0, 3 * args.train_budget))

        total = sum(len(v) for v in tally.latency.values())
        errors = sum(len(v) for v in tally.errors.values())
        print(f"\n{args.users} users for {load_seconds:.0f} s, model {args.model}:")
        print(f"requests {total} ({total / load_seconds:.1f}/s), errors {errors}")
        for endpoint, values in sorted(tally.latency.items()):
            print(f"  {endpoint:11s} n={len(values):5d}  errors={len(tally.errors[endpoint]):3d}  "
                  f"p50={percentile(values, 50):.2f} s  p95={percentile(values, 95):.2f} s  "
                  f"max={max(values):.2f} s  mean={statistics.fmean(values):.2f} s")
        everything = [s for values in tally.latency.values() for s in values]
        print(f"  {'all':11s} n={len(everything):5d}  p50={percentile(everything, 50):.2f} s  "
              f"p95={percentile(everything, 95):.2f} s")
        for endpoint, messages in tally.errors.items():
            for message in sorted(set(messages))[:5]:
                print(f"  error on {endpoint}: {message}")
        if not args.no_train:
            print(f"training ({args.train_budget:.0f} s budget): finished={outcome.get('finished')} "
                  f"in {outcome.get('seconds', float('nan')):.0f} s · {outcome.get('summary', '')}")
        ok = errors == 0 and (args.no_train or outcome.get("finished"))
        return 0 if ok else 1
    finally:
        if demo is not None:
            demo.close()


if __name__ == "__main__":
    sys.exit(main())
