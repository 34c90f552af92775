"""Before a run starts: how long it will take, and the "auto" method's choices, each with its reason.

Speeds come from timing the model here (one forward pass on a batch of real texts, cached), so
the estimate holds on a laptop CPU, a Space or a GPU alike.
"""
from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass

import numpy as np

from .. import data, models
from ..config import RunConfig
from ..data.preview import token_lengths
from ..messages import Message, say

TRAIN_COST = 3.0  # a training step costs about three forward passes (forward, backward, optimiser)
PROBE_BELOW_EXAMPLES = 400  # full fine-tuning that sees fewer examples than this loses to a linear probe
LARGE_MODEL_PARAMS = 50e6  # above this, on a CPU, only the top layers train in a short budget
LOAD_S = 2.0  # data, tokenizer and a private model copy


@dataclass
class Plan:
    config: RunConfig  # concrete: never method "auto"
    reasons: list[Message]  # why each choice, for the user
    eta_s: float  # expected wall time of the whole run


@functools.lru_cache(maxsize=16)
def inference_rate(model: str, max_length: int, device: str) -> float:
    """Texts per second through the model at `max_length` tokens (timed once here)."""
    import torch

    classifier = models.pretrained_classifier(model, data.DATASETS[data.DEFAULT_DATASET].label_names)
    batch = {"input_ids": torch.full((32, max_length), 1000, device=classifier.device),
             "attention_mask": torch.ones((32, max_length), dtype=torch.long, device=classifier.device)}
    with torch.inference_mode():
        classifier(**batch)  # the first pass pays one-off costs
        start = time.perf_counter()
        classifier(**batch)
    return 32 / (time.perf_counter() - start)


def plan(config: RunConfig, splits: data.Splits) -> Plan:
    """The run `config` describes, made concrete where it says "auto", with its expected duration."""
    reasons = []
    if config.method == "auto":
        config, reasons = _choose(config, splits)
    return Plan(config, reasons, estimate_seconds(config, splits))


def estimate_seconds(config: RunConfig, splits: data.Splits) -> float:
    """Loading, scoring the test set before and after, and the training budget (each stage)."""
    rate = inference_rate(config.model, config.max_length, models.pick_device())
    scoring = 2 * len(splits.test) / rate
    if config.kind == "zero_shot":
        return LOAD_S + scoring
    if config.time_budget_s:
        training = config.time_budget_s
    else:
        steps = config.max_steps or np.ceil(len(splits.train) / config.batch_size)
        training = steps * config.batch_size * TRAIN_COST / rate
    stages = 2 if config.kind == "sequential" else 1
    return LOAD_S * stages + scoring * stages + training * stages


def _choose(config: RunConfig, splits: data.Splits) -> tuple[RunConfig, list[Message]]:
    tokenizer = models.load_tokenizer(config.model)
    sample = splits.train.sample(min(500, len(splits.train)), random_state=config.seed).text
    p95 = int(np.percentile(token_lengths(sample, tokenizer), 95))
    max_length = int(min(256, max(16, -(-p95 // 8) * 8)))
    reasons = [say("plan.max_length", n=max_length)]

    device = models.pick_device()
    rate = inference_rate(config.model, max_length, device)
    budget = config.time_budget_s or 60.0
    can_see = budget * rate / TRAIN_COST
    total = models.count_parameters(models.pretrained_classifier(config.model, splits.label_names))[1]
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
