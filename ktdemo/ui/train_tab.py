"""Train tab: pick a budget, start, watch the curves, stop, read the before/after results."""
from __future__ import annotations

import html

import gradio as gr

from .. import data, runs
from ..figures.training import before_after_figure, confusion_figure, training_curves_figure
from ..workspace import Job, Workspace

POLL_S = 1.0  # how often the live view refreshes while training
DEFAULTS = runs.RunConfig()
PER_CLASS = ["all"] + [str(k) for k in data.PER_CLASS_CHOICES if k]


def build(model, dataset, workspace: gr.State) -> None:
    with gr.Row():
        budget = gr.Slider(5, 600, value=DEFAULTS.time_budget_s, step=5, label="Training time budget (seconds)", elem_id="budget",
                           info="Training stops when the budget is spent; scoring before and after adds a little.")
        per_class = gr.Dropdown(PER_CLASS, value="all", label="Training examples per class",
                                info="Few-shot transfer: how many labelled examples of each class to learn from.")
    with gr.Accordion("Advanced", open=False):
        with gr.Row():
            learning_rate = gr.Number(DEFAULTS.learning_rate, label="Learning rate", minimum=1e-7, maximum=1.0)
            max_length = gr.Slider(16, 256, value=DEFAULTS.max_length, step=8, label="Max length (tokens)")
    with gr.Row():
        start = gr.Button("Start training", variant="primary", elem_id="start-training")
        stop = gr.Button("Stop", variant="stop", elem_id="stop-training")
    status = gr.HTML(_status_html(None), elem_classes="kt-status", elem_id="train-status")
    curves = gr.Plot(training_curves_figure([], []), label="Live training curves", elem_id="curves")
    results = gr.Markdown(elem_id="train-results")
    with gr.Row():
        before_after = gr.Plot(label="Before vs after")
        confusion = gr.Plot(label="Confusion matrix")
    mistakes = gr.Dataframe(headers=["text", "true", "predicted", "confidence"], label="Most confident mistakes on the test set",
                            wrap=True, interactive=False, column_widths=["64%", "12%", "12%", "12%"])

    def train(model_key, dataset_key, budget_s, lr, length, examples_per_class, ws: Workspace):
        try:
            config = runs.RunConfig(model=model_key, dataset=dataset_key, time_budget_s=float(budget_s),
                                        learning_rate=float(lr), max_length=int(length),
                                        per_class=None if examples_per_class == "all" else int(examples_per_class))
            job = ws.start(config)
        except (RuntimeError, ValueError, TypeError) as error:
            yield _status_html(None, message=str(error)), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        try:
            while not job.wait(POLL_S):
                yield _status_html(job), _curves(job), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            yield _final(job)
        finally:  # the browser went away mid-run: do not keep training for nobody
            ws.stop()

    start.click(train, [model, dataset, budget, learning_rate, max_length, per_class, workspace],
                [status, curves, results, before_after, confusion, mistakes],
                api_name="train", concurrency_limit=1, concurrency_id="train", show_progress="hidden")
    stop.click(lambda ws: ws.stop() and None, [workspace], None, api_name="stop", concurrency_limit=None,
               show_progress="hidden")


def _curves(job: Job):
    return training_curves_figure(list(job.log.losses), list(job.log.evals), job.log.max_steps or None)


def _final(job: Job):
    if job.result is None:
        return (_status_html(job, message=job.error), _curves(job), gr.skip(), gr.skip(), gr.skip(), gr.skip())
    run = job.result
    return (
        _status_html(job),
        _curves(job),
        results_markdown(run),
        before_after_figure(run.before.summary(), run.after.summary()),
        confusion_figure(run.after.confusion, run.label_names, "Confusion matrix after transfer (test set)"),
        [[row["text"], row["true"], row["predicted"], row["confidence"]] for row in run.misclassified],
    )


def results_markdown(run) -> str:
    s = run.stats
    stopped = " (stopped early by you; the best checkpoint was kept)" if s["stopped_by_user"] else ""
    if s["test_examples"] < s["test_split_examples"]:
        stopped += f", a random sample of the {s['test_split_examples']:,} in the test split, to stop fast"
    notices = "".join(f"\n- {html.escape(n)}" for n in s["notices"])
    return (
        f"### Result on {s['test_examples']:,} held-out test examples{stopped}\n"
        "| | accuracy | macro-F1 |\n|---|---|---|\n"
        f"| before: pretrained encoder, untrained head | {run.before.accuracy:.1%} | {run.before.macro_f1:.1%} |\n"
        f"| after: {s['train_seconds']:.0f} s of transfer | **{run.after.accuracy:.1%}** | **{run.after.macro_f1:.1%}** |\n\n"
        f"{s['steps']} steps · {s['epochs']} epochs · {s['examples_seen']:,} examples seen of {s['train_examples']:,} · "
        f"{s['examples_per_s']} examples/s · {s['tokens_per_s']:,} tokens/s · "
        f"{s['trainable_params'] / 1e6:.1f}M of {s['total_params'] / 1e6:.1f}M parameters trained · "
        f"best checkpoint at step {s['best_step']} · {s['device']}"
        + (f"\n\nData notes:{notices}" if notices else "")
    )


def _status_html(job: Job | None, message: str | None = None) -> str:
    if job is None:
        text = html.escape(message) if message else "Ready. Press <b>Start training</b>."
        return f'<div class="kt-bar"><div style="width:0%"></div></div><p>{text}</p>'
    log = job.log
    fraction = 1.0 if log.phase in ("done", "stopped") else log.fraction()
    parts = [log.phase.capitalize()]
    if log.phase == "training":
        parts.append(f"step {log.step}/{log.max_steps}" if log.max_steps else f"step {log.step}")
        eta = log.eta_s()
        if eta is not None:
            parts.append(f"about {eta:.0f} s left")
    parts.append(f"{log.elapsed():.0f} s elapsed")
    if log.evals:
        parts.append(f"validation accuracy {log.evals[-1][1]:.1%}")
    text = " · ".join(parts)
    if message:
        text += f"<br>{html.escape(message)}"
    state = {"done": "kt-done", "stopped": "kt-stopped", "failed": "kt-failed"}.get(log.phase, "")
    return f'<div class="kt-bar {state}"><div style="width:{fraction:.0%}"></div></div><p>{text}</p>'

