"""Where runs execute: a warm worker process per training slot, or (on ZeroGPU) the calling thread.

A run is a `RunRequest`, plain picklable data: its config, the session's own datasets, the weights of
an earlier stage, the folder its weights go to. That boundary is what would let a run go to a job
runner or `accelerate launch` on bigger hardware: whatever runs `execute(request)` there and returns
its `(result, weights)` fits.

A `Worker` is one spawned process (spawned, not forked: the app has threads) at a lower CPU priority,
with its own torch threads, reused run after run so a run does not pay the imports again. Its log
streams back to the app's `TrainingLog` every `MIRROR_S`; the trained weights come back as a safetensors
file. Stop reaches it through a shared event; a worker that does not end soon after is killed. A worker
that dies (SIGKILL, out of memory) fails its run in one sentence and is replaced.

`Trainers` hands out the slots (one at a time on a CPU machine) and says each waiting run's place.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import queue
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import models
from ..config import RunConfig
from ..messages import Said, message_of, say
from ..progress import RunCancelled, RunFailed, TrainingLog, failure_message, waiting_phase
from .hosting import on_gpu, zero_gpu

# Interactive requests in the app preempt training. 19 gave Predict a better p95 under a training run (271/342 ms
# against 331-622 ms, benchmarks/load.py 2026-12-06) but starves training behind any other busy process (beside a
# second test process the worker and background-build tests took 1.4-1.9x as long): 10 keeps training moving
NICE = 10
MIRROR_S = 0.2  # how often the worker sends its log
STOP_GRACE_S = 2.0  # after Stop, a run that is not training has this long to end before its worker is killed
STOP_SCORING_GRACE_S = 15.0  # ... a training run this long: it scores its best checkpoint on a test sample
SCALARS = ("phase", "stage", "step", "max_steps", "train_started", "budget_s")
SERIES = ("losses", "evals", "snapshots")


@dataclass
class RunRequest:
    """One run, as data: what a worker (or any job runner) needs."""

    config: RunConfig
    folder: str  # the session's folder: the weights are written here
    sources: dict = field(default_factory=dict)  # the session's own datasets (uploads, Hub), by key
    start_from: str | None = None  # sequential: weights of a finished first stage
    probe_text: str | None = None
    catalog: list = field(default_factory=list)  # models.ModelSpec the app registered (a worker has only the built-ins)


def execute(request: RunRequest, log: TrainingLog, cancel) -> tuple:
    """Run `request` here: (its RunResult, the path of its weights or None for zero-shot)."""
    (run_transfer,) = models.heavy_import("ktdemo.training.transfer", "run_transfer")

    result = run_transfer(request.config, log, cancel, sources=request.sources, start_from=request.start_from)
    if result.model is None:
        return result, None
    return result, str(models.save_weights(result.model, weights_path(request.folder)))


def weights_path(folder: str | Path) -> Path:
    """Where the next run's weights go in `folder`: run-1.safetensors, run-2.safetensors, ..."""
    folder = Path(folder)
    return folder / f"run-{len(list(folder.glob('run-*.safetensors'))) + 1}.safetensors"


def prepare_process(threads: int | None, setup: Callable | None = None) -> None:
    """A trainer's own process (a worker, a Ray actor): a lower CPU priority, its torch threads, a test's
    `setup`, and the training stack imported once, before the first run."""
    try:
        os.nice(NICE)
    except (AttributeError, OSError):  # not on this OS
        pass
    import torch

    if threads:
        torch.set_num_threads(threads)
    if setup is not None:
        setup()
    models.heavy_import("ktdemo.training.transfer")


class WorkerCrashed(Said, RuntimeError):
    """The worker process died during a run."""


class Inline:
    """Runs execute in the calling thread (ZeroGPU needs that: its GPU is only there inside `spaces.GPU`)."""

    def start(self) -> "Inline":
        return self  # nothing to start: the same interface as Worker's

    def run(self, request: RunRequest, log: TrainingLog, cancel: threading.Event) -> tuple:
        return on_gpu(execute)(request, log, cancel)

    def close(self) -> None:
        pass


