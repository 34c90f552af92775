"""Where a trained head starts, so that a short run never begins from (and never ends below) chance.

A fresh head is random: the first seconds of a run only undo that, and a short run on a busy machine
can end as a classifier that predicts one class for everything. Two better starts are known:
- `descriptions`: for a sentence encoder (mean-pooled, see `heads`), the head's rows are the label
  descriptions' embeddings / the zero-shot temperature: step 0 *is* the zero-shot classifier.
- `probe`: otherwise a quick linear probe on frozen features (LP-FT, Kumar et al. 2022), in a share of
  the budget.

Scoring the start costs one forward pass over the test texts: the random head and the warm head read
the same features (the input of the last linear layer), so both are a matrix product away.
"""
from __future__ import annotations

import numpy as np
import torch

from ..config import RunConfig
from ..messages import say
from ..models import heads
from ..models.anatomy import last_linear
from ..models.evaluation import Metrics, scored
from .zeroshot import TEMPERATURE, embed

PROBE_SHARE = 0.2  # of a stage's budget spent on the linear probe before fine-tuning
PROBE_TEXTS = 512  # the probe's texts when a step count, not the clock, bounds the run


WHY = {  # why "auto" chose it, for the run's notes
    "descriptions": say("part.warm_why.descriptions"),
    "probe": say("part.warm_why.probe"),
    "none": say("part.warm_why.none"),
}


def resolve(config: RunConfig, pooling: str) -> str:
    """The concrete warm start for `config`'s "auto": the zero-shot head where the pooling allows it."""
    if config.warm_start != "auto":
        return config.warm_start
    if config.kind == "from_scratch" or config.method == "linear_probe":
        return "none"  # the control stays random; a probe needs no start
    return "descriptions" if pooling == "mean" else "probe"


@torch.inference_mode()
def from_descriptions(model, tokenizer, descriptions: list[str], max_length: int) -> None:
    """Write the zero-shot classifier into a mean-pooled model's head: row k = embedding of description k / T."""
    if heads.pooling_of(model) != "mean":
        raise ValueError("The label-description warm start needs a mean-pooled sentence encoder (pooling 'mean').")
    was_training = model.training
    rows = embed(model.base_model.eval(), tokenizer, descriptions, max_length) / TEMPERATURE  # no dropout
    model.train(was_training)
    layer = last_linear(model)
    layer.weight.copy_(torch.as_tensor(rows, dtype=layer.weight.dtype))
    layer.bias.zero_()


def head_metrics(model, test_features: np.ndarray, labels: list[int]) -> Metrics:
    """Test metrics of the model's current head on precomputed `features` of the test texts."""
    layer = last_linear(model)
    weight, bias = layer.weight.detach().float().cpu().numpy(), layer.bias.detach().float().cpu().numpy()
    logits = test_features @ weight.T + bias
    probabilities = torch.softmax(torch.as_tensor(logits), dim=-1).numpy()
    return scored(probabilities, labels)

