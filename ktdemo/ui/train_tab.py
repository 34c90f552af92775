"""Train tab: choose the kind of transfer and the method, start, watch the curves, stop, read the results.

Its controls are keyed by RunConfig field: the API takes the same names (`inputs_kwargs`), a preset fills them by
name, and `runs.config_from` turns them into a run. A new setting is its field plus its widget here.
"""
from __future__ import annotations

import html

import gradio as gr

from .. import data, presets, report, runs, zeroshot
from ..figures.attention import attention_heatmap_figure, attention_overview_figure
from ..figures.timelapse import timelapse_figure
from ..figures.training import confusion_figure, training_curves_figure
from ..session import SESSIONS, Job, NoRun, Session
from ..timelapse import DEFAULT_PROBE, last_layer_frames
from .data_tab import dataset_choices

POLL_S = 1.0  # how often the live view refreshes while training
PER_CLASS = [runs.ALL] + [str(k) for k in data.PER_CLASS_CHOICES if k]
ADAPT_CHOICES = ["0", "8", "32", "128"]
SOURCE = "rotten_tomatoes"  # the source dropdown's start: a run without a source leaves it here


def choices(options: dict[str, runs.Choice]) -> list[tuple[str, str]]:
    return [(option.name, key) for key, option in options.items()]


def info(name: str) -> str:
    """A control's info line: its setting's help text."""
    text = runs.help_text(name)
    return text[0].upper() + text[1:] + "."


