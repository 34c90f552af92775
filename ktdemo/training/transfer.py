"""Transfer runs, one function per kind, all on the same steps.

`run_transfer(config, log, cancel)` loads the data the kind needs, builds the starting model
(pretrained, random for the control, or a source-trained encoder for sequential transfer),
scores its untrained head ("before"), warm-starts the head (`warmstart`) and scores that start,
trains with the run's method on a time budget and scores the result ("after") on held-out test
data; training never returns a model below its start on the validation sample. The UI polls
`log` from another thread; setting `cancel` stops the run within a step, keeping the best
checkpoint so far.

The steps are plain functions over typed pieces: a `RunContext` that every step reads (and the one
`RunRecord` they write), a `Start`, the `TestSets`, a stage's `Budget`, the `Scored` metrics and the stats.
"""
from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import torch

from .. import data, models
from ..config import HUB_PREFIX, RunConfig
from ..messages import Message, say
from ..models.anatomy import encoder_layers
from ..models.evaluation import Metrics, evaluate, misclassified
from ..progress import RunCancelled, RunStats, TrainingLog, stage_phase
from . import frozen, frozen_store, methods, probe, warmstart
from .loop import FitOutcome, fine_tune

STOPPED_TEST_SAMPLE = 256  # after Stop, test metrics on a sample: ~2 s on 2 CPU cores instead of ~10
ADAPT_SHARE = 0.25  # cross-domain: the share of the budget (or steps) spent adapting to target examples


class Scores(dict):
    """Held-out results by name. A name is the English of a Message (the key the API, CLI and JSON show);
    `labels` keeps each name's Message, for the UI to show in its language."""

    def __init__(self, *args):
        super().__init__(*args)
        self.labels: dict[str, Message] = {}

    def add(self, label: Message, metrics: Metrics) -> "Scores":
        self[str(label)], self.labels[str(label)] = metrics, label
        return self

    def extend(self, other: "Scores") -> "Scores":
        self.update(other)
        self.labels.update(other.labels)
        return self


@dataclass
class RunResult:
    config: RunConfig
    model: object  # None for zero-shot runs: there is no trained classifier
    tokenizer: object
    label_names: list[str]
    dataset_name: str
    before: Metrics  # the starting model's untrained head on the test set
    after: Metrics  # the transferred model on the same test set
    misclassified: list[dict]
    stats: RunStats
    log: TrainingLog
    scores: dict[str, Metrics] = field(default_factory=Scores)  # more held-out results (source test, before adapting)
    start: Metrics | None = None  # the warm-started head on the test set, before any training (None: random head)


def load_data(config: RunConfig, dataset: str | None = None, per_class: int | None = None,
              sources: dict[str, data.Splits] | None = None) -> data.Splits:
    """Splits of `dataset` (default: the config's target, with its `per_class`): one of the session's own
    `sources` (uploads, Hub), a bundled key or a Hub dataset (needs a network)."""
    if dataset is None:
        dataset, per_class = config.dataset, config.per_class
    if sources and dataset in sources:
        splits = sources[dataset]
        if per_class:
            splits = dataclasses.replace(splits, train=data.take_per_class(splits.train, per_class, config.seed))
        return splits
    if dataset.startswith(HUB_PREFIX):
        return data.load_hub(dataset[len(HUB_PREFIX):], config.dataset_config, config.dataset_split,
                             config.text_column, config.label_column, seed=config.seed, per_class=per_class)
    if dataset not in data.DATASETS:
        raise data.DataError(say("error.no_dataset", dataset=dataset[:80]))
    return data.load_splits(dataset, seed=config.seed, per_class=per_class)


def training_data(config: RunConfig, sources: dict | None = None) -> tuple[data.Splits, data.Splits]:
    """(target, what the run trains on): the target itself, or for cross-domain transfer the source
    relabelled into the target's labels (`per_class` applies to the training data)."""
    if config.kind != "cross_domain":
        target = load_data(config, sources=sources)
        return target, target
    target = load_data(config, config.dataset, None, sources)
    source = load_data(config, config.source_dataset, config.per_class, sources)
    return target, relabel(source, target.label_names, config.label_map)


