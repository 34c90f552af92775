"""The Ray runner against the local pool on this machine: per-run queue wait, time to result and where it ran.
Printed, never asserted.

    python benchmarks/cluster.py                       # 4 runs of a tiny random BERT, 2 nodes x 1 CPU
    python benchmarks/cluster.py --runs 6 --model minilm --steps 20 --nodes 2

Starts a local multi-node cluster (`ray.cluster_utils.Cluster`: a head that trains nothing and `--nodes`
worker nodes of `--cpus` CPUs), presses Start on N different runs through N `Session`s (as the app does), then
does the same with the local pool (`Trainers(Worker, size=slots)`). Also prints the cluster's start-up time and
the memory (RSS) of every process it started. Needs `pip install -r requirements-ray.txt`.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def press_start(runner, configs) -> list[dict]:
    """Start every config in a session of its own at once; per run: queue wait, time to result, state."""
    from ktdemo.serving.app import App
    from ktdemo.serving.session import Session

    sessions = [Session(App(runner)) for _ in configs]
    pressed = time.monotonic()
    jobs = [session.runs.start(config, own_copy=True) for session, config in zip(sessions, configs)]
    rows = [{"seed": c.seed, "wait": None, "result": None} for c in configs]
    while any(row["result"] is None for row in rows):
        now = time.monotonic() - pressed
        for row, job in zip(rows, jobs):
            if row["wait"] is None and job.runs[0].state != "queued":
                row["wait"] = now
            if row["result"] is None and not job.running():
                row["result"], row["state"], row["error"] = now, job.runs[0].state, job.error
        time.sleep(0.05)
    for session in sessions:
        session.release()
    return rows


def rss_mib(process) -> float:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except Exception:  # noqa: BLE001 - ended meanwhile
            pass
    return total / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--cpus", type=int, default=1, help="CPUs each worker node says it has")
    parser.add_argument("--model", default="tiny", help="'tiny' (random 2-layer BERT) or a catalog key (minilm)")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()

    import psutil
    import ray
    from ray.cluster_utils import Cluster

    from ktdemo import models
    from ktdemo.config import RunConfig
    from ktdemo.serving.ray_runner import RayRunner
    from ktdemo.serving.worker import Trainers, Worker

    model = args.model
    if model == "tiny":
        sys.path.insert(0, str(ROOT / "tests"))
        from conftest import TINY_MODEL, build_tiny_model

        folder = build_tiny_model(Path(tempfile.mkdtemp(prefix="ktdemo-bench-tiny-")))
        models.register_model(models.ModelSpec(TINY_MODEL, "Tiny BERT", TINY_MODEL, "random", path=folder))
        model = TINY_MODEL
    configs = [RunConfig(model=model, per_class=16, time_budget_s=None, max_steps=args.steps, batch_size=8,
                         max_length=64, seed=seed, method="full") for seed in range(args.runs)]
    me = psutil.Process()
    before = rss_mib(me)

    started = time.monotonic()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    for _ in range(args.nodes):
        cluster.add_node(num_cpus=args.cpus)
    ray.init(address=cluster.address, log_to_driver=False, runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1"}})
    up = time.monotonic() - started
    runner = RayRunner(cpus=1)
    slots = runner.size
    while not all(t.ready() for t in runner._all):
        time.sleep(0.1)
    warm = time.monotonic() - started
    print(f"Ray: cluster of {args.nodes} node(s) x {args.cpus} CPU up in {up:.1f} s, {slots} slot(s) warm "
          f"(training stack imported) after {warm:.1f} s; memory of this process and all it started: "
          f"{rss_mib(me):.0f} MiB (before Ray: {before:.0f} MiB)")
    try:
        rows = press_start(runner, configs)
        where = {entry["config"].seed: entry["ip"] + " node " + entry["node"][:8] for entry in runner.history}
        peak = rss_mib(me)
    finally:
        runner.close()
        ray.shutdown()
        cluster.shutdown()
    print(f"  memory with the runs done, before shutdown: {peak:.0f} MiB")
    report("Ray runner", rows, where)

    local = Trainers(lambda: Worker(threads=1), size=slots, warm=True)  # 1 thread a run, as a Ray slot of 1 CPU
    try:
        rows = press_start(local, configs)
    finally:
        local.close()
    report(f"local pool ({slots} worker process(es), same machine)", rows, {})


def report(title: str, rows: list[dict], where: dict) -> None:
    print(f"\n{title}")
    print(f"  {'run':>4} {'queue wait s':>13} {'time to result s':>17}  state    where")
    for row in rows:
        print(f"  {row['seed']:>4} {row['wait'] or 0:>13.1f} {row['result']:>17.1f}  {row['state']:<8} "
              f"{where.get(row['seed'], 'this machine')}{'  ' + row['error'] if row['error'] else ''}")
    print(f"  all {len(rows)} done after {max(r['result'] for r in rows):.1f} s")


if __name__ == "__main__":
    main()
