"""Data tab: look at the picked dataset before training on it; bring your own file or a Hub dataset.

A dataset added here lives in this session under "upload:<file name>" or "hub:<id>",
joins the top dataset dropdown (for this session only) and is what the Train tab trains on.
"""
from __future__ import annotations

import gradio as gr

from .. import data
from ..config import RunConfig
from ..figures.data import class_balance_figure, length_histogram_figure, split_balance_figure
from ..messages import say
from ..serving.datasets import UPLOAD_PREFIX
from ..serving.session import Session
from .controls import outputs
from .i18n import EN, language_of, t, text, tr, warning, words

Preview = outputs("summary", "balance", "per_split", "lengths", "examples")  # a dataset's preview
Added = outputs("dataset", "note", *Preview._fields)  # a dataset added to the session, previewed
MAX_LENGTH = RunConfig().max_length  # the Train tab's default cut, marked on the histogram
FORMATS = ", ".join(suffix[1:].upper() for suffix in data.UPLOAD_FORMATS)


def dataset_choices(session: Session | None = None) -> list[tuple[str, str]]:
    """(display name, key) for the dataset dropdown: the bundled datasets, then this session's own."""
    choices = [(spec.name, key) for key, spec in data.DATASETS.items()]
    for key, splits in (session.data.datasets.items() if session else ()):
        source = "Your file" if key.startswith(UPLOAD_PREFIX) else "Hub"
        choices.append((f"{source}: {splits.name or key.split(':', 1)[1]}", key))
    return choices


def build(model, dataset, session: gr.State, demo: gr.Blocks) -> None:
    gr.Markdown(tr("data.intro"))
    with gr.Accordion(tr("data.own_file"), open=False):
        gr.Markdown(tr("data.own_file.help", formats=FORMATS, mb=data.MAX_UPLOAD_MB))
        file = gr.File(label=tr("data.file", formats=FORMATS, mb=data.MAX_UPLOAD_MB),
                       file_types=list(data.UPLOAD_FORMATS), type="filepath")
        with gr.Row():
            text_column = gr.Dropdown([], value=None, label=tr("data.text_column"), allow_custom_value=True)
            label_column = gr.Dropdown([], value=None, label=tr("data.label_column"), allow_custom_value=True)
        use_file = gr.Button(tr("data.use_file"), variant="primary")
        file_note = gr.Markdown()

    with gr.Accordion(tr("data.hub"), open=False):
        gr.Markdown(tr("data.hub.help", rows=f"{data.MAX_HUB_ROWS:,}"))
        with gr.Row():
            hub_id = gr.Dropdown([(f"{key} · {preset.description}", key) for key, preset in data.HUB_PRESETS.items()],
                                 value=None, label=tr("data.hub_id"), allow_custom_value=True, scale=2)
            hub_config = gr.Textbox(label=tr("data.hub_config"), placeholder=tr("data.hub_config.placeholder"))
            hub_split = gr.Textbox(label=tr("data.hub_split"), placeholder="train")
        with gr.Row():
            hub_text = gr.Textbox(label=tr("data.hub_text"))
            hub_label = gr.Textbox(label=tr("data.hub_label"))
        load = gr.Button(tr("data.load"), variant="primary")
        hub_note = gr.Markdown()

    summary = gr.Markdown()
    with gr.Row():
        balance = gr.Plot(label=tr("data.balance"))
        per_split = gr.Plot(label=tr("data.per_split"))
    lengths = gr.Plot(label=tr("data.lengths"))
    examples = gr.Dataframe(headers=["label", "text"], label=tr("data.examples"),
                            wrap=True, interactive=False, max_height=400)
    preview_outputs = Preview.components(summary=summary, balance=balance, per_split=per_split, lengths=lengths,
                                         examples=examples)

    gr.on([demo.load, model.change, dataset.change], preview, [model, dataset, session], preview_outputs,
          api_name="preview", concurrency_id="data", concurrency_limit=4, show_progress="minimal")
    file.change(columns, [file, session], [text_column, label_column, file_note], api_name="columns",
                concurrency_id="data", concurrency_limit=4, show_progress="minimal")
    use_file.click(add_file, [file, text_column, label_column, model, session],
                   [dataset, file_note, *preview_outputs], api_name="upload", concurrency_id="data",
                   concurrency_limit=4)
    load.click(add_hub, [hub_id, hub_config, hub_split, hub_text, hub_label, model, session],
               [dataset, hub_note, *preview_outputs], api_name="load_hub", concurrency_id="hub", concurrency_limit=2)