def build(model, dataset, session: gr.State, token: gr.BrowserState) -> tuple[dict, dict]:
    """The tab; returns its controls by RunConfig field (the Compare tab's studies start from them) and the event
    that brings a reopened page its session's run (`token`: the browser's session token)."""
    controls = {"model": model, "dataset": dataset}
    preset_menu = gr.Dropdown(list(presets.PRESETS), value=None, label="Lesson presets", elem_id="preset",
                         info="One click fills every setting below for a lesson.")
    preset_note = gr.Markdown(elem_id="preset-note")
    with gr.Row():
        kind = controls["kind"] = gr.Radio(choices(runs.KINDS), value="in_domain", label="Kind of transfer",
                                           elem_id="kind", scale=3)
        method = controls["method"] = gr.Radio(choices(runs.METHODS), value="full", elem_id="method", scale=2,
                                               label="Method: which weights move")
    kind_help = gr.Markdown(_kind_help("in_domain", "full"))
    with gr.Group(visible=False) as source_group:
        with gr.Row():
            source = controls["source_dataset"] = gr.Dropdown(
                dataset_choices(), value=SOURCE, label="Source dataset (trained on first)", elem_id="source-dataset")
            controls["label_map"] = gr.Textbox("", label="Label map, source=target (empty: same names)",
                                               placeholder="fresh=positive, rotten=negative")
            controls["adapt_per_class"] = gr.Dropdown(ADAPT_CHOICES, value="0", info=info("adapt_per_class"),
                                                      label="Then adapt with k target examples per class")
    # Empty by default (the API's default too: a stale text for another dataset's labels would be refused);
    # the placeholder shows the defaults, and picking a dataset fills them in for editing.
    descriptions = controls["label_descriptions"] = gr.Textbox(
        "", placeholder=_default_descriptions(data.DEFAULT_DATASET), lines=3,
        label="Label descriptions (one line per label, 'label: description'; empty: the defaults shown)",
        info="The zero-shot classifier, and where a trained head starts (warm start).")
    with gr.Group(visible=False) as zero_group:
        controls["nli_model"] = gr.Textbox("", label="NLI model (optional, needs the Hub)",
                                           placeholder="facebook/bart-large-mnli; empty: sentence-embedding similarity")
    with gr.Row():
        budget = controls["time_budget_s"] = gr.Slider(5, 600, value=runs.default("time_budget_s"), step=5,
                                                       label="Training time budget (seconds)", elem_id="budget",
                                                       info="Each training stage stops when its budget is spent.")
        per_class = controls["per_class"] = gr.Dropdown(
            PER_CLASS, value=runs.ALL, label="Training examples per class",
            info="Few-shot transfer: how many labelled examples of each class to learn from.")
    with gr.Accordion("Advanced", open=False):
        with gr.Row():
            controls["learning_rate"] = gr.Textbox("", label="Learning rate", placeholder="e.g. 2e-5",
                                                   info=info("learning_rate"))
            max_length = controls["max_length"] = gr.Slider(16, 256, value=runs.default("max_length"), step=8,
                                                            label="Max length (tokens)")
            controls["top_layers"] = gr.Slider(1, 12, value=runs.default("top_layers"), step=1,
                                               label="Top layers: how many train")
            controls["lora_rank"] = gr.Slider(1, 64, value=runs.default("lora_rank"), step=1, label="LoRA rank")
            controls["lora_alpha"] = gr.Slider(1, 128, value=runs.default("lora_alpha"), step=1, label="LoRA alpha")
        with gr.Row():
            controls["warm_start"] = gr.Dropdown(choices(runs.WARM_STARTS), value="auto",
                                                 label="Warm start: where the head begins",
                                                 info=runs.WARM_STARTS["auto"].help.capitalize() + ".")
            controls["pooling"] = gr.Dropdown(choices(runs.POOLINGS), value="auto",
                                              label="Pooling: how the head reads the tokens",
                                              info=runs.POOLINGS["auto"].help.capitalize() + ".")
    plan_note = gr.Markdown(elem_id="plan")
    with gr.Row():
        start = gr.Button("Start training", variant="primary", elem_id="start-training")
        stop_button = gr.Button("Stop", variant="stop", elem_id="stop-training")
    own_copy = gr.Checkbox(False, label="Train my own copy", elem_id="own-copy",
                           info="A run on public data with the same settings as another session's is trained once "
                                "and shared; tick this to train your own (e.g. to compare seeds).")
    status = gr.HTML(status_html(None), elem_classes="kt-status", elem_id="train-status")
    curves = gr.Plot(training_curves_figure([], []), label="Live training curves", elem_id="curves")
    results = gr.Markdown(elem_id="train-results")
    with gr.Row():
        before_after = gr.Plot(label="Before vs after")
        confusion = gr.Plot(label="Confusion matrix")
    mistakes = gr.Dataframe(headers=["text", "true", "predicted", "confidence"], label="Most confident mistakes on the test set",
                            wrap=True, interactive=False, column_widths=["64%", "12%", "12%", "12%"])
    with gr.Row():
        report_button = gr.Button("Download report (HTML + JSON)", size="sm", elem_id="download-report")
        model_button = gr.Button("Download the fine-tuned model (zip)", size="sm", elem_id="download-model")
    take_home_note = gr.Markdown(elem_id="take-home-note")
    take_home = gr.File(label="Take it home", file_count="multiple", visible=False, elem_id="take-home-files")
    with gr.Row():
        export_button = gr.Button("Export this run's config (JSON)", size="sm")
        config_file = gr.File(label="Replay it: python -m ktdemo train --config run.json", visible=False)
    gr.Markdown("A time budget depends on the machine's speed, so a replay lands close to, not exactly on, "
                "the same figures; add `--max-steps N` (the steps shown above) for an exact, step-for-step replay.",
                elem_classes="kt-note")
    with gr.Accordion("Attention time-lapse", open=False, elem_id="timelapse") as lapse_box:
        probe = gr.Textbox(DEFAULT_PROBE, label="Probe sentence for the time-lapse", elem_id="probe-text",
                           info="Training snapshots the attention on this sentence every few steps; after the run, "
                                "step through them. Empty: no time-lapse.")
        lapse_caption = gr.Markdown(elem_id="timelapse-caption")
        with gr.Row():
            lapse_index = gr.Slider(0, 1, value=0, step=1, label="Snapshot (0: before training)", scale=2,
                                    elem_id="timelapse-snapshot")
            lapse_layer = gr.Slider(1, 12, value=1, step=1, label="Layer")
            lapse_head = gr.Slider(1, 12, value=1, step=1, label="Head")
        with gr.Row():
            lapse_overview = gr.Plot(label="Every head at this step")
            lapse_heatmap = gr.Plot(label="The chosen head at this step")
        lapse_movie = gr.Plot(label="The whole run in one figure: drag its slider (works offline, e.g. on a projector)")

    document_settings(train, controls, probe_text="the time-lapse's sentence, snapshotted while training "
                      "(empty: no time-lapse)", own_copy="train a run of one's own even where another session "
                      "trains the same public run")
    document_settings(plan, controls)
    views = [status, curves, results, before_after, confusion, mistakes]
    lapse_views = [lapse_caption, lapse_overview, lapse_heatmap]
    start.click(train, inputs_kwargs={**controls, "probe_text": probe, "own_copy": own_copy, "session": session},
                outputs=views, api_name="train", concurrency_limit=None, concurrency_id="train",
                show_progress="minimal", show_progress_on=status).then(
        _timelapse_start, session, [lapse_box, lapse_index, lapse_layer, lapse_head, lapse_movie, *lapse_views],
        api_name=False, show_progress="hidden")
    gr.on([lapse_index.input, lapse_layer.input, lapse_head.input], _timelapse_views,
          [lapse_index, lapse_layer, lapse_head, session], lapse_views, api_name=False, show_progress="hidden",
          trigger_mode="always_last")
    stop_button.click(stop, session, None, api_name="stop", concurrency_limit=None, show_progress="hidden")
    kind.change(_kind_changed, [kind, method], [source_group, zero_group, descriptions, kind_help],
                api_name=False, show_progress="hidden")
    method.change(_kind_help, [kind, method], kind_help, api_name=False, show_progress="hidden")
    dataset.change(_default_descriptions, dataset, descriptions, api_name=False, show_progress="hidden")
    source.focus(_source_choices, session, source, api_name=False, show_progress="hidden")
    gr.on([kind.change, method.change, budget.release, per_class.change, dataset.change, model.change, source.change,
           max_length.release], plan, inputs_kwargs={**controls, "session": session}, outputs=plan_note,
          api_name="plan", show_progress="hidden", trigger_mode="always_last")
    export_button.click(export_config, session, config_file, api_name="export_config", show_progress="hidden")
    def preset(name: str | None):
        """Every Train tab setting of the lesson preset `name` (in /plan's parameter order), then its note.

        Args:
            name: one of the lesson presets' names, e.g. 'News topics with no labels (zero-shot)'.
        """
        return fill_preset(name, tuple(controls))

    preset_menu.change(preset, preset_menu, [*controls.values(), preset_note], api_name="preset",
                       show_progress="hidden")
    report_button.click(report_files, session, [take_home, take_home_note], api_name="report")
    model_button.click(model_zip, session, [take_home, take_home_note], api_name="model_zip")
    return controls, dict(fn=reconnect, inputs=[token, session], outputs=views, api_name=False,
                          show_progress="hidden", concurrency_limit=None, concurrency_id="follow")


