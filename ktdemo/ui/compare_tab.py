"""Compare tab: every run of this session side by side, and studies that run several configs at once."""
from __future__ import annotations

import gradio as gr

from .. import data
from ..config import config_from
from ..figures.compare import (accuracy_vs_parameters_figure, accuracy_vs_time_figure, comparison_table,
                               kshot_curve_figure, transfer_matrix_figure)
from ..figures.training import training_curves_figure
from ..messages import message_of
from ..serving.records import run_label
from ..serving.session import Session
from ..training import studies
from . import train_tab
from .controls import outputs
from .i18n import language_of, t, tr, tr_each, words

ComparedRuns = outputs("table", "by_time", "by_params", "kshot", "matrix")  # every run side by side
StudyView = outputs("status", "curves", *ComparedRuns._fields)  # a study's live view, then the comparison
STUDY_BUDGET_S = 20  # per run: a study of 8 runs then takes a few minutes on 2 CPU cores


def build(train_controls: dict, session: gr.State):
    """Returns (compare, its outputs): the tab refreshes whenever it is opened."""
    gr.Markdown(tr("compare.intro"))
    table = gr.Dataframe(comparison_table([]), label=tr("compare.table"), interactive=False, wrap=True,
                         elem_id="runs-table")
    with gr.Row():
        by_time = gr.Plot(accuracy_vs_time_figure([]), label=tr("compare.by_time"))
        by_params = gr.Plot(accuracy_vs_parameters_figure([]), label=tr("compare.by_params"))
    with gr.Row():
        study_menu = gr.Dropdown([(tr(f"study.{key}"), key) for key in studies.STUDIES], value="methods",
                                 label=tr("compare.study"), scale=3)
        study_budget = gr.Slider(5, 300, value=STUDY_BUDGET_S, step=5, label=tr("compare.budget"), scale=1)
        kshot_methods = gr.CheckboxGroup([(tr(f"method.{m}"), m) for m in studies.KSHOT_METHODS],
                                         value=["full", "linear_probe"], label=tr("compare.kshot_methods"), scale=2)
    with gr.Row():
        run_study = gr.Button(tr("compare.run_study"), variant="primary", elem_id="run-study")
        stop_button = gr.Button(tr("compare.stop"), variant="stop")
    status = gr.HTML(tr_each("compare.ready_html", lambda language: train_tab.status_html(
        None, t("compare.ready", language))), elem_classes="kt-status")
    curves = gr.Plot(training_curves_figure([], []), label=tr("compare.curves"))
    with gr.Row():
        kshot = gr.Plot(kshot_curve_figure([]), label=tr("compare.kshot"))
        matrix = gr.Plot(transfer_matrix_figure([], [], []), label=tr("compare.matrix"))
    compared = ComparedRuns.components(table=table, by_time=by_time, by_params=by_params, kshot=kshot, matrix=matrix)

    train_tab.document_settings(study, train_controls, study="one of " + ", ".join(studies.STUDIES),
                                kshot_methods="the k-shot study's methods, of " + ", ".join(studies.KSHOT_METHODS))
    # The study's own budget slider takes the place of the Train tab's budget: the same setting, one name.
    run_study.click(study, inputs_kwargs={**train_controls, "time_budget_s": study_budget, "study": study_menu,
                                              "kshot_methods": kshot_methods, "session": session},
                    outputs=[status, curves, *compared], api_name="study", concurrency_limit=None,
                    concurrency_id="train", show_progress="minimal", show_progress_on=status)
    stop_button.click(train_tab.stop, session, None, api_name=False, show_progress="hidden")
    return compare, compared


def study(session: Session, study: str = "methods", kshot_methods=("full", "linear_probe"), **settings):
    """Run a study: several runs that differ in one thing only (methods, pretraining, k-shot, transfer matrix),
    each with these settings (RunConfig's names; `time_budget_s` is per run); yields the live status, then the
    table and figures of every run of the session."""
    try:
        configs = studies.build(study, config_from(settings), tuple(kshot_methods or ()) or ("full",))
        job = session.runs.start(configs, study=study)
    except (RuntimeError, ValueError, TypeError) as error:
        yield StudyView(status=train_tab.status_html(None, message=message_of(error), language=language_of(session)))
        return
    language = language_of(session)
    try:
        shown = 0
        while not job.wait(train_tab.POLL_S):
            fresh = len(job.results) != shown
            shown = len(job.results)
            yield StudyView(status=train_tab.status_html(job, language=language),
                            curves=train_tab.curves_figure(job, language), **(compare(session)._asdict() if fresh else {}))
        yield StudyView(status=train_tab.status_html(job, message=job.problem, language=language),
                        curves=train_tab.curves_figure(job, language), **compare(session)._asdict())
    finally:
        session.app.sessions.caller_left(session)


def compare(session: Session) -> ComparedRuns:
    """Every finished run of this session side by side: the table, accuracy against time and trainable
    parameters, the k-shot curve and the transfer matrix; the figures in the page's language."""
    said = words(language_of(session))
    rows = [{**row, "label": run_label(row["run"], row["method"], row["kind"], row["dataset"], said)}
            for row in session.runs.history]
    names = {key: spec.name for key, spec in data.DATASETS.items()}
    kshot_rows = [row for row in rows if row["study"] == "kshot"]
    matrix = studies.transfer_matrix(rows, names)
    return ComparedRuns(table=comparison_table(rows), by_time=accuracy_vs_time_figure(rows, said),
                        by_params=accuracy_vs_parameters_figure(rows, said),
                        kshot=kshot_curve_figure(studies.kshot_points(kshot_rows), words=said),
                        matrix=transfer_matrix_figure(*matrix, words=said))
