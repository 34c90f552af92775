"""Train tab: choose the kind of transfer and the method, start, watch the curves, stop, read the results.

Its controls are keyed by RunConfig field: the API takes the same names (`inputs_kwargs`), a preset fills them by
name, and `config_from` turns them into a run. A new setting is its field plus its widget here.
"""
from __future__ import annotations

import html
import threading
import weakref
from collections import OrderedDict

import gradio as gr

from .. import data
from ..config import ALL, KINDS, METHODS, POOLINGS, SOURCE_KINDS, WARM_STARTS, config_from, default, help_text
from ..data.descriptions import default_descriptions, format_descriptions
from ..figures.attention import attention_heatmap_figure, attention_overview_figure
from ..figures.timelapse import timelapse_figure
from ..figures.training import confusion_figure, training_curves_figure
from ..messages import Message, message_of
from ..outputs import report
from ..progress import RunStats
from ..serving.records import Job, NoRun
from ..serving.session import Session
from ..training import presets
from ..training.timelapse import DEFAULT_PROBE, last_layer_frames
from .controls import clamp, outputs
from .data_tab import dataset_choices
from .i18n import EN, PRESET_KEYS
from .i18n import choices as translated_choices
from .i18n import language_of, preset_choices, status_text, t, text, tr, tr_each, warning, words

POLL_S = 1.0  # how often the live view refreshes while training
RunView = outputs("status", "curves", "results", "before_after", "confusion", "mistakes")  # a run's live view, result
LapseView = outputs("caption", "overview", "heatmap")  # one time-lapse snapshot
LapseStart = outputs("box", "index", "layer", "head", "movie", *LapseView._fields)  # the time-lapse opened
PER_CLASS = [ALL] + [str(k) for k in data.PER_CLASS_CHOICES if k]
ADAPT_CHOICES = ["0", "8", "32", "128"]
SOURCE = "rotten_tomatoes"  # the source dropdown's start: a run without a source leaves it here


def per_class_choices() -> list[tuple]:
    return [(tr("train.all"), ALL)] + [(k, k) for k in PER_CLASS[1:]]


