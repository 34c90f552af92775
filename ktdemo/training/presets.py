"""Lesson presets: one click fills every Train tab setting for a classroom story.

A preset is a partial RunConfig: it names only the settings that differ from the defaults, and
`preset_settings` fills in the rest, so picking a preset also resets whatever an earlier lesson changed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..config import RunConfig
from ..messages import UserError, say


@dataclass(frozen=True)
class Preset:
    note: str  # the lesson in a sentence or two, with what to click next
    settings: dict = field(default_factory=dict)  # RunConfig fields that differ from the defaults


PRESETS: dict[str, Preset] = {
    "Movie reviews → product reviews (cross-domain)": Preset(
        "Train on movie reviews, test on Amazon product reviews, then adapt with 32 labelled product reviews "
        "per class: the bars show the domain gap and how much a few target examples win back.",
        {"dataset": "vader_amazon", "kind": "cross_domain", "source_dataset": "rotten_tomatoes",
         "adapt_per_class": 32}),
    "News topics with no labels (zero-shot)": Preset(
        "No training at all: each BBC article goes to the topic whose description it is closest to. "
        "Edit the label descriptions and rerun to see how much the wording matters.",
        {"dataset": "bbc_news", "kind": "zero_shot"}),
    "Pretrained vs from scratch": Preset(
        "The pretrained encoder on 64 reviews per class. For the comparison, open the Compare tab, pick the "
        "study 'What pretraining is worth' and press Run study: it trains this run and the same architecture "
        "from random weights (or set Kind to 'Random init (control)' here and run again).",
        {"per_class": 64}),
    "LoRA vs full fine-tune in 60 s": Preset(
        "LoRA trains small low-rank adapters and the head: a sliver of the weights. For the comparison, "
        "open the Compare tab, pick the study 'Methods', set Budget per run to 60 and press Run study: full "
        "fine-tune, top layers, LoRA and linear probe on the same data and budget (or set Method to "
        "'Full fine-tune' here and run again).",
        {"method": "lora"}),
    "Spam filter from 16 examples per class": Preset(
        "Only 16 ham and 16 spam messages to learn from: pretraining is what makes so few examples enough. "
        "Try the same with 'Random init (control)' to see it fail.",
        {"dataset": "sms_spam", "per_class": 16, "time_budget_s": 30.0}),
}


def preset(name: str) -> Preset:
    """The preset called `name` (ValueError listing the others for an unknown name)."""
    if name not in PRESETS:
        raise UserError(say("error.unknown_preset", name=name[:80], presets="; ".join(PRESETS)))
    return PRESETS[name]


def preset_config(name: str) -> RunConfig:
    """The run preset `name` describes."""
    return RunConfig(**preset(name).settings)


def preset_settings(name: str) -> dict:
    """Every RunConfig setting of preset `name`: its own, and the defaults for the rest."""
    return asdict(preset_config(name))
