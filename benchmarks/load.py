"""Load test: users pressing Predict (predict + attention) while another user trains.

    python benchmarks/load.py                      # the issue's three scenarios on a fresh `python app.py`
    python benchmarks/load.py --url http://127.0.0.1:7860/ --users 8 --pace 0 --seconds 60

Scenarios (default, in turn, on one launched app): a training run alone (its examples/s when idle);
4 users pressing Predict every 2 s while a run trains; 8 users pressing back to back while a run
trains. Each user is its own session; a press on a fresh sentence is
`--press one`: /press, the one event the Predict button sends, or `--press chain`: /predict, /attention and
/rollout, the three chained events it sent before 2026-12-05. A user is `--client page` (default): what the page's
JavaScript does, one kept-alive connection that joins the queue and reads the event stream to the result, or
`--client gradio`: gradio_client, which spent ~60 ms of CPU a press here, most of it building a new TLS context for
every request, on the app's own cores (a browser does its part on the student's machine). Prints presses, errors (must be 0),
p50/p95 press latency, and the training run's examples/s against its idle figure.
Exit status 1 if any request failed or a training run did not finish.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SENTENCES = [
    "A gorgeous, moving film.", "The plot falls apart in the second hour.", "I laughed, I cried, I bought the DVD.",
    "Dull, predictable and far too long.", "An uneven but often brilliant debut.", "Not worth the ticket price.",
    "The cast is wonderful and the script is sharp.", "It never quite decides what it wants to be.",
]


def launch() -> tuple[str, subprocess.Popen]:
    """`python app.py` in its own process, as it is deployed (clients in the app's process would share its GIL)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env={**os.environ, "GRADIO_SERVER_PORT": str(port)},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(1200):
        try:
            urllib.request.urlopen(url, timeout=1)
            return url, app
        except OSError:
            time.sleep(0.1)
    app.kill()
    raise SystemExit("app.py did not start serving within two minutes")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


class Tally:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.lock = threading.Lock()

    def add(self, endpoint: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latency[endpoint].append(seconds)
            if error:
                self.errors[endpoint].append(error)


# (endpoint, arguments) of one press on `text` (the i-th press: layer and head vary)
PRESSES = {"one": lambda text, i, model: [("/press", (text, 1 + i % 6, 1 + i % 12, model))],
           "chain": lambda text, i, model: [("/predict", (text, model)), ("/attention", (text, 1 + i % 6, 1 + i % 12,
                                                                                        model)),
                                            ("/rollout", (text, model))]}


class PageClient:
    """A press as the page sends it: join the queue with every input's value (the page's defaults where not
    given, a State as null), then read the session's event stream to the event's result; one connection."""

    def __init__(self, url: str):
        import httpx

        self.http = httpx.Client(base_url=url, timeout=120)
        config = self.http.get("config").json()
        self.prefix, values = config["api_prefix"], {c["id"]: c.get("props", {}).get("value")
                                                       for c in config["components"]}
        self.events = {f"/{d['api_name']}": (d["id"], [values.get(i) for i in d["inputs"]])
                       for d in config["dependencies"] if d.get("api_name")}
        self.session = uuid.uuid4().hex[:11]

    def predict(self, *args, api_name: str):
        fn_index, defaults = self.events[api_name]
        data = [*args, *defaults[len(args):]]
        joined = self.http.post(f"{self.prefix}/queue/join", json={
            "data": data, "fn_index": fn_index, "event_data": None, "session_hash": self.session}).json()
        with self.http.stream("GET", f"{self.prefix}/queue/data", params={"session_hash": self.session}) as stream:
            for line in stream.iter_lines():
                message = json.loads(line[5:]) if line.startswith("data:") else {}
                if message.get("msg") == "process_completed" and message.get("event_id") == joined["event_id"]:
                    if not message.get("success"):
                        raise RuntimeError(str(message.get("output"))[:200])
                    outputs = message["output"]["data"]
                    return outputs[0] if len(outputs) == 1 else outputs  # as gradio_client returns them
        raise RuntimeError("the event stream ended before the result")


def connect(url: str, client: str):
    if client == "page":
        return PageClient(url)
    from gradio_client import Client

    return Client(url, verbose=False)


def user(url: str, model: str, number: int, deadline: float, pace: float, tally: Tally, press: str = "one",
         client: str = "page") -> None:
    """Press Predict until `deadline`, one press every `pace` seconds (0: back to back)."""
    client = connect(url, client)
    i = number
    while time.monotonic() < deadline:
        text = f"{SENTENCES[i % len(SENTENCES)]} ({number}.{i})"
        i += 1
        started, error = time.monotonic(), None
        for endpoint, args in PRESSES[press](text, i, model):
            try:
                outputs = client.predict(*args, api_name=endpoint)
                note = outputs[2] if isinstance(outputs, (list, tuple)) else outputs
                if isinstance(note, str) and note.startswith("⚠️"):
                    error = note
            except Exception as caught:  # noqa: BLE001 - a load test counts failures, it does not stop on them
                error = f"{type(caught).__name__}: {str(caught)[:200]}"
        took = time.monotonic() - started
        tally.add("press", took, error)
        time.sleep(max(0.0, pace - took))


def trainer(url: str, model: str, budget: float, outcome: dict, method: str | None = None) -> None:
    from gradio_client import Client

    started = time.monotonic()
    try:
        # its own copy: the scenarios' identical runs would otherwise be one shared run, trained once
        chosen = {"method": method} if method else {}  # else the app's default
        status, curves, results, *_ = Client(url, verbose=False).predict(model=model, time_budget_s=budget,
                                                                         own_copy=True, api_name="/train", **chosen)
        outcome["finished"] = isinstance(results, str) and "held-out test examples" in results
        speed = re.search(r"([\d.]+) examples/s", results or "")
        outcome["examples_per_s"] = float(speed.group(1)) if speed else float("nan")
        outcome["summary"] = (results or status or "").splitlines()[0][:160] if (results or status) else ""
    except Exception as caught:  # noqa: BLE001
        outcome["finished"], outcome["summary"] = False, f"{type(caught).__name__}: {str(caught)[:200]}"
    outcome["seconds"] = time.monotonic() - started


def scenario(url: str, model: str, users: int, pace: float, seconds: float, budget: float | None,
             press: str = "one", method: str | None = None, client: str = "page") -> dict:
    """`users` pressing for `seconds` while a run of `budget` trains (None: no run); its figures."""
    outcome: dict = {}
    run = None
    if budget:
        run = threading.Thread(target=trainer, args=(url, model, budget, outcome, method))
        run.start()
        time.sleep(min(8.0, budget / 4))  # the users arrive while it trains, not while it loads
    tally = Tally()
    cpu, wall = time.process_time(), time.monotonic()  # the users' own CPU: on this machine, not the class's
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=user, args=(url, model, n, deadline, pace, tally, press, client))
               for n in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client_cores = (time.process_time() - cpu) / max(1e-9, time.monotonic() - wall)
    if run is not None:
        run.join(timeout=max(600.0, 3 * budget))
    return {"presses": tally.latency["press"], "errors": tally.errors["press"], "client_cores": client_cores,
            **outcome}


def report(name: str, figures: dict, idle_speed: float | None) -> bool:
    presses, errors = figures["presses"], figures["errors"]
    line = f"{name}: "
    if presses:
        line += (f"{len(presses)} presses, errors {len(errors)}, p50 {percentile(presses, 50) * 1000:.0f} ms, "
                 f"p95 {percentile(presses, 95) * 1000:.0f} ms, max {max(presses) * 1000:.0f} ms, the clients "
                 f"themselves used {figures['client_cores']:.2f} of the cores")
    if "finished" in figures:
        speed = figures.get("examples_per_s", float("nan"))
        kept = f" ({speed / idle_speed:.0%} of idle)" if idle_speed and presses else ""
        line += (f"{'; ' if presses else ''}run finished={figures['finished']}, {speed:.1f} examples/s{kept}"
                 f" · {figures.get('summary', '')}")
    print(line, flush=True)
    for message in sorted(set(errors))[:5]:
        print(f"  error: {message}")
    return not errors and figures.get("finished", True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running app; default: launch one in-process")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--users", type=int, help="one scenario: this many users (default: the three scenarios)")
    parser.add_argument("--pace", type=float, default=0.0, help="seconds between a user's presses (0: back to back)")
    parser.add_argument("--seconds", type=float, default=40.0, help="how long the users press")
    parser.add_argument("--train-budget", type=float, default=60.0, help="the training run's time budget (s)")
    parser.add_argument("--no-train", action="store_true")
    parser.add_argument("--method", help="the training run's method (default: the app's, Auto)")
    parser.add_argument("--press", choices=sorted(PRESSES), action="append",
                        help="what a press sends (repeat for both; default: one)")
    parser.add_argument("--client", choices=("page", "gradio"), default="page",
                        help="who presses: the page's own requests (default) or gradio_client")
    args = parser.parse_args(argv)

    app, url = None, args.url
    if url is None:
        started = time.monotonic()
        url, app = launch()
        print(f"app launched at {url} in {time.monotonic() - started:.1f} s")
    try:
        from gradio_client import Client

        warm = time.monotonic()
        Client(url, verbose=False).predict("warm up", args.model, api_name="/predict")  # loads the model once
        print(f"first prediction (model load) {time.monotonic() - warm:.1f} s", flush=True)
        budget, kinds, ok = None if args.no_train else args.train_budget, args.press or ["one"], True
        if args.users is not None:
            for press in kinds:
                ok &= report(f"{args.users} users, pace {args.pace:g} s, press {press}, {args.client} client",
                             scenario(url, args.model, args.users, args.pace, args.seconds, budget, press,
                                      args.method, args.client), None)
            return 0 if ok else 1
        idle = scenario(url, args.model, 0, 0, 0, args.train_budget, method=args.method)
        ok = report("a run alone", idle, None)
        for (users, pace), press in ((scene, press) for scene in ((4, 2.0), (8, 0.0)) for press in kinds):
            figures = scenario(url, args.model, users, pace, args.seconds, args.train_budget, press, args.method,
                               args.client)
            ok &= report(f"{users} users, a press every {pace:g} s, press {press}, {args.client} client, while a "
                         f"run trains", figures, idle.get("examples_per_s"))
        return 0 if ok else 1
    finally:
        if app is not None:
            app.terminate()
            app.wait(30)


if __name__ == "__main__":
    sys.exit(main())
