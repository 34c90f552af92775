"""Command line over the same RunConfig as the app: a run seen in the app replays from a shell, and the model
it saves can be scored, queried and looked into.

    python -m ktdemo train --config run.json --save runs/rt
    python -m ktdemo train --dataset sms_spam --time-budget-s 30 --per-class 64
    python -m ktdemo evaluate --model runs/rt
    python -m ktdemo predict --model runs/rt "A gem." "A mess."
    python -m ktdemo attention --model runs/rt "A gem." --layer 6 --head 3 --out gem.npz
    python -m ktdemo export --model runs/rt --out rt.zip

stdout carries JSON only; progress bars and errors go to stderr. An error is one line and exit code 1
(usage errors: exit code 2).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import threading
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import data, models
from .config import SETTINGS, RunConfig, default, help_text, parse_setting
from .inspection.attention import DISPLAY_TOKENS, inspect, parse_heads
from .models.evaluation import predict_probabilities, score
from .messages import say
from .progress import TrainingLog

RUN_FILE = "run.json"  # in a saved model folder: the run it came from (its RunConfig under "config")
BATCH_SIZE = 64  # evaluation's default batches: the same batches give the same numbers as the run's "after"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        args.run_config = _train_config(parser, args)
    elif args.command == "predict" and not (args.texts or args.file):
        parser.error("predict needs TEXT arguments or --file.")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging

    logging.set_verbosity_error()  # the expected "new head initialised" report is noise on a command line
    try:
        output = COMMANDS[args.command](args)
    except Exception as error:  # noqa: BLE001 - one line for the user, not a traceback
        lines = str(error).strip().splitlines()
        print(f"error: {lines[0] if lines else type(error).__name__}", file=sys.stderr)
        return 1
    print(json.dumps(output, indent=2))
    return 0


# -- the parser --------------------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ktdemo", description="Knowledge transfer with Transformers.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="fine-tune a model and print held-out metrics as JSON",
                                epilog=_choices_text(), formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("--config", help="a run config JSON file (as exported by the app); flags override it")
    for name in SETTINGS:
        _add_setting(train, name)
    train.add_argument("--save", metavar="DIR", help="save the trained model, its tokenizer and run.json here, "
                       "for evaluate, predict, attention and export")
    train.add_argument("--report", metavar="FILE.html", help="write the run's HTML report here")

    evaluate = _model_command(commands, "evaluate", "held-out metrics of a model as JSON")
    evaluate.add_argument("--split", choices=("test", "validation"), default="test", help="default 'test'")

    predict = _model_command(commands, "predict", "predicted class and probabilities of each text, as JSON")
    predict.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify")
    predict.add_argument("--file", help="a text file with one text per line ('-': standard input)")

    attention = _model_command(commands, "attention", "one head's attention on a text, as JSON",
                               max_length=f"{DISPLAY_TOKENS} tokens, as in the app's attention views")
    attention.add_argument("text", metavar="TEXT", help="the text to look into")
    attention.add_argument("--layer", type=int, help="1-based; default the last layer")
    attention.add_argument("--head", type=int, default=1, help="1-based; default 1")
    attention.add_argument("--out", metavar="FILE.npz", help="also write every layer and head's weights here")

    export = commands.add_parser("export", help="zip a model folder saved by train --save")
    export.add_argument("--model", required=True, metavar="DIR", help="a folder saved by train --save")
    export.add_argument("--out", required=True, metavar="FILE.zip", help="the zip file to write")
    return parser


def _model_command(commands, name: str, description: str, max_length: str | None = None):
    """A subcommand on one model: a folder saved by `train --save` or a catalog model with a fresh head."""
    command = commands.add_parser(name, help=description)
    command.add_argument("--model", required=True, metavar="DIR_OR_KEY",
                         help="a folder saved by train --save, or a catalog key / Hub id (pretrained encoder "
                              "with an untrained head for the dataset's labels)")
    for name in ("dataset", "max_length", "seed"):
        _add_setting(command, name, max_length if name == "max_length" and max_length else
                     f"the saved run's, else {default(name)!r}")
    return command


def _choices_text() -> str:
    """What each choice of each setting with choices means, under train --help."""
    blocks = []
    for name, spec in SETTINGS.items():
        if spec.metadata["choices"]:
            lines = (f"  {key:<14}{choice.help}" for key, choice in spec.metadata["choices"].items())
            blocks.append(f"--{name.replace('_', '-')}:\n" + "\n".join(lines))
    return "\n\n".join(blocks)


def _add_setting(parser: argparse.ArgumentParser, name: str, default_text: str | None = None) -> None:
    """The one flag of RunConfig's setting `name`: its help line, its choices, its text form."""
    spec = SETTINGS[name]
    choices = spec.metadata["choices"]

    def read(text: str):
        return parse_setting(name, text)

    read.__name__ = str(spec.type).split("|")[0].strip()  # argparse names the type in its error: "invalid int value"
    parser.add_argument("--" + name.replace("_", "-"), dest=name, type=read, choices=list(choices) if choices else None,
                        metavar=None if choices else name.upper(),
                        help=f"{help_text(name)}; default: {default_text or repr(default(name))}")


