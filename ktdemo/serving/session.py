"""One browser session: its folder, its language, and the parts that hold the rest.

Each browser session gets its own `Session`, so one user never sees or overwrites another's model. Callers use
its parts: `session.runs` (start, stop, plan, the history, the current model), `session.data` (uploads, Hub
datasets, previews), `session.views` (looking inside the model) and `session.downloads` (report, model zip,
config). Ending a session frees all of it (`release`). `registry.Sessions` finds a session again by its
browser's token.
"""
from __future__ import annotations

import gc
import logging
import shutil
import tempfile
import threading
from pathlib import Path

from .. import data, models
from .app import App, default_app
from .datasets import SessionData, bundled_preview
from .downloads import Downloads
from .runs import SessionRuns
from .views import SessionViews

log = logging.getLogger(__name__)


class Session:
    def __init__(self, app: App | None = None) -> None:
        self.app = app or default_app()  # what it shares with the app's other sessions
        self.closed = False  # the session ended: a run finishing late must not store its model
        self.language: str = "en"  # the page's language ("en", "zh-CN"): the UI's text the server builds
        self.lock = threading.Lock()
        self._folder: str | None = None
        self.data = SessionData()
        self.runs = SessionRuns(self)
        self.views = SessionViews(self)
        self.downloads = Downloads(self)

    def __deepcopy__(self, memo) -> "Session":
        # gr.State deep-copies each new session's initial value; a copy must never share models or threads.
        return Session(self.app)

    @property
    def folder(self) -> Path:
        """The session's own temporary folder (weights, downloads): removed when it ends."""
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="ktdemo-session-")
        return Path(self._folder)

    def release(self) -> None:
        """Called when the session ends: stop its run, drop its models and data, delete its folder."""
        with self.lock:
            self.closed = True
        self.runs.clear()
        self.data.clear()
        self.views.clear()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


def prebuild_default_store(model: str, encoder):
    """The default run's frozen-bottom outputs and pretrained features, built in a low-priority background process
    unless stored already, so that "auto" can train only the top layers, and the untrained head and the linear probe
    read their features, from the first minutes on (see training.frozen_store)."""
    from ..config import RunConfig

    frozen_store = models.heavy_import("ktdemo.training.frozen_store")
    layers = models.heavy_import("ktdemo.training.planning").frozen_layers(encoder)
    return frozen_store.build_in_background(model, data.DEFAULT_DATASET, RunConfig().max_length, layers,
                                            models.natural_pooling(model))


def warm_up(app: App | None = None, model: str = models.DEFAULT_MODEL) -> None:
    """Start the training worker, load the training stack, the default model and its preview ahead of the first
    visitor (run in a thread). Without the Hub (and nothing bundled) there is nothing to load ahead: the first
    request says so in one sentence."""
    app = app or default_app()
    try:
        app.runner  # spawns the warm worker, which imports the training stack in its own process
        models.heavy_import("ktdemo.training.transfer")  # plans and views use its data helpers; first requests wait
        models.load_tokenizer(model)
        encoder = models.pretrained_classifier(model, data.DATASETS[data.DEFAULT_DATASET].label_names)
        bundled_preview(model, data.DEFAULT_DATASET)
        app.keep_process(prebuild_default_store(model, encoder))
    except (models.ModelError, data.DataError) as error:
        log.warning("warm-up skipped: %s", error)
    # What start-up loaded (the UI, the libraries, the default model) stays for the app's life: out of the
    # collector's sight, a full collection scans only what requests made. Without this, full collections paused
    # the app for 175-317 ms at a time while a class pressed Predict (benchmarks/load.py).
    gc.freeze()
