"""Shared fixtures. Tests never reach the network; a tiny random-weight BERT stands in for mechanics."""
import os
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# ktdemo's cache (parsed datasets, the frozen-bottom store) for this test session only: nothing from the machine's
os.environ["KTDEMO_CACHE"] = tempfile.mkdtemp(prefix="ktdemo-test-cache-")
os.environ["KTDEMO_PREBUILD"] = "0"  # apps started here build no store in the background (test_frozen does, once)

import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

TINY_MODEL = "tiny-bert"
ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def app_process(argv: list[str], env: dict, log: Path, ready: str = "/", timeout: float = 150):
    """`python *argv` (app.py) in its own interpreter on a free loopback port: yields (process, base URL) as soon
    as `ready` serves; then stops it (killed if it will not end) and prints its log, which pytest shows when a
    test failed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**env, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
    with log.open("w") as output:
        app = subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_served(url + ready, app, log, timeout)
        yield app, url
    finally:
        app.terminate()
        try:
            app.wait(timeout=30)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait(timeout=10)
        print(log.read_text()[-3000:])


def _wait_until_served(url: str, app: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise RuntimeError(f"app.py exited: {log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:  # not serving yet (HTTPError is an OSError too)
            time.sleep(0.05)
    raise TimeoutError(f"app.py did not serve {url} in time")


def build_tiny_model(folder, **config_overrides) -> str:
    """A 2-layer, 2-head BERT with random weights and the bundled MiniLM tokenizer, saved as safetensors."""
    from transformers import BertConfig, BertForSequenceClassification

    from ktdemo import models

    tokenizer = models.load_tokenizer(models.DEFAULT_MODEL)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                        **config_overrides)
    BertForSequenceClassification(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return str(folder)


def assert_ablation_moves_the_output(model, tokenizer) -> None:
    """Switching heads off changes the output, and the output is as before once the block ends."""
    import torch

    from ktdemo.inspection import attention

    encoded = tokenizer("A gorgeous, moving film.", return_tensors="pt")

    def forward():
        with torch.no_grad():
            output = model(**encoded, output_hidden_states=True)
        return output.logits, output.hidden_states[-1]

    logits, hidden = forward()
    with attention.ablated_heads(model, [(0, 0), (1, 1)]):
        ablated_logits, ablated_hidden = forward()
    # random weights are small, so the logits move little; the (layer-normed) last hidden state moves clearly
    assert (ablated_hidden - hidden).abs().max() > 1e-3
    assert (ablated_logits - logits).abs().max() > 1e-6
    torch.testing.assert_close(forward()[0], logits)



# Tests of real processes are integration tests too: the app served over HTTP (these fixtures), a worker process,
# a Ray cluster, the CLI under accelerate. The fast lane (-m "not integration and not browser") leaves them out.
PROCESS_FIXTURES = {"app_url", "cluster"}
PROCESS_MODULES = {"test_worker.py", "test_ray.py", "test_gpu_check.py", "test_startup.py", "test_mcp.py"}


def pytest_collection_modifyitems(items):
    for item in items:
        if PROCESS_FIXTURES & set(item.fixturenames) or item.path.name in PROCESS_MODULES:
            item.add_marker(pytest.mark.integration)

@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """Registers the tiny model in the catalog under TINY_MODEL and returns its key."""
    from ktdemo import models

    folder = build_tiny_model(tmp_path_factory.mktemp("tiny-bert"))
    models.register_model(models.ModelSpec(TINY_MODEL, "Tiny BERT (random weights, tests)", TINY_MODEL,
                                           "2 layers, 2 heads, random weights.", path=folder))
    return TINY_MODEL


TINY_MEAN_MODEL = "tiny-bert-mean"


@pytest.fixture(scope="session")
def tiny_mean_model(tiny_model, tmp_path_factory) -> str:
    """A tiny random BERT whose sentence-transformers files say it mean-pools, as all-MiniLM-L6-v2's do: its
    natural head (pooling "auto") is the mean-pooling one. Registered under TINY_MEAN_MODEL; returns its key."""
    from ktdemo import models
    from ktdemo.models import heads

    folder = build_tiny_model(tmp_path_factory.mktemp("tiny-bert-mean"))
    models.register_model(models.ModelSpec(TINY_MEAN_MODEL, "Tiny mean-pooling BERT (random weights, tests)",
                                           TINY_MEAN_MODEL, "2 layers, 2 heads, mean pooling.", path=folder))
    encoder = models.pretrained_classifier(TINY_MEAN_MODEL, ["negative", "positive"], pooling="mean")
    heads.save_sentence_transformer(encoder, folder, max_length=128)  # modules.json: Transformer -> mean Pooling
    models.natural_pooling.cache_clear()
    return TINY_MEAN_MODEL


# A run in seconds; "full" rather than the default "auto", whose plan would pick the max length from the data
TINY_RUN = dict(per_class=8, time_budget_s=None, max_steps=2, batch_size=8, max_length=32, method="full")


@pytest.fixture(scope="session")
def tiny_config(tiny_model):
    """Makes RunConfigs for quick runs of the tiny model: `base` (a dict) and keywords override TINY_RUN."""
    from ktdemo.config import RunConfig

    def make(base: dict | None = None, **overrides) -> "RunConfig":
        return RunConfig(**{"model": tiny_model, **TINY_RUN, **(base or {}), **overrides})

    return make


@pytest.fixture(scope="session")
def tiny(tiny_model):
    """(classifier, tokenizer): the tiny model with an untrained two-class head."""
    from ktdemo import models

    return models.pretrained_classifier(tiny_model, ["negative", "positive"]), models.load_tokenizer(tiny_model)


@pytest.fixture(scope="session")
def tiny_mean(tiny_mean_model):
    """(classifier, tokenizer): the mean-pooling tiny model with its natural (mean-pooling) untrained head."""
    from ktdemo import models

    return (models.pretrained_classifier(tiny_mean_model, ["negative", "positive"]),
            models.load_tokenizer(tiny_mean_model))


@pytest.fixture(autouse=True, scope="session")
def _quiet_transformers():
    from transformers.utils import logging

    logging.set_verbosity_error()  # the expected "new head initialised" report would flood the output


@pytest.fixture(scope="session")
def app_url(tiny_model):
    """The app launched in-process once (after tiny_model joined the catalog); each client is its own session."""
    from ktdemo.serving.app import App
    from ktdemo.ui import build_demo, launch_options

    app = App()
    demo = build_demo(app)
    demo.queue(default_concurrency_limit=4)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, **launch_options())
    yield url
    demo.close()
    app.close()


@pytest.fixture(scope="module")
def private_cache(tmp_path_factory):
    """Data-layer tests write their parquet cache to a private folder."""
    from ktdemo.data import clear_cache

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KTDEMO_CACHE", str(tmp_path_factory.mktemp("ktdemo-cache")))
        clear_cache()
        yield
    clear_cache()


@pytest.fixture(autouse=True)
def _no_shared_results_between_tests():
    """Identical public runs are shared (the app's `shared`): a test never gets another test's finished run."""
    yield
    from ktdemo.serving.app import default_app

    default_app().shared.clear()


def slow_phases(seconds: float) -> None:
    """In a worker or an actor: each phase lasts `seconds` more, without looking at Stop meanwhile (a slow machine)."""
    from ktdemo.progress import TrainingLog

    enter = TrainingLog.enter

    def slowly(self, phase):
        enter(self, phase)
        time.sleep(seconds)

    TrainingLog.enter = slowly


def one_sentence(message) -> bool:
    """`message` (a Message or its text) is one short sentence, no traceback."""
    text = "" if message is None else str(message)
    return bool(text) and "\n" not in text and "Traceback" not in text and len(text) < 300


def wait_for_phase(job, state: str, timeout: float = 60) -> None:
    """Until `job`'s log is in a phase whose key starts with `state` ("training" for "training_on")."""
    deadline = time.monotonic() + timeout
    while not job.log.state.startswith(state) and job.running() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert job.log.state.startswith(state), f"never saw {state!r}; ended at {job.log.phase!r}"
