"""Runs on a real local Ray cluster (two worker nodes, a head that trains nothing), behind the same run
boundary as the local pool: the live log, Stop, a killed actor, a node that dies, two sessions, shared runs.

One cluster for the module, one CPU a node, so two runs at once are on two nodes; the stuck runner's test adds a
third node to find room.
Skipped where Ray is not installed (`pip install -r requirements-ray.txt`), except the sentence that says so.
"""
import functools
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import one_sentence, slow_phases, wait_for_phase
from ktdemo.messages import say
from ktdemo.serving.app import App
from ktdemo.serving.runners import create_runner
from ktdemo.serving.session import Session
from ktdemo.serving.worker import STOP_GRACE_S, STOP_SCORING_GRACE_S, Trainers

SENTENCE = "A fine, moving film."


def test_without_ray_the_app_says_what_to_install():
    code = ("import sys; sys.modules['ray'] = None\n"
            "from ktdemo.serving.runners import create_runner\n"
            "try:\n    create_runner({'KTDEMO_RUNNER': 'ray'})\n"
            "except Exception as error:\n    print(type(error).__name__, '|', error)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(__file__))).stdout.strip()
    missing = str(say("error.ray_missing"))
    assert out == f"RunnerUnavailable | {missing}"
    assert "\n" not in missing and "pip install -r requirements-ray.txt" in missing


def test_the_local_pool_is_the_default():
    runner = create_runner({"KTDEMO_TRAINING": "thread"})
    assert type(runner) is Trainers
    runner.close()


ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from ktdemo.serving.ray_runner import RayRunner, slot_counts  # noqa: E402


@pytest.fixture(scope="module")
def cluster(tiny_model):
    started = time.monotonic()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    nodes = [cluster.add_node(num_cpus=1) for _ in range(2)]
    ray.init(address=cluster.address, log_to_driver=False,
             runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}})
    for module in (__name__, "conftest"):  # the actors cannot import the tests' modules (slow_phases)
        ray.cloudpickle.register_pickle_by_value(sys.modules[module])
    runner = RayRunner(cpus=1, max_slots=2)
    print(f"cluster up in {time.monotonic() - started:.1f} s")
    try:
        yield cluster, nodes, runner
    finally:
        runner.close()
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture(scope="module")
def trained(cluster, tiny_config):
    session = Session(App(cluster[2]))
    job = session.runs.start(tiny_config())
    assert job.wait(180) and job.error is None, job.error
    yield session
    session.release()


def test_slots_follow_the_cluster():
    assert slot_counts({"CPU": 4.0}, 1) == (0, 4)
    assert slot_counts({"CPU": 8.0, "GPU": 1.0}, 2) == (1, 3)  # a GPU node takes GPU runs, the CPUs the rest
    assert slot_counts({"CPU": 0.0}, 1) == (0, 0)


def test_weights_come_back_into_the_app_folder_from_another_node(cluster, trained):
    _, nodes, runner = cluster
    run = trained.runs[0]
    assert run.weights.startswith(trained.app.shared.folder) and os.path.getsize(run.weights) > 0  # a public run's folder
    assert runner.history[0]["node"] in {node.node_id for node in nodes}  # a worker node; the head has no CPU
    view = trained.views.model_view(run.config.model, run.config.dataset)
    assert view.trained and trained.views.inspect(view, SENTENCE).prediction in run.result.label_names


def test_the_log_streams_back_while_the_run_trains(trained, tiny_config):
    job = trained.runs.start(tiny_config(seed=3, max_steps=None, time_budget_s=4, eval_every_s=1.0), probe_text=SENTENCE)
    seen = set()
    while not job.wait(0.05):
        seen.add((job.log.state, len(job.log.losses) > 0, len(job.log.evals) > 0))
    assert job.error is None, job.error
    assert any(phase.startswith("training") and losses for phase, losses, _ in seen)  # live, not only at the end
    assert any(evals for *_, evals in seen)
    result = job.result
    assert result.log is job.log and job.log.snapshots and result.log.losses[-1][0] == result.stats.steps


def test_stop_while_training_scores_the_checkpoint(trained, tiny_config):
    job = trained.runs.start(tiny_config(seed=4, max_steps=None, time_budget_s=60))
    wait_for_phase(job, "training_on")
    pressed = time.monotonic()
    assert trained.runs.stop() and job.wait(STOP_SCORING_GRACE_S + 10)
    took = time.monotonic() - pressed
    run = job.runs[0]
    print(f"Stop while training on Ray: ended {took:.2f} s later ({run.state})")
    assert run.state == "stopped" and run.result.stats.stopped_by_user and trained.runs.current is run.result
    assert took < STOP_SCORING_GRACE_S