def resolve(config: RunConfig, sources: dict | None = None) -> tuple[RunConfig, list[Message]]:
    """`config` with every "auto" made concrete (method, pooling, warm start) before the run starts, and why
    each was chosen (for the run's notes)."""
    reasons = []
    if config.method == "auto" and config.kind != "zero_shot":
        from .planning import plan

        chosen = plan(config, training_data(config, sources)[1])
        config, reasons = chosen.config, list(chosen.reasons)
    resolved = resolve_head(config)
    if config.pooling == "auto":
        reasons.append(say("plan.pooling_mean") if resolved.pooling == "mean" else
                       say("plan.pooling_cls", pooling=resolved.pooling))
    if config.warm_start == "auto" and config.kind != "zero_shot":
        reasons.append(say("plan.warm_start", warm_start=resolved.warm_start, why=warmstart.WHY[resolved.warm_start]))
    return resolved, reasons


def run_transfer(config: RunConfig, log: TrainingLog | None = None, cancel: threading.Event | None = None,
                 sources: dict[str, data.Splits] | None = None, start_from: str | None = None) -> RunResult:
    """Run `config`. `sources` holds a session's own datasets (uploads, Hub) by key; `start_from`, the weights
    (`models.save_weights`) of a finished run of `first_stage_config(config)`, lets a sequential run skip its
    first stage."""
    log, cancel, sources = log or TrainingLog(), cancel or threading.Event(), sources or {}
    log.enter(say("phase.loading_data"))  # "auto" may read the data to plan
    config, reasons = resolve(config, sources)
    ctx = RunContext(config, log, cancel, sources, models.pick_device(), plan=reasons)
    with _PeakMemory(ctx.device) as memory:
        result = KIND_FUNCTIONS[config.kind](ctx, start_from)
    result.stats.peak_memory_mb, result.stats.total_seconds = memory.peak_mb, round(ctx.log.elapsed(), 1)
    result.stats.phase_seconds = {state: s for state, s in ctx.log.phase_seconds().items()
                                  if state not in ("done", "stopped")}
    return result


# -- the kinds: one function each, from the shared steps below ---------------------------------------------------

def in_domain(ctx: RunContext, start_from: str | None = None) -> RunResult:
    """Train and test on the target dataset's own splits, from the pretrained encoder."""
    return transfer(ctx, *run_data(ctx), pretrained_start)


def from_scratch(ctx: RunContext, start_from: str | None = None) -> RunResult:
    """The same run from random weights: the control that shows what pretraining is worth."""
    return transfer(ctx, *run_data(ctx), random_start)


def sequential(ctx: RunContext, start_from: str | None = None) -> RunResult:
    """Fine-tune on the source task first (or start from that stage's saved weights), then on the target."""
    return transfer(ctx, *run_data(ctx), functools.partial(source_trained_start, start_from=start_from))


def cross_domain(ctx: RunContext, start_from: str | None = None) -> RunResult:
    """Train on the source (relabelled into the target's labels), test on the target, then adapt with k
    labelled target examples per class."""
    return transfer(ctx, *run_data(ctx), pretrained_start, adapt_per_class=ctx.config.adapt_per_class)


def zero_shot(ctx: RunContext, start_from: str | None = None) -> RunResult:
    """No target labels: each test text goes to the label whose description it matches best."""
    from . import zeroshot

    config, log = ctx.config, ctx.log
    target = run_data(ctx)[0]
    ctx.enter(say("phase.scoring_untrained"))
    tokenizer = models.load_tokenizer(config.model)
    head = _pretrained_classifier(ctx, target.label_names)
    before = HeadScorer.on(ctx, head, tokenizer, target.test, pretrained=True).score(head)
    ctx.enter(say("phase.zero_shot"))
    log.train_started = time.monotonic()
    known = ctx.feature_cache(pretrained=True) if config.pooling == "mean" else None  # the texts' embeddings
    matched = zeroshot.zero_shot(target.test.text.tolist(), target.test.label.tolist(), target.label_names,
                                 descriptions_for(config, config.dataset, target.label_names),
                                 model_key=config.model, nli_model=config.nli_model, max_length=config.max_length,
                                 known=known)
    ctx.keep_features(True, {config.dataset: target})
    log.enter(say("phase.done"))
    ctx.record.stages.append({"stage": "zero-shot " + matched.method, "seconds": round(matched.seconds, 1)})
    params = ParamCounts(trainable=0, total=models.count_parameters(head)[1])
    stats = run_stats(ctx, FitOutcome(0, 0, 0, matched.seconds, 0, 0, False), params=params,
                      test=TestCounts(scored=len(target.test), split=len(target.test)), notices=list(target.notices))
    stats.descriptions, stats.zero_shot_method = matched.descriptions, matched.method
    scored = Scored(target.test, HeadMetrics(before, start=None), after=matched.metrics)
    return _result(ctx, target, scored, stats, model=None, tokenizer=tokenizer, scores=Scores())


