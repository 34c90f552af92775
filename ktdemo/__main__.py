"""Command line over the same RunConfig as the app: a run seen in the app replays from a shell.

    python -m ktdemo train --config run.json
    python -m ktdemo train --dataset sms_spam --budget 30 --per-class 64
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from dataclasses import fields

from .runs import RunConfig, TrainingLog, parse_label_map


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ktdemo", description="Knowledge transfer with Transformers.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="fine-tune a model and print held-out metrics as JSON")
    train.add_argument("--config", help="a run config JSON file (as exported by the app)")
    for field in fields(RunConfig):
        flag = "--" + field.name.replace("_", "-")
        train.add_argument(flag, dest=field.name, type=_parser_for(field.type), help=f"default {field.default!r}")
    train.add_argument("--budget", dest="time_budget_s", type=float, help="alias of --time-budget-s")
    args = parser.parse_args(argv)

    values = json.loads(open(args.config).read()) if args.config else {}
    values.update({k: v for k, v in vars(args).items() if k in {f.name for f in fields(RunConfig)} and v is not None})
    try:
        config = RunConfig.from_dict(values)
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    return _train(config)


def _train(config: RunConfig) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from .transfer import run_transfer

    log, done = TrainingLog(), threading.Event()
    threading.Thread(target=_show_progress, args=(log, done), daemon=True).start()
    try:
        result = run_transfer(config, log)
    except Exception as error:  # noqa: BLE001 - one line for the user, not a traceback
        print(f"\nerror: {error}", file=sys.stderr)
        return 1
    finally:
        done.set()
    print(json.dumps({"config": json.loads(result.config.to_json()), "before": result.before.summary(),
                      "after": result.after.summary(),
                      "scores": {name: metrics.summary() for name, metrics in result.scores.items()},
                      "stats": result.stats}, indent=2))
    return 0


def _show_progress(log: TrainingLog, done: threading.Event) -> None:
    while not done.wait(1.0):
        eta = log.eta_s()
        left = f", ~{eta:.0f} s left" if eta is not None else ""
        steps = f"{log.step}/{log.max_steps}" if log.max_steps else f"{log.step}"
        print(f"\r{log.phase}: step {steps}{left}   ", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


def _parser_for(annotation: str):
    """argparse type from a RunConfig annotation ('float | None' -> float; a label map as 'a=b,c=d')."""
    name = str(annotation).split("|")[0].strip()
    if name.startswith("dict"):
        return parse_label_map
    if name.startswith("list"):
        return lambda text: [item.strip() for item in text.split("," if "," in text else "\n") if item.strip()]
    return {"int": int, "float": float, "bool": lambda s: s.lower() in {"1", "true", "yes"}}.get(name, str)


if __name__ == "__main__":
    sys.exit(main())
