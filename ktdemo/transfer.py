"""Transfer fine-tuning on a time budget, with live progress and a stop button.

`run_transfer(config, log, cancel)` is the whole story, top to bottom: load data and the pretrained
model, score the untrained head ("before"), fit as many steps as the budget allows with the
Hugging Face Trainer, keep the best checkpoint seen on validation, score it on the test split ("after").
The UI polls `log` from another thread; setting `cancel` stops the run within a step.
"""
from __future__ import annotations

import dataclasses
import math
import tempfile
import threading
import time
from dataclasses import dataclass

import numpy as np
import torch
from datasets import Dataset
from transformers import DataCollatorWithPadding, PrinterCallback, Trainer, TrainerCallback, TrainingArguments

from . import data, models
from .evaluation import Metrics, evaluate, misclassified
from .runs import HUB_PREFIX, RunCancelled, RunConfig, RunFailed, TrainingLog

VALIDATION_SAMPLE = 128  # periodic checks use a fixed sample: ~1 s on 2 CPU cores, ~10% of the budget
STOPPED_TEST_SAMPLE = 256  # after Stop, test metrics on a sample: ~2 s on 2 CPU cores instead of ~10


# The untrained head's test metrics depend only on these; a bundled dataset's are computed once per process.
_BEFORE_CACHE: dict[tuple, Metrics] = {}


@dataclass
class RunResult:
    config: RunConfig
    model: object
    tokenizer: object
    label_names: list[str]
    dataset_name: str
    before: Metrics
    after: Metrics
    misclassified: list[dict]
    stats: dict
    log: TrainingLog


def load_data(config: RunConfig) -> data.Splits:
    """The run's splits from its config: a bundled dataset or a Hub dataset (needs a network)."""
    if config.dataset.startswith(HUB_PREFIX):
        return data.load_hub(config.dataset[len(HUB_PREFIX):], config.dataset_config, config.dataset_split,
                             config.text_column, config.label_column, seed=config.seed, per_class=config.per_class)
    if config.dataset not in data.DATASETS:
        raise data.DataError(f"There is no dataset '{config.dataset[:80]}'; pick one from the list.")
    return data.load_splits(config.dataset, seed=config.seed, per_class=config.per_class)


def run_transfer(config: RunConfig, log: TrainingLog | None = None, cancel: threading.Event | None = None,
                 splits: data.Splits | None = None) -> RunResult:
    """Train per `config`; `splits` overrides the config's dataset (an upload kept in the session)."""
    log = log or TrainingLog()
    cancel = cancel or threading.Event()
    device = models.pick_device()

    def enter(phase: str) -> None:
        if cancel.is_set():
            raise RunCancelled("Stopped before training began; the previous model is unchanged.")
        log.phase = phase

    enter("loading data")
    if splits is None:
        splits = load_data(config)
    elif config.per_class:
        splits = dataclasses.replace(splits, train=data.take_per_class(splits.train, config.per_class, config.seed))
    enter("loading model")
    tokenizer = models.load_tokenizer(config.model)
    model = models.trainable_copy(models.pretrained_classifier(config.model, splits.label_names, config.seed))
    model.to(device)
    _freeze_bottom(model, config.freeze_embeddings, config.freeze_layers)
    trainable, total = models.count_parameters(model)
    enter("scoring the untrained head")
    before = _score_untrained(model, tokenizer, splits, config)
    enter("training")
    trainer, keeper = _fit(model, tokenizer, splits, config, log, cancel, device)
    log.phase = "scoring the trained model"
    test, before, after = _score_trained(model, tokenizer, splits, config, trainer, keeper, before)
    models.for_inspection(model)  # after scoring: eager attention is slower, but the views need it
    log.phase = "stopped" if keeper.stopped_by_user else "done"

    steps, train_seconds = trainer.state.global_step, keeper.train_seconds
    examples_seen = steps * config.batch_size
    stats = {
        "device": device,
        "steps": steps,
        "epochs": round(examples_seen / max(1, len(splits.train)), 2),
        "examples_seen": examples_seen,
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(log.elapsed(), 1),
        "examples_per_s": round(examples_seen / max(train_seconds, 1e-9), 1),
        "tokens_per_s": round(trainer.state.num_input_tokens_seen / max(train_seconds, 1e-9)),
        "trainable_params": trainable,
        "total_params": total,
        "train_examples": len(splits.train),
        "test_examples": len(test),
        "test_split_examples": len(splits.test),
        "best_step": keeper.best_step,
        "stopped_by_user": keeper.stopped_by_user,
        "notices": splits.notices,
    }
    return RunResult(config=config, model=model, tokenizer=tokenizer, label_names=list(splits.label_names),
                     dataset_name=splits.name, before=before, after=after,
                     misclassified=misclassified(test.text.tolist(), test.label.tolist(), after, splits.label_names),
                     stats=stats, log=log)