KIND_FUNCTIONS = {"in_domain": in_domain, "cross_domain": cross_domain, "zero_shot": zero_shot,
                  "sequential": sequential, "from_scratch": from_scratch}


# -- what every step reads, and the one record it writes ----------------------------------------------------------

@dataclass
class RunRecord:
    """What the run has done so far, for its stats: the one part of a run that changes as it goes."""

    stages: list[dict] = field(default_factory=list)  # what each training stage did, for the report
    outcomes: list[FitOutcome] = field(default_factory=list)
    by_dataset: dict[str, float] = field(default_factory=dict)  # accuracy on each dataset tested on: a matrix row
    warm_start_probe: dict | None = None  # what a linear-probe warm start took

    def add(self, stage: Message, outcome: FitOutcome) -> None:
        """A training stage done."""
        self.stages.append({"stage": str(stage), "phase": {"key": stage.key, "params": dict(stage.params)},  # UI's
                            "steps": outcome.steps, "examples_seen": outcome.examples_seen,
                            "seconds": round(outcome.seconds, 1), "stopped_by_user": outcome.stopped_by_user})
        self.outcomes.append(outcome)


@dataclass(frozen=True)
class RunContext:
    """One run's resolved config, live log, Stop, the session's datasets and device; and the record it writes."""

    config: RunConfig
    log: TrainingLog
    cancel: threading.Event
    sources: dict[str, data.Splits]
    device: str
    plan: list[Message] = field(default_factory=list)  # why "auto" chose what it chose
    record: RunRecord = field(default_factory=RunRecord)

    def enter(self, phase: Message) -> None:
        """The next phase, if Stop was not pressed; a Stop seen here means no new model: the previous one stays."""
        if self.cancel.is_set():
            raise RunCancelled(say("notice.stopped_before"))
        self.log.enter(phase)

    def bundled(self) -> bool:
        """Are the run's datasets all bundled ones (no session's own data)?"""
        return all(key in data.DATASETS for key in (self.config.dataset, self.config.source_dataset) if key)

    def feature_cache(self, pretrained: bool) -> probe.Features | None:
        """Features of an untouched pretrained encoder on bundled data are kept per process, starting from the
        machine's store (see `frozen_store`); nothing else is kept."""
        config = self.config
        if not (pretrained and self.bundled()):
            return None
        cache = probe.feature_cache((config.model, config.max_length, config.pooling))
        for path in self._feature_entries().values():
            cache.read(path)
        return cache

    def keep_features(self, pretrained: bool, splits: dict[str, data.Splits]) -> None:
        """Add the features this run computed for its datasets' texts (`splits` by dataset key) to the store."""
        cache = self.feature_cache(pretrained)
        for key, path in self._feature_entries().items() if cache is not None else ():
            cache.keep(path, frozen_store.texts_of(splits[key]))

    def _feature_entries(self) -> dict[str, Path]:
        """The store's features entries for the datasets this run scores its untrained head on or trains on."""
        config = self.config
        return {key: frozen_store.features_entry(config.model, key, config.max_length, config.pooling)
                for key in dict.fromkeys((config.dataset, train_dataset(config)))}

    def first_stage(self) -> RunContext:
        """Sequential transfer's first stage: its own config and record; the same log, Stop, datasets and device."""
        return dataclasses.replace(self, config=first_stage_config(self.config), plan=[], record=RunRecord())


def run_data(ctx: RunContext) -> tuple[data.Splits, data.Splits]:
    """(target, training data), as `training_data`."""
    ctx.enter(say("phase.loading_data"))
    return training_data(ctx.config, ctx.sources)