def build(model, dataset, session: gr.State, token: gr.BrowserState) -> tuple[dict, dict]:
    """The tab; returns its controls by RunConfig field (the Compare tab's studies start from them) and the event
    that brings a reopened page its session's run (`token`: the browser's session token)."""
    controls = {"model": model, "dataset": dataset}
    preset_menu = gr.Dropdown(preset_choices(), value=None, label=tr("train.presets"), elem_id="preset",
                              info=tr("train.presets.info"))
    preset_note = gr.Markdown(elem_id="preset-note")
    with gr.Row():
        kind = controls["kind"] = gr.Radio(translated_choices("kind", KINDS), value=default("kind"),
                                           label=tr("train.kind"), elem_id="kind", scale=3)
        method = controls["method"] = gr.Radio(translated_choices("method", METHODS), value=default("method"),
                                               elem_id="method", scale=2, label=tr("train.method"))
    kind_help = gr.Markdown(tr_each("train.kind_help",
                                    lambda language: _kind_help(default("kind"), default("method"), language)))
    with gr.Group(visible=False) as source_group:
        with gr.Row():
            source = controls["source_dataset"] = gr.Dropdown(
                dataset_choices(), value=SOURCE, label=tr("train.source"), elem_id="source-dataset")
            controls["label_map"] = gr.Textbox("", label=tr("train.label_map"),
                                               placeholder=tr("train.label_map.placeholder"))
            controls["adapt_per_class"] = gr.Dropdown(ADAPT_CHOICES, value="0", info=tr("help.adapt_per_class"),
                                                      label=tr("train.adapt"))
    # Empty by default (the API's default too: a stale text for another dataset's labels would be refused);
    # the placeholder shows the defaults, and picking a dataset fills them in for editing.
    descriptions = controls["label_descriptions"] = gr.Textbox(
        "", placeholder=_default_descriptions(data.DEFAULT_DATASET), lines=3,
        label=tr("train.descriptions"), info=tr("train.descriptions.info"))
    with gr.Group(visible=False) as zero_group:
        controls["nli_model"] = gr.Textbox("", label=tr("train.nli"), placeholder=tr("train.nli.placeholder"))
    with gr.Row():
        budget = controls["time_budget_s"] = gr.Slider(5, 600, value=default("time_budget_s"), step=5,
                                                       label=tr("train.budget"), elem_id="budget",
                                                       info=tr("train.budget.info"))
        per_class = controls["per_class"] = gr.Dropdown(
            per_class_choices(), value=ALL, label=tr("train.per_class"), info=tr("train.per_class.info"))
    with gr.Accordion(tr("train.advanced"), open=False):
        with gr.Row():
            controls["learning_rate"] = gr.Textbox("", label=tr("train.learning_rate"),
                                                   placeholder=tr("train.learning_rate.placeholder"),
                                                   info=tr("help.learning_rate"))
            max_length = controls["max_length"] = gr.Slider(16, 256, value=default("max_length"), step=8,
                                                            label=tr("train.max_length"))
            controls["top_layers"] = gr.Slider(1, 12, value=default("top_layers"), step=1,
                                               label=tr("train.top_layers"))
            controls["lora_rank"] = gr.Slider(1, 64, value=default("lora_rank"), step=1, label=tr("train.lora_rank"))
            controls["lora_alpha"] = gr.Slider(1, 128, value=default("lora_alpha"), step=1, label=tr("train.lora_alpha"))
        with gr.Row():
            controls["warm_start"] = gr.Dropdown(translated_choices("warm_start", WARM_STARTS),
                                                 value=default("warm_start"), label=tr("train.warm_start"),
                                                 info=tr_each("warm_start.auto.info", _auto_info("warm_start")))
            controls["pooling"] = gr.Dropdown(translated_choices("pooling", POOLINGS), value=default("pooling"),
                                              label=tr("train.pooling"),
                                              info=tr_each("pooling.auto.info", _auto_info("pooling")))
    plan_note = gr.Markdown(elem_id="plan")
    with gr.Row():
        start = gr.Button(tr("train.start"), variant="primary", elem_id="start-training")
        stop_button = gr.Button(tr("train.stop"), variant="stop", elem_id="stop-training")
    own_copy = gr.Checkbox(False, label=tr("train.own_copy"), elem_id="own-copy", info=tr("train.own_copy.info"))
    status = gr.HTML(tr_each("status.ready_html", lambda language: status_html(None, language=language)),
                     elem_classes="kt-status", elem_id="train-status")
    curves = gr.Plot(training_curves_figure([], []), label=tr("train.curves"), elem_id="curves")
    results = gr.Markdown(elem_id="train-results")
    with gr.Row():
        before_after = gr.Plot(label=tr("train.before_after"))
        confusion = gr.Plot(label=tr("train.confusion"))
    mistakes = gr.Dataframe(headers=["text", "true", "predicted", "confidence"], label=tr("train.mistakes"),
                            wrap=True, interactive=False, column_widths=["64%", "12%", "12%", "12%"])
    with gr.Row():
        report_button = gr.Button(tr("train.download_report"), size="sm", elem_id="download-report")
        model_button = gr.Button(tr("train.download_model"), size="sm", elem_id="download-model")
    take_home_note = gr.Markdown(elem_id="take-home-note")
    take_home = gr.File(label=tr("train.take_home"), file_count="multiple", visible=False, elem_id="take-home-files")
    with gr.Row():
        export_button = gr.Button(tr("train.export_config"), size="sm")
        config_file = gr.File(label=tr("train.replay"), visible=False)
    gr.Markdown(tr("train.replay.note"), elem_classes="kt-note")
    with gr.Accordion(tr("train.timelapse"), open=False, elem_id="timelapse") as lapse_box:
        probe = gr.Textbox(DEFAULT_PROBE, label=tr("train.probe"), elem_id="probe-text", info=tr("train.probe.info"))
        lapse_caption = gr.Markdown(elem_id="timelapse-caption")
        with gr.Row():
            lapse_index = gr.Slider(0, 1, value=0, step=1, label=tr("train.snapshot"), scale=2,
                                    elem_id="timelapse-snapshot")
            lapse_layer = gr.Slider(1, 12, value=1, step=1, label=tr("predict.layer"))
            lapse_head = gr.Slider(1, 12, value=1, step=1, label=tr("predict.head"))
        with gr.Row():
            lapse_overview = gr.Plot(label=tr("train.lapse_overview"))
            lapse_heatmap = gr.Plot(label=tr("train.lapse_heatmap"))
        lapse_movie = gr.Plot(label=tr("train.lapse_movie"))

    document_settings(train, controls, probe_text="the time-lapse's sentence, snapshotted while training "
                      "(empty: no time-lapse)", own_copy="train a run of one's own even where another session "
                      "trains the same public run")
    document_settings(plan, controls)
    views = RunView.components(status=status, curves=curves, results=results, before_after=before_after,
                               confusion=confusion, mistakes=mistakes)
    lapse_views = LapseView.components(caption=lapse_caption, overview=lapse_overview, heatmap=lapse_heatmap)
    start.click(train, inputs_kwargs={**controls, "probe_text": probe, "own_copy": own_copy, "session": session},
                outputs=views, api_name="train", concurrency_limit=None, concurrency_id="train",
                show_progress="minimal", show_progress_on=status).then(
        _timelapse_start, session, LapseStart.components(box=lapse_box, index=lapse_index, layer=lapse_layer,
                                                         head=lapse_head, movie=lapse_movie, caption=lapse_caption,
                                                         overview=lapse_overview, heatmap=lapse_heatmap),
        api_name=False, show_progress="hidden")
    gr.on([lapse_index.input, lapse_layer.input, lapse_head.input], _timelapse_views,
          [lapse_index, lapse_layer, lapse_head, session], lapse_views, api_name=False, show_progress="hidden",
          trigger_mode="always_last")
    stop_button.click(stop, session, None, api_name="stop", concurrency_limit=None, show_progress="hidden")
    kind.change(_kind_changed, [kind, method, session], [source_group, zero_group, descriptions, kind_help],
                api_name=False, show_progress="hidden")
    method.change(_method_changed, [kind, method, session], kind_help, api_name=False, show_progress="hidden")
    dataset.change(_default_descriptions, dataset, descriptions, api_name=False, show_progress="hidden")
    source.focus(_source_choices, session, source, api_name=False, show_progress="hidden")
    gr.on([kind.change, method.change, budget.release, per_class.change, dataset.change, model.change, source.change,
           max_length.release], plan, inputs_kwargs={**controls, "session": session}, outputs=plan_note,
          api_name="plan", show_progress="hidden", trigger_mode="always_last")
    export_button.click(export_config, session, config_file, api_name="export_config", show_progress="hidden")
    def preset(name: str | None, session: Session = None):
        """Every Train tab setting of the lesson preset `name` (in /plan's parameter order), then its note.

        Args:
            name: one of the lesson presets' names, e.g. 'News topics with no labels (zero-shot)'.
        """
        return fill_preset(name, tuple(controls), language_of(session))

    preset_menu.change(preset, [preset_menu, session], [*controls.values(), preset_note], api_name="preset",
                       show_progress="hidden")
    report_button.click(report_files, session, [take_home, take_home_note], api_name="report")
    model_button.click(model_zip, session, [take_home, take_home_note], api_name="model_zip")
    return controls, dict(fn=reconnect, inputs=[token, session], outputs=views, api_name=False,
                          show_progress="hidden", concurrency_limit=None, concurrency_id="follow")


