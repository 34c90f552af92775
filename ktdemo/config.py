"""What a run is: its config (print it, save it, replay it) and the choices each setting offers.

`RunConfig`'s field names are the only names a setting has: the Train tab's controls are keyed by them, the
API takes them, the CLI makes one flag of each, presets and the exported JSON use them. Each field carries its
help text (and its choices), from which the CLI's --help and the UI's info lines are made.

Light on purpose (no torch): the UI imports this at start-up; the training stack loads on the first run.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields

from . import data, models
from .messages import ENGLISH, UserError, plain, say

HUB_PREFIX = "hub:"


@dataclass(frozen=True)
class Choice:
    name: str  # as the screen, the tables and the report show it
    help: str  # what it means, in a line


KINDS = {  # what is transferred from where
    "in_domain": Choice("In-domain", "train and test on the target dataset's own splits"),
    "cross_domain": Choice("Cross-domain", "train on a source dataset, test on the target (then adapt with k "
                                           "target examples)"),
    "zero_shot": Choice("Zero-shot", "no target labels: match texts to label descriptions"),
    "sequential": Choice("Sequential", "fine-tune on a source task first, then on the target"),
    "from_scratch": Choice("Random init (control)", "the same architecture with random weights: what pretraining "
                                                    "is worth"),
}
METHODS = {  # which weights move
    "full": Choice("Full fine-tune", "fine-tune every layer (embeddings frozen by default)"),
    "top_layers": Choice("Top layers", "fine-tune only the top k encoder layers and the head"),
    "linear_probe": Choice("Linear probe", "fit only a linear head on frozen, cached features"),
    "lora": Choice("LoRA", "low-rank adapters on attention (peft) plus the head"),
    "auto": Choice("Auto", "pick a method, max length and data size that fit the budget"),
}
ZERO_SHOT_METHODS = {  # how a zero-shot run matched texts to descriptions (a run's method in its summary)
    "similarity": Choice("Zero-shot (similarity)", "the description whose sentence embedding is closest"),
    "nli": Choice("Zero-shot (NLI)", "the description an entailment model finds most entailed"),
}
POOLINGS = {  # how the classifier reads the encoder's tokens
    "auto": Choice("Auto (the encoder's own)", "the encoder's own: mean for sentence encoders (their "
                   "sentence-transformers files say so), else [CLS]"),
    "mean": Choice("Mean of the tokens", "the normalised mean of the tokens, then one linear layer (the zero-shot "
                                         "classifier's shape)"),
    "cls": Choice("[CLS] token", "the family's standard head on the first token ([CLS], through BERT's pooler)"),
}
WARM_STARTS = {  # where the trained head starts
    "auto": Choice("Auto", "the zero-shot classifier for mean pooling, else a quick linear probe; random for the "
                           "control"),
    "descriptions": Choice("Zero-shot head (label descriptions)", "the zero-shot classifier: the head's rows are "
                                                                  "the label descriptions' embeddings"),
    "probe": Choice("Linear probe, then fine-tune", "a linear probe on frozen features, in a fifth of the budget, "
                                                    "then fine-tuning (LP-FT)"),
    "none": Choice("Random head", "a random head"),
}
DEFAULT_LEARNING_RATES = {"full": 1e-4, "top_layers": 2e-4, "lora": 1e-3}  # small encoders like high rates
SOURCE_KINDS = ("cross_domain", "sequential")  # the kinds that train on a source dataset first
ALL = "all"  # per_class's text for every training example


def setting(default, help: str, choices: Mapping[str, Choice] | None = None, parse=None):
    """A RunConfig field with its help text, its choices and, where its text form is not plain, how to read it."""
    return field(default=default, metadata={"help": help, "choices": choices, "parse": parse})


def _count_or_all(value) -> int | None:
    """'all' (or empty) -> None: every training example; '16' -> 16."""
    return None if value in (None, "", ALL, 0, "0") else int(value)


def _label_map(value) -> dict[str, str] | None:
    return (dict(value) or None) if isinstance(value, Mapping) else parse_label_map(value)


def _text_list(value) -> list[str] | None:
    """A list, or text with one item per line (or comma-separated on one line)."""
    if value is None or isinstance(value, list):
        return value or None
    separator = "\n" if "\n" in value else ","
    return [item.strip() for item in value.split(separator) if item.strip()] or None


def _descriptions(value) -> list[str] | str | None:
    """A list stays; text ('label: description' lines) is checked against the labels in `config_from`."""
    return value or None if isinstance(value, list) else (value or "").strip() or None


@dataclass
class RunConfig:
    """Everything that defines a run: print it, save it, replay it."""

    model: str = setting(models.DEFAULT_MODEL, "a catalog key or any Hugging Face Hub id ('owner/model')")
    dataset: str = setting(data.DEFAULT_DATASET, "the target, tested on: a bundled key, a session dataset or "
                                                 "'hub:<id>'")
    dataset_config: str | None = setting(None, "Hub datasets: the config name (empty: guessed)")
    dataset_split: str | None = setting(None, "Hub datasets: the split to read (empty: guessed)")
    text_column: str | None = setting(None, "Hub datasets: the text column (empty: guessed)")
    label_column: str | None = setting(None, "Hub datasets: the label column (empty: guessed)")
    kind: str = setting("in_domain", "what is transferred from where", KINDS)
    method: str = setting("auto", "which weights move", METHODS)
    pooling: str = setting("auto", "how the classifier reads the encoder's tokens", POOLINGS)
    warm_start: str = setting("auto", "where the trained head starts", WARM_STARTS)
    source_dataset: str | None = setting(None, "cross-domain: trained on this; sequential: trained on this first")
    label_map: dict[str, str] | None = setting(None, "cross-domain: source label=target label pairs, e.g. "
                                                     "'fresh=positive, rotten=negative' (empty: same names)",
                                               parse=_label_map)
    adapt_per_class: int = setting(0, "cross-domain: then adapt with this many labelled target examples per class")
    label_descriptions: list[str] | None = setting(None, "zero-shot and warm start: one description per label "
                                                         "('label: description' lines; empty: defaults)",
                                                   parse=_descriptions)
    nli_model: str | None = setting(None, "zero-shot with an NLI model from the Hub instead of embedding similarity")
    also_test_on: list[str] | None = setting(None, "score on these datasets' test sets too (same labels): a "
                                                   "transfer matrix", parse=_text_list)
    time_budget_s: float | None = setting(60.0, "training seconds per stage (empty: max_steps, or one epoch)")
    max_steps: int | None = setting(None, "fix the step count instead, for an exact replay")
    learning_rate: float | None = setting(None, "empty: the method's default (1e-4 full, 2e-4 top layers, "
                                                "1e-3 LoRA)")
    head_lr_scale: float = setting(10.0, "the new head (and pooler) start from scratch: their learning rate is "
                                         "this many times larger")
    max_length: int = setting(64, "tokens per text; longer texts are cut")
    batch_size: int = setting(16, "texts per training step")
    warmup_ratio: float = setting(0.1, "share of the steps over which the learning rate warms up")
    dropout: float | None = setting(None, "every dropout layer's rate while training (empty: the model's own)")
    freeze_embeddings: bool = setting(True, "keep the embeddings frozen: half of MiniLM's weights; freezing them "
                                            "nearly halves a step")
    top_layers: int = setting(2, "method top_layers: how many of the top encoder layers train")
    lora_rank: int = setting(8, "method lora: the adapters' rank")
    lora_alpha: int = setting(16, "method lora: the adapters' scale (alpha / rank multiplies their output)")
    per_class: int | None = setting(None, "train on k examples per class ('all' or empty: every example)",
                                    parse=_count_or_all)
    seed: int = setting(0, "splits, sampling and initial weights")
    eval_every_s: float = setting(10.0, "seconds between validation checks while training")

    def __post_init__(self) -> None:
        for spec in fields(self):
            choices = spec.metadata.get("choices")
            if choices and getattr(self, spec.name) not in choices:
                setting = say(f"part.setting.{spec.name}") if f"part.setting.{spec.name}" in ENGLISH else \
                    plain(spec.name.replace("_", " "))
                raise UserError(say("error.unknown_choice", setting=setting, value=str(getattr(self, spec.name))[:60],
                                    choices=", ".join(choices)))
        if self.kind in SOURCE_KINDS and not self.source_dataset:
            raise UserError(say("error.needs_source", kind=say(f"part.kind.{self.kind}")))

    @property
    def lr(self) -> float:
        """The learning rate this run uses."""
        return self.learning_rate or DEFAULT_LEARNING_RATES.get(self.method, 1e-4)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, values: Mapping) -> "RunConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Unknown setting(s) in the run config: {', '.join(sorted(unknown))}.")
        return cls(**values)


SETTINGS = {spec.name: spec for spec in fields(RunConfig)}


def default(name: str):
    """A setting's default value."""
    return SETTINGS[name].default


