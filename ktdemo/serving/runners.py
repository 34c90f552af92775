"""Where a run trains, behind one interface: the local worker pool (the default, all a laptop needs) or a Ray
cluster (`KTDEMO_RUNNER=ray`, the cluster's address from Ray's own `RAY_ADDRESS`).

A runner hands out training slots in turn; a slot's trainer runs a `RunRequest` with `execute()` wherever it
lives, streams its log into the session's `TrainingLog`, honours Stop and returns `(RunResult, weights path)`
with the weights in the request's folder on this machine. Nothing above the runner knows which one it is.
"""
from __future__ import annotations

import os
import threading
from typing import Callable, ContextManager, Protocol

from ..messages import say
from ..progress import RunFailed, TrainingLog

RUNNERS = ("local", "ray")


class Trainer(Protocol):
    def run(self, request, log: TrainingLog, cancel: threading.Event) -> tuple:
        """(RunResult with its model in this process, path of its weights here or None)."""


class Runner(Protocol):
    def slot(self, cancel: threading.Event, on_wait: Callable[[int, float | None], None],
             eta_s: float | None = None) -> ContextManager[Trainer]:
        """A trainer once it is this run's turn; `on_wait(runs ahead, expected wait)` meanwhile."""

    def close(self) -> None:
        """Let the trainers go (processes, actors)."""


class RunnerUnavailable(RunFailed):
    """The configured runner cannot be used here; the message says what to do, in one sentence."""


def create_runner(environ=None) -> Runner:
    """The runner that `KTDEMO_RUNNER` names: "local" (default) or "ray"."""
    environ = os.environ if environ is None else environ
    name = environ.get("KTDEMO_RUNNER", "local").strip().lower() or "local"
    if name == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise RunnerUnavailable(say("error.ray_missing")) from None
        from .ray_runner import RayRunner

        return RayRunner.from_environment(environ)
    if name != "local":
        raise RunnerUnavailable(say("error.unknown_runner", name=name, runners=", ".join(RUNNERS)))
    from .worker import local_trainers

    return local_trainers(environ)
