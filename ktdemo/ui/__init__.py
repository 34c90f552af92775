"""The Gradio interface: a thin layer that wires the core to the screen. No tensor work here."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from .. import data, models
from ..serving.app import App, default_app
from ..serving.session import Session, warm_up  # noqa: F401 - app.py starts it
from . import compare_tab, data_tab, learn_tab, predict_tab, train_tab
from .i18n import I18N, language_of, language_of_header, text, tr, warning

CSS = (Path(__file__).resolve().parents[2] / "assets" / "style.css").read_text()
THEME = gr.themes.Soft(primary_hue="blue", secondary_hue="orange")
SESSION_TTL_S = 2 * 3600  # an idle session's models are freed after this
UPLOAD_CAP_MB = 5 * data.MAX_UPLOAD_MB  # Gradio refuses larger uploads before storing them (see launch_options)


def build_demo(app: App | None = None) -> gr.Blocks:
    """The page; its sessions share `app` (default: the process's, `serving.app.default_app`)."""
    app = app or default_app()
    # delete_cache: files Gradio keeps for downloads and uploads are removed after two hours.
    with gr.Blocks(title="ktdemo · knowledge transfer with Transformers", delete_cache=(3600, 7200)) as demo:
        # An instance, not the class: each session gets a deep copy (a fresh Session), and no public endpoint
        # is made for a callable initial value.
        session = gr.State(Session(app), time_to_live=SESSION_TTL_S, delete_callback=app.sessions.detach)
        # The browser keeps its session's secret token: a reloaded page gets the session (and its run) back.
        token = gr.BrowserState(None, storage_key="ktdemo-session")
        gr.Markdown(tr("app.header", device=models.describe_device()), elem_classes="kt-header")
        with gr.Row():
            model = gr.Dropdown(_model_choices(), value=models.DEFAULT_MODEL, label=tr("app.model"),
                                allow_custom_value=True, elem_id="model", info=tr("app.model.info"))
            dataset = gr.Dropdown(data_tab.dataset_choices(), value=data.DEFAULT_DATASET, label=tr("app.dataset"))
        model_info = gr.Markdown(elem_id="model-info")
        dataset_info = gr.Markdown(_dataset_markdown(data.DEFAULT_DATASET))
        model.change(check_model, [model, session], model_info, api_name="check_model", show_progress="hidden")
        dataset.change(_dataset_markdown, dataset, dataset_info, api_name=False, show_progress="hidden")
        with gr.Tabs():
            with gr.Tab(tr("tab.data"), id="data"):
                data_tab.build(model, dataset, session, demo)
            with gr.Tab(tr("tab.train"), id="train") as train:
                settings, follow = train_tab.build(model, dataset, session, token)
            train.select(**follow)  # a tab opened after the page loaded may have missed the run's last update
            with gr.Tab(tr("tab.compare"), id="compare") as compare:
                refresh, outputs = compare_tab.build(settings, session)
            compare.select(refresh, session, outputs, api_name="compare", show_progress="hidden")
            with gr.Tab(tr("tab.predict"), id="predict"):
                predict_tab.build(model, dataset, session)
            with gr.Tab(tr("tab.learn"), id="learn"):
                learn_tab.build(model, dataset, session)
        demo.load(attach, [token, session], [token, session], api_name=False, show_progress="hidden").then(
            **follow)
    return demo


def attach(token: str | None, fresh: Session, request: gr.Request) -> tuple[str, Session]:
    """The page's session (its app's `sessions.attach`: its live one after a reload, else `fresh`), in the language of
    the browser that opened it: the text the server builds follows it (the static text the browser translates
    itself)."""
    token, session = fresh.app.sessions.attach(token, fresh)
    session.language = language_of_header(request.headers.get("accept-language") if request else None)
    return token, session


def launch_options() -> dict:
    """Theme, CSS and the translations (`i18n`) go to launch() in Gradio 6.

    Gradio drops a file over max_file_size without a word, so its cap sits well above the data layer's
    limit: a file a little too large gets the data layer's sentence, a huge one never fills the disk.
    """
    return {"theme": THEME, "css": CSS, "max_file_size": f"{UPLOAD_CAP_MB}mb", "i18n": I18N}


def check_model(model: str, session: Session | None = None) -> str:
    """Where a model loads from (bundled, or the Hugging Face Hub), or in one sentence why it cannot.

    Args:
        model: a catalog key (e.g. 'minilm') or any Hugging Face Hub id ('owner/model').
    """
    language = language_of(session)
    try:
        return text(models.check(model), language)
    except models.ModelError as error:
        return warning(error, language)


def _model_choices() -> list[tuple[str, str]]:
    return [(spec.name + ("" if spec.available_offline else " (Hub)"), key) for key, spec in models.MODELS.items()]


def _dataset_markdown(key: str) -> str:
    spec = data.DATASETS.get(key)
    if spec is None:
        return ""
    labels = ", ".join(spec.label_names)
    return f"*{spec.description}* Labels: {labels}. Source: {spec.source}. Licence: {spec.licence}."
