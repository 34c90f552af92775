"""Before a run starts: how long it will take, and the "auto" method's choices, each with its reason.

Speeds come from timing the model here (one forward pass on a batch of real texts, cached), so
the estimate holds on a laptop CPU, a Space or a GPU alike.
"""
from __future__ import annotations

import dataclasses
import functools
import threading
import time
from dataclasses import dataclass

import numpy as np

from .. import data, models
from ..config import RunConfig
from ..data.preview import token_lengths
from ..messages import Message, say

TRAIN_COST = 3.0  # a training step costs about three forward passes (forward, backward, optimiser)
PROBE_BELOW_EXAMPLES = 400  # full fine-tuning that sees fewer examples than this loses to a linear probe
# With the frozen bottom's outputs stored, train the top half. MiniLM on Rotten Tomatoes, 30 s, seeds 0-2
# (benchmarks/budgets.py, 2026-12-05): top 2 of 6 layers 78.3 %, top 3 80.3 %, top 4 79.7 %; full fine-tuning 79.5 %.
TOP_SHARE = 0.5
LARGE_MODEL_PARAMS = 50e6  # above this, on a CPU, only the top layers train in a short budget
# Data, tokenizer, a private model copy, tokenising the training set, timing a step, and the result back in the
# app (weights, figures). A default 30 s run on 2 idle CPU cores spent 1.9 s on the first five (0.3 loading, 0.7
# tokenising 10,201 texts, 0.7 timing a step) of its 47.8 s; the rest was the budget (30.2 s) and the 3,830 texts
# scored outside it (15.7 s, `scored_texts`).
LOAD_S = 4.0
SCORING_BATCH = 64  # evaluation.length_sorted_batches' batch: the texts scored outside the budget go through so
LENGTH_SAMPLE = 500  # texts tokenised to know how long the scored batches are
TIMED_PASSES = 2  # the speed is the faster of these: one pass alone was up to 2x slow on a shared CPU


# What the planner has learnt from the runs it saw finish in this process: per (model, device, zero-shot or not),
# how much longer than estimated (> 1) or shorter their time outside the training budget was. The speed timed at
# plan time is one moment's on a shared CPU, and a warm worker skips scoring the untrained head it scored before.
_LEARNT: dict[tuple[str, str, bool], float] = {}
_LEARNT_LOCK = threading.Lock()
LEARNT_RANGE = (0.25, 4.0)  # one odd run (a machine busy with something else) cannot throw estimates further


@dataclass
class Plan:
    config: RunConfig  # concrete: never method "auto"
    reasons: list[Message]  # why each choice, for the user
    eta_s: float  # expected wall time of the whole run


@functools.lru_cache(maxsize=16)
def inference_rate(model: str, max_length: int, device: str, batch_size: int = 32) -> float:
    """Texts per second through the model in batches of `batch_size` texts of `max_length` tokens (timed once here)."""
    import torch

    classifier = models.pretrained_classifier(model, data.DATASETS[data.DEFAULT_DATASET].label_names)
    batch = {"input_ids": torch.full((batch_size, max_length), 1000, device=classifier.device),
             "attention_mask": torch.ones((batch_size, max_length), dtype=torch.long, device=classifier.device)}
    timings = []
    with torch.inference_mode():
        classifier(**batch)  # the first pass pays one-off costs
        for _ in range(TIMED_PASSES):
            start = time.perf_counter()
            classifier(**batch)
            timings.append(time.perf_counter() - start)
    return batch_size / min(timings)  # the machine's own speed: the other passes were slowed by something else


def scored_length(texts, tokenizer, max_length: int, batch_size: int = SCORING_BATCH) -> int:
    """The mean length, in tokens, that `texts` are padded to when scored: scoring sorts them by characters and
    pads each batch to its longest text (`evaluation.length_sorted_batches`). Measured on a sample of the texts
    with batches shrunk alike, so that each spans the same share of the lengths."""
    texts = list(texts)
    if not texts:
        return max_length
    sample = [texts[i] for i in np.random.default_rng(0).permutation(len(texts))[:LENGTH_SAMPLE]]
    lengths = np.minimum(token_lengths(sample, tokenizer), max_length)
    order = np.argsort([len(text) for text in sample], kind="stable")
    step = max(1, round(batch_size * len(sample) / len(texts)))
    padded = sum(lengths[order[i:i + step]].max() * len(order[i:i + step]) for i in range(0, len(sample), step))
    return int(min(max_length, max(1, round(padded / len(sample)))))