def document_settings(handler, controls: dict, **more: str) -> None:
    """Give `handler`'s docstring an Args line per setting, from RunConfig's help texts, and one per `more`
    (the API page and MCP clients read them); once."""
    lines = {**{name: runs.help_text(name) for name in controls}, **more}
    if "\n    Args:" not in (handler.__doc__ or ""):
        handler.__doc__ += "\n\n    Args:\n" + "\n".join(f"        {name}: {text}." for name, text in lines.items())


def train(session: Session, probe_text: str | None = DEFAULT_PROBE, own_copy: bool = False, **settings):
    """Fine-tune the model on the dataset with these settings (all optional; RunConfig's names); yields the
    live status and curves every second, then the held-out results before and after transfer."""
    try:
        job = session.start(runs.config_from(settings), probe_text=(probe_text or "").strip() or None,
                            own_copy=bool(own_copy))
    except (RuntimeError, ValueError, TypeError) as error:
        yield status_html(None, message=str(error)), *[gr.skip()] * 5
        return
    try:
        yield from _follow(job)
    finally:
        SESSIONS.caller_left(session)


def stop(session: Session) -> None:
    """Stop this session's run: it keeps its best checkpoint so far."""
    session.stop()


def reconnect(token: str | None, session: Session):
    """A page (re)opened on this session: its run's live view, else its last result. By the browser's token:
    the Train tab may be opened before the page's load has put the session in its state."""
    session = SESSIONS.find(token) or session
    if session.job is None:
        yield *[gr.skip()] * 6,
        return
    yield from _follow(session.job)


def plan(session: Session, **settings) -> str:
    """What a run with these settings (RunConfig's names, all optional) would do and how long it would take,
    before it starts; the choices "auto" would make, with reasons."""
    try:
        chosen = session.plan(runs.config_from(settings))
    except Exception as error:  # noqa: BLE001 - a plan is a hint: never an error dialog
        return f"⚠️ {html.escape(str(error).splitlines()[0][:300])}"
    reasons = "".join(f"\n- {html.escape(reason)}" for reason in chosen.reasons)
    return f"Expected time: **about {chosen.eta_s:.0f} s** (loading, scoring before and after, training).{reasons}"


def fill_preset(name: str | None, fields: tuple[str, ...]):
    """Every control's value for the lesson preset `name` (in `fields` order), then its note."""
    if not name:
        return (*[gr.skip()] * len(fields), "")
    settings = presets.preset_settings(name)
    return (*[shown(field, settings[field], settings) for field in fields],
            f"**{html.escape(name)}:** {presets.PRESETS[name].note}")