def _score_untrained(model, tokenizer, splits: data.Splits, config: RunConfig) -> Metrics:
    """The pretrained encoder with its fresh head on the test split: the "before" of every run."""
    key = (config.model, config.dataset, config.seed, config.max_length, tuple(splits.label_names))
    if config.dataset not in data.DATASETS or key not in _BEFORE_CACHE:
        _BEFORE_CACHE[key] = evaluate(model, tokenizer, splits.test.text.tolist(), splits.test.label.tolist(),
                                      config.max_length)
    return _BEFORE_CACHE[key]


def _fit(model, tokenizer, splits: data.Splits, config: RunConfig, log: TrainingLog, cancel: threading.Event,
         device: str) -> tuple[Trainer, "_RunCallback"]:
    """The Trainer loop, until the budget, the step count or Stop ends it; raises RunFailed on a NaN loss."""
    train_set = _tokenize(splits.train, tokenizer, config.max_length)
    val_sample = splits.validation.sample(min(VALIDATION_SAMPLE, len(splits.validation)), random_state=config.seed)
    collator = DataCollatorWithPadding(tokenizer)
    step_s = _seconds_per_step(model, collator, train_set, config, device)
    optimizer = _optimizer(model, config)
    by_time = config.time_budget_s is not None and config.max_steps is None
    if by_time:  # the budget decides when to stop; the step count is only an upper bound
        max_steps, scheduler = 3 * math.ceil(config.time_budget_s / step_s) + 10, _time_schedule(optimizer, log, config)
    else:  # a fixed step count (or one epoch): exactly reproducible; the Trainer makes the step schedule
        max_steps, scheduler = config.max_steps or math.ceil(len(train_set) / config.batch_size), None
    log.max_steps, log.budget_s = (0 if by_time else max_steps), config.time_budget_s

    keeper = _RunCallback(log, cancel, config.time_budget_s)
    trainer = Trainer(
        model=model,
        args=_training_arguments(config, max_steps, eval_steps=_steps_between_checks(config, step_s), device=device),
        train_dataset=train_set,
        eval_dataset=_tokenize(val_sample, tokenizer, config.max_length),
        data_collator=collator,
        processing_class=tokenizer,
        compute_metrics=lambda p: {"accuracy": float((p.predictions.argmax(-1) == p.label_ids).mean())},
        callbacks=[keeper],
        optimizers=(optimizer, scheduler),
    )
    trainer.remove_callback(PrinterCallback)  # progress goes to the log, not to stdout
    log.train_started = time.monotonic()
    trainer.train()
    keeper.train_seconds = time.monotonic() - log.train_started
    if keeper.failure:
        raise RunFailed(keeper.failure)
    return trainer, keeper


def _score_trained(model, tokenizer, splits: data.Splits, config: RunConfig, trainer: Trainer,
                   keeper: "_RunCallback", before: Metrics):
    """Restore the best checkpoint and score it: (test examples scored, before, after) on the same examples."""
    if not keeper.stopped_by_user:
        trainer.evaluate()  # the final weights compete with the best checkpoint too
    if keeper.best_state is not None:  # None only when stopped before the first check: keep the weights as they are
        model.load_state_dict(keeper.best_state)
    test = splits.test
    if keeper.stopped_by_user and len(test) > STOPPED_TEST_SAMPLE:
        # Stop should feel immediate: score a fixed random sample, and the "before" on the same sample.
        keep = np.sort(np.random.default_rng(config.seed).choice(len(test), STOPPED_TEST_SAMPLE, replace=False))
        test = test.iloc[keep]
        before = before.subset(keep, test.label.tolist(), len(splits.label_names))
    after = evaluate(model, tokenizer, test.text.tolist(), test.label.tolist(), config.max_length)
    return test, before, after


def _steps_between_checks(config: RunConfig, step_s: float) -> int:
    """Every `eval_every_s`, but never so often that checks take over ~10% of the training time.

    A check is a forward pass over VALIDATION_SAMPLE texts: about a third of the cost of training on them.
    """
    cheapest = math.ceil(VALIDATION_SAMPLE / 3 / config.batch_size / 0.10)
    return max(cheapest, round(config.eval_every_s / step_s))