@dataclass(frozen=True)
class Budget:
    """A training stage's limits: seconds (None: the step count decides) and steps (None: the clock does)."""

    seconds: float | None
    steps: int | None

    @classmethod
    def for_stage(cls, config: RunConfig, others: float = 0.0) -> Budget:
        """The run's budget, less the share `others` that the run's other stages take."""
        return cls(seconds=config.time_budget_s * (1 - others) if config.time_budget_s else None,
                   steps=max(1, round(config.max_steps * (1 - others))) if config.max_steps else None)

    def share(self, fraction: float) -> float | None:
        """That fraction of the seconds; None when the step count decides."""
        return self.seconds * fraction if self.seconds else None

    def after_warm_start(self, spent: float) -> Budget:
        """What fine-tuning has left: the probe's share off the clock, or the seconds the warm start took if more."""
        if not self.seconds:
            return self
        return dataclasses.replace(self, seconds=max(self.seconds * (1 - warmstart.PROBE_SHARE), self.seconds - spent))


# -- where the model starts ----------------------------------------------------------------------------------------

@dataclass
class Start:
    """The model training starts from."""

    model: object
    pretrained: bool  # the untouched pretrained encoder: its features may come from the process's cache
    scores: Scores = field(default_factory=Scores)  # held-out results of an earlier stage


StartModel = Callable[[RunContext, list[str]], Start]  # a kind's starting model, given the target's labels


def pretrained_start(ctx: RunContext, label_names: list[str]) -> Start:
    """The pretrained encoder under a fresh head."""
    return Start(models.trainable_copy(_pretrained_classifier(ctx, label_names)), pretrained=True)


def random_start(ctx: RunContext, label_names: list[str]) -> Start:
    """The same architecture with random (seeded) weights."""
    from transformers import set_seed

    pretrained = _pretrained_classifier(ctx, label_names)
    set_seed(ctx.config.seed)
    scratch = type(pretrained)._from_config(pretrained.config, attn_implementation="eager")
    return Start(models.trainable_copy(scratch), pretrained=False)


def source_trained_start(ctx: RunContext, label_names: list[str], *, start_from: str | None) -> Start:
    """The encoder after the source task: loaded from `start_from`'s weights, or trained here as stage 1 of 2."""
    model = pretrained_start(ctx, label_names).model
    if start_from is not None:
        models.load_encoder_weights(model, start_from)
        return Start(model, pretrained=False)
    first = _first_stage(ctx)
    model.base_model.load_state_dict(first.model.base_model.state_dict())
    return Start(model, pretrained=False, scores=Scores().add(say("result.source_after_stage1", name=first.dataset_name), first.after))


def _first_stage(ctx: RunContext) -> RunResult:
    """An in-domain run on the source, shown in this run's log; its training counts in this run's record."""
    ctx.log.stage = stage_phase(1, 2, ctx.config.source_dataset)
    first = ctx.first_stage()
    result = in_domain(first)
    if result.stats.stopped_by_user:
        raise RunCancelled(say("notice.stopped_first_stage"))
    ctx.record.stages.extend(first.record.stages)
    ctx.record.outcomes.extend(first.record.outcomes)
    ctx.log.stage = stage_phase(2, 2)
    return result


def _pretrained_classifier(ctx: RunContext, label_names: list[str]):
    config = ctx.config
    return models.pretrained_classifier(config.model, label_names, config.seed, config.pooling)


# -- the story every trained kind tells ----------------------------------------------------------------------------