def test_a_killed_actor_fails_its_run_in_one_sentence_and_the_next_run_works(cluster, trained, tiny_config):
    runner = cluster[2]
    previous = trained.runs.current
    job = trained.runs.start(tiny_config(seed=5, max_steps=None, time_budget_s=60))
    wait_for_phase(job, "training_on")
    where = runner.history[-1]
    os.kill(where["pid"], signal.SIGKILL)  # what the out-of-memory killer does on that node
    assert job.wait(30)
    run = job.runs[0]
    assert run.state == "failed" and one_sentence(str(run.error)) and "ended unexpectedly" in str(run.error), run.error
    assert trained.runs.current is previous
    again = trained.runs.start(tiny_config(seed=6))
    assert again.wait(120) and again.error is None and trained.runs.current is again.result


def test_a_run_that_ignores_stop_is_killed_after_the_grace(cluster, tiny_config):
    cluster[1].append(cluster[0].add_node(num_cpus=1))  # a node joins: room for this runner (the other has 2 slots)
    stuck = RayRunner(cpus=1, max_slots=1, setup=functools.partial(slow_phases, 30))
    session = Session(App(stuck))
    try:
        job = session.runs.start(tiny_config())
        wait_for_phase(job, "loading_data", timeout=120)
        pressed = time.monotonic()
        session.runs.stop()
        assert job.wait(STOP_GRACE_S + 10)
        print(f"Stop with a stuck actor: ended {time.monotonic() - pressed:.2f} s later")
        assert job.runs[0].state == "stopped" and one_sentence(job.error)
    finally:
        session.release()
        stuck.close()


@pytest.fixture
def two_sessions(cluster):
    """Two sessions of one app on the cluster's runner (so they share its public runs), released afterwards."""
    app = App(cluster[2])
    first, second = app.session(), app.session()
    yield first, second
    first.release()
    second.release()


def test_two_sessions_train_at_once_on_two_nodes_and_stay_apart(cluster, two_sessions, tiny_config):
    runner, (first, second) = cluster[2], two_sessions
    before = len(runner.history)
    jobs = [first.runs.start(tiny_config(seed=7, max_steps=6), own_copy=True),
            second.runs.start(tiny_config(seed=8, max_steps=6), own_copy=True)]  # into each session's folder
    assert all(job.wait(120) and job.error is None for job in jobs)
    nodes = {entry["node"] for entry in runner.history[before:]}
    assert len(nodes) == 2  # the two slots are on the two worker nodes
    assert first.runs.current is not second.runs.current and first.runs.current.config.seed == 7
    assert first.runs[0].weights.startswith(str(first.folder))
    assert second.runs[0].weights.startswith(str(second.folder))


def test_a_third_run_waits_for_a_free_slot(cluster, tiny_config):
    runner = cluster[2]
    sessions = [Session(App(runner)) for _ in range(3)]
    try:
        jobs = [s.runs.start(tiny_config(seed=10 + i, max_steps=None, time_budget_s=3)) for i, s in enumerate(sessions)]
        deadline = time.monotonic() + 60
        while not any(job.log.state == "waiting_turn" and job.log.phase.params["n"] == 2 for job in jobs):
            assert time.monotonic() < deadline, [job.log.phase for job in jobs]
            time.sleep(0.02)
        assert all(job.wait(120) and job.error is None for job in jobs)
    finally:
        for session in sessions:
            session.release()


def test_identical_public_runs_are_trained_once(cluster, two_sessions, tiny_config):
    runner, (first, second) = cluster[2], two_sessions
    before = len(runner.history)
    config = tiny_config(seed=20, max_steps=None, time_budget_s=4)
    job = first.runs.start(config)
    wait_for_phase(job, "training")
    joined = second.runs.start(config)
    assert job.wait(60) and joined.wait(60) and job.error is None and joined.error is None
    assert len(runner.history) - before == 1 and first.runs.current is second.runs.current


def test_a_node_that_dies_fails_its_run_and_the_next_run_works(cluster, trained, tiny_config):
    cluster_, nodes, runner = cluster
    previous = trained.runs.current
    job = trained.runs.start(tiny_config(seed=30, max_steps=None, time_budget_s=60))
    wait_for_phase(job, "training_on")
    node = next(n for n in nodes if n.node_id == runner.history[-1]["node"])
    cluster_.remove_node(node)
    assert job.wait(60)
    run = job.runs[0]
    assert run.state == "failed" and one_sentence(str(run.error)), run.error
    assert trained.runs.current is previous
    again = trained.runs.start(tiny_config(seed=31))
    assert again.wait(120) and again.error is None, again.error
    assert runner.history[-1]["node"] != node.node_id
