"""Lesson presets: one click fills every Train tab setting for a classroom story.

Each preset names only what differs from the defaults; `preset_values` fills in the rest, so picking a
preset also resets whatever an earlier lesson changed. The values are `make_config`'s keywords (the
Train tab's controls), so the UI, the CLI and the tests build the same runs from them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import models
from .runs import RunConfig

_DEFAULTS = RunConfig()
# Every make_config keyword with the Train tab's starting values; a preset overrides some of them.
DEFAULT_VALUES = {
    "model_key": models.DEFAULT_MODEL, "dataset_key": _DEFAULTS.dataset, "budget_s": 60, "lr": None,
    "length": _DEFAULTS.max_length, "examples_per_class": "all", "kind": "in_domain", "method": "full",
    "source_key": "rotten_tomatoes", "label_map": "", "adapt_per_class": "0", "descriptions": "",
    "nli_model": "", "top_layers": _DEFAULTS.top_layers, "lora_rank": _DEFAULTS.lora_rank,
    "lora_alpha": _DEFAULTS.lora_alpha, "warm_start": _DEFAULTS.warm_start, "pooling": _DEFAULTS.pooling,
}


@dataclass(frozen=True)
class Preset:
    note: str  # the lesson in a sentence or two, with what to click next
    values: dict = field(default_factory=dict)  # overrides of DEFAULT_VALUES


PRESETS: dict[str, Preset] = {
    "Movie reviews → product reviews (cross-domain)": Preset(
        "Train on movie reviews, test on Amazon product reviews, then adapt with 32 labelled product reviews "
        "per class: the bars show the domain gap and how much a few target examples win back.",
        {"dataset_key": "vader_amazon", "kind": "cross_domain", "source_key": "rotten_tomatoes",
         "adapt_per_class": "32"}),
    "News topics with no labels (zero-shot)": Preset(
        "No training at all: each BBC article goes to the topic whose description it is closest to. "
        "Edit the label descriptions and rerun to see how much the wording matters.",
        {"dataset_key": "bbc_news", "kind": "zero_shot"}),
    "Pretrained vs from scratch": Preset(
        "The pretrained encoder on 64 reviews per class. For the comparison, open the Compare tab, pick the "
        "study 'What pretraining is worth' and press Run study: it trains this run and the same architecture "
        "from random weights (or set Kind to 'Random init (control)' here and run again).",
        {"examples_per_class": "64"}),
    "LoRA vs full fine-tune in 60 s": Preset(
        "LoRA trains small low-rank adapters and the head: a sliver of the weights. For the comparison, "
        "open the Compare tab, pick the study 'Methods', set Budget per run to 60 and press Run study: full "
        "fine-tune, top layers, LoRA and linear probe on the same data and budget (or set Method to "
        "'Full fine-tune' here and run again).",
        {"method": "lora"}),
    "Spam filter from 16 examples per class": Preset(
        "Only 16 ham and 16 spam messages to learn from: pretraining is what makes so few examples enough. "
        "Try the same with 'Random init (control)' to see it fail.",
        {"dataset_key": "sms_spam", "examples_per_class": "16", "budget_s": 30}),
}


def preset_values(name: str) -> dict:
    """Every make_config keyword for preset `name` (raises ValueError for an unknown name)."""
    if name not in PRESETS:
        raise ValueError(f"There is no preset '{name[:80]}'; choose one of: {'; '.join(PRESETS)}.")
    return {**DEFAULT_VALUES, **PRESETS[name].values}