def transfer(ctx: RunContext, target: data.Splits, train: data.Splits, start_model: StartModel,
             adapt_per_class: int = 0) -> RunResult:
    """Score the starting model's head, warm-start it, train on `train`, (adapt on `adapt_per_class` target
    examples per class), score the result on `target`'s unseen test texts."""
    config, tests = ctx.config, clean_test_sets(ctx, target, train)
    ctx.enter(say("phase.loading_model"))
    tokenizer = models.load_tokenizer(config.model)
    start = start_model(ctx, target.label_names)
    ctx.enter(say("phase.scoring_untrained"))
    head = HeadScorer.on(ctx, start.model, tokenizer, tests.test, start.pretrained)
    before = head.score(start.model)
    budget = Budget.for_stage(config, others=ADAPT_SHARE if adapt_per_class else 0)
    budget = warm_start_head(ctx, start, tokenizer, train, target, budget)
    warm = head.score(start.model) if config.warm_start != "none" else None
    model, params = prepare(ctx, start.model)
    bottom = frozen_bottom(ctx, model, tokenizer, start.pretrained)
    trained = head if config.method == "linear_probe" else None  # only the head moves: its features score the model
    training_began = time.monotonic()
    outcome = train_stage(ctx, model, tokenizer, train, say("phase.training_on", name=train.name), budget,
                          start.pretrained, bottom)
    scores = Scores().extend(start.scores).extend(score_held_out(ctx, model, tokenizer, tests.held_out, bottom))
    if adapt_per_class and not outcome.stopped_by_user:
        scores.add(say("result.target_before_adapting"), _evaluate(ctx, model, tokenizer, tests.test, bottom, trained))
        outcome = adapt(ctx, model, tokenizer, target, bottom, spent=time.monotonic() - training_began)
    model = methods.finish(model)
    ctx.log.enter(say("phase.scoring_trained"))
    scored = score_trained(ctx, model, tokenizer, tests.test, HeadMetrics(before, warm),
                           stopped=outcome.stopped_by_user, num_labels=len(target.label_names), bottom=bottom,
                           head=trained)
    if bottom is not None:
        bottom.keep(train)
    ctx.keep_features(start.pretrained, {config.dataset: target, train_dataset(config): train})
    ctx.record.by_dataset[config.dataset] = scored.after.accuracy
    models.for_inspection(model)  # after scoring: eager attention is slower, but the views need it
    ctx.log.enter(say("phase.stopped" if outcome.stopped_by_user else "phase.done"))
    notices = tests.notices + _learning_notices(outcome, scored.after, target.label_names, config.warm_start)
    if bottom is not None:
        notices.append(bottom.notice())
    stats = run_stats(ctx, outcome, params=params, test=TestCounts(scored=len(scored.test), split=len(target.test)),
                      notices=notices)
    return _result(ctx, target, scored, stats, model=model, tokenizer=tokenizer, scores=scores)


# -- test-set hygiene: no run scores a text it trained on -------------------------------------------------------

@dataclass(frozen=True)
class HeldOut:
    """Another test set the run scores."""

    name: Message  # as the run's scores name it
    test: pd.DataFrame  # its test texts unseen in training


@dataclass(frozen=True)
class TestSets:
    """The test texts a run scores, none of them seen in training."""

    test: pd.DataFrame  # the target's
    held_out: dict[str, HeldOut]  # by dataset key: the source's own (cross-domain) and `also_test_on`
    notices: list[Message]  # the data's notices, and how many test texts training had seen


def clean_test_sets(ctx: RunContext, target: data.Splits, train: data.Splits) -> TestSets:
    """`target`'s test texts unseen in training (see `unseen`), and the other test sets (see `held_out`)."""
    notices = list(train.notices) + (list(target.notices) if train is not target else [])
    test, leaked = unseen(target.test, train)
    if leaked:
        notices.append(say("notice.test_overlap", count=f"{leaked:,}"))
    return TestSets(test, held_out(ctx, target, train), notices)


def unseen(test: pd.DataFrame, train: data.Splits) -> tuple[pd.DataFrame, int]:
    """(`test` without any text of the training data, how many it lost): datasets can share texts (RT and
    VADER movies do)."""
    return data.drop_overlap(test, train.train, train.validation)


def held_out(ctx: RunContext, target: data.Splits, train: data.Splits) -> dict[str, HeldOut]:
    """By dataset key: the source's own test set in a cross-domain run, and every dataset in `also_test_on`."""
    config, held = ctx.config, {}
    if config.kind == "cross_domain":
        held[config.source_dataset] = HeldOut(say("result.source_test", name=train.name), train.test)
    for key in config.also_test_on or []:
        if key in (config.dataset, config.source_dataset):
            continue
        other = load_data(config, key, None, ctx.sources)
        if list(other.label_names) != list(target.label_names):
            raise data.DataError(say("error.other_labels", other=other.name, target=target.name))
        held[key] = HeldOut(say("result.test_on", name=other.name), unseen(other.test, train)[0])
    return held


# -- training ----------------------------------------------------------------------------------------------------

def warm_start_head(ctx: RunContext, start: Start, tokenizer, train: data.Splits, target: data.Splits,
                    budget: Budget) -> Budget:
    """Give the fresh head its start (see `warmstart`); returns the budget left for fine-tuning."""
    config, began = ctx.config, time.monotonic()
    if config.warm_start == "descriptions":
        descriptions = descriptions_for(config, config.dataset, target.label_names)
        warmstart.from_descriptions(start.model, tokenizer, descriptions, config.max_length)
    elif config.warm_start == "probe":
        ctx.enter(say("phase.warm_start"))
        outcome = probe.fit_linear_probe(start.model, tokenizer, train.train, train.validation, config, ctx.log,
                                         ctx.cancel, budget.share(warmstart.PROBE_SHARE),
                                         ctx.feature_cache(start.pretrained),
                                         max_texts=None if budget.seconds else warmstart.PROBE_TEXTS)
        ctx.record.warm_start_probe = {"examples_seen": outcome.examples_seen, "seconds": round(outcome.seconds, 1)}
    return budget.after_warm_start(time.monotonic() - began)