def document_settings(handler, controls: dict, **more: str) -> None:
    """Give `handler`'s docstring an Args line per setting, from RunConfig's help texts, and one per `more`
    (the API page and MCP clients read them); once."""
    lines = {**{name: help_text(name) for name in controls}, **more}
    if "\n    Args:" not in (handler.__doc__ or ""):
        handler.__doc__ += "\n\n    Args:\n" + "\n".join(f"        {name}: {text}." for name, text in lines.items())


def train(session: Session, probe_text: str | None = DEFAULT_PROBE, own_copy: bool = False, **settings):
    """Fine-tune the model on the dataset with these settings (all optional; RunConfig's names); yields the
    live status and curves every second, then the held-out results before and after transfer."""
    try:
        job = session.runs.start(config_from(settings), probe_text=(probe_text or "").strip() or None,
                                 own_copy=bool(own_copy))
    except (RuntimeError, ValueError, TypeError) as error:
        yield RunView(status=status_html(None, message=message_of(error), language=language_of(session)))
        return
    try:
        yield from _follow(job, language_of(session))
    finally:
        session.app.sessions.caller_left(session)


def stop(session: Session) -> None:
    """Stop this session's run: it keeps its best checkpoint so far."""
    session.runs.stop()


def reconnect(token: str | None, session: Session):
    """A page (re)opened on this session: its run's live view, else its last result. By the browser's token:
    the Train tab may be opened before the page's load has put the session in its state."""
    session = session.app.sessions.find(token) or session
    if session.runs.job is None:
        yield RunView()
        return
    yield from _follow(session.runs.job, language_of(session))