def plan(config: RunConfig, splits: data.Splits) -> Plan:
    """The run `config` describes, made concrete where it says "auto", with its expected duration."""
    reasons = []
    if config.method == "auto":
        config, reasons = _choose(config, splits)
    return Plan(config, reasons, estimate_seconds(config, splits))


def scored_texts(config: RunConfig, splits: data.Splits) -> int:
    """The texts a stage puts through the model outside its training budget: the test set before and after,
    and, when it fine-tunes (`training.fine_tune`), the validation checks at step 0 and at the end, and the larger
    check that the best checkpoint beats the start (the start's warm head often scores well: it usually runs)."""
    from .loop import FINAL_CHECK_SAMPLE, VALIDATION_SAMPLE

    texts = 2 * len(splits.test)
    if config.kind != "zero_shot" and config.method != "linear_probe":
        validation = len(splits.validation)
        texts += 2 * min(VALIDATION_SAMPLE, validation)
        if validation > VALIDATION_SAMPLE:
            texts += 2 * min(FINAL_CHECK_SAMPLE, validation)
    return texts


def estimate_seconds(config: RunConfig, splits: data.Splits) -> float:
    """Loading, the texts scored outside the budget (the test set before and after, validation checks) at the
    speed of the batches they are scored in, and the training budget (each stage); the time outside the budget
    scaled by what the runs seen so far took (`learn`)."""
    device = models.pick_device()
    length = scored_length(splits.test.text, models.load_tokenizer(config.model), config.max_length)
    scoring = scored_texts(config, splits) / inference_rate(config.model, length, device, SCORING_BATCH)
    outside = (LOAD_S + scoring) * _LEARNT.get(_learnt_key(config, device), 1.0)
    if config.kind == "zero_shot":
        return outside
    if config.time_budget_s:
        training = config.time_budget_s
    else:
        steps = config.max_steps or np.ceil(len(splits.train) / config.batch_size)
        training = steps * config.batch_size * TRAIN_COST / inference_rate(config.model, config.max_length, device)
    stages = 2 if config.kind == "sequential" else 1
    return outside * stages + training * stages


def learn(config: RunConfig, estimated_s: float, seconds: float) -> None:
    """A run of `config` that was expected to take `estimated_s` took `seconds` (not stopped): later estimates
    for its model on this device scale their time outside the budget by what this one missed by. Only runs on a
    time budget (or zero-shot ones, which train nothing) teach: a step count's training time is an estimate too."""
    if config.kind != "zero_shot" and not config.time_budget_s:
        return
    training = 0.0 if config.kind == "zero_shot" else config.time_budget_s * (2 if config.kind == "sequential" else 1)
    expected, took = estimated_s - training, seconds - training
    if expected <= 0 or took <= 0:
        return
    key = _learnt_key(config, models.pick_device())
    with _LEARNT_LOCK:  # the estimate already carried the last factor: this one corrects it further
        _LEARNT[key] = min(max(_LEARNT.get(key, 1.0) * took / expected, LEARNT_RANGE[0]), LEARNT_RANGE[1])


def frozen_layers(encoder) -> int:
    """How many bottom layers "auto" freezes when their outputs are stored: all but the top TOP_SHARE."""
    from ..models.anatomy import encoder_layers

    layers = len(encoder_layers(encoder))
    return layers - max(1, round(layers * TOP_SHARE))