@dataclass(frozen=True)
class ParamCounts:
    trainable: int
    total: int


def frozen_bottom(ctx: RunContext, model, tokenizer, pretrained: bool) -> frozen.Bottom | None:
    """Under top layers, the frozen bottom whose outputs the layers above train from (see `frozen`); for an
    untouched pretrained encoder on a bundled dataset it starts from, and adds to, the machine's shared store."""
    config = ctx.config
    if config.method != "top_layers":  # (LoRA's peft model has no plain layer list to count)
        return None
    layers = len(encoder_layers(model)) - config.top_layers
    if layers < 1:
        return None
    store = None
    if pretrained and ctx.bundled():
        store = frozen_store.entry(config.model, train_dataset(config), config.max_length, layers)
    return frozen.Bottom(model, tokenizer, layers, config.max_length, store=store)


def prepare(ctx: RunContext, model) -> tuple[object, ParamCounts]:
    """The model as the run's method trains it (see `methods`), and its parameter counts."""
    from transformers import set_seed

    set_seed(ctx.config.seed)  # peft initialises LoRA adapters from the global RNG
    methods.set_dropout(model, ctx.config.dropout)
    model = methods.prepare(model.to(ctx.device), ctx.config)
    trainable, total = models.count_parameters(model)
    return model, ParamCounts(trainable, total)


def train_stage(ctx: RunContext, model, tokenizer, splits: data.Splits, what: Message, budget: Budget,
                pretrained: bool, bottom: frozen.Bottom | None = None) -> FitOutcome:
    """One training stage with the run's method, in the record as `what`."""
    log = ctx.log
    ctx.enter(what)
    log.losses, log.evals, log.step = [], [], 0
    if ctx.config.method == "linear_probe":
        outcome = probe.fit_linear_probe(model, tokenizer, splits.train, splits.validation, ctx.config, log,
                                         ctx.cancel, budget.seconds, ctx.feature_cache(pretrained))
    else:
        outcome = fine_tune(model, tokenizer, splits.train, splits.validation, ctx.config, log, ctx.cancel,
                            ctx.device, budget.seconds, budget.steps, bottom)
    ctx.record.add(what, outcome)
    return outcome


def adapt(ctx: RunContext, model, tokenizer, target: data.Splits, bottom: frozen.Bottom | None, *,
          spent: float) -> FitOutcome:
    """Cross-domain's second stage: a few labelled target examples per class, in the rest of the budget: the
    run's one budget less the `spent` seconds since training began (what the first stage and its scoring took
    beyond their share comes off this one, down to half of its share)."""
    config = ctx.config
    examples = dataclasses.replace(target, train=data.take_per_class(target.train, config.adapt_per_class,
                                                                     config.seed))
    budget = Budget.for_stage(config, others=1 - ADAPT_SHARE)
    if budget.seconds:
        budget = dataclasses.replace(budget, seconds=max(budget.seconds / 2, config.time_budget_s - spent))
    return train_stage(ctx, model, tokenizer, examples, say("phase.adapting", k=config.adapt_per_class),
                       budget, pretrained=False, bottom=bottom)


# -- scoring -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HeadMetrics:
    """The starting model's head on the test texts: untrained ("before") and warm-started (None: no warm start)."""

    before: Metrics
    start: Metrics | None

    def subset(self, keep: np.ndarray, labels: list[int], num_labels: int) -> HeadMetrics:
        before, start = (m and m.subset(keep, labels, num_labels) for m in (self.before, self.start))
        return HeadMetrics(before, start)