def plan(session: Session, **settings) -> str:
    """What a run with these settings (RunConfig's names, all optional) would do and how long it would take,
    before it starts; the choices "auto" would make, with reasons."""
    try:
        chosen = session.runs.plan(config_from(settings))
    except Exception as error:  # noqa: BLE001 - a plan is a hint: never an error dialog
        shown = error if getattr(error, "message", None) else (str(error).splitlines() or [""])[0][:300]
        return html.escape(warning(shown, language_of(session)))
    reasons = "".join(f"\n- {html.escape(text(reason, language_of(session)))}" for reason in chosen.reasons)
    return t("train.expected", language_of(session), s=f"{chosen.eta_s:.0f}") + reasons


def fill_preset(name: str | None, fields: tuple[str, ...], language: str = EN):
    """Every control's value for the lesson preset `name` (in `fields` order), then its note."""
    if not name:
        return (*[gr.skip()] * len(fields), "")
    settings = presets.preset_settings(name)
    key = PRESET_KEYS.get(name)
    label, note = (t(f"preset.{key}", language), t(f"preset.{key}.note", language)) if key else \
        (name, presets.PRESETS[name].note)
    return (*[shown(field, settings[field], settings) for field in fields],
            t("train.preset_note", language, name=html.escape(label), note=note))


def shown(name: str, value, settings: dict):
    """A setting's value as its control shows it (text where the control holds text)."""
    if name == "per_class":
        return ALL if value is None else str(value)
    if name == "adapt_per_class":
        return str(value)
    if name == "label_map":
        return ", ".join(f"{source}={target}" for source, target in (value or {}).items())
    if name == "label_descriptions":
        spec = data.DATASETS.get(settings["dataset"])
        return format_descriptions(spec.label_names, value) if value and spec else \
            _default_descriptions(settings["dataset"])
    if name == "source_dataset":
        return value or SOURCE
    if name == "nli_model":
        return value or ""
    return value


def _kind_changed(kind: str, method: str, session: Session = None):
    return (gr.update(visible=kind in SOURCE_KINDS), gr.update(visible=kind == "zero_shot"),
            gr.update(visible=kind != "from_scratch"), _kind_help(kind, method, language_of(session)))


def _method_changed(kind: str, method: str, session: Session = None) -> str:
    return _kind_help(kind, method, language_of(session))


def _source_choices(session: Session):
    return gr.update(choices=dataset_choices(session))


def _follow(job: Job, language: str = EN):
    """The live view of `job` every POLL_S, then its result."""
    while not job.wait(POLL_S):
        yield RunView(status=status_html(job, language=language), curves=curves_figure(job, language))
    yield _final(job, language)


# The last curves drawn of each live log in each language, by the log's id: the sessions watching one shared run
# (a class pressing Start on one preset) each refresh every POLL_S, and drawing the figure costs 15-60 ms as the
# run grows.
_DRAWN: OrderedDict[tuple, tuple] = OrderedDict()  # (id(log), language): (weak ref to it, what it had, figure)
_DRAWN_KEPT, _DRAWN_LOCK = 32, threading.Lock()


def curves_figure(job: Job, language: str = EN):
    """The job's loss and validation curves, drawn once per new step and language for everyone watching."""
    log = job.log
    key, seen = (id(log), language), (len(log.losses), len(log.evals), log.max_steps)
    with _DRAWN_LOCK:
        drawn = _DRAWN.get(key)
    if drawn is not None and drawn[0]() is log and drawn[1] == seen:
        return drawn[2]
    figure = training_curves_figure(list(log.losses), list(log.evals), log.max_steps or None, words(language))
    with _DRAWN_LOCK:
        _DRAWN[key] = (weakref.ref(log), seen, figure)
        _DRAWN.move_to_end(key)
        while len(_DRAWN) > _DRAWN_KEPT:
            _DRAWN.popitem(last=False)
    return figure


def _final(job: Job, language: str = EN):
    ended = RunView(status=status_html(job, message=job.problem, language=language), curves=curves_figure(job, language))
    run = job.result
    if run is None:
        return ended
    return ended._replace(
        results=results_markdown(run, language),
        before_after=report.comparison_figure(run, words(language)),  # the same figure as in the report
        confusion=confusion_figure(run.after.confusion, run.label_names, t("train.confusion_title", language),
                                   words(language)),
        mistakes=[[row["text"], row["true"], row["predicted"], row["confidence"]] for row in run.misclassified])


