"""The first seconds of `python app.py`: requests that arrive while the warm-up thread imports transformers.

The app runs in a fresh interpreter, so transformers is imported cold, as on a real start; before the imports
were guarded, half of these requests failed with "cannot import name 'AutoModelForSequenceClassification'".
"""
import os

import pytest
from gradio_client import Client, handle_file

from conftest import app_process

# The tiny test model in a fresh interpreter's catalog (registering it imports no transformers), then app.py as
# `python app.py` runs it
WITH_TINY = ("import os; from ktdemo import models; "
             "models.register_model(models.ModelSpec('tiny-bert', 'Tiny BERT', 'tiny-bert', 'tests', "
             "path=os.environ['TINY_MODEL_PATH'])); ")
LAUNCH = WITH_TINY + "import runpy; runpy.run_path('app.py', run_name='__main__')"


def tiny_environment(tiny_model, **extra) -> dict:
    from ktdemo import models

    return {**os.environ, "TINY_MODEL_PATH": models.resolve(tiny_model).path, **extra}


@pytest.fixture
def fresh_app(tiny_model, tmp_path):
    """app.py in its own interpreter; yields its URL as soon as it serves. Its log is app.log (shown on failure)."""
    with app_process(["-c", LAUNCH], tiny_environment(tiny_model), tmp_path / "app.log", timeout=120) as (_, url):
        yield url + "/"


def test_the_first_requests_of_every_kind_all_succeed_during_warm_up(fresh_app, tiny_model, tmp_path):
    moods = tmp_path / "moods.csv"
    moods.write_text("text,label\n" + "".join(f"a sunny day {i},cheerful\na rainy night {i},gloomy\n" for i in range(20)))
    sentence = "A gorgeous, witty and moving film."
    requests = [
        *[("/predict", (sentence,)) for _ in range(4)],  # the default model, which the warm-up is loading
        *[("/predict", (sentence, tiny_model)) for _ in range(2)],
        ("/attention", (sentence,)),
        ("/attention", (sentence, 1, 1, tiny_model)),
        ("/upload", (handle_file(str(moods)), "text", "label", tiny_model)),
        ("/preview", (tiny_model, "sms_spam")),
        ("/plan", (tiny_model,)),
    ]

    client = Client(fresh_app, verbose=False)  # one session: more clients take seconds to connect on two cores
    jobs = [client.submit(*args, api_name=name) for name, args in requests]  # all at once, as the page opens
    outputs = [job.result(timeout=180) for job in jobs]  # an exception in the app raises here

    def by_name(wanted):
        return [output for (name, _), output in zip(requests, outputs) if name == wanted]

    assert all(label["label"] in {"negative", "positive"} and "untrained head" in note
               for label, _, note in by_name("/predict"))
    assert all(heatmap is not None and overview is not None for heatmap, overview, *_ in by_name("/attention"))
    (dataset, _, summary, *_), = by_name("/upload")
    assert dataset["value"] == "upload:moods.csv" and "2 classes" in summary
    assert "SMS spam" in by_name("/preview")[0][0]
    assert "Expected time" in by_name("/plan")[0]


def test_the_warm_up_puts_what_start_up_loaded_out_of_the_collectors_sight(tiny_model):
    """Full collections over the start-up heap paused every request for 175-317 ms (benchmarks/load.py)."""
    import subprocess
    import sys

    script = WITH_TINY + ("import gc; from ktdemo.serving.app import App; from ktdemo.serving.session import warm_up; "
                          "before = gc.get_freeze_count(); app = App(); warm_up(app, 'tiny-bert'); "
                          "print(before, gc.get_freeze_count()); app.close()")
    env = tiny_environment(tiny_model, KTDEMO_TRAINING="thread", KTDEMO_PREBUILD="0")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    before, after = map(int, done.stdout.split()[-2:])
    assert before == 0 and after > 10_000  # the libraries, the UI's strings, the model: many objects
