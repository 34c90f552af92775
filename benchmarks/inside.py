"""Seconds each "inside the model" view takes for the bundled MiniLM on 256 test sentences; printed, never asserted.

    python benchmarks/inside.py                         # "after" = MiniLM with its top 2 layers perturbed
    python benchmarks/inside.py --after fine-tune --steps 40
    python benchmarks/inside.py --texts 512 --repeats 5

"before" is the pretrained classifier as the app loads it (`models.pretrained_classifier`: eager attention,
MiniLM's own mean pooling, a fresh head). "after" is either a copy whose top two layers' weights got Gaussian
noise (0.3 × each weight matrix's own spread: fast, and a known answer, only the top layers move) or a really
quick full fine-tune (AdamW, lr 5e-5, batch 16) on the default dataset's training split.
Each view is timed as a caller without a cache pays it (its own forward passes included), and once more as one
run's cached encodings serve both views. The first repeat includes one-off imports (sklearn); the best of the
rest is the steady figure. Target: at most 5 s a view on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

TARGET_S = 5.0


def perturbed_top_layers(model, layers: int = 2, scale: float = 0.3, seed: int = 0):
    """A copy with noise on the top layers' weight matrices; the cached pretrained model stays untouched."""
    changed = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in changed.base_model.encoder.layer[-layers:]:
            for module in layer.modules():
                if isinstance(module, torch.nn.Linear):
                    weight = module.weight
                    weight.add_(torch.randn(weight.shape, generator=generator) * weight.std() * scale)
    return changed


def quick_fine_tune(model, tokenizer, train, steps: int, max_length: int, seed: int = 0):
    """`steps` AdamW steps of a full fine-tune: enough to move a model, not to finish training one."""
    from ktdemo import models

    tuned = models.trainable_copy(model)
    optimiser = torch.optim.AdamW(tuned.parameters(), lr=5e-5)
    rows = train.sample(frac=1.0, random_state=seed)
    for step in range(steps):
        batch = rows.iloc[(step * 16) % len(rows):][:16]
        encoded = tokenizer(batch.text.tolist(), truncation=True, max_length=max_length, padding=True,
                            return_tensors="pt")
        loss = tuned(**encoded, labels=torch.tensor(batch.label.tolist())).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
    return models.for_inspection(tuned)