def stored_features(config: RunConfig, encoder, max_length: int) -> tuple[RunConfig, list[Message]] | None:
    """A linear probe on every training example, when the whole pretrained encoder's features are stored for this
    run's model, training data, max length and pooling (but not its frozen bottom: `stored_bottom` goes first) and
    the encoder is too large to train much in a CPU budget; else None. all-mpnet-base-v2 on Rotten Tomatoes, seeds
    0-2 (2026-12-05): the probe on all 8,530 reviews 83.9 % in 5-11 s, full fine-tuning for 30 s 81.6 %; its top half
    on the stored bottom does better still (30 s 84.9 %)."""
    from . import frozen_store
    from .transfer import train_dataset

    trains_on, params = train_dataset(config), models.count_parameters(encoder)[1]
    pooling = models.chosen_pooling(config.model, config.pooling)
    if not (config.kind in ("in_domain", "cross_domain") and trains_on in data.DATASETS
            and config.max_length >= max_length and params > LARGE_MODEL_PARAMS and models.pick_device() == "cpu"):
        return None
    if not frozen_store.features_entry(config.model, trains_on, config.max_length, pooling).exists():
        return None
    reasons = [say("plan.max_length_kept", n=config.max_length),
               say("plan.stored_features", params=f"{params / 1e6:.0f}", budget=f"{config.time_budget_s or 60:.0f}"),
               say("plan.balanced")]
    return dataclasses.replace(config, method="linear_probe"), reasons


def stored_bottom(config: RunConfig, encoder, max_length: int) -> tuple[RunConfig, list[Message]] | None:
    """Top layers on the frozen bottom's stored outputs (see `frozen`), when the machine's store has them for this
    run's model, training data and max length (the app builds its default's at start-up); else None."""
    from ..models.anatomy import encoder_layers
    from . import frozen_store
    from .transfer import train_dataset

    layers, frozen = len(encoder_layers(encoder)), frozen_layers(encoder)
    trains_on = train_dataset(config)
    storable = config.kind != "from_scratch" and trains_on in data.DATASETS and config.max_length >= max_length
    if not (storable and frozen_store.entry(config.model, trains_on, config.max_length, frozen).exists()):
        return None
    budget = config.time_budget_s or 60.0
    reasons = [say("plan.max_length_kept", n=config.max_length),
               say("plan.frozen_bottom", n=layers - frozen, k=frozen, budget=f"{budget:.0f}"),
               say("plan.all_examples")]
    return dataclasses.replace(config, method="top_layers", top_layers=layers - frozen), reasons


def _learnt_key(config: RunConfig, device: str) -> tuple[str, str, bool]:
    return models.resolve(config.model).key, device, config.kind == "zero_shot"


def _choose(config: RunConfig, splits: data.Splits) -> tuple[RunConfig, list[Message]]:
    tokenizer = models.load_tokenizer(config.model)
    sample = splits.train.sample(min(500, len(splits.train)), random_state=config.seed).text
    p95 = int(np.percentile(token_lengths(sample, tokenizer), 95))
    max_length = int(min(256, max(16, -(-p95 // 8) * 8)))
    reasons = [say("plan.max_length", n=max_length)]

    encoder = models.pretrained_classifier(config.model, splits.label_names)
    stored = stored_bottom(config, encoder, max_length) or stored_features(config, encoder, max_length)
    if stored is not None:
        return stored
    device = models.pick_device()
    rate = inference_rate(config.model, max_length, device)
    budget = config.time_budget_s or 60.0
    can_see = budget * rate / TRAIN_COST
    total = models.count_parameters(encoder)[1]
    if can_see < PROBE_BELOW_EXAMPLES:
        method = "linear_probe"
        reasons.append(say("plan.linear_probe", budget=f"{budget:.0f}", can_see=f"{can_see:.0f}",
                           encodes=f"{budget * rate * 0.85:.0f}"))
    elif device == "cpu" and total > LARGE_MODEL_PARAMS:
        method = "top_layers"
        reasons.append(say("plan.top_layers", n=config.top_layers, params=f"{total / 1e6:.0f}"))
    else:
        method = "full"
        reasons.append(say("plan.full", budget=f"{budget:.0f}", can_see=f"{can_see:,.0f}",
                           epochs=f"{can_see / max(1, len(splits.train)):.1f}"))
    reasons.append(say("plan.all_examples" if method != "linear_probe" else "plan.balanced"))
    return dataclasses.replace(config, method=method, max_length=max_length), reasons