def _train_config(parser: argparse.ArgumentParser, args) -> RunConfig:
    values = json.loads(Path(args.config).read_text()) if args.config else {}
    values.update({k: v for k, v in vars(args).items() if k in SETTINGS and v is not None})
    try:
        config = RunConfig.from_dict(values)
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    if args.save and config.kind == "zero_shot":
        parser.error("A zero-shot run trains no model: there is nothing to --save.")
    return config


# -- train -------------------------------------------------------------------------------------------------------

def _train(args) -> dict:
    from .training.transfer import run_transfer

    log = TrainingLog()
    with _training_bar(log):
        result = run_transfer(args.run_config, log)
    output = {"config": json.loads(result.config.to_json()), "before": result.before.summary(),
              "after": result.after.summary(),
              "scores": {name: metrics.summary() for name, metrics in result.scores.items()},
              "stats": result.stats.as_dict()}
    if args.save or args.report:
        from .outputs import report  # figures and plotly: only when asked for

        if args.save:  # what the other commands read, as in the app's model zip; run.json is this output
            output["saved"] = str(report.save_model(result, args.save, dict(output)))
        if args.report:
            output["report"] = str(report.report_html(result, args.report))
    return output


@contextmanager
def _training_bar(log: TrainingLog):
    """A bar on stderr that follows the run's log from another thread (the run itself blocks this one)."""
    bar = tqdm(total=100, file=sys.stderr, bar_format="{percentage:3.0f}%|{bar:24}| {desc}")
    done = threading.Event()

    def follow() -> None:
        while not done.wait(1.0):
            _show(bar, log)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    try:
        yield
        log.phase, bar.n = say("phase.done"), bar.total
    finally:
        done.set()
        thread.join()
        _show(bar, log)
        bar.close()


def _show(bar: tqdm, log: TrainingLog) -> None:
    eta = log.eta_s()
    steps = f"step {log.step}/{log.max_steps}" if log.max_steps else f"step {log.step}"
    left = f", ~{eta:.0f} s left" if eta is not None and log.state != "done" else ""
    percent, text = max(bar.n, round(100 * log.fraction())), f"{' · '.join(map(str, log.status()))}: {steps}{left}"
    if (percent, text) != (bar.n, bar.desc):  # redraw on change only: less noise where stderr is a file
        bar.n = percent
        bar.set_description_str(text)


# -- loading a model -----------------------------------------------------------------------------------------------

@dataclass
class _Loaded:
    model: object
    tokenizer: object
    config: RunConfig  # the saved run's settings (or the defaults), with the command line's dataset, seed, length

    @property
    def label_names(self) -> list[str]:
        return [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]


def _load(args) -> _Loaded:
    """A folder saved by `train --save`, with its own trained head; or a catalog/Hub model with a fresh head
    for the dataset's labels (what a run starts from)."""
    if os.path.isdir(args.model):
        model, tokenizer, run = _load_saved(Path(args.model))
        return _Loaded(model, tokenizer, _config(args, run))
    config = _config(args, None)
    spec = data.DATASETS.get(config.dataset)
    label_names = list(spec.label_names) if spec else _splits(config).label_names
    model = models.pretrained_classifier(args.model, label_names, config.seed, config.pooling)
    return _Loaded(model.to(models.pick_device()), models.load_tokenizer(args.model), config)


def _load_saved(folder: Path):
    """(model, tokenizer, run config or None); through the catalog, so the same safe loading as the app's."""
    folder = _model_folder(folder)
    key = str(folder.resolve())
    spec = models.ModelSpec(key, folder.name, key, "A model saved by `python -m ktdemo train --save`.", path=key)
    models.register_model(spec)
    model = models.load_classifier(key)  # its own head: pretrained_classifier would put a fresh one on top
    return model.to(models.pick_device()), models.load_tokenizer(key), _saved_run(folder / RUN_FILE)