def shown(name: str, value, settings: dict):
    """A setting's value as its control shows it (text where the control holds text)."""
    if name == "per_class":
        return runs.ALL if value is None else str(value)
    if name == "adapt_per_class":
        return str(value)
    if name == "label_map":
        return ", ".join(f"{source}={target}" for source, target in (value or {}).items())
    if name == "label_descriptions":
        spec = data.DATASETS.get(settings["dataset"])
        return zeroshot.format_descriptions(spec.label_names, value) if value and spec else \
            _default_descriptions(settings["dataset"])
    if name == "source_dataset":
        return value or SOURCE
    if name == "nli_model":
        return value or ""
    return value


def _kind_changed(kind: str, method: str):
    return (gr.update(visible=kind in runs.SOURCE_KINDS), gr.update(visible=kind == "zero_shot"),
            gr.update(visible=kind != "from_scratch"), _kind_help(kind, method))


def _source_choices(session: Session):
    return gr.update(choices=dataset_choices(session))


def _follow(job: Job):
    """The live view of `job` every POLL_S, then its result."""
    while not job.wait(POLL_S):
        yield status_html(job), curves_figure(job), *[gr.skip()] * 4
    yield _final(job)


def curves_figure(job: Job):
    return training_curves_figure(list(job.log.losses), list(job.log.evals), job.log.max_steps or None)


def _final(job: Job):
    if job.result is None:
        return (status_html(job, message=job.error), curves_figure(job), gr.skip(), gr.skip(), gr.skip(), gr.skip())
    run = job.result
    return (
        status_html(job, message=job.error),
        curves_figure(job),
        results_markdown(run),
        _comparison_figure(run),
        confusion_figure(run.after.confusion, run.label_names, "Confusion matrix after transfer (test set)"),
        [[row["text"], row["true"], row["predicted"], row["confidence"]] for row in run.misclassified],
    )


def _snapshots(session: Session | None) -> list:
    run = session.latest if session else None
    return run.log.snapshots if run is not None else []


def _timelapse_start(session: Session):
    """After a run: open the time-lapse at its last snapshot, last layer, first head."""
    snapshots = _snapshots(session)
    if not snapshots:
        note = ("No time-lapse for this run: only runs that fine-tune attention take snapshots (not the linear "
                "probe or zero-shot), and only with a probe sentence.")
        return gr.skip(), gr.skip(), gr.skip(), gr.skip(), None, note, None, None
    layers, heads = snapshots[-1].attentions.shape[:2]
    last = len(snapshots) - 1
    movie = timelapse_figure(last_layer_frames(snapshots), snapshots[-1].tokens, [s.step for s in snapshots],
                             [s.caption() for s in snapshots])
    return (gr.update(open=True), gr.update(maximum=last, value=last), gr.update(maximum=layers, value=layers),
            gr.update(maximum=heads, value=1), movie, *_timelapse_views(last, layers, 1, session))


def _timelapse_views(index, layer_no, head_no, session: Session):
    """(caption, overview, head heatmap) of one snapshot."""
    snapshots = _snapshots(session)
    if not snapshots:
        return "", None, None
    shot = snapshots[min(max(int(index), 0), len(snapshots) - 1)]
    attentions = shot.attentions.astype("float32")  # plotly draws no float16
    layers, heads = attentions.shape[:2]
    l, h = min(max(int(layer_no), 1), layers) - 1, min(max(int(head_no), 1), heads) - 1
    stages = session.latest.stats.stages
    note = f" · {html.escape(stages[-1]['stage'])}" if len(stages) > 1 else ""  # snapshots are the last stage's
    return (f"**{shot.caption()}**{note}", attention_overview_figure(attentions, selected=(l, h)),
            attention_heatmap_figure(attentions[l, h], shot.tokens, f"Layer {l + 1}, head {h + 1} · step {shot.step}"))


def _comparison_figure(run):
    return report.comparison_figure(run)  # the same figure as in the downloadable report


def results_markdown(run) -> str:
    s = run.stats
    stopped = " (stopped early by you; the best checkpoint was kept)" if s.stopped_by_user else ""
    if s.test_examples < s.test_split_examples:
        stopped += f", of the {s.test_split_examples:,} in the test split"
    rows = []
    for name, metrics in report.result_rows(run):
        cells = [html.escape(name), f"{metrics.accuracy:.1%}", f"{metrics.macro_f1:.1%}"]
        if metrics is run.after:  # the run's result, in bold
            cells = [f"**{cell}**" for cell in cells]
        rows.append("| " + " | ".join(cells) + " |")
    lines = [f"### Result on {s.test_examples:,} held-out test examples of {html.escape(run.dataset_name)}{stopped}",
             "| | accuracy | macro-F1 |\n|---|---|---|\n" + "\n".join(rows), _work_line(s)]
    if s.descriptions:
        lines.append("Descriptions: " + "; ".join(f"*{html.escape(d)}*" for d in s.descriptions))
    for title, items in (("Auto chose", s.plan), ("Notes", s.notices)):
        if items:
            lines.append(f"{title}:" + "".join(f"\n- {html.escape(item)}" for item in items))
    return "\n\n".join(lines)