def _snapshots(session: Session | None) -> list:
    run = session.runs.latest if session else None
    return run.log.snapshots if run is not None else []


def _timelapse_start(session: Session):
    """After a run: open the time-lapse at its last snapshot, last layer, first head."""
    snapshots = _snapshots(session)
    if not snapshots:
        note = t("train.no_timelapse", language_of(session))
        return LapseStart(movie=None, caption=note, overview=None, heatmap=None)
    layers, heads = snapshots[-1].attentions.shape[:2]
    last = len(snapshots) - 1
    said = words(language_of(session))
    movie = timelapse_figure(last_layer_frames(snapshots), snapshots[-1].tokens, [s.step for s in snapshots],
                             [s.caption(said) for s in snapshots], words=said)
    return LapseStart(box=gr.update(open=True), index=gr.update(maximum=last, value=last),
                      layer=gr.update(maximum=layers, value=layers), head=gr.update(maximum=heads, value=1),
                      movie=movie, **_timelapse_views(last, layers, 1, session)._asdict())


def _timelapse_views(index, layer_no, head_no, session: Session):
    """(caption, overview, head heatmap) of one snapshot."""
    snapshots = _snapshots(session)
    if not snapshots:
        return LapseView(caption="", overview=None, heatmap=None)
    shot = snapshots[clamp(index, len(snapshots), first=0)]
    attentions = shot.attentions.astype("float32")  # plotly draws no float16
    layers, heads = attentions.shape[:2]
    l, h = clamp(layer_no, layers), clamp(head_no, heads)
    stages = session.runs.latest.stats.stages
    language = language_of(session)
    said = words(language)
    # the snapshots are the last stage's
    note = f" · {html.escape(_stage_text(stages[-1], language))}" if len(stages) > 1 else ""
    return LapseView(caption=f"**{shot.caption(said)}**{note}\n\n{_reads_most(shot, language)}",
                     overview=attention_overview_figure(attentions, selected=(l, h), words=said),
                     heatmap=attention_heatmap_figure(attentions[l, h], shot.tokens,
                                                      said("figure.lapse_title", layer=l + 1, head=h + 1,
                                                           step=shot.step), said))


LAPSE_READS = {"cls": "train.lapse_reads_cls", "mean": "train.lapse_reads_mean"}  # by the head's pooling


def _reads_most(shot, language: str = EN) -> str:
    """Which word what the classifier reads ([CLS]'s row, or the mean of every token's) weighs most at this step."""
    token, share = shot.reads_most()
    return t(LAPSE_READS[shot.pooling], language, token=html.escape(token), percent=f"{share:.0%}")


def results_markdown(run, language: str = EN) -> str:
    s = run.stats
    stopped = t("train.result_stopped", language) if s.stopped_by_user else ""
    if s.test_examples < s.test_split_examples:
        stopped += t("train.result_of_split", language, n=f"{s.test_split_examples:,}")
    rows = []
    for name, metrics in report.result_rows(run):
        cells = [html.escape(text(name, language)), f"{metrics.accuracy:.1%}", f"{metrics.macro_f1:.1%}"]
        if metrics is run.after:  # the run's result, in bold
            cells = [f"**{cell}**" for cell in cells]
        rows.append("| " + " | ".join(cells) + " |")
    lines = [t("train.result_heading", language, n=f"{s.test_examples:,}", dataset=html.escape(run.dataset_name),
               stopped=stopped),
             t("train.result_columns", language) + "\n" + "\n".join(rows), _work_line(s, language)]
    if s.descriptions:
        lines.append(t("train.descriptions_used", language) + "; ".join(f"*{html.escape(d)}*" for d in s.descriptions))
    for title, items in ((t("train.auto_chose", language), s.plan), (t("train.notes", language), s.notices)):
        if items:
            lines.append(f"{title}:" + "".join(f"\n- {html.escape(text(item, language))}" for item in items))
    return "\n\n".join(lines)


