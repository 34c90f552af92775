"""Transfer runs, one function per kind, all on the same steps.

`run_transfer(config, log, cancel)` loads the data the kind needs, builds the starting model
(pretrained, random for the control, or a source-trained encoder for sequential transfer),
scores its untrained head ("before"), warm-starts the head (`warmstart`) and scores that start,
trains with the run's method on a time budget and scores the result ("after") on held-out test
data; training never returns a model below its start on the validation sample. The UI polls
`log` from another thread; setting `cancel` stops the run within a step, keeping the best
checkpoint so far.
"""
from __future__ import annotations

import dataclasses
import functools
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import psutil
import torch

from .. import data, models
from ..config import HUB_PREFIX, RunConfig
from ..models.evaluation import Metrics, evaluate, misclassified
from ..messages import Message, say
from ..progress import RunCancelled, RunStats, TrainingLog, stage_phase
from . import methods, probe, warmstart
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
    run = _Run(config, reasons, log, cancel, sources)
    with _PeakMemory(run.device) as memory:
        result = KIND_FUNCTIONS[config.kind](run, start_from)
    result.stats.peak_memory_mb, result.stats.total_seconds = memory.peak_mb, round(run.log.elapsed(), 1)
    return result


# -- the kinds: one function each, from the shared steps of `_Run` -----------------------------------------------

def in_domain(run: "_Run", start_from: str | None = None) -> RunResult:
    """Train and test on the target dataset's own splits, from the pretrained encoder."""
    return run.transfer(*run.data(), run.pretrained_start)


def from_scratch(run: "_Run", start_from: str | None = None) -> RunResult:
    """The same run from random weights: the control that shows what pretraining is worth."""
    return run.transfer(*run.data(), run.random_start)


def sequential(run: "_Run", start_from: str | None = None) -> RunResult:
    """Fine-tune on the source task first (or start from that stage's saved weights), then on the target."""
    return run.transfer(*run.data(), functools.partial(run.source_trained_start, start_from))


def cross_domain(run: "_Run", start_from: str | None = None) -> RunResult:
    """Train on the source (relabelled into the target's labels), test on the target, then adapt with k
    labelled target examples per class."""
    return run.transfer(*run.data(), run.pretrained_start, adapt_per_class=run.config.adapt_per_class)


def zero_shot(run: "_Run", start_from: str | None = None) -> RunResult:
    """No target labels: each test text goes to the label whose description it matches best."""
    from . import zeroshot

    config, log = run.config, run.log
    target = run.data()[0]
    run.enter(say("phase.scoring_untrained"))
    tokenizer = models.load_tokenizer(config.model)
    head = models.pretrained_classifier(config.model, target.label_names, config.seed, config.pooling)
    test_features = probe.features(head, tokenizer, target.test.text.tolist(), config.max_length,
                                   run.feature_cache(pretrained=True))
    before = warmstart.head_metrics(head, test_features, target.test.label.tolist())
    run.enter(say("phase.zero_shot"))
    log.train_started = time.monotonic()
    result = zeroshot.zero_shot(target.test.text.tolist(), target.test.label.tolist(), target.label_names,
                                descriptions_for(config, config.dataset, target.label_names),
                                model_key=config.model, nli_model=config.nli_model, max_length=config.max_length)
    log.enter(say("phase.done"))
    _, total = models.count_parameters(head)
    outcome = FitOutcome(0, 0, 0, result.seconds, 0, 0, False)
    run.stages.append({"stage": "zero-shot " + result.method, "seconds": round(result.seconds, 1)})
    stats = run.stats(outcome, 0, total, len(target.test), len(target.test), list(target.notices))
    stats.descriptions, stats.zero_shot_method = result.descriptions, result.method
    return RunResult(config=config, model=None, tokenizer=tokenizer, label_names=list(target.label_names),
                     dataset_name=target.name, before=before, after=result.metrics,
                     misclassified=misclassified(target.test.text.tolist(), target.test.label.tolist(),
                                                 result.metrics, target.label_names),
                     stats=stats, log=log)


KIND_FUNCTIONS = {"in_domain": in_domain, "cross_domain": cross_domain, "zero_shot": zero_shot,
                  "sequential": sequential, "from_scratch": from_scratch}