def _saved_run(path: Path) -> RunConfig | None:
    """The config in run.json: a run's JSON (train --save, the app's model zip) or a bare config file."""
    if not path.is_file():
        return None
    values = json.loads(path.read_text())
    return RunConfig.from_dict(values.get("config", values))


def _model_folder(folder: Path) -> Path:
    if not (folder / "config.json").is_file():
        raise models.ModelError(f"'{folder}' is not a model folder (no config.json); save one with `train --save`.")
    return folder


def _config(args, run: RunConfig | None) -> RunConfig:
    base = run or RunConfig()
    if args.dataset and args.dataset != base.dataset:  # the run's Hub dataset columns belong to its own dataset
        base = RunConfig(dataset=args.dataset, seed=base.seed, max_length=base.max_length)
    # all training examples: the test and validation splits depend on the seed only
    return dataclasses.replace(base, per_class=None, seed=_given(args.seed, base.seed),
                               max_length=_given(args.max_length, base.max_length))


def _given(value, default):
    return default if value is None else value


def _splits(config: RunConfig) -> data.Splits:
    from .training.transfer import load_data  # heavy (training code): only where a dataset is scored

    return load_data(config)


# -- evaluate, predict, attention, export -------------------------------------------------------------------------

def _evaluate(args) -> dict:
    loaded = _load(args)
    config = loaded.config
    splits = _splits(config)
    if loaded.label_names != list(splits.label_names):
        raise data.DataError(f"The model's labels ({', '.join(loaded.label_names)}) are not those of "
                             f"{splits.name} ({', '.join(splits.label_names)}).")
    frame = getattr(splits, args.split)
    probabilities = _probabilities(loaded, frame.text.tolist(), config.max_length)
    metrics = score(frame.label.tolist(), probabilities.argmax(axis=1), len(splits.label_names))
    return {"model": args.model, "dataset": config.dataset, "split": args.split, "max_length": config.max_length,
            "seed": config.seed, "labels": loaded.label_names, **metrics.summary(), "confusion": metrics.confusion}


def _predict(args) -> list[dict]:
    texts = list(args.texts) + (_read_lines(args.file) if args.file else [])
    loaded = _load(args)
    probabilities = _probabilities(loaded, texts, loaded.config.max_length)
    names = loaded.label_names
    return [{"text": text, "prediction": names[int(row.argmax())],
             "probabilities": {name: round(float(p), 4) for name, p in zip(names, row)}}
            for text, row in zip(texts, probabilities)]


def _read_lines(path: str) -> list[str]:
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _probabilities(loaded: _Loaded, texts: list[str], max_length: int) -> np.ndarray:
    """evaluation.predict_probabilities with a progress bar: the same batches, so the same numbers."""
    def bar(batches, total):  # a bar only where there is something to wait for
        return tqdm(batches, total=total, desc="scoring", unit="batch", file=sys.stderr, disable=total < 2)

    return predict_probabilities(loaded.model, loaded.tokenizer, texts, max_length, BATCH_SIZE, progress=bar)


def _attention(args) -> dict:
    loaded = _load(args)
    max_length = _given(args.max_length, DISPLAY_TOKENS)
    inspection = inspect(loaded.model, loaded.tokenizer, args.text, max_length)
    layers, heads = inspection.shape
    layer = _given(args.layer, layers)
    [(layer_index, head_index)] = parse_heads(f"L{layer}H{args.head}", layers, heads)  # its range check and message
    output = {"model": args.model, "text": args.text, "tokens": inspection.tokens, "shape": [layers, heads],
              "truncated": inspection.truncated, "prediction": inspection.prediction,
              "probabilities": {name: round(p, 4) for name, p in inspection.probabilities.items()},
              "layer": layer, "head": args.head,
              "attention": np.round(inspection.attentions[layer_index, head_index].astype(float), 4).tolist()}
    if args.out:
        from .outputs.exports import attention_npz

        output["npz"] = str(attention_npz(inspection, args.out, model=args.model, text=args.text))
    return output


def _export(args) -> dict:
    """The saved folder as one zip (weights, tokenizer, model card, run.json): a RunResult only exists
    inside `train`, so a model saved from there is what the command line can hand on."""
    folder = _model_folder(Path(args.model))
    files = sorted(path for path in folder.iterdir() if path.is_file())
    out = Path(args.out)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.name)
    return {"zip": str(out), "files": [path.name for path in files], "bytes": out.stat().st_size}


COMMANDS = {"train": _train, "evaluate": _evaluate, "predict": _predict, "attention": _attention,
            "export": _export}


if __name__ == "__main__":
    sys.exit(main())
