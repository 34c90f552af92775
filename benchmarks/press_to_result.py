"""Press to result: seconds from pressing Train to the result on the page, against the run's budget.

    python benchmarks/press_to_result.py                  # the default run and the cross-domain preset, twice each
    python benchmarks/press_to_result.py --method full    # the same with full fine-tuning (the default: Auto)
    python benchmarks/press_to_result.py --repeats 3 --budget 30

Launches `python app.py` (as deployed; it builds the default's frozen-bottom store in the background if it is not
there yet) and presses Train through its API (`/train`), each press its own run (`own_copy`). Prints each press's
seconds, the budget, what it took beyond the budget, and where the run's own time went (its report's phases).
The target: at most budget + 10 s from the second press on, on an idle machine. Printed, never asserted.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from load import launch  # noqa: E402

from ktdemo.training.presets import PRESETS  # noqa: E402

CROSS_DOMAIN = "Movie reviews → product reviews (cross-domain)"
CHOSEN_AS_TEXT = ("per_class", "adapt_per_class")  # the API takes these as one of their menus' texts


def press(url: str, settings: dict) -> dict:
    """One Train press with `settings`: seconds to the result, the run's phases (from its report's JSON) and the
    seconds the report took (it draws the inside views)."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    started = time.monotonic()
    client.predict(**settings, own_copy=True, api_name="/train")
    took = time.monotonic() - started
    started = time.monotonic()
    files, _note = client.predict(api_name="/report")  # an update of the file list: {"value": [paths], ...}
    report_s = time.monotonic() - started
    paths = [Path(path) for path in files["value"]]
    run = next(json.loads(path.read_text()) for path in paths if path.suffix == ".json")
    return {"took": took, "phases": run["stats"]["phase_seconds"], "report_s": report_s,
            "method": run["config"]["method"], "accuracy": run["after"]["accuracy"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default=None, help="a method for every run (default: each run's own)")
    parser.add_argument("--budget", type=float, default=30.0, help="the default run's budget (the preset keeps its own)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    preset = {key: str(value) if key in CHOSEN_AS_TEXT else value for key, value in PRESETS[CROSS_DOMAIN].settings.items()}
    runs = {"default": {"time_budget_s": args.budget}, "cross-domain preset": preset}
    url, app = launch()
    try:
        print(f"{'run':20} {'press':>5} {'method':>10} {'acc':>6} {'budget s':>8} {'took s':>7} {'beyond s':>8} "
              f"{'report s':>8}  phases (s)", flush=True)
        for name, settings in runs.items():
            if args.method:
                settings["method"] = args.method
            budget = settings.get("time_budget_s", 60.0)
            for repeat in range(1, args.repeats + 1):
                run = press(url, settings)
                phases = ", ".join(f"{state} {s:.1f}" for state, s in run["phases"].items())
                print(f"{name:20} {repeat:5} {run['method']:>10} {run['accuracy']:6.1%} {budget:8.0f} "
                      f"{run['took']:7.1f} {run['took'] - budget:8.1f} {run['report_s']:8.1f}  {phases}", flush=True)
    finally:
        app.terminate()
        app.wait()


if __name__ == "__main__":
    main()