@dataclass(frozen=True)
class HeadScorer:
    """Scores a model's current head from the test texts' features (the input of its last linear layer): the
    untrained and the warm-started head share one forward pass, and so does a linear probe's trained model (only
    its head moved)."""

    features: np.ndarray
    labels: list[int]

    @classmethod
    def on(cls, ctx: RunContext, model, tokenizer, test: pd.DataFrame, pretrained: bool) -> HeadScorer:
        texts, cache = test.text.tolist(), ctx.feature_cache(pretrained)
        return cls(probe.features(model, tokenizer, texts, ctx.config.max_length, cache), test.label.tolist())

    def score(self, model) -> Metrics:
        return warmstart.head_metrics(model, self.features, self.labels)

    def subset(self, keep: np.ndarray) -> HeadScorer:
        return HeadScorer(self.features[keep], [self.labels[i] for i in keep])


@dataclass(frozen=True)
class Scored:
    """The trained model's test metrics, and its starting head's on the very same test texts."""

    test: pd.DataFrame
    heads: HeadMetrics
    after: Metrics


def score_held_out(ctx: RunContext, model, tokenizer, held_out: dict[str, HeldOut],
                   bottom: frozen.Bottom | None = None) -> Scores:
    """Metrics on the other test sets by name; their accuracies go into the record's transfer-matrix row."""
    ctx.log.enter(say("phase.scoring_others"))
    scores = Scores()
    for key, other in held_out.items():
        scores.add(other.name, _evaluate(ctx, model, tokenizer, other.test, bottom))
        ctx.record.by_dataset[key] = scores[str(other.name)].accuracy
    return scores


def score_trained(ctx: RunContext, model, tokenizer, test: pd.DataFrame, heads: HeadMetrics, *, stopped: bool,
                  num_labels: int, bottom: frozen.Bottom | None = None, head: HeadScorer | None = None) -> Scored:
    """The trained model on `test`: all of it, or after Stop a fixed sample, with `heads` rescored on it."""
    if stopped and len(test) > STOPPED_TEST_SAMPLE:
        # Stop should feel immediate: score a fixed random sample, and the earlier metrics on the same sample.
        keep = np.sort(np.random.default_rng(ctx.config.seed).choice(len(test), STOPPED_TEST_SAMPLE, replace=False))
        test, head = test.iloc[keep], head and head.subset(keep)
        heads = heads.subset(keep, test.label.tolist(), num_labels)
    return Scored(test, heads, after=_evaluate(ctx, model, tokenizer, test, bottom, head))


def _evaluate(ctx: RunContext, model, tokenizer, test: pd.DataFrame, bottom: frozen.Bottom | None = None,
              head: HeadScorer | None = None) -> Metrics:
    """The model on `test`: from the test texts' features when only its head trained (`head`), through its frozen
    bottom's outputs where it has one (the same metrics, faster), else the whole model."""
    if head is not None:
        return head.score(model)
    if bottom is not None:
        return bottom.evaluate(test)
    return evaluate(model, tokenizer, test.text.tolist(), test.label.tolist(), ctx.config.max_length)


# -- what the run reports ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TestCounts:
    scored: int  # test texts scored (a sample after Stop)
    split: int  # test texts in the split, unseen in training


def run_stats(ctx: RunContext, last: FitOutcome, *, params: ParamCounts, test: TestCounts,
              notices: list[Message]) -> RunStats:
    """What the run did and cost: its record's stages summed, and `last`, its last training stage."""
    config, record, outcomes = ctx.config, ctx.record, ctx.record.outcomes
    steps = sum(o.steps for o in outcomes)
    examples = sum(o.examples_seen for o in outcomes)
    seconds = sum(o.seconds for o in outcomes) or last.seconds
    return RunStats(
        device=ctx.device, kind=config.kind, method=config.method, steps=steps,
        epochs=round(examples / max(1, last.train_examples), 2), examples_seen=examples,
        train_seconds=round(seconds, 1), examples_per_s=round(examples / seconds, 1) if examples else None,
        tokens_per_s=round(sum(o.tokens_seen for o in outcomes) / seconds) if examples else None,
        trainable_params=params.trainable, total_params=params.total,
        trainable_pct=round(100 * params.trainable / params.total, 3),
        train_examples=last.train_examples, test_examples=test.scored, test_split_examples=test.split,
        best_step=last.best_step, warm_start=config.warm_start, warm_start_probe=record.warm_start_probe,
        stopped_by_user=last.stopped_by_user, stages=record.stages, accuracy_by_dataset=record.by_dataset,
        plan=ctx.plan, notices=notices)


