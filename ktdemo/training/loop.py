"""The gradient-descent loop on a time budget, with live progress, Stop and best-checkpoint keeping.

`fine_tune` trains whatever parameters are left trainable (see `methods`) with the Hugging Face
Trainer: dynamic padding, length-grouped batches, a clock-based learning-rate schedule, periodic
checks on a validation sample, and (when the log has a probe sentence) an attention time-lapse.
It leaves the model at the best checkpoint it saw, step 0 included: a run never ends below its start.
"""
from __future__ import annotations

import math
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from datasets import Dataset
from transformers import DataCollatorWithPadding, PrinterCallback, Trainer, TrainerCallback, TrainingArguments

from ..config import RunConfig
from ..messages import say
from ..progress import RunFailed, TrainingLog
from .frozen import Bottom
from .timelapse import PROBE_TOKENS, Recorder, snapshot_every

THREAD_PROBE_EVERY_S = 20.0  # how often training re-checks whether fewer threads are faster (the load changes)
THREAD_PROBE_STEPS = 3  # steps timed with each thread count per check
VALIDATION_SAMPLE = 128  # periodic checks use a fixed sample: ~1 s on 2 CPU cores, ~10% of the budget
# The best checkpoint must then beat step 0 on up to this many validation texts (~3 s each side for MiniLM):
# on 128 alone, a 16-example run picked a checkpoint that scored 62.4 % on test against its start's 68.0 %.
FINAL_CHECK_SAMPLE = 512
# Through a frozen bottom's outputs (see `frozen`) a check costs only the top layers: 4x the texts, a steadier choice
# of the best checkpoint for the same share of the time (and no final check: it would look at no more texts).
CACHED_VALIDATION_SAMPLE = FINAL_CHECK_SAMPLE


@dataclass
class FitOutcome:
    """What one training stage did."""

    steps: int
    examples_seen: int
    tokens_seen: int
    seconds: float
    train_examples: int
    best_step: int
    stopped_by_user: bool
    improved: bool = True  # did any checkpoint score above step 0 on the validation sample


def fine_tune(model, tokenizer, train: pd.DataFrame, validation: pd.DataFrame, config: RunConfig,
              log: TrainingLog, cancel: threading.Event, device: str,
              budget_s: float | None, max_steps: int | None, bottom: Bottom | None = None) -> FitOutcome:
    """Train until the budget, the step count or Stop ends it; raises RunFailed on a NaN loss. With a `bottom`
    (see `frozen`), the layers above it train from its outputs."""
    check_size = CACHED_VALIDATION_SAMPLE if bottom is not None else VALIDATION_SAMPLE
    val_sample = validation.sample(min(check_size, len(validation)), random_state=config.seed)
    if bottom is not None:
        trained, collator = bottom.trainable(), bottom.collate
        train_set, eval_set = bottom.dataset(train), bottom.dataset(val_sample)
    else:
        trained, collator = model, DataCollatorWithPadding(tokenizer)
        train_set, eval_set = (tokenize(frame, tokenizer, config.max_length) for frame in (train, val_sample))
    step_s = _seconds_per_step(trained, collator, train_set, config, device)
    optimizer = _optimizer(model, config)
    by_time = budget_s is not None and max_steps is None
    if by_time:  # the budget decides when to stop; the step count is only an upper bound
        max_steps, scheduler = 3 * math.ceil(budget_s / step_s) + 10, _time_schedule(optimizer, log, config, budget_s)
    else:  # a fixed step count (or one epoch): exactly reproducible; the Trainer makes the step schedule
        max_steps, scheduler = max_steps or math.ceil(len(train_set) / config.batch_size), None
    # train_started is set when training starts; until then an earlier phase's (a probe warm start's) must not
    # count against this budget: the status said "about 0 s left" at step 0
    log.max_steps, log.budget_s, log.train_started = (0 if by_time else max_steps), budget_s, None

    keeper = _RunCallback(log, cancel, budget_s, model)
    # The thread count is process-wide: only a run that owns its process (the CLI, a worker) may tune it, and a
    # step-count run keeps it, so that it replays exactly.
    threads = _ThreadTuner(enabled=by_time and threading.current_thread() is threading.main_thread())
    every = snapshot_every(step_s, budget_s if by_time else None, max_steps)
    timelapse = _TimelapseCallback(log, model, tokenizer, every, min(config.max_length, PROBE_TOKENS))
    eval_steps = _steps_between_checks(config, step_s, len(val_sample))
    trainer = Trainer(
        model=trained,
        args=_training_arguments(config, max_steps, eval_steps, device=device, columns_as_given=bottom is not None),
        train_dataset=train_set,
        eval_dataset=eval_set,
        data_collator=collator,
        processing_class=tokenizer,
        compute_metrics=lambda p: {"accuracy": float((p.predictions.argmax(-1) == p.label_ids).mean())},
        callbacks=[keeper, timelapse, threads],  # keeper first: the time-lapse reads the loss it logged
        optimizers=(optimizer, scheduler),
    )
    trainer.remove_callback(PrinterCallback)  # progress goes to the log, not to stdout
    try:
        trainer.evaluate()  # step 0 competes for the best checkpoint: the warm start is a candidate too
        log.train_started = time.monotonic()
        trainer.train()
        seconds = time.monotonic() - log.train_started
        if keeper.failure:
            raise RunFailed(keeper.failure)
        if not keeper.stopped_by_user:
            trainer.evaluate()  # the final weights compete with the best checkpoint too
    finally:
        threads.restore()
        shutil.rmtree(trainer.args.output_dir, ignore_errors=True)  # saves nothing there, but it exists
    if keeper.best_state is not None:  # None only when stopped before the first check: keep the weights as they are
        model.load_state_dict(keeper.best_state)
        # Stop should feel immediate: no extra pass; nor is there one when the checks saw as many texts already
        larger = min(FINAL_CHECK_SAMPLE, len(validation)) > len(val_sample)
        checked = keeper.best_step and not keeper.stopped_by_user and larger
        if checked:
            log.enter(say("phase.final_check"))
        if checked and not _beats_start(model, tokenizer, keeper, validation, config):
            model.load_state_dict(keeper.start_state)
            keeper.best_step, keeper.best_accuracy = 0, keeper.start_accuracy
    steps = trainer.state.global_step
    return FitOutcome(steps=steps, examples_seen=steps * config.batch_size,
                      tokens_seen=int(trainer.state.num_input_tokens_seen), seconds=seconds,
                      train_examples=len(train), best_step=keeper.best_step, stopped_by_user=keeper.stopped_by_user,
                      improved=keeper.start_accuracy is None or keeper.best_accuracy > keeper.start_accuracy)


