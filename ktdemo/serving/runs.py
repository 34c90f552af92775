"""A session's runs: start, stop, the queue for a training slot, the history, and the model predictions use.

Runs train in a worker (`worker.Trainers`: a process of its own, one run at a time on a CPU machine); their
weights come back as safetensors in the session's folder. Only a finished (or stopped, with a best checkpoint)
run replaces the model predictions use, so a failed or cancelled run loses nothing; the models of earlier runs
stay on disk only. A run that reads only public data joins the same run of other sessions (`shared`).
"""
from __future__ import annotations

import dataclasses
import threading
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from .. import models
from ..config import RunConfig
from ..messages import Message, Said, message_of, say
from ..progress import RunCancelled, RunFailed, TrainingLog, failure_message
from .records import Job, Run, summarise
from .shared import SharedRun, run_key
from .worker import RunRequest, WorkerCrashed, catalog_of, in_turn

if TYPE_CHECKING:
    from ..training.transfer import RunResult
    from .session import Session


class Refused(Said, RuntimeError):
    """A run the session cannot start now: it has ended, or its last run is still going."""


class SessionRuns:
    """The session's runs in the order it started them (iterate, index, `len`), and the job training now."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.items: list[Run] = []
        self.job: Job | None = None

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]

    @property
    def current(self) -> RunResult | None:
        """The run whose model predictions use: the last one that trained a model."""
        return next((run.result for run in reversed(self.items) if run.result and run.result.model is not None), None)

    @property
    def latest(self) -> RunResult | None:
        """The last run with a result (a zero-shot run too): what the report, the config and the time-lapse show."""
        return next((run.result for run in reversed(self.items) if run.result is not None), None)

    @property
    def history(self) -> list[dict]:
        """One summary row per run with a result, as plain data for the Compare tab's table and figures."""
        return [asdict(run.summary) for run in self.items if run.summary]

    def plan(self, config: RunConfig):
        """What a run of `config` would do and how long it would take, before it starts."""
        from ..training.planning import plan

        load_data, relabel = models.heavy_import("ktdemo.training.transfer", "load_data", "relabel")
        datasets = self.session.data.datasets
        key = config.source_dataset if config.kind == "cross_domain" else config.dataset
        splits = datasets.get(key) or load_data(config, key, config.per_class)
        if config.kind == "cross_domain":  # a label map that does not fit is said now, not after loading a model
            splits = relabel(splits, self.session.data.labels_of(config.dataset)[0], config.label_map)
        return plan(config, splits)

    def start(self, configs: RunConfig | list[RunConfig], study: str | None = None,
              probe_text: str | None = None, own_copy: bool = False) -> Job:
        """Queue one run, or a study's runs in turn, unless this session's runs are still going.

        `probe_text`: a sentence whose attention is snapshotted during training (the time-lapse). A public run
        (`shared`) that another session runs or ran with the same settings is joined, unless `own_copy`."""
        configs = [configs] if isinstance(configs, RunConfig) else list(configs)
        with self.session.lock:
            if self.session.closed:
                raise Refused(say("error.session_ended"))
            if self.job and self.job.running():
                raise Refused(say("error.run_in_progress"))
            runs = [Run(len(self.items) + i + 1, config, TrainingLog(probe_text=probe_text), study, own_copy=own_copy)
                    for i, config in enumerate(configs)]
            self.items.extend(runs)
            job = Job(runs)
            job.thread = threading.Thread(target=self._drive, args=(job,), name="ktdemo-run", daemon=True)
            self.job = job
        job.thread.start()
        return job

    def stop(self) -> bool:
        """Ask the running job to stop; True if there was one."""
        job = self.job
        if job and job.running():
            job.cancel.set()
            return True
        return False

    def clear(self, wait_s: float = 30) -> None:
        """Stop the job, wait for it a while, and forget every run (and so their models)."""
        self.stop()
        if self.job is not None:
            self.job.wait(wait_s)
        self.items.clear()
        self.job = None

    def _drive(self, job: Job) -> None:
        for run in job.runs:
            if job.cancel.is_set() or self.session.closed or not self._train(run, job.cancel):
                break
        for run in job.runs:
            if not run.ended():
                _end(run, "stopped", say("notice.not_run"))

    def _train(self, run: Run, cancel: threading.Event) -> bool:
        """Train `run` when its turn comes (or join the same public run); False if the job should not go on."""
        try:
            start_from = self._start_from(run.config)
            if self._public(run, start_from):
                result, run.weights = self._join(run, cancel)
            else:
                result, run.weights = self._train_here(run, cancel, start_from)
        except RunCancelled as error:
            if run.shared is not None and not run.shared.done.is_set():  # it left a run others still watch
                log = run.log
                run.log = dataclasses.replace(log, losses=list(log.losses), evals=list(log.evals),
                                              snapshots=list(log.snapshots))
            return _end(run, "stopped", message_of(error))
        except (RunFailed, WorkerCrashed, models.ModelError, ValueError) as error:
            return _end(run, "failed", message_of(error))
        except Exception as error:  # noqa: BLE001 - a crash must never take the session down with it
            return _end(run, "failed", failure_message(error))
        with self.session.lock:
            if self.session.closed:
                return False
            run.result, run.summary = result, summarise(result, run.number, run.study)
            run.state = "stopped" if result.stats.stopped_by_user else "done"
            if result.model is not None:
                self._unload_older(run)
        return not result.stats.stopped_by_user

    def _train_here(self, run: Run, cancel: threading.Event, start_from: str | None) -> tuple:
        request = RunRequest(run.config, str(self.session.folder), dict(self.session.data.datasets), start_from,
                             run.log.probe_text, catalog_of(run.config))
        return in_turn(self.session.app.runner, request, run.log, cancel, self._eta(run.config),
                        lambda: setattr(run, "state", "running"))

    def _join(self, run: Run, cancel: threading.Event) -> tuple:
        """The run every session with the same public settings shares: trained once, by whoever came first."""
        trainers, eta, shared_runs = self.session.app.runner, self._eta(run.config), self.session.app.shared
        request = RunRequest(run.config, shared_runs.folder, {}, None, run.log.probe_text, catalog_of(run.config))

        def train(shared: SharedRun) -> tuple:
            def started() -> None:
                shared.training = True

            return in_turn(trainers, request, shared.log, shared.cancel, eta, started)

        run.shared, run.reused = shared_runs.join(run_key(run.config, run.log.probe_text), run.log.probe_text, train)
        run.log = run.shared.log  # every session in it watches the same live log
        return shared_runs.wait(run.shared, cancel, lambda: setattr(run, "state", "running"))

    def _public(self, run: Run, start_from: str | None) -> bool:
        """Whether `run` reads only public data and no model of this session's: then it can be shared."""
        config = run.config
        read = {config.dataset, config.source_dataset, *(config.also_test_on or [])}
        return not run.own_copy and start_from is None and not read & set(self.session.data.datasets)

    def _eta(self, config: RunConfig) -> float | None:
        try:
            return self.plan(config).eta_s
        except Exception:  # noqa: BLE001 - the expected wait is a hint
            return None

    def _unload_older(self, current: Run) -> None:
        """Only the current model stays in memory; the others are on disk (`weights`)."""
        for run in self.items:
            if run is not current and run.result is not None and run.result.model is not None:
                run.result = dataclasses.replace(run.result, model=None)

    def _start_from(self, config: RunConfig) -> str | None:
        """A sequential run's first stage, when this session has trained it already (its weights)."""
        if config.kind != "sequential":
            return None
        first_stage_config, resolve_head = models.heavy_import("ktdemo.training.transfer", "first_stage_config",
                                                               "resolve_head")
        first = resolve_head(first_stage_config(config))
        return next((r.weights for r in reversed(self.items)
                     if r.weights and r.result.config == first and Path(r.weights).exists()), None)


def _end(run: Run, state: str, error: Message | str) -> bool:
    run.state, run.log.phase, run.error = state, say(f"phase.{state}"), error
    return False
