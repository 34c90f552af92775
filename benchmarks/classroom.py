"""A class pressing Start: identical public runs trained once, and what the queue says against the truth.

    python benchmarks/classroom.py                       # 30 sessions on one preset, then 10 different runs
    python benchmarks/classroom.py --students 30 --budget 10 --different 10

Sessions are the app's own session service (`ktdemo.serving.session.Session`, training in the worker process),
driven from threads as the app's handlers drive them. Part 1: one run of the preset alone (its time),
then `--students` sessions press Start on the same preset within 10 s; each one's time from its press
to its result is printed against "one run's time + 10 s". Part 2: `--different` sessions press Start
on different runs (seeds) at once; each one's first expected wait ("about N s") is printed against the
wait it really had. Printed, never asserted.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PRESET = "Movie reviews → product reviews (cross-domain)"


def preset_config(name: str, budget: float | None):
    from ktdemo.training import presets

    config = presets.preset_config(name)
    return dataclasses.replace(config, time_budget_s=budget or config.time_budget_s)


def _expected_wait(phase) -> float | None:
    """The expected wait a waiting phase names: its "about" parameter (a Message of the log, read by key)."""
    about = phase.params.get("about") if phase.key in ("phase.waiting_turn", "phase.waiting_turn_one") else None
    return float(about.params["s"]) if about else None


def press(session, config, at: float, outcome: dict) -> None:
    time.sleep(max(0.0, at - time.monotonic()))
    started = time.monotonic()
    job = session.runs.start(config)
    expected, waited_until = None, None
    while not job.wait(0.05):
        found = _expected_wait(job.log.phase)
        if expected is None and found is not None:
            expected = found
        if waited_until is None and job.runs[0].state == "running":
            waited_until = time.monotonic()
    outcome.update(seconds=time.monotonic() - started, error=job.error, expected_wait=expected,
                   real_wait=(waited_until or time.monotonic()) - started, sharing=job.runs[0].sharing())


def class_presses(configs: list, spread_s: float) -> list[dict]:
    from ktdemo.serving.session import Session

    sessions = [Session() for _ in configs]
    outcomes = [{} for _ in configs]
    now = time.monotonic() + 0.5
    threads = [threading.Thread(target=press, args=(session, config, now + random.uniform(0, spread_s), outcome))
               for session, config, outcome in zip(sessions, configs, outcomes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for session in sessions:
        session.release()
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default=PRESET)
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--budget", type=float, default=10.0, help="training seconds per run (default 10)")
    parser.add_argument("--different", type=int, default=10)
    args = parser.parse_args(argv)
    random.seed(0)
    from ktdemo.serving.app import default_app
    from ktdemo.serving.session import warm_up

    warm_up()
    config = preset_config(args.preset, args.budget)
    alone = class_presses([dataclasses.replace(config, seed=99)], 0)[0]  # warms the caches, shares nothing
    print(f"one run of {args.preset!r} alone ({args.budget:g} s budget): {alone['seconds']:.1f} s", flush=True)
    outcomes = class_presses([config] * args.students, 10.0)
    slowest = max(o["seconds"] for o in outcomes)
    errors = [o["error"] for o in outcomes if o["error"]]
    print(f"{args.students} sessions pressing Start on it within 10 s: every result within {slowest:.1f} s of its "
          f"press (one run + 10 s = {alone['seconds'] + 10:.1f} s); errors {len(errors)}; "
          f"{sum(1 for o in outcomes if o['sharing'])} of them shared the one run", flush=True)
    default_app().shared.clear()  # the next presses share nothing with these

    outcomes = class_presses([dataclasses.replace(config, seed=seed) for seed in range(args.different)], 0)
    print(f"{args.different} sessions pressing Start on {args.different} different runs at once:")
    for number, outcome in enumerate(sorted(outcomes, key=lambda o: o["real_wait"]), start=1):
        expected = outcome["expected_wait"]
        off = f" ({(expected - outcome['real_wait']) / max(outcome['real_wait'], 1e-9):+.0%})" if expected else ""
        said = f"said about {expected:.0f} s" if expected is not None else "said no wait"
        print(f"  #{number:2d}: {said}, waited {outcome['real_wait']:.1f} s{off}, "
              f"result after {outcome['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