def help_text(name: str) -> str:
    """A setting's help line, as the CLI's --help and the UI's info lines show it."""
    return SETTINGS[name].metadata["help"]


def parse_setting(name: str, value):
    """A setting's value from its text (the command line, a text box, an API call) or as is; raises ValueError."""
    spec = SETTINGS[name]
    if spec.metadata.get("parse"):
        return spec.metadata["parse"](value)
    kind = str(spec.type).split("|")[0].strip()
    if isinstance(value, str):
        if "None" in str(spec.type) and value.strip().lower() in ("", "none"):
            return None
        if kind == "bool":
            return value.strip().lower() in ("1", "true", "yes", "on")
        value = value.strip()
    if kind in ("int", "float") and value is not None and not isinstance(value, bool):
        try:
            return {"int": int, "float": float}[kind](value)  # a slider sends 64.0 for an int setting
        except ValueError:
            raise UserError(say("error.not_a_number", name=name, value=str(value)[:40])) from None
    return value


def config_from(settings: Mapping) -> RunConfig:
    """The run that `settings` describe (as the Train tab and the API give them: text where text is natural).

    Settings the kind does not use are dropped, as their controls are hidden on the screen; label descriptions
    written as 'label: description' lines are read against the dataset's labels.
    """
    values = {name: parse_setting(name, value) for name, value in settings.items() if name in SETTINGS}
    kind = values.get("kind", default("kind"))
    unused = {"source_dataset": kind not in SOURCE_KINDS, "label_map": kind != "cross_domain",
              "adapt_per_class": kind != "cross_domain", "label_descriptions": kind == "from_scratch"}
    values = {name: value for name, value in values.items() if not unused.get(name)}
    if isinstance(values.get("label_descriptions"), str):
        values["label_descriptions"] = _described(values["label_descriptions"], values.get("dataset", default("dataset")))
    if "nli_model" in values:
        values["nli_model"] = (values["nli_model"] or "").strip() or None
    return RunConfig.from_dict(values)


def _described(text: str, dataset: str) -> list[str] | None:
    """'label: description' lines as one description per label; None for the defaults (also for a dataset
    whose labels only a session knows), so the same run has the same config however it was asked for."""
    spec = data.DATASETS.get(dataset)
    if spec is None:
        return None
    from .data.descriptions import default_descriptions, parse_descriptions

    described = parse_descriptions(text, list(spec.label_names), spec.task)
    return None if described == default_descriptions(list(spec.label_names), spec.task) else described


def parse_label_map(text: str | None) -> dict[str, str] | None:
    """'fresh=positive, rotten=negative' -> {'fresh': 'positive', 'rotten': 'negative'}; empty -> None."""
    pairs = [part.strip() for part in (text or "").replace("\n", ",").split(",") if part.strip()]
    if not pairs:
        return None
    if any(pair.count("=") != 1 for pair in pairs):
        raise UserError(say("error.label_map"))
    return {source.strip(): target.strip() for source, target in (pair.split("=") for pair in pairs)}


