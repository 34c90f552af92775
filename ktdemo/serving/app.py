"""What every session of one app shares, in one object built where the demo is built and passed in: the live
sessions (`registry.Sessions`), the public runs trained once for all of them (`shared.SharedRuns`) and the
runner that trains (`runners`: the local pool or a Ray cluster). Sessions reach it as `session.app`; closing it
lets all of it go: sessions, shared runs, the runner's processes, background work, the caches they filled.
"""
from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

from .registry import GRACE_S, Sessions
from .shared import SharedRuns

if TYPE_CHECKING:
    from .runners import Runner
    from .session import Session


class App:
    def __init__(self, runner: Runner | None = None, grace_s: float = GRACE_S):
        """`runner`: the trainers to use (kept open on close: its owner closes it); None: made on first use from
        KTDEMO_RUNNER (see `runners.create_runner`), and closed with the app."""
        self.sessions = Sessions(grace_s)
        self.shared = SharedRuns()
        self._runner, self._owns_runner = runner, runner is None
        self._processes: list = []  # background work started for the app (the default's frozen-bottom store)
        self._lock = threading.Lock()

    @property
    def runner(self) -> Runner:
        with self._lock:
            if self._runner is None:
                from .runners import create_runner

                self._runner = create_runner()  # THE one place where the runner is chosen
            return self._runner

    def session(self) -> Session:
        """A new session of this app."""
        from .session import Session

        return Session(self)

    def keep_process(self, process) -> None:
        """A background process (subprocess.Popen, or None) that ends when it is done or with the app."""
        if process is not None:
            with self._lock:
                self._processes.append(process)

    def close(self) -> None:
        """End every session, forget the shared runs, let the runner and background work go; the features a run
        cached here too."""
        self.sessions.release_all()
        self.shared.clear()
        with self._lock:
            if self._owns_runner and self._runner is not None:
                self._runner.close()
                self._runner = None
            for process in self._processes:
                process.kill()
                process.wait()
            self._processes = []
        probe = sys.modules.get("ktdemo.training.probe")  # only where training ran in this process
        if probe is not None:
            probe.clear_features()


_DEFAULT: App | None = None
_DEFAULT_LOCK = threading.Lock()


def default_app() -> App:
    """The process's app, for what runs without a demo (the CLI, scripts, a bare `Session()`): made on first use."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = App()
        return _DEFAULT