class _Run:
    """One run's shared state and the steps every kind is made of."""

    def __init__(self, config: RunConfig, reasons: list[str], log: TrainingLog, cancel: threading.Event,
                 sources: dict):
        self.config, self.log, self.cancel, self.sources = config, log, cancel, sources
        self.plan_reasons = reasons  # why "auto" chose what it chose
        self.device = models.pick_device()
        self.stages: list[dict] = []  # what each training stage did, for the report
        self.outcomes: list[FitOutcome] = []
        self.by_dataset: dict[str, float] = {}  # accuracy on each dataset tested on, for the transfer matrix
        self.warm_start_stats: dict | None = None  # what a linear-probe warm start took

    def enter(self, phase) -> None:
        """The next phase, if Stop was not pressed; a Stop seen here means no new model: the previous one stays."""
        if self.cancel.is_set():
            raise RunCancelled(say("notice.stopped_before"))
        self.log.enter(phase)

    def data(self) -> tuple[data.Splits, data.Splits]:
        """(target, training data), as `training_data`."""
        self.enter(say("phase.loading_data"))
        return training_data(self.config, self.sources)

    # -- where the model starts: (model to train, is it the untouched pretrained encoder, first-stage scores) --

    def pretrained_start(self, label_names: list[str]):
        config = self.config
        pretrained = models.pretrained_classifier(config.model, label_names, config.seed, config.pooling)
        return models.trainable_copy(pretrained), True, Scores()

    def random_start(self, label_names: list[str]):
        from transformers import set_seed

        config = self.config
        pretrained = models.pretrained_classifier(config.model, label_names, config.seed, config.pooling)
        set_seed(config.seed)
        scratch = type(pretrained)._from_config(pretrained.config, attn_implementation="eager")
        return models.trainable_copy(scratch), False, Scores()

    def source_trained_start(self, start_from: str | None, label_names: list[str]):
        model = self.pretrained_start(label_names)[0]
        if start_from is not None:
            models.load_encoder_weights(model, start_from)
            return model, False, Scores()
        first = self._first_stage()
        model.base_model.load_state_dict(first.model.base_model.state_dict())
        return model, False, Scores().add(say("result.source_after_stage1", name=first.dataset_name), first.after)

    def _first_stage(self) -> "RunResult":
        self.log.stage = stage_phase(1, 2, self.config.source_dataset)
        first = _Run(first_stage_config(self.config), [], self.log, self.cancel, self.sources)
        result = in_domain(first)
        if result.stats.stopped_by_user:
            raise RunCancelled(say("notice.stopped_first_stage"))
        self.stages.extend(first.stages)
        self.outcomes.extend(first.outcomes)
        self.log.stage = stage_phase(2, 2)
        return result

    # -- the story every trained kind tells ------------------------------------------------------------------

    def transfer(self, target: data.Splits, train: data.Splits, starting_model, adapt_per_class: int = 0) -> RunResult:
        """Score the starting model's head, warm-start it, train on `train`, (adapt on `adapt_per_class` target
        examples per class), score the result on `target`'s unseen test texts."""
        config = self.config
        notices = list(train.notices) + (list(target.notices) if train is not target else [])
        test, notices = self._unseen(target.test, train, notices)
        held_out = self._held_out(target, train)
        self.enter(say("phase.loading_model"))
        tokenizer = models.load_tokenizer(config.model)
        model, pretrained, scores = starting_model(target.label_names)
        self.enter(say("phase.scoring_untrained"))
        test_features = probe.features(model, tokenizer, test.text.tolist(), config.max_length,
                                       self.feature_cache(pretrained))
        before = warmstart.head_metrics(model, test_features, test.label.tolist())
        budget, steps = self._stage_budget(ADAPT_SHARE if adapt_per_class else 0)
        budget = self._warm_start(model, tokenizer, train, target, budget, pretrained)
        start = warmstart.head_metrics(model, test_features, test.label.tolist()) if config.warm_start != "none" else None
        model, trainable, total = self._prepare(model)
        outcome = self._train(model, tokenizer, train, say("phase.training_on", name=train.name), budget, steps, pretrained)
        self._score_held_out(model, tokenizer, held_out, scores)
        if adapt_per_class and not outcome.stopped_by_user:
            outcome = self._adapt(model, tokenizer, target, test, scores)
        model = methods.finish(model)
        self.log.enter(say("phase.scoring_trained"))
        test, (before, start), after = self._score_trained(model, tokenizer, test, (before, start),
                                                           outcome.stopped_by_user, len(target.label_names))
        self.by_dataset[config.dataset] = after.accuracy
        models.for_inspection(model)  # after scoring: eager attention is slower, but the views need it
        self.log.enter(say("phase.stopped" if outcome.stopped_by_user else "phase.done"))
        notices = notices + _learning_notices(outcome, after, target.label_names, config.warm_start)
        stats = self.stats(outcome, trainable, total, len(test), len(target.test), notices)
        return RunResult(config=config, model=model, tokenizer=tokenizer, label_names=list(target.label_names),
                         dataset_name=target.name, before=before, after=after,
                         misclassified=misclassified(test.text.tolist(), test.label.tolist(), after, target.label_names),
                         stats=stats, log=self.log, scores=scores, start=start)

    def _score_held_out(self, model, tokenizer, held_out: dict, scores: dict) -> None:
        self.log.enter(say("phase.scoring_others"))
        for key, (name, frame) in held_out.items():
            scores.add(name, evaluate(model, tokenizer, frame.text.tolist(), frame.label.tolist(), self.config.max_length))
            self.by_dataset[key] = scores[str(name)].accuracy

    def _adapt(self, model, tokenizer, target: data.Splits, test: pd.DataFrame, scores: dict) -> FitOutcome:
        """Cross-domain's second stage: a few labelled target examples per class, in the rest of the budget."""
        config = self.config
        scores.add(say("result.target_before_adapting"), evaluate(model, tokenizer, test.text.tolist(),
                                                                  test.label.tolist(), config.max_length))
        adapt = dataclasses.replace(target, train=data.take_per_class(target.train, config.adapt_per_class,
                                                                      config.seed))
        budget, steps = self._stage_budget(1 - ADAPT_SHARE)
        return self._train(model, tokenizer, adapt, say("phase.adapting", k=config.adapt_per_class), budget, steps,
                           pretrained=False)

    def feature_cache(self, pretrained: bool) -> dict | None:
        """Features of an untouched pretrained encoder on bundled data are kept per process; nothing else is."""
        config = self.config
        bundled = all(key in data.DATASETS for key in (config.dataset, config.source_dataset) if key)
        return probe.feature_cache((config.model, config.max_length, config.pooling)) if pretrained and bundled else None

    def _warm_start(self, model, tokenizer, train: data.Splits, target: data.Splits, budget, pretrained):
        """Give the fresh head its start (see `warmstart`); returns the time budget left for fine-tuning."""
        config, started = self.config, time.monotonic()
        if config.warm_start == "descriptions":
            warmstart.from_descriptions(model, tokenizer, descriptions_for(config, config.dataset, target.label_names),
                                        config.max_length)
        elif config.warm_start == "probe":
            self.enter(say("phase.warm_start"))
            share = budget * warmstart.PROBE_SHARE if budget else None
            outcome = probe.fit_linear_probe(model, tokenizer, train.train, train.validation, config, self.log,
                                             self.cancel, share, self.feature_cache(pretrained),
                                             max_texts=None if budget else warmstart.PROBE_TEXTS)
            self.warm_start_stats = {"examples_seen": outcome.examples_seen, "seconds": round(outcome.seconds, 1)}
        if budget:
            budget = max(budget * (1 - warmstart.PROBE_SHARE), budget - (time.monotonic() - started))
        return budget

    def _unseen(self, test: pd.DataFrame, train: data.Splits, notices: list[str]) -> tuple[pd.DataFrame, list[str]]:
        """`test` without any text of the training data: datasets can share texts (RT and VADER movies do)."""
        test, leaked = data.drop_overlap(test, train.train, train.validation)
        if leaked:
            notices = notices + [say("notice.test_overlap", count=f"{leaked:,}")]
        return test, notices

    def _held_out(self, target: data.Splits, train: data.Splits) -> dict[str, tuple[str, pd.DataFrame]]:
        """{dataset key: (name, test texts unseen in training)}: the source's own test set in a
        cross-domain run, and every dataset in `also_test_on`."""
        config, held_out = self.config, {}
        if config.kind == "cross_domain":
            held_out[config.source_dataset] = (say("result.source_test", name=train.name), train.test)
        for key in config.also_test_on or []:
            if key in (config.dataset, config.source_dataset):
                continue
            other = load_data(config, key, None, self.sources)
            if list(other.label_names) != list(target.label_names):
                raise data.DataError(say("error.other_labels", other=other.name, target=target.name))
            held_out[key] = (say("result.test_on", name=other.name), self._unseen(other.test, train, [])[0])
        return held_out

    def _prepare(self, model):
        from transformers import set_seed

        set_seed(self.config.seed)  # peft initialises LoRA adapters from the global RNG
        methods.set_dropout(model, self.config.dropout)
        model = methods.prepare(model.to(self.device), self.config)
        trainable, total = models.count_parameters(model)
        return model, trainable, total

    def _stage_budget(self, other_share: float) -> tuple[float | None, int | None]:
        """This stage's (time budget, max steps): the run's, less the share other stages take."""
        config = self.config
        budget = config.time_budget_s * (1 - other_share) if config.time_budget_s else None
        steps = max(1, round(config.max_steps * (1 - other_share))) if config.max_steps else None
        return budget, steps

    def _train(self, model, tokenizer, splits: data.Splits, what, budget, steps, pretrained: bool) -> FitOutcome:
        self.enter(what)
        self.log.losses, self.log.evals, self.log.step = [], [], 0
        if self.config.method == "linear_probe":
            from .probe import fit_linear_probe

            outcome = fit_linear_probe(model, tokenizer, splits.train, splits.validation, self.config, self.log,
                                       self.cancel, budget, self.feature_cache(pretrained))
        else:
            outcome = fine_tune(model, tokenizer, splits.train, splits.validation, self.config, self.log,
                                self.cancel, self.device, budget, steps)
        self.stages.append({"stage": str(what), "phase": {"key": what.key, "params": dict(what.params)},  # UI's
                            "steps": outcome.steps, "examples_seen": outcome.examples_seen,
                            "seconds": round(outcome.seconds, 1), "stopped_by_user": outcome.stopped_by_user})
        self.outcomes.append(outcome)
        return outcome

    def _score_trained(self, model, tokenizer, test: pd.DataFrame, earlier: tuple, stopped: bool, num_labels: int):
        """(test examples scored, `earlier` metrics (None stays None), after) on the same examples."""
        if stopped and len(test) > STOPPED_TEST_SAMPLE:
            # Stop should feel immediate: score a fixed random sample, and the earlier metrics on the same sample.
            keep = np.sort(np.random.default_rng(self.config.seed).choice(len(test), STOPPED_TEST_SAMPLE, replace=False))
            test = test.iloc[keep]
            earlier = tuple(m and m.subset(keep, test.label.tolist(), num_labels) for m in earlier)
        after = evaluate(model, tokenizer, test.text.tolist(), test.label.tolist(), self.config.max_length)
        return test, earlier, after

    def stats(self, last: FitOutcome, trainable: int, total: int, scored: int, test_size: int, notices) -> RunStats:
        outcomes = self.outcomes
        steps = sum(o.steps for o in outcomes)
        examples = sum(o.examples_seen for o in outcomes)
        seconds = sum(o.seconds for o in outcomes) or last.seconds
        return RunStats(
            device=self.device, kind=self.config.kind, method=self.config.method, steps=steps,
            epochs=round(examples / max(1, last.train_examples), 2), examples_seen=examples,
            train_seconds=round(seconds, 1), examples_per_s=round(examples / seconds, 1) if examples else None,
            tokens_per_s=round(sum(o.tokens_seen for o in outcomes) / seconds) if examples else None,
            trainable_params=trainable, total_params=total, trainable_pct=round(100 * trainable / total, 3),
            train_examples=last.train_examples, test_examples=scored, test_split_examples=test_size,
            best_step=last.best_step, warm_start=self.config.warm_start, warm_start_probe=self.warm_start_stats,
            stopped_by_user=last.stopped_by_user, stages=self.stages, accuracy_by_dataset=self.by_dataset,
            plan=self.plan_reasons, notices=notices)


def first_stage_config(config: RunConfig) -> RunConfig:
    """Sequential transfer's first stage: the same model, method and budget, in-domain on the source."""
    return dataclasses.replace(config, kind="in_domain", dataset=config.source_dataset, source_dataset=None,
                               per_class=None, label_map=None, adapt_per_class=0, label_descriptions=None)


def resolve_head(config: RunConfig) -> RunConfig:
    """`config` with its pooling and warm start made concrete ("auto": the encoder's own pooling, see `warmstart`)."""
    pooling = models.natural_pooling(config.model) if config.pooling == "auto" else config.pooling
    return dataclasses.replace(config, pooling=pooling, warm_start=warmstart.resolve(config, pooling))


def descriptions_for(config: RunConfig, dataset: str, label_names: list[str]) -> list[str]:
    """The run's label descriptions, or the defaults for the dataset's task."""
    from ..data.descriptions import default_descriptions

    spec = data.DATASETS.get(dataset)
    return list(config.label_descriptions or default_descriptions(label_names, spec.task if spec else ""))


def _learning_notices(outcome: FitOutcome, after: Metrics, label_names: list[str], warm_start: str) -> list[str]:
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
