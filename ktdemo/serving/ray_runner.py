"""Runs on a Ray cluster, behind the same run boundary as the local pool (`KTDEMO_RUNNER=ray`).

Each training slot is a warm Ray actor (a threaded actor, `max_concurrency=2`, so `poll()` and `cancel()` reach
it while `run()` trains) that asks the cluster for its resources: `KTDEMO_RAY_CPUS` CPUs (default 1), and one
GPU for a GPU slot. The slots come from the cluster: one GPU slot per GPU, and CPU slots for the CPUs left, so a
GPU node takes GPU runs and CPU nodes the rest. Where a run trains decides its device: the actor runs the same
`execute()` on the same `RunRequest`, and `models.pick_device()` on its node sees CUDA only in a GPU slot (Ray
hides the GPUs from actors that did not ask for one). A waiting run takes a free GPU slot first.

The app polls the actor's log every MIRROR_S (the same `_Mirror` / `_apply` as the local worker) into the
session's `TrainingLog`; Stop calls the actor's `cancel()` with the local worker's grace bounds and kills the
actor past them; the weights come back as the bytes of their safetensors file through Ray's object store (no
shared filesystem) and are written into the request's folder here. An actor or node that dies fails its run
in one sentence; its slot gets a new actor. The slots follow the cluster: a node that joins adds slots, one that
leaves takes its slots away (checked every REFRESH_S).
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

import ray
from ray.exceptions import GetTimeoutError, RayActorError

from .. import models
from ..messages import say
from ..progress import RunCancelled, TrainingLog
from .worker import (MIRROR_S, STOP_GRACE_S, STOP_SCORING_GRACE_S, RunRequest, Trainers, WorkerCrashed, _apply,
                     _Mirror, _rebuilt, error_outcome, execute, prepare_process, raise_outcome, weights_path)

try:
    from ray.exceptions import NodeDiedError
except ImportError:  # older Ray
    NodeDiedError = RayActorError

REFRESH_S = 1.0  # how often the slots are matched to the cluster's nodes
LOST = (RayActorError, NodeDiedError)
PASSED_ENV = ("HF_HUB_OFFLINE", "HF_HOME", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM", "KTDEMO_CACHE")


def slot_counts(resources: dict, cpus: float) -> tuple[int, int]:
    """(GPU slots, CPU slots) a cluster with `resources` (Ray's totals) holds, each slot taking `cpus` CPUs."""
    total_cpus, gpus = float(resources.get("CPU", 0)), int(resources.get("GPU", 0))
    gpu_slots = min(gpus, int(total_cpus // cpus)) if cpus else gpus
    return gpu_slots, max(0, int((total_cpus - gpu_slots * cpus) // cpus)) if cpus else 0


class _Outbox:
    """What `_Mirror._send` puts: the last change, read by `poll()`."""

    def __init__(self):
        self.change = None

    def put(self, event) -> None:
        self.change = event[1]


class RunActor:
    """In the actor's process on some node: imports the training stack once, then runs requests."""

    def __init__(self, threads: int, setup: Callable | None = None, catalog: list | None = None):
        for spec in catalog or []:
            models.register_model(spec)
        prepare_process(threads, setup)
        self._mirror: _Mirror | None = None
        self._cancels: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def where(self) -> dict:
        context = ray.get_runtime_context()
        return {"node": context.get_node_id(), "ip": ray.util.get_node_ip_address(), "pid": os.getpid(),
                "gpus": [str(g) for g in ray.get_gpu_ids()]}

    def run(self, run_id: str, request: RunRequest, start_from: bytes | None) -> tuple:
        with self._lock:
            cancel = self._cancels.setdefault(run_id, threading.Event())
        folder = tempfile.mkdtemp(prefix="ktdemo-ray-run-")
        try:
            for spec in request.catalog:
                models.register_model(spec)
            if start_from is not None:
                (path := Path(folder) / "start.safetensors").write_bytes(start_from)
                request = dataclasses.replace(request, start_from=str(path))
            request = dataclasses.replace(request, folder=folder)
            log = TrainingLog(probe_text=request.probe_text)
            self._mirror = _Mirror(log, _Outbox())
            try:
                result, weights = execute(request, log, cancel)
                data = Path(weights).read_bytes() if weights else None
                return "done", dataclasses.replace(result, model=None, tokenizer=None, log=None), data
            except Exception as error:  # noqa: BLE001 - the actor outlives a broken run
                return error_outcome(error)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            with self._lock:
                self._cancels.pop(run_id, None)

    def poll(self):
        """The log's change since the last poll (None before a run began)."""
        mirror = self._mirror
        if mirror is None:
            return None
        mirror._send()
        return mirror.events.change

    def cancel(self, run_id: str) -> None:
        with self._lock:
            self._cancels.setdefault(run_id, threading.Event()).set()


class RayTrainer:
    """One slot: a warm actor asking for `cpus` CPUs (and a GPU if `gpu`), replaced when it dies."""

    def __init__(self, cpus: float, gpu: bool, setup: Callable | None = None, on_run: Callable | None = None):
        self.cpus, self.gpu, self.setup, self.on_run = cpus, gpu, setup, on_run
        self._actor = None
        self._ready = None  # the ObjectRef of where(): done once the actor imported the training stack
        self.where: dict | None = None
        self._lock = threading.Lock()

    def start(self) -> "RayTrainer":
        with self._lock:
            if self._actor is None:
                actor = ray.remote(RunActor).options(num_cpus=self.cpus, num_gpus=1 if self.gpu else 0,
                                                     max_concurrency=2, scheduling_strategy="SPREAD",
                                                     max_restarts=0)
                catalog = [spec for spec in models.MODELS.values() if getattr(spec, "path", None)]
                self._actor = actor.remote(max(1, int(self.cpus)), self.setup, catalog)
                self._ready = self._actor.where.remote()
                self.where = None
        return self

    def ready(self) -> bool:
        return self._ready is not None and bool(ray.wait([self._ready], timeout=0)[0])

    def run(self, request: RunRequest, log: TrainingLog, cancel: threading.Event) -> tuple:
        self.start()
        actor = self._actor
        if not self.ready():
            log.phase = say("phase.starting")
        run_id = uuid.uuid4().hex
        start_from = Path(request.start_from).read_bytes() if request.start_from else None
        outcome = actor.run.remote(run_id, dataclasses.replace(request, start_from=None), start_from)
        deadline = None  # after Stop: when the actor is killed if the run has not ended
        try:
            self.where = ray.get(self._ready)
            if self.on_run is not None:
                self.on_run(request, self.where)
            while True:
                if cancel.is_set() and deadline is None:
                    actor.cancel.remote(run_id)
                    training = log.training  # it has a checkpoint to score
                    deadline = time.monotonic() + (STOP_SCORING_GRACE_S if training else STOP_GRACE_S)
                finished = bool(ray.wait([outcome], timeout=MIRROR_S)[0])
                try:
                    change = ray.get(actor.poll.remote(), timeout=30)
                except GetTimeoutError:
                    change = None
                if change is not None:
                    _apply(log, change)
                if finished:
                    return self._returned(ray.get(outcome), request, log)
                if deadline is not None and time.monotonic() > deadline:
                    self.close()
                    raise RunCancelled(say("notice.stopped"))
        except LOST:
            self.close()
            raise WorkerCrashed(say("notice.cluster_crashed")) from None

    @staticmethod
    def _returned(outcome: tuple, request: RunRequest, log: TrainingLog) -> tuple:
        if outcome[0] == "error":
            raise_outcome(outcome)
        _, result, data = outcome
        weights = None
        if data is not None:  # written here, as execute() would have: the next run-N in the session's folder
            Path(request.folder).mkdir(parents=True, exist_ok=True)
            path = weights_path(request.folder)
            path.write_bytes(data)
            weights = str(path)
        return _rebuilt(result, weights, log), weights

    def close(self) -> None:
        with self._lock:
            if self._actor is not None:
                try:
                    ray.kill(self._actor)
                except Exception:  # noqa: BLE001 - already gone with its node
                    pass
            self._actor, self._ready = None, None


class _GPUFirst(list):
    """Idle trainers: `pop()` (how Trainers takes one) hands out a GPU slot first."""

    def pop(self, index: int = -1):
        for i in range(len(self) - 1, -1, -1):
            if self[i].gpu:
                return super().pop(i)
        return super().pop(index)


class RayRunner(Trainers):
    """The cluster's slots, queued as the local ones are (place and expected wait), sized from the cluster."""

    def __init__(self, cpus: float = 1.0, max_slots: int | None = None, setup: Callable | None = None,
                 warm: bool = True, refresh_s: float = REFRESH_S):
        self.cpus, self.max_slots, self.setup, self.warm = cpus, max_slots, setup, warm
        self.history: list[dict] = []  # per run: its config and where it ran (benchmarks, tests)
        super().__init__(lambda: None, size=0)
        self._idle = _GPUFirst()
        self._all: list[RayTrainer] = []
        self._closed = threading.Event()
        self.refresh()
        self._refresher = threading.Thread(target=self._keep_in_step, args=(refresh_s,), daemon=True,
                                           name="ktdemo-ray-slots")
        self._refresher.start()

    @classmethod
    def from_environment(cls, environ) -> "RayRunner":
        """Connects to `RAY_ADDRESS` (Ray reads it; none: a local Ray on this machine). KTDEMO_RAY_CPUS per run,
        KTDEMO_RAY_SHIP_CODE=0 when every node has ktdemo installed (else this package is shipped to them)."""
        if not ray.is_initialized():
            runtime_env = {"env_vars": {name: environ[name] for name in PASSED_ENV if name in environ}}
            if environ.get("KTDEMO_RAY_SHIP_CODE", "1") != "0":
                runtime_env["py_modules"] = [str(Path(__file__).resolve().parents[1])]
            ray.init(address=environ.get("RAY_ADDRESS") or None, runtime_env=runtime_env, log_to_driver=False,
                     include_dashboard=False if not environ.get("RAY_ADDRESS") else None)
        slots = environ.get("KTDEMO_PARALLEL_RUNS")
        return cls(float(environ.get("KTDEMO_RAY_CPUS", "1")), int(slots) if slots else None)

    def _trainer(self, gpu: bool) -> RayTrainer:
        trainer = RayTrainer(self.cpus, gpu, self.setup, self._ran)
        self._all.append(trainer)
        self._idle.append(trainer)
        if self.warm:
            trainer.start()
        return trainer

    def _ran(self, request: RunRequest, where: dict) -> None:
        self.history.append({"config": request.config, "at": time.monotonic(), **where})

    def refresh(self) -> None:
        """Match the slots to the cluster's alive nodes: new ones for a node that joined, fewer when one left."""
        gpu_slots, cpu_slots = slot_counts(ray.cluster_resources(), self.cpus)
        if self.max_slots is not None:
            gpu_slots = min(gpu_slots, self.max_slots)
            cpu_slots = min(cpu_slots, self.max_slots - gpu_slots)
        with self._turn:
            for gpu, wanted in ((True, gpu_slots), (False, cpu_slots)):
                have = [t for t in self._all if t.gpu == gpu]
                for _ in range(wanted - len(have)):
                    self._trainer(gpu)
                idle = sorted((t for t in self._idle if t.gpu == gpu), key=RayTrainer.ready)  # unplaced first
                for trainer in idle[:max(0, len(have) - wanted)]:
                    self._idle.remove(trainer)
                    self._all.remove(trainer)
                    trainer.close()
            self.size = gpu_slots + cpu_slots
            self._turn.notify_all()

    def _keep_in_step(self, every: float) -> None:
        while not self._closed.wait(every):
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - the cluster is briefly unreachable: try again
                pass

    def close(self) -> None:
        self._closed.set()
        with self._turn:
            for trainer in self._all:
                trainer.close()
