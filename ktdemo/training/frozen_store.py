"""Frozen work on disk, shared by every run and session on the machine: the frozen bottom's outputs (see
`frozen`) and the pretrained encoder's features (the input of its classifier's last linear layer: what the linear
probe fits, the untrained "before" head and the warm starts score; see `probe`).

One safetensors file per (model, dataset, max length, layers) for a bottom: each text's real tokens' hidden states
end to end, where each text starts, and the texts themselves; per (model, dataset, max length, pooling) for
features, in the same format with one row per text. Only an untouched pretrained encoder on a bundled dataset is
stored: a session's upload never reaches this folder. The folder is bounded (KTDEMO_CACHE_MB, 2 GiB by default):
the least recently used files go first. Writes are atomic (a temporary file, then a rename), so two processes
that store the same entry never leave a half-written one.

    python -m ktdemo.training.frozen_store --model minilm --dataset rotten_tomatoes --max-length 64 --layers 3 \
        --pooling mean

builds a bottom's entry and the features' (the app runs it at start-up, at low priority, for its default).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

DEFAULT_MB = 2048
NICE = 10  # the background build yields to the app and shares with the training worker (serving.worker.NICE)


def folder() -> Path:
    """The store's folder, in ktdemo's cache ($KTDEMO_CACHE, ~/.cache/ktdemo by default)."""
    from ..data.catalog import cache_dir

    return cache_dir() / "frozen"


def limit_bytes() -> int:
    return int(float(os.environ.get("KTDEMO_CACHE_MB", DEFAULT_MB)) * 2 ** 20)


def entry(model: str, dataset: str, max_length: int, layers: int) -> Path:
    """The file for the bottom `layers` layers' outputs."""
    return _entry(model, dataset, max_length, f"k{layers}")


def features_entry(model: str, dataset: str, max_length: int, pooling: str) -> Path:
    """The file for the pretrained encoder's features under `pooling`."""
    return _entry(model, dataset, max_length, f"features-{pooling}")


def _entry(model: str, dataset: str, max_length: int, part: str) -> Path:
    """The file for this (model, dataset, max length, part); the model's weights file is part of the key, so a
    model that changes under the same name misses."""
    from ..models.catalog import resolve

    spec = resolve(model)
    source = spec.local_source()
    weights = sorted(Path(source).glob("*.safetensors")) if source else []
    stamp = [(w.name, w.stat().st_size, w.stat().st_mtime_ns) for w in weights] or spec.hub_id
    digest = hashlib.sha1(json.dumps([spec.key, stamp]).encode()).hexdigest()[:12]
    return folder() / f"{spec.key.replace('/', '_')}-{dataset}-len{max_length}-{part}-{digest}.safetensors"


def read(path: Path) -> dict[str, torch.Tensor]:
    """{text: its tokens' hidden states}, or {} when the entry is missing or unreadable."""
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
        os.utime(path)  # recently used: pruned last
    except (OSError, ValueError, RuntimeError):
        return {}
    texts = json.loads(bytes(tensors["texts"].numpy()).decode())
    offsets = tensors["offsets"].tolist()
    hidden = tensors["hidden"]
    return {text: hidden[offsets[i]:offsets[i + 1]] for i, text in enumerate(texts)}


def save(path: Path, outputs: dict[str, torch.Tensor]) -> None:
    """Write `outputs` as the entry at `path` (atomically), then prune the folder to its bound."""
    from safetensors.torch import save_file

    texts = list(outputs)
    lengths = [len(outputs[t]) for t in texts]
    tensors = {"hidden": torch.cat([outputs[t] for t in texts]).contiguous(),
               "offsets": torch.tensor(np.concatenate([[0], np.cumsum(lengths)]), dtype=torch.int64),
               "texts": torch.frombuffer(bytearray(json.dumps(texts).encode()), dtype=torch.uint8)}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    os.close(handle)
    try:
        save_file(tensors, temporary)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
    prune(keep=path)


def prune(keep: Path | None = None) -> None:
    """Remove the least recently used entries until the folder fits its bound (`keep` stays)."""
    entries = sorted(folder().glob("*.safetensors"), key=lambda p: p.stat().st_mtime)
    total = sum(p.stat().st_size for p in entries)
    for path in entries:
        if total <= limit_bytes():
            break
        if path != keep:
            total -= path.stat().st_size
            path.unlink(missing_ok=True)


def texts_of(splits) -> list[str]:
    """Every text of a dataset's splits, once each: what its entry holds."""
    return list(dict.fromkeys([*splits.train.text, *splits.validation.text, *splits.test.text]))


def build(model: str, dataset: str, max_length: int, layers: int | None = None,
          pooling: str | None = None) -> list[Path]:
    """The entries of the bottom `layers` layers' outputs and of the `pooling` features (each when given) for every
    text of a bundled dataset, computing only what the stored ones lack."""
    from .. import data, models
    from .frozen import compute
    from .probe import Features

    splits = data.load_splits(dataset)
    tokenizer, texts, built = models.load_tokenizer(model), texts_of(splits), []
    if layers is not None:
        path = entry(model, dataset, max_length, layers)
        known = read(path)
        missing = [t for t in texts if t not in known]
        if missing:
            encoder = models.pretrained_classifier(model, splits.label_names)
            known.update(compute(encoder, tokenizer, missing, max_length, layers))
            save(path, known)
        built.append(path)
    if pooling is not None:
        path, features = features_entry(model, dataset, max_length, pooling), Features()
        features.read(path)  # computing only what it lacks
        features.compute(models.pretrained_classifier(model, splits.label_names, pooling=pooling), tokenizer, texts,
                         max_length)
        features.keep(path, texts)
        built.append(path)
    return built


def build_in_background(model: str, dataset: str, max_length: int, layers: int,
                        pooling: str) -> subprocess.Popen | None:
    """`build` in a low-priority process of its own (its memory goes when it ends), unless the entries are there or
    KTDEMO_PREBUILD=0; the caller owns the process (the app stops it when it closes)."""
    stored = (entry(model, dataset, max_length, layers), features_entry(model, dataset, max_length, pooling))
    if os.environ.get("KTDEMO_PREBUILD", "1") == "0" or all(path.exists() for path in stored):
        return None
    command = [sys.executable, "-m", __name__, "--model", model, "--dataset", dataset,
               "--max-length", str(max_length), "--layers", str(layers), "--pooling", pooling]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=Path(__file__).resolve().parents[2],  # where `-m ktdemo` imports, whatever the app's
                            preexec_fn=(lambda: os.nice(NICE)) if hasattr(os, "nice") else None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build entries of the store of frozen work for a bundled dataset.")
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--max-length", type=int, required=True)
    parser.add_argument("--layers", type=int, help="the frozen bottom's outputs after this many layers")
    parser.add_argument("--pooling", choices=("cls", "mean"), help="the pretrained encoder's features")
    args = parser.parse_args(argv)
    for path in build(args.model, args.dataset, args.max_length, args.layers, args.pooling):
        print(path)


if __name__ == "__main__":
    main()