def _result(ctx: RunContext, target: data.Splits, scored: Scored, stats: RunStats, *, model, tokenizer,
            scores: Scores) -> RunResult:
    test, labels = scored.test, list(target.label_names)
    return RunResult(config=ctx.config, model=model, tokenizer=tokenizer, label_names=labels,
                     dataset_name=target.name, before=scored.heads.before, after=scored.after,
                     misclassified=misclassified(test.text.tolist(), test.label.tolist(), scored.after, labels),
                     stats=stats, log=ctx.log, scores=scores, start=scored.heads.start)


def train_dataset(config: RunConfig) -> str:
    """The dataset a run trains on: the source for cross-domain transfer, else the target."""
    return config.source_dataset if config.kind == "cross_domain" else config.dataset


def first_stage_config(config: RunConfig) -> RunConfig:
    """Sequential transfer's first stage: the same model, method and budget, in-domain on the source."""
    return dataclasses.replace(config, kind="in_domain", dataset=config.source_dataset, source_dataset=None,
                               per_class=None, label_map=None, adapt_per_class=0, label_descriptions=None)


def resolve_head(config: RunConfig) -> RunConfig:
    """`config` with its pooling and warm start made concrete ("auto": the encoder's own pooling, see `warmstart`)."""
    pooling = models.chosen_pooling(config.model, config.pooling)
    return dataclasses.replace(config, pooling=pooling, warm_start=warmstart.resolve(config, pooling))


def descriptions_for(config: RunConfig, dataset: str, label_names: list[str]) -> list[str]:
    """The run's label descriptions, or the defaults for the dataset's task."""
    from ..data.descriptions import default_descriptions

    spec = data.DATASETS.get(dataset)
    return list(config.label_descriptions or default_descriptions(label_names, spec.task if spec else ""))


def _learning_notices(outcome: FitOutcome, after: Metrics, label_names: list[str], warm_start: str) -> list[Message]:
    """One sentence when training learned nothing: a run says so rather than showing a collapsed classifier."""
    notices = []
    if outcome.steps and not outcome.improved and not outcome.stopped_by_user:
        start = say("part.start.warm" if warm_start != "none" else "part.start.random")
        notices.append(say("notice.never_beat", start=start))
    predicted = set(after.predictions)
    if len(label_names) > 1 and len(predicted) == 1:
        notices.append(say("notice.one_prediction", label=label_names[predicted.pop()]))
    return notices


def relabel(source: data.Splits, target_labels: list[str], label_map: dict[str, str] | None) -> data.Splits:
    """`source` with its labels renamed into the target's label space; unmapped source classes are dropped."""
    if label_map is None:
        by_name = {name.casefold(): name for name in target_labels}
        label_map = {name: by_name[name.casefold()] for name in source.label_names if name.casefold() in by_name}
    unknown = set(label_map.values()) - set(target_labels)
    missing = [name for name in target_labels if name not in label_map.values()]
    if unknown or missing or set(label_map) - set(source.label_names):
        raise data.DataError(say("error.label_map_fit", source=", ".join(source.label_names),
                                 target=", ".join(target_labels)))
    codes = {i: target_labels.index(label_map[name]) for i, name in enumerate(source.label_names) if name in label_map}

    def convert(frame: pd.DataFrame) -> pd.DataFrame:
        kept = frame[frame.label.isin(codes)]
        return kept.assign(label=kept.label.map(codes)).reset_index(drop=True)

    return data.Splits(convert(source.train), convert(source.validation), convert(source.test), list(target_labels),
                       source.name, list(source.notices))


class _PeakMemory:
    """Peak memory a run adds: CUDA memory allocated on a GPU, resident memory (sampled) on a CPU."""

    def __init__(self, device: str):
        self.device, self.peak_mb = device, None
        self._done = threading.Event()

    def __enter__(self):
        if self.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
            self._start = torch.cuda.memory_allocated()
        else:
            process = psutil.Process()
            self._start = self._peak = process.memory_info().rss
            self._thread = threading.Thread(target=self._sample, args=(process,), daemon=True)
            self._thread.start()
        return self

    def _sample(self, process) -> None:
        while not self._done.wait(0.05):
            self._peak = max(self._peak, process.memory_info().rss)

    def __exit__(self, *exc):
        if self.device == "cuda":
            peak = torch.cuda.max_memory_allocated()
        else:
            self._done.set()
            self._thread.join()
            peak = self._peak
        self.peak_mb = round((peak - self._start) / 2**20, 1)
        return False