class Worker:
    """One spawned training process, reused run after run."""

    def __init__(self, threads: int | None = None, setup: Callable | None = None):
        self.threads, self.setup = threads, setup
        self._process = None
        self._ready = False
        self._lock = threading.Lock()

    def start(self) -> "Worker":
        """Spawn the process (it imports the training stack once); returns at once."""
        with self._lock:
            if self._process is None or not self._process.is_alive():
                context = multiprocessing.get_context("spawn")
                self._requests, self._events, self._cancel = context.Queue(), context.Queue(), context.Event()
                self._ready = False
                self._process = context.Process(target=_serve, name="ktdemo-worker", daemon=True,
                                                args=(self._requests, self._events, self._cancel, self.threads,
                                                      self.setup))
                with _main_script_hidden():
                    self._process.start()
        return self

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def run(self, request: RunRequest, log: TrainingLog, cancel: threading.Event) -> tuple:
        """Run `request` in the worker, mirroring its log into `log`; Stop is `cancel`."""
        self.start()
        if not self._ready:
            log.phase = say("phase.starting")
        self._cancel.clear()
        self._requests.put(request)
        deadline = None  # after Stop: when the worker is killed if the run has not ended
        while True:
            if cancel.is_set() and deadline is None:
                self._cancel.set()
                training = log.training  # it has a checkpoint to score
                deadline = time.monotonic() + (STOP_SCORING_GRACE_S if training else STOP_GRACE_S)
            try:
                event = self._events.get(timeout=0.05)
            except queue.Empty:
                self._check(deadline)
                continue
            if event[0] == "ready":
                self._ready = True
            elif event[0] == "log":
                _apply(log, event[1])
            elif event[0] == "done":
                _, result, weights = event
                return _rebuilt(result, weights, log), weights
            elif event[0] == "error":
                raise_outcome(event)

    def _check(self, deadline: float | None) -> None:
        """Raise if the process died, or kill it if it outlives Stop's grace."""
        if not self._process.is_alive():
            code = self._process.exitcode
            self.close()
            raise WorkerCrashed(say("notice.worker_crashed", code=code))
        if deadline is not None and time.monotonic() > deadline:
            self.close()
            raise RunCancelled(say("notice.stopped"))

    def close(self) -> None:
        """Kill the process (a later run spawns a new one)."""
        with self._lock:
            if self._process is not None and self._process.is_alive():
                self._process.kill()
                self._process.join(5)
            self._process = None


@contextmanager
def _main_script_hidden():
    """Spawn would run the main script again in the worker (`python app.py`: a second app, warming up another
    worker); without `__main__.__file__` it imports only what the worker needs."""
    main = sys.modules["__main__"]
    path = getattr(main, "__file__", None) if getattr(main, "__spec__", None) is None else None
    if path is None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def _rebuilt(result, weights: str | None, log: TrainingLog):
    """A worker's result, with its model (from `weights`), tokenizer and log in this process."""
    config = result.config
    model = weights and models.load_weights(config.model, result.label_names, config.seed, config.pooling, weights)
    return dataclasses.replace(result, model=model, tokenizer=models.load_tokenizer(config.model), log=log)


def _serve(requests, events, cancel, threads: int | None, setup: Callable | None) -> None:
    """The worker process: import once, then run requests until told to stop (None)."""
    _exit_with_the_app()
    prepare_process(threads, setup)
    events.put(("ready",))
    while (request := requests.get()) is not None:
        for spec in request.catalog:
            models.register_model(spec)
        log = TrainingLog(probe_text=request.probe_text)
        with _Mirror(log, events):
            try:
                result, weights = execute(request, log, cancel)
                outcome = ("done", dataclasses.replace(result, model=None, tokenizer=None, log=None), weights)
            except Exception as error:  # noqa: BLE001 - the worker outlives a broken run
                outcome = error_outcome(error)
        events.put(outcome)


def error_outcome(error: BaseException) -> tuple:
    """How a run that raised `error` ends, sent back to the app: ("error", kind, its Message where it has one)."""
    if isinstance(error, RunCancelled):
        return "error", "cancelled", message_of(error)
    if isinstance(error, (RunFailed, models.ModelError, ValueError)):
        return "error", "failed", message_of(error)
    return "error", "failed", failure_message(error)


def raise_outcome(outcome: tuple) -> None:
    """Raise in the app the error a run ended with in its worker (see `error_outcome`)."""
    _, kind, message = outcome
    raise {"cancelled": RunCancelled, "failed": RunFailed}.get(kind, RuntimeError)(message)


def _exit_with_the_app() -> None:
    """The worker ends when the app does, however the app ends (a daemon process outlives a SIGKILLed parent)."""
    parent = multiprocessing.parent_process()

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="ktdemo-parent-watch", daemon=True).start()


class _Mirror:
    """Sends the changes of `log` every MIRROR_S (and once at the end), from a thread of the worker."""

    def __init__(self, log: TrainingLog, events):
        self.log, self.events = log, events
        self.sent: dict[str, tuple[int, int]] = {}  # series name -> (id of the list, items sent)
        self._done = threading.Event()

    def __enter__(self):
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._done.wait(MIRROR_S):
            self._send()
        self._send()

    def _send(self) -> None:
        change = {name: getattr(self.log, name) for name in SCALARS}
        for name in SERIES:
            items = getattr(self.log, name)
            known, count = self.sent.get(name, (None, 0))
            new = list(items)  # the run may append meanwhile: a copy is consistent
            if known != id(items) or count > len(new):  # a new stage starts a new list
                change[name] = ("all", new)
            elif len(new) > count:
                change[name] = ("more", new[count:])
            self.sent[name] = (id(items), len(new))
        self.events.put(("log", change))