def _work_line(s: runs.RunStats) -> str:
    probe = s.warm_start_probe
    warm = [f"warm start: linear probe on {probe['examples_seen']:,} texts ({probe['seconds']:.0f} s)"] if probe else []
    stages = " → ".join(warm + [f"{st['stage']} ({st['seconds']:.0f} s)" for st in s.stages])
    speed = f" · {s.examples_per_s} examples/s · {s.tokens_per_s:,} tokens/s" if s.examples_per_s else ""
    memory = f" · peak memory +{s.peak_memory_mb:.0f} MB" if s.peak_memory_mb is not None else ""
    return (f"{stages} · {s.steps} steps · {s.epochs} epochs · {s.examples_seen:,} examples seen of "
            f"{s.train_examples:,}{speed} · {s.trainable_params:,} of {s.total_params / 1e6:.1f}M parameters "
            f"trained ({s.trainable_pct:.2g}%){memory} · {s.device}")


def status_html(job: Job | None, message: str | None = None) -> str:
    if job is None:
        text = html.escape(message) if message else "Ready. Press <b>Start training</b>."
        return f'<div class="kt-bar"><div style="width:0%"></div></div><p>{text}</p>'
    log = job.log
    fraction = 1.0 if log.phase in ("done", "stopped") else log.fraction()
    parts = [f"Run {job.index + 1} of {len(job.configs)}"] if len(job.configs) > 1 else []
    parts.append((f"{log.stage} · " if log.stage and log.stage not in log.phase else "") + log.phase.capitalize())
    if log.phase.startswith(("training", "adapting")) or " · training" in log.phase:
        parts.append(f"step {log.step}/{log.max_steps}" if log.max_steps else f"step {log.step}")
        eta = log.eta_s()
        if eta is not None:
            parts.append(f"about {eta:.0f} s left")
    parts.append(f"{log.elapsed():.0f} s elapsed")
    if log.evals:
        parts.append(f"validation accuracy {log.evals[-1][1]:.1%}")
    text = " · ".join(parts)
    if job.run.sharing():
        text += f"<br>{html.escape(job.run.sharing())}"
    if message:
        text += f"<br>{html.escape(message)}"
    state = {"done": "kt-done", "stopped": "kt-stopped", "failed": "kt-failed"}.get(log.phase, "")
    return f'<div class="kt-bar {state}"><div style="width:{fraction:.0%}"></div></div><p>{text}</p>'


def _kind_help(kind: str, method: str) -> str:
    kind, method = runs.KINDS[kind], runs.METHODS[method]
    return f"**{kind.name}:** {kind.help}. " + ("" if kind is runs.KINDS["zero_shot"] else
                                                 f"**{method.name}:** {method.help}.")


def _default_descriptions(dataset_key: str) -> str:
    spec = data.DATASETS.get(dataset_key)
    if spec is None:
        return ""
    return zeroshot.format_descriptions(spec.label_names, zeroshot.default_descriptions(list(spec.label_names), spec.task))


def export_config(session: Session):
    """The last run's config as a JSON file, to replay with `python -m ktdemo train --config run.json`."""
    try:
        return gr.update(value=str(session.config_file()), visible=True)
    except NoRun as error:
        gr.Warning(str(error))
        return gr.update(visible=False)


def report_files(session: Session):
    """The session's last run as a report: one HTML page with its figures inside, and its numbers as JSON."""
    try:
        files = session.report_files()
    except NoRun as error:
        return gr.update(visible=False), str(error)
    return (gr.update(value=[str(path) for path in files], visible=True),
            "The report is one file with its figures inside: it opens offline in any browser.")


def model_zip(session: Session):
    """The fine-tuned model that predictions use, as a zip of a folder `from_pretrained` loads."""
    try:
        path = session.model_zip()
    except ValueError as error:  # no run yet, or a zero-shot run: no model
        return gr.update(visible=False), str(error)
    return (gr.update(value=[str(path)], visible=True),
            "Unzip it and load the folder with `AutoModelForSequenceClassification.from_pretrained`.")
