"""Identical public runs, trained once: a class pressing Start on the same preset shares one run.

A run is public when it reads only public data (bundled or Hub datasets and models) and starts from
no session's own model. Public runs with the same config (and time-lapse sentence) are one `SharedRun`:
the first session to ask starts it, the others join it and watch the same live log; once finished,
its result is handed out at once to any session that asks again (the last `KEEP_FINISHED` results).
A shared model is read-only for everyone (predictions and views never change weights; head ablation
is per thread), so it sits in memory once however many sessions hold it. A session that presses Stop
leaves the run; the run stops only when its last session leaves.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from ..messages import Message, say
from ..progress import RunCancelled, TrainingLog

KEEP_FINISHED = 16  # finished public runs kept for reuse (a model each, in memory while a session holds it)


@dataclass
class SharedRun:
    key: str
    log: TrainingLog
    members: int = 0  # sessions waiting for it or watching it
    peak: int = 0  # the most sessions it had at once
    training: bool = False  # it has its training slot (before: it waits its turn)
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    result: object = None
    weights: str | None = None
    error: BaseException | None = None


def run_key(config, probe_text: str | None) -> str:
    return json.dumps([asdict(config), probe_text], sort_keys=True)


class SharedRuns:
    def __init__(self) -> None:
        self._running: dict[str, SharedRun] = {}
        self._finished: OrderedDict[str, SharedRun] = OrderedDict()
        self._lock = threading.Lock()
        self._folder: str | None = None

    @property
    def folder(self) -> str:
        """Where shared runs' weights go (they belong to no session)."""
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="ktdemo-shared-")
        return self._folder

    def join(self, key: str, probe_text: str | None, train: Callable[[SharedRun], tuple]) -> tuple[SharedRun, bool]:
        """(the shared run for `key`, whether it had finished already). A new one starts: `train(shared)` runs it
        in a thread of its own and returns (result, weights)."""
        with self._lock:
            if key in self._finished:
                self._finished.move_to_end(key)
                return self._finished[key], True
            shared = self._running.get(key)
            new = shared is None
            if new:
                shared = self._running[key] = SharedRun(key, TrainingLog(probe_text=probe_text))
            shared.members += 1
            shared.peak = max(shared.peak, shared.members)
        if new:
            threading.Thread(target=self._train, args=(shared, train), name="ktdemo-shared-run", daemon=True).start()
        return shared, False

    def leave(self, shared: SharedRun) -> int:
        """A session stops watching `shared` (Stop, or its session ended); the run stops when nobody is left.
        Returns how many are left."""
        with self._lock:
            shared.members = max(0, shared.members - 1)
            if shared.members == 0 and not shared.done.is_set():
                shared.cancel.set()
            return shared.members

    def _train(self, shared: SharedRun, train: Callable[[SharedRun], tuple]) -> None:
        try:
            shared.result, shared.weights = train(shared)
        except BaseException as error:  # noqa: BLE001 - every member reads the same failure
            shared.error = error
        with self._lock:
            del self._running[shared.key]
            stopped = shared.error is not None or shared.result.stats.stopped_by_user
            if not stopped:  # only a complete run is worth handing out again
                self._finished[shared.key] = shared
                while len(self._finished) > KEEP_FINISHED:
                    _, evicted = self._finished.popitem(last=False)
                    if evicted.weights:  # a session holding its model keeps it in memory; the file goes
                        Path(evicted.weights).unlink(missing_ok=True)
        shared.done.set()

    def wait(self, shared: SharedRun, cancel: threading.Event, on_start: Callable[[], None]) -> tuple:
        """(result, weights) of `shared` once done; `on_start()` once it trains. Stop (`cancel`) by its only
        session stops the run, which keeps its best checkpoint as any run does; by one of several, that
        session leaves (RunCancelled)."""
        if not shared.done.is_set():  # else it finished before this session asked: nobody to leave
            self._watch(shared, cancel, on_start)
        if shared.error is not None:  # a run that failed at once (an unknown model) is done before its wait
            raise shared.error
        return shared.result, shared.weights

    def _watch(self, shared: SharedRun, cancel: threading.Event, on_start: Callable[[], None]) -> None:
        """Until `shared` is done: `on_start()` once it trains, Stop handled as `wait` says; then leave it."""
        started = False
        while not shared.done.wait(0.1):
            if shared.training and not started:
                started = True
                on_start()
            if cancel.is_set() and not shared.cancel.is_set():
                with self._lock:
                    alone = shared.members <= 1
                if alone:
                    shared.cancel.set()
                    continue
                left = self.leave(shared)
                raise RunCancelled(say("notice.left_shared_one" if left == 1 else "notice.left_shared", n=left))
        self.leave(shared)

    def clear(self) -> None:
        """Forget finished runs and their files (tests; a long-running app keeps the last KEEP_FINISHED)."""
        with self._lock:
            self._finished.clear()
            if self._folder:
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None


def sharing_notice(reused: bool, others: int) -> Message | None:
    """What sharing did for a run, in one sentence (None: it trained on its own): `reused`, it joined a run that
    had finished; `others`, how many other sessions it trained with."""
    if reused:
        return say("notice.shared_reused")
    if others <= 0:
        return None
    return say("notice.shared_one" if others == 1 else "notice.shared_many", n=others)

