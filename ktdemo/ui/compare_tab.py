"""Compare tab: every run of this session side by side, and studies that run several configs at once."""
from __future__ import annotations

import gradio as gr

from .. import data, studies
from ..figures.compare import (accuracy_vs_parameters_figure, accuracy_vs_time_figure, comparison_table,
                               kshot_curve_figure, transfer_matrix_figure)
from ..figures.training import training_curves_figure
from ..session import SESSIONS, Session
from . import train_tab

STUDY_CHOICES = [(text, key) for key, text in studies.STUDIES.items()]
STUDY_BUDGET_S = 20  # per run: a study of 8 runs then takes a few minutes on 2 CPU cores


def build(train_settings: list, session: gr.State):
    """Returns (refresh, its outputs): the tab refreshes whenever it is opened."""
    gr.Markdown("Every run of this session, side by side: what transfer bought (accuracy) and what it cost "
                "(time, trainable parameters, memory). Runs from the Train tab land here; a study runs several "
                "configs that differ in one thing only, with the Train tab's model, dataset and settings.")
    table = gr.Dataframe(comparison_table([]), label="Runs of this session", interactive=False, wrap=True,
                         elem_id="runs-table")
    with gr.Row():
        by_time = gr.Plot(accuracy_vs_time_figure([]), label="Accuracy vs wall time")
        by_params = gr.Plot(accuracy_vs_parameters_figure([]), label="Accuracy vs trainable parameters")
    with gr.Row():
        study = gr.Dropdown(STUDY_CHOICES, value="methods", label="Study", scale=3)
        study_budget = gr.Slider(5, 300, value=STUDY_BUDGET_S, step=5, label="Budget per run (seconds)", scale=1)
        kshot_methods = gr.CheckboxGroup([("Full fine-tune", "full"), ("Top layers", "top_layers"),
                                          ("LoRA", "lora"), ("Linear probe", "linear_probe")],
                                         value=["full", "linear_probe"], label="k-shot curve: methods", scale=2)
    with gr.Row():
        run_study = gr.Button("Run study", variant="primary", elem_id="run-study")
        stop = gr.Button("Stop", variant="stop")
    status = gr.HTML(train_tab.status_html(None, "Pick a study and press Run study."), elem_classes="kt-status")
    curves = gr.Plot(training_curves_figure([], []), label="Run in progress")
    with gr.Row():
        kshot = gr.Plot(kshot_curve_figure([]), label="k-shot learning curve")
        matrix = gr.Plot(transfer_matrix_figure([], [], []), label="Transfer matrix")
    outputs = [table, by_time, by_params, kshot, matrix]

    @train_tab.with_config_parameters("study_key", "budget_s_per_run", "kshot_methods")
    def run(study_key, budget_s, methods, *values):
        *values, session = values
        try:
            base = train_tab.make_config(*values)
            base.time_budget_s = float(budget_s)
            job = session.start(studies.build(study_key, base, tuple(methods) or ("full",)), study=study_key)
        except (RuntimeError, ValueError, TypeError) as error:
            yield train_tab.status_html(None, message=str(error)), gr.skip(), *[gr.skip()] * len(outputs)
            return
        try:
            shown = 0
            while not job.wait(train_tab.POLL_S):
                fresh = len(job.results) != shown
                shown = len(job.results)
                yield (train_tab.status_html(job), train_tab.curves_figure(job),
                       *(refresh(session) if fresh else [gr.skip()] * len(outputs)))
            yield train_tab.status_html(job, message=job.error), train_tab.curves_figure(job), *refresh(session)
        finally:
            SESSIONS.caller_left(session)

    run_study.click(run, [study, study_budget, kshot_methods, *train_settings, session], [status, curves, *outputs],
                    api_name="study", concurrency_limit=None, concurrency_id="train", show_progress="minimal",
                    show_progress_on=status)
    stop.click(lambda session: session.stop() and None, [session], None, api_name=False, show_progress="hidden")
    return refresh, outputs


def refresh(session: Session) -> list:
    """Table and figures from the session's history."""
    rows = session.history
    names = {key: spec.name for key, spec in data.DATASETS.items()}
    kshot_rows = [row for row in rows if row["study"] == "kshot"]
    matrix = studies.transfer_matrix(rows, names)
    return [comparison_table(rows), accuracy_vs_time_figure(rows), accuracy_vs_parameters_figure(rows),
            kshot_curve_figure(studies.kshot_points(kshot_rows)), transfer_matrix_figure(*matrix)]