def _work_line(s: RunStats, language: str = EN) -> str:
    probe = s.warm_start_probe
    warm = [t("train.work.warm", language, n=f"{probe['examples_seen']:,}", s=f"{probe['seconds']:.0f}")
            ] if probe else []
    stages = " → ".join(warm + [t("train.work.stage", language, stage=_stage_text(st, language),
                                  s=f"{st['seconds']:.0f}") for st in s.stages])
    speed = t("train.work.speed", language, eps=s.examples_per_s, tps=f"{s.tokens_per_s:,}") if s.examples_per_s else ""
    memory = t("train.work.memory", language, mb=f"{s.peak_memory_mb:.0f}") if s.peak_memory_mb is not None else ""
    return t("train.work", language, stages=stages, steps=s.steps, epochs=s.epochs, seen=f"{s.examples_seen:,}",
             train=f"{s.train_examples:,}", speed=speed, trainable=f"{s.trainable_params:,}",
             total=f"{s.total_params / 1e6:.1f}", pct=f"{s.trainable_pct:.2g}", memory=memory, device=s.device)


def _stage_text(stage: dict, language: str) -> str:
    """A training stage of the run's stats: its phase (a Message's key and parameters) in `language`."""
    phase = stage.get("phase")
    return text(Message(phase["key"], phase["params"]), language) if phase else text(stage["stage"], language)


def status_html(job: Job | None, message: str | None = None, language: str = EN) -> str:
    """The status line and progress bar of `job` (None: no run yet), in `language`."""
    if job is None:
        line = html.escape(text(message, language)) if message else t("status.ready", language)
        return f'<div class="kt-bar"><div style="width:0%"></div></div><p>{line}</p>'
    log = job.log
    fraction = 1.0 if log.state in ("done", "stopped") else log.fraction()
    parts = [t("status.run_of", language, i=job.index + 1, n=len(job.configs))] if len(job.configs) > 1 else []
    parts.append(status_text(log, language))
    if log.training:
        parts.append(t("status.step_of", language, step=log.step, max=log.max_steps) if log.max_steps else
                     t("status.step", language, step=log.step))
        eta = log.eta_s()
        if eta is not None:
            parts.append(t("status.left", language, s=f"{eta:.0f}"))
    parts.append(t("status.elapsed", language, s=f"{log.elapsed():.0f}"))
    if log.evals:
        parts.append(t("status.validation", language, acc=f"{log.evals[-1][1]:.1%}"))
    line = " · ".join(parts)
    sharing = job.run.sharing()
    if sharing:
        line += f"<br>{html.escape(text(sharing, language))}"
    if message:
        line += f"<br>{html.escape(text(message, language))}"
    state = {"done": "kt-done", "stopped": "kt-stopped", "failed": "kt-failed"}.get(log.state, "")
    return f'<div class="kt-bar {state}"><div style="width:{fraction:.0%}"></div></div><p>{line}</p>'


def _kind_help(kind: str, method: str, language: str = EN) -> str:
    """The chosen kind's and method's names and help lines, in `language`."""
    def line(group: str, key: str) -> str:
        return t("train.help_line", language, name=t(f"{group}.{key}", language), help=t(f"{group}.{key}.help", language))

    join = t("train.help_join", language)
    return line("kind", kind) + join + ("" if kind == "zero_shot" else line("method", method))


def _auto_info(group: str):
    """The info line of a dropdown whose default is "auto": that choice's help, as a sentence."""
    def line(language: str) -> str:
        text = t(f"{group}.auto.help", language)
        return text.capitalize() + "." if language == EN else text + "。"

    return line


def _default_descriptions(dataset_key: str) -> str:
    spec = data.DATASETS.get(dataset_key)
    if spec is None:
        return ""
    return format_descriptions(spec.label_names, default_descriptions(list(spec.label_names), spec.task))


def export_config(session: Session):
    """The last run's config as a JSON file, to replay with `python -m ktdemo train --config run.json`."""
    try:
        return gr.update(value=str(session.downloads.config_file()), visible=True)
    except NoRun as error:
        gr.Warning(text(error, language_of(session)))
        return gr.update(visible=False)


def report_files(session: Session):
    """The session's last run as a report: one HTML page with its figures inside, and its numbers as JSON."""
    try:
        files = session.downloads.report_files()
    except NoRun as error:
        return gr.update(visible=False), text(error, language_of(session))
    return (gr.update(value=[str(path) for path in files], visible=True),
            t("train.report_ready", language_of(session)))


def model_zip(session: Session):
    """The fine-tuned model that predictions use, as a zip of a folder `from_pretrained` loads."""
    try:
        path = session.downloads.model_zip()
    except ValueError as error:  # no run yet, or a zero-shot run: no model
        return gr.update(visible=False), text(error, language_of(session))
    return (gr.update(value=[str(path)], visible=True), t("train.model_ready", language_of(session)))