def _apply(log: TrainingLog, change: dict) -> None:
    for name in SCALARS:
        setattr(log, name, change[name])
    for name in SERIES:
        if name in change:
            how, items = change[name]
            setattr(log, name, items if how == "all" else getattr(log, name) + items)


class Trainers:
    """The training slots: `size` runs at once (one on a CPU machine), the others wait their turn."""

    def __init__(self, make: Callable[[], object], size: int = 1, warm: bool = False):
        self.size = size
        self._idle = [make() for _ in range(size)]
        self._waiting: list[_Ticket] = []
        self._busy: list[_Ticket] = []
        self._turn = threading.Condition()
        if warm:
            for trainer in self._idle:
                trainer.start()

    @contextmanager
    def slot(self, cancel: threading.Event, on_wait: Callable[[int, float | None], None], eta_s: float | None = None):
        """A trainer, once it is this run's turn; `on_wait(runs ahead, expected wait in s or None)` while
        waiting; `eta_s`: this run's planned time, for the runs behind it. Stop while waiting raises RunCancelled."""
        ticket = _Ticket(eta_s)
        with self._turn:
            self._waiting.append(ticket)
            try:
                while not (self._idle and self._waiting[0] is ticket):
                    if cancel.is_set():
                        raise RunCancelled(say("notice.stopped_waiting"))
                    ahead = self._waiting.index(ticket)
                    on_wait(ahead + len(self._busy), self._expected_wait(ahead))
                    self._turn.wait(0.2)
                trainer = self._idle.pop()
                ticket.started = time.monotonic()
                self._busy.append(ticket)
            finally:
                self._waiting.remove(ticket)
                self._turn.notify_all()
        try:
            yield trainer
        finally:
            with self._turn:
                self._busy.remove(ticket)
                self._idle.append(trainer)
                self._turn.notify_all()
            trainer.start()  # a killed worker is replaced now, not at the next run

    def _expected_wait(self, ahead: int) -> float | None:
        """Seconds until a slot is free for the run with `ahead` runs waiting before it (None: a run has no plan)."""
        tickets = self._busy + self._waiting[:ahead]
        if any(t.eta_s is None for t in tickets):
            return None
        now = time.monotonic()
        left = sorted(max(0.0, t.eta_s - (now - t.started)) for t in self._busy) + [0.0] * (self.size - len(self._busy))
        for queued in self._waiting[:ahead]:  # each waiting run takes the slot that frees first
            left[0] += queued.eta_s
            left.sort()
        return left[0]

    def close(self) -> None:
        for trainer in self._idle:
            trainer.close()


@dataclass(eq=False)  # tickets are told apart by identity
class _Ticket:
    eta_s: float | None
    started: float = 0.0


def in_turn(trainers: Trainers, request: RunRequest, log: TrainingLog, cancel: threading.Event,
             eta_s: float | None, on_start) -> tuple:
    """Run `request` in a training slot once its turn comes; the log says the run's place meanwhile."""
    def wait(ahead: int, seconds: float | None) -> None:
        log.phase = waiting_phase(ahead, seconds)

    with trainers.slot(cancel, wait, eta_s) as trainer:
        on_start()
        log.started = time.monotonic()
        result, weights = trainer.run(request, log, cancel)
        took = time.monotonic() - log.started
    if eta_s is not None and not result.stats.stopped_by_user:  # how long it really took teaches the planner
        from ..training.planning import learn

        learn(request.config, eta_s, took)
    return result, weights


def catalog_of(config: RunConfig) -> list:
    """The registered models a run needs (a worker process knows only the built-in ones)."""
    return [models.MODELS[key] for key in (config.model, config.nli_model) if key in models.MODELS]


def local_trainers(environ=None) -> Trainers:
    """This machine's slots: KTDEMO_TRAINING=process (default) or thread (default on ZeroGPU); KTDEMO_PARALLEL_RUNS."""
    environ = os.environ if environ is None else environ
    mode = environ.get("KTDEMO_TRAINING") or ("thread" if zero_gpu() else "process")
    size = int(environ.get("KTDEMO_PARALLEL_RUNS", "1"))
    return Trainers(Inline if mode == "thread" else Worker, size, warm=mode == "process")