def preview(model: str, dataset: str, session: Session):
    """The dataset's classes per split, its text lengths in the model's tokens and a few examples of each class."""
    try:
        return _preview(model, dataset, session)
    except data.DataError as error:
        return Preview(rest=None, summary=warning(error, language_of(session)))


def columns(file, session: Session | None = None):
    """The columns of the chosen file, with the text and label columns guessed."""
    if not file:
        return gr.update(choices=[], value=None), gr.update(choices=[], value=None), ""
    try:
        table = data.read_table_file(file)
    except data.DataError as error:
        return (gr.update(choices=[], value=None), gr.update(choices=[], value=None),
                warning(error, language_of(session)))
    names = list(table.columns)
    try:
        text, label = data.guess_columns(table)
    except data.DataError as error:
        return (gr.update(choices=names, value=None), gr.update(choices=names, value=None),
                warning(error, language_of(session)))
    note = t("data.columns_note", language_of(session), rows=f"{len(table):,}", names=", ".join(names), text=text,
             label=label)
    return gr.update(choices=names, value=text), gr.update(choices=names, value=label), note


# Defaults of None make those inputs optional for API clients (the columns are then guessed).
def add_file(file, text_column=None, label_column=None, model=None, session: Session | None = None):
    """Use the user's file (CSV, TSV, JSON, JSONL, Parquet) as a dataset of this session, and preview it."""
    if not file:
        return _refused(f"⚠️ {t('data.choose_file', language_of(session))}")
    try:
        return _added(session, session.data.add_upload(file, text_column, label_column), model)
    except data.DataError as error:
        return _refused(warning(error, language_of(session)))


def add_hub(dataset_id, config=None, split=None, text_column=None, label_column=None, model=None,
            session: Session | None = None):
    """Load a Hugging Face Hub dataset (needs a network) as a dataset of this session, and preview it."""
    try:
        return _added(session, session.data.add_hub(dataset_id, config, split, text_column, label_column), model)
    except data.DataError as error:
        return _refused(warning(error, language_of(session)))


def _refused(message: str) -> Added:
    """The ⚠️ message under the button; the dropdown and the preview stay as they were."""
    return Added(note=message)


def _added(session: Session, key: str, model: str):
    """Select the session's new dataset in the dropdown and preview it."""
    splits = session.data.datasets[key]
    note = t("data.added", language_of(session), name=splits.name)
    return Added(dataset=gr.update(choices=dataset_choices(session), value=key), note=note,
                 **_preview(model, key, session)._asdict())


def _preview(model: str, dataset: str, session: Session) -> Preview:
    """The preview's outputs: its summary, three figures and the examples."""
    preview, language = session.data.preview(model, dataset), language_of(session)
    shown, counted = preview.shown, preview.problem is None
    return Preview(
        summary=_summary(preview.splits, preview.problem, language),
        balance=class_balance_figure(shown.counts, t("data.fig.balance", language), words(language)),
        per_split=split_balance_figure(preview.splits.class_counts(), words=words(language)),
        lengths=length_histogram_figure(shown.lengths, MAX_LENGTH if counted else None, shown.unit,
                                        t("data.fig.tokens", language, model=preview.model_name) if counted else
                                        t("data.fig.words", language), words(language)),
        examples=shown.examples,
    )


def _summary(splits: data.Splits, problem: Exception | None, language: str = EN) -> str:
    sizes = {name: len(frame) for name, frame in splits.parts().items()}
    parts = t("data.summary.join", language).join(
        t("data.summary.split", language, count=f"{count:,}", split=text(say(f"part.split.{name}"), language))
        for name, count in sizes.items())
    summary = t("data.summary", language, name=splits.name, classes=splits.num_labels,
                total=f"{sum(sizes.values()):,}", sizes=parts)
    if problem is None:
        summary += t("data.summary.dashed", language, n=MAX_LENGTH)
    else:
        summary += t("data.summary.words", language, problem=text(problem, language))
    if splits.notices:
        summary += t("data.summary.notes", language) + "".join(f"\n- {text(notice, language)}"
                                                                for notice in splits.notices)
    return summary