def _beats_start(model, tokenizer, keeper: "_RunCallback", validation: pd.DataFrame, config: RunConfig) -> bool:
    """Does the model (at its best checkpoint) beat its step-0 weights on a larger validation sample?"""
    from ..models.evaluation import evaluate

    sample = validation.sample(min(FINAL_CHECK_SAMPLE, len(validation)), random_state=config.seed + 1)
    texts, labels = sample.text.tolist(), sample.label.tolist()
    best = evaluate(model, tokenizer, texts, labels, config.max_length).accuracy
    model.load_state_dict(keeper.start_state)
    start = evaluate(model, tokenizer, texts, labels, config.max_length).accuracy
    model.load_state_dict(keeper.best_state)  # the keeper holds it already: no second copy
    return best > start


def _weights(model) -> dict:
    """A detached copy of the model's weights, to restore later."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def tokenize(frame: pd.DataFrame, tokenizer, max_length: int) -> Dataset:
    encoded = tokenizer(frame.text.tolist(), truncation=True, max_length=max_length)
    columns = dict(encoded)
    columns["labels"] = frame.label.tolist()
    columns["length"] = [len(ids) for ids in encoded["input_ids"]]
    return Dataset.from_dict(columns)


def is_head_parameter(name: str) -> bool:
    """The new classifier head (and BERT's pooler) start untrained: they get a higher learning rate."""
    return any(part in ("classifier", "pre_classifier", "pooler", "score") for part in name.split("."))


def _steps_between_checks(config: RunConfig, step_s: float, sample: int) -> int:
    """Every `eval_every_s`, but never so often that checks take over ~10% of the training time.

    A check is a forward pass over `sample` texts: about a third of the cost of training on them.
    """
    cheapest = math.ceil(sample / 3 / config.batch_size / 0.10)
    return max(cheapest, round(config.eval_every_s / step_s))


def _optimizer(model, config: RunConfig) -> torch.optim.AdamW:
    head, body = [], []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (head if is_head_parameter(name) else body).append(parameter)
    return torch.optim.AdamW([{"params": body, "lr": config.lr},
                              {"params": head, "lr": config.lr * config.head_lr_scale}],
                             weight_decay=0.01)


def _time_schedule(optimizer, log: TrainingLog, config: RunConfig, budget_s: float) -> torch.optim.lr_scheduler.LambdaLR:
    """Warm-up, then linear decay to zero, over the time budget rather than a step count.

    A step-count schedule must guess the steps a budget allows; a wrong guess either stops training
    early or cuts it off before the rate has decayed. The clock is never wrong.
    """
    warmup = config.warmup_ratio

    def factor(_step: int) -> float:
        if log.train_started is None:
            return 0.0
        spent = (time.monotonic() - log.train_started) / budget_s
        return spent / warmup if spent < warmup else max(0.0, (1 - spent) / (1 - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


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


def _training_arguments(config: RunConfig, max_steps: int, eval_steps: int, device: str,
                        columns_as_given: bool = False) -> TrainingArguments:
    cuda = device == "cuda"
    bf16 = cuda and torch.cuda.is_bf16_supported()
    return TrainingArguments(
        output_dir=tempfile.mkdtemp(prefix="ktdemo-trainer-"),
        max_steps=max_steps,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=64,
        learning_rate=config.lr,
        warmup_steps=config.warmup_ratio,
        lr_scheduler_type="linear",
        eval_strategy="steps",
        eval_steps=eval_steps,
        logging_steps=1,
        logging_nan_inf_filter=False,  # else the Trainer hides NaN losses and RunFailed never fires
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
        remove_unused_columns=not columns_as_given,  # a bottom's collator reads the texts
    )


class _RunCallback(TrainerCallback):
    """Feeds the live log, keeps the best weights seen on validation, enforces budget and Stop."""

    def __init__(self, log: TrainingLog, cancel: threading.Event, budget_s: float | None, model):
        self.log, self.cancel, self.budget_s = log, cancel, budget_s
        self.model = model  # the whole model: what the Trainer trains may be only its top (see `frozen`)
        self.best_accuracy, self.best_state, self.best_step = -1.0, None, 0
        self.start_accuracy, self.start_state = None, None  # step 0
        self.stopped_by_user, self.failure = False, None

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
            self.failure = say("notice.nan_loss")
            control.should_training_stop = True
        else:
            self.log.losses.append((state.global_step, float(loss)))

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        accuracy = (metrics or {}).get("eval_accuracy")
        if accuracy is None:
            return
        if not self.log.evals or self.log.evals[-1][0] != state.global_step:
            self.log.evals.append((state.global_step, accuracy))
        if self.start_accuracy is None:  # step 0: the warm (or random) start
            self.start_accuracy = accuracy
            self.start_state = _weights(self.model)
        # Ties go to the later checkpoint: as good on validation, and trained longer.
        if accuracy >= self.best_accuracy:
            self.best_accuracy, self.best_step = accuracy, state.global_step
            self.best_state = _weights(self.model)


class _ThreadTuner(TrainerCallback):
    """Trains with fewer threads while that is faster: on a busy machine, it is.

    With two threads on two cores and another process busy on one of them, every parallel region waits
    for the thread that shares its core: a MiniLM step took 1.55 s with 2 threads and 0.67 s with 1
    (idle: 0.40 s and 0.67 s). So every THREAD_PROBE_EVERY_S the tuner times a few steps with each
    count (seconds per input token: batches differ in length) and keeps the faster.
    """

    def __init__(self, enabled: bool = True):
        self.initial = torch.get_num_threads()
        self.counts = [self.initial, 1] if enabled and self.initial > 1 else []
        self.timings: dict[int, list[float]] = {}  # thread count -> seconds per token of the steps timed
        self.next_probe = 0.0
        self.began, self.tokens = 0.0, 0

    def on_step_begin(self, args, state, control, **kwargs):
        self.began = time.perf_counter()  # from here to the step's end: no checks, logging or snapshots

    def on_step_end(self, args, state, control, **kwargs):
        now, tokens = time.perf_counter(), state.num_input_tokens_seen - self.tokens
        self.tokens = state.num_input_tokens_seen
        if not self.counts or state.global_step < 2 or tokens <= 0:  # the first step pays one-off costs
            return
        if now >= self.next_probe or self.timings:  # a check is due or under way
            threads = torch.get_num_threads()
            self.timings.setdefault(threads, []).append((now - self.began) / tokens)
            untried = [n for n in self.counts if len(self.timings.get(n, [])) < THREAD_PROBE_STEPS]
            if untried:
                torch.set_num_threads(untried[0])
            else:
                torch.set_num_threads(min(self.timings, key=lambda n: float(np.median(self.timings[n]))))
                self.timings, self.next_probe = {}, now + THREAD_PROBE_EVERY_S

    def restore(self) -> None:
        torch.set_num_threads(self.initial)


class _TimelapseCallback(TrainerCallback):
    """Snapshots the attention on the log's probe sentence as training goes (see `timelapse`).

    Each snapshot is taken after a step's update and before any checkpoint is restored.
    """

    def __init__(self, log: TrainingLog, model, tokenizer, every: int, max_length: int):
        self.log, self.model, self.tokenizer, self.every, self.max_length = log, model, tokenizer, every, max_length
        self.recorder = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.log.snapshots = []  # per stage, like the loss curve
        if self.log.probe_text:
            self.recorder = Recorder(self.model, self.tokenizer, self.log.probe_text, self.every, self.max_length)
            self.log.snapshots = self.recorder.snapshots
            self.recorder.take(0, None)

    def on_log(self, args, state, control, logs=None, **kwargs):
        loss = (logs or {}).get("loss")  # logged after the step's update: the model is as this loss left it
        if self.recorder and loss is not None and math.isfinite(loss):
            self.recorder.take(state.global_step, float(loss))

    def on_train_end(self, args, state, control, **kwargs):
        if self.recorder:
            losses = self.log.losses
            self.recorder.take(state.global_step, losses[-1][1] if losses else None, last=True)