def _freeze_bottom(model, embeddings: bool, layers: int) -> None:
    """Freeze the embeddings and/or the lowest encoder layers (BERT-style `encoder.layer`, DistilBERT's
    `transformer.layer`): they keep their pretrained weights and need no backward pass."""
    base = model.base_model
    blocks = base.encoder.layer if hasattr(base, "encoder") else base.transformer.layer
    frozen = ([base.embeddings] if embeddings else []) + list(blocks[:layers])
    for module in frozen:
        module.requires_grad_(False)


def _optimizer(model, config: RunConfig) -> torch.optim.AdamW:
    head, body = [], []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            is_head = name.startswith(("classifier", "pre_classifier")) or ".pooler." in name
            (head if is_head else body).append(parameter)
    return torch.optim.AdamW([{"params": body, "lr": config.learning_rate},
                              {"params": head, "lr": config.learning_rate * config.head_lr_scale}],
                             weight_decay=0.01)


def _time_schedule(optimizer, log: TrainingLog, config: RunConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """Warm-up, then linear decay to zero, over the time budget rather than a step count.

    A step-count schedule must guess the steps a budget allows; a wrong guess either stops training
    early or cuts it off before the rate has decayed. The clock is never wrong.
    """
    warmup = config.warmup_ratio

    def factor(_step: int) -> float:
        if log.train_started is None:
            return 0.0
        spent = (time.monotonic() - log.train_started) / config.time_budget_s
        return spent / warmup if spent < warmup else max(0.0, (1 - spent) / (1 - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _tokenize(frame, tokenizer, max_length: int) -> Dataset:
    encoded = tokenizer(frame.text.tolist(), truncation=True, max_length=max_length)
    columns = dict(encoded)
    columns["labels"] = frame.label.tolist()
    columns["length"] = [len(ids) for ids in encoded["input_ids"]]
    return Dataset.from_dict(columns)


def _seconds_per_step(model, collator, train_set: Dataset, config: RunConfig, device: str) -> float:
    """Time forward + backward on a typical batch: how often validation checks can run."""
    rng = np.random.default_rng(config.seed)
    rows = rng.choice(len(train_set), size=min(config.batch_size, len(train_set)), replace=False)
    batch = collator([{k: v for k, v in train_set[int(i)].items() if k != "length"} for i in rows])
    batch = {k: v.to(device) for k, v in batch.items()}
    timings = []
    for _ in range(2):  # the first pass pays one-off costs
        start = time.perf_counter()
        model(**batch).loss.backward()
        timings.append(time.perf_counter() - start)
    model.zero_grad(set_to_none=True)
    return timings[-1] * 1.15  # plus the optimiser step and logging


def _training_arguments(config: RunConfig, max_steps: int, eval_steps: int, device: str) -> TrainingArguments:
    cuda = device == "cuda"
    bf16 = cuda and torch.cuda.is_bf16_supported()
    return TrainingArguments(
        output_dir=tempfile.mkdtemp(prefix="ktdemo-trainer-"),
        max_steps=max_steps,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=64,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio,
        lr_scheduler_type="linear",
        eval_strategy="steps",
        eval_steps=eval_steps,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=config.seed,
        data_seed=config.seed,
        train_sampling_strategy="group_by_length",  # batches of similar length: less padding
        include_num_input_tokens_seen="non_padding",
        use_cpu=device == "cpu",
        bf16=bf16,
        fp16=cuda and not bf16,
        dataloader_pin_memory=cuda,
    )


class _RunCallback(TrainerCallback):
    """Feeds the live log, keeps the best weights seen on validation, enforces budget and Stop."""

    def __init__(self, log: TrainingLog, cancel: threading.Event, budget_s: float | None):
        self.log, self.cancel, self.budget_s = log, cancel, budget_s
        self.best_accuracy, self.best_state, self.best_step = -1.0, None, 0
        self.stopped_by_user, self.failure = False, None
        self.train_seconds = 0.0

    def on_step_end(self, args, state, control, **kwargs):
        self.log.step = state.global_step
        if self.cancel.is_set():
            self.stopped_by_user = control.should_training_stop = True
        elif self.budget_s and time.monotonic() - self.log.train_started >= self.budget_s:
            control.should_training_stop = True

    def on_log(self, args, state, control, logs=None, **kwargs):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        if not math.isfinite(loss):
            self.failure = "The training loss became NaN or infinite; try a lower learning rate."
            control.should_training_stop = True
        else:
            self.log.losses.append((state.global_step, float(loss)))

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        accuracy = (metrics or {}).get("eval_accuracy")
        if accuracy is None:
            return
        if not self.log.evals or self.log.evals[-1][0] != state.global_step:
            self.log.evals.append((state.global_step, accuracy))
        if accuracy > self.best_accuracy and model is not None:
            self.best_accuracy, self.best_step = accuracy, state.global_step
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}