def timed(function, repeats: int) -> tuple[list[float], object]:
    seconds, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def figure_kb(figure) -> float:
    return round(len(figure.to_json()) / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--after", choices=("perturbed", "fine-tune"), default="perturbed")
    parser.add_argument("--steps", type=int, default=40, help="fine-tune steps (--after fine-tune)")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    from ktdemo import data, models
    from ktdemo.figures import inside
    from ktdemo.inspection import representations as rep

    models.heavy_import("ktdemo.training.probe")  # the app imports it at its first run; here it is not a view's cost
    imported = time.perf_counter() - started
    splits = data.load_splits(data.DEFAULT_DATASET)
    test = splits.test.iloc[:args.texts]
    texts, labels, names = test.text.tolist(), test.label.to_numpy(), list(splits.label_names)
    tokenizer = models.load_tokenizer(models.DEFAULT_MODEL)
    before = models.pretrained_classifier(models.DEFAULT_MODEL, names)
    loaded = time.perf_counter() - started - imported
    made = time.perf_counter()
    if args.after == "perturbed":
        after, what = perturbed_top_layers(before), "pretrained MiniLM with noise on its top 2 layers (0.3 × weight std)"
    else:
        after = quick_fine_tune(before, tokenizer, splits.train, args.steps, args.max_length)
        what = f"pretrained MiniLM fine-tuned for {args.steps} steps of 16 (full, AdamW lr 5e-5)"
    made = time.perf_counter() - made
    print(f"MiniLM ({models.DEFAULT_MODEL}), {len(texts)} test sentences of {splits.name}, max length "
          f"{args.max_length}, batch {args.batch_size}, {args.folds} folds, {torch.get_num_threads()} torch threads")
    print(f"before: the pretrained classifier as the app loads it; after: {what} ({made:.1f} s to make)")
    print(f"imports {imported:.1f} s, data and model {loaded:.1f} s (not part of any view)")
    load_before = os.getloadavg()[0]  # another process on the same cores slows every figure: say so

    common = {"max_length": args.max_length, "batch_size": args.batch_size}
    sentence = texts[int(np.argmax([len(t) for t in texts]))]  # the longest: the slowest single sentence
    views = {
        "sentence space": lambda: rep.sentence_space(before, after, tokenizer, texts, labels, names,
                                                     folds=args.folds, **common),
        "layer change": lambda: rep.layer_change(before, after, tokenizer, texts, labels, folds=args.folds, **common),
        "norm attention (one sentence)": lambda: rep.norm_attention(after, tokenizer, sentence),
    }
    rows, results = {}, {}
    for name, view in views.items():
        seconds, results[name] = timed(view, args.repeats)
        rows[name] = seconds

    def shared():  # what a caller that caches one encoding per model per run pays for both views
        encoded_before, encoded_after = (rep.encode(m, tokenizer, texts, **common) for m in (before, after))
        return (rep.compare_spaces(encoded_before, encoded_after, texts, labels, names, folds=args.folds),
                rep.compare_layers(encoded_before, encoded_after, labels, folds=args.folds))

    rows["both views from one encoding per model"], _ = timed(shared, args.repeats)
    rows["encode one model (one forward pass)"], _ = timed(lambda: rep.encode(after, tokenizer, texts, **common),
                                                           args.repeats)
    space, change, norm = results["sentence space"], results["layer change"], results["norm attention (one sentence)"]
    figures = {"sentence space": lambda: inside.sentence_space_figure(space),
               "layer change": lambda: inside.layer_change_figure(change),
               "norm attention": lambda: inside.norm_attention_figure(norm, norm.shape[0] - 1, 0),
               "[CLS] row": lambda: inside.cls_row_figure(norm)}
    figure_rows = {}
    for name, draw in figures.items():
        seconds, figure = timed(draw, args.repeats)
        figure_rows[name] = {"best_s": round(min(seconds), 3), "json_kb": figure_kb(figure)}

    load = (round(load_before, 2), round(os.getloadavg()[0], 2))
    print(f"\nload average (1 min) at the start and end of the timings: {load[0]} and {load[1]} on "
          f"{os.cpu_count()} cores")
    print(f"{'view':44} {'first s':>8} {'best s':>8} {'median s':>9}  target ≤ {TARGET_S:.0f} s")
    for name, seconds in rows.items():
        steady = min(seconds[1:] or seconds)
        flag = "" if steady <= TARGET_S else "  OVER"
        print(f"{name:44} {seconds[0]:8.2f} {steady:8.2f} {statistics.median(seconds):9.2f}{flag}")
    print(f"\n{'figure':44} {'best s':>8} {'JSON KB':>9}")
    for name, row in figure_rows.items():
        print(f"{name:44} {row['best_s']:8.3f} {row['json_kb']:9.1f}")
    print(f"\nseparation (linear probe, {args.folds}-fold): pretrained {space.separation_before:.1%}, "
          f"after {space.separation_after:.1%}; after's mistakes {space.mistakes.mean():.1%}")
    print("CKA per layer:", " ".join(f"{value:.3f}" for value in change.cka))
    print("probe before: ", " ".join(f"{value:.3f}" for value in change.probe_before))
    print("probe after:  ", " ".join(f"{value:.3f}" for value in change.probe_after))
    print("summary:", change.summary)
    print(json.dumps({
        "model": models.DEFAULT_MODEL, "texts": len(texts), "after": what, "max_length": args.max_length,
        "batch_size": args.batch_size, "folds": args.folds, "threads": torch.get_num_threads(), "load_average": load,
        "views_s": {name: {"first": round(s[0], 3), "best": round(min(s[1:] or s), 3)} for name, s in rows.items()},
        "figures": figure_rows,
        "separation": {"before": round(space.separation_before, 4), "after": round(space.separation_after, 4)},
        "cka": [round(float(v), 4) for v in change.cka],
        "probe_before": [round(float(v), 4) for v in change.probe_before],
        "probe_after": [round(float(v), 4) for v in change.probe_after],
        "summary": change.summary,
    }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
