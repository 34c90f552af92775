"""What one Predict press sends to the browser, and how long the attention figures take to build.

    python benchmarks/payload.py              # MiniLM (bundled), a 64-token sentence, medians of 15
    python benchmarks/payload.py --repeats 5

Figures: bytes of each attention figure's JSON (`fig.to_json()`, which gr.Plot sends) and its build and
to_json times; then the press itself, run through the app's own chained events (/predict, /attention,
/rollout) with Gradio's processing, and the bytes of each event's output as JSON. Printed, never asserted.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

MODEL, TOKENS = "minilm", 64
WORDS = ("the film is a quietly moving portrait of a family and its actors are wonderful "
         "even when the script is thin and slow").split()


def sentence(tokenizer, tokens: int = TOKENS) -> str:
    """Words of a review, as many as make `tokens` tokens with [CLS] and [SEP]."""
    for count in range(tokens, 0, -1):
        text = " ".join(WORDS[i % len(WORDS)] for i in range(count))
        if len(tokenizer(text)["input_ids"]) <= tokens:
            return text
    raise ValueError("no sentence fits")


def median_ms(run, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return round(statistics.median(samples) * 1000, 1)


def figures(text: str, repeats: int) -> dict:
    from ktdemo import models
    from ktdemo.figures.attention import attention_heatmap_figure, attention_overview_figure
    from ktdemo.inspection import attention

    model = models.pretrained_classifier(MODEL, ["negative", "positive"])
    inspection = attention.inspect(model, models.load_tokenizer(MODEL), text)
    weights, tokens = inspection.attentions, inspection.tokens
    builders = {"heatmap (one head)": lambda: attention_heatmap_figure(weights[-1, 0], tokens, "Layer 6, head 1"),
                "overview (every head)": lambda: attention_overview_figure(weights, selected=(5, 0))}
    report = {"tokens": len(tokens), "attention_shape": list(weights.shape)}
    for name, build in builders.items():
        figure = build()
        report[name] = {"json_bytes": len(figure.to_json()), "build_ms": median_ms(build, repeats),
                        "to_json_ms": median_ms(figure.to_json, repeats)}
    return report


def press(text: str) -> dict:
    """The Predict button's chain, as the browser triggers it: each event's output bytes and time."""
    from gradio.state_holder import SessionState

    from ktdemo import models
    from ktdemo.ui import build_demo

    demo = build_demo()
    state = SessionState(demo)
    events = {fn.api_name: fn for fn in demo.fns.values() if fn.api_name in ("predict", "attention", "rollout")}
    inputs = {"predict": [text, MODEL, "rotten_tomatoes", None],
              "attention": [text, 6, 1, MODEL, "rotten_tomatoes", "Word pieces", True, None],
              "rollout": [text, MODEL, "rotten_tomatoes", "Word pieces", True, None]}

    async def run_chain() -> dict:
        report = {}
        for name in ("predict", "attention", "rollout"):
            start = time.perf_counter()
            output = await demo.process_api(events[name], inputs[name], state=state)
            report[name] = {"bytes": len(json.dumps(output["data"])),
                            "ms": round((time.perf_counter() - start) * 1000, 1)}
        return report

    models.pretrained_classifier(MODEL, ["negative", "positive"])  # loading is not what a press costs
    asyncio.run(run_chain())  # the first press also warms caches
    report = asyncio.run(run_chain())
    report["total_bytes"] = sum(event["bytes"] for event in report.values())
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    from ktdemo import models

    text = sentence(models.load_tokenizer(MODEL))
    print(json.dumps({"figures": figures(text, args.repeats), "predict_press": press(text)}, indent=2))


if __name__ == "__main__":
    main()
