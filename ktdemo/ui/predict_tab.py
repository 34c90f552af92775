"""Predict tab: type a sentence, see the class probabilities and the attention of every layer and head."""
from __future__ import annotations

import html
import json
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np

from ..figures.attention import (agreement_markdown, attention_change_figure, attention_heatmap_figure,
                                 attention_overview_figure, head_importance_figure, probabilities_figure,
                                 shaded_tokens_html)
from ..figures.inside import cls_row_figure, layer_change_figure, norm_attention_figure, sentence_space_figure
from ..inspection import explain
from ..inspection.attention import (Inspection, inspection_view, reader_attention, reader_rollout, view_attention,
                                    view_scores)
from ..outputs import exports
from ..serving.records import NoRun
from ..serving.session import Session
from ..serving.views import RANK_EXAMPLES
from .controls import INSPECT, clamp, outputs
from .i18n import EN, language_of, t, words
from .i18n import text as in_language
from .i18n import tr, warning, with_cjk_note

WORDS, PIECES = "Words", "Word pieces"
TOP_HEADS = 5
JS_CAPTION = t("predict.js_caption")  # English; each language's in the locales
EXAMPLES = json.loads((Path(__file__).resolve().parents[2] / "assets" / "examples.json").read_text())["sentences"]

Press = outputs("label", "probabilities", "note", "layer", "head", "heatmap", "overview", "flow")  # a Predict press


def build(model, dataset, session: gr.State) -> None:
    with gr.Row():
        text = gr.Textbox(label=tr("predict.text"), placeholder=tr("predict.text.placeholder"), lines=1, max_lines=6,
                          scale=4, max_length=5000, elem_id="predict-text")
        run = gr.Button(tr("predict.predict"), variant="primary", scale=1)
    gr.Examples(EXAMPLES, inputs=text, label=tr("predict.examples"))
    note = gr.Markdown(elem_id="predict-note")
    with gr.Row():
        label = gr.Label(label=tr("predict.prediction"), num_top_classes=5)
        probabilities = gr.Plot(label=tr("predict.probabilities"))
    gr.Markdown(tr("predict.attention_intro"))
    with gr.Row():
        layer = gr.Slider(1, 6, value=6, step=1, label=tr("predict.layer"))
        head = gr.Slider(1, 12, value=1, step=1, label=tr("predict.head"))
        units = gr.Radio([(tr("predict.units.words"), WORDS), (tr("predict.units.pieces"), PIECES)], value=PIECES,
                         label=tr("predict.units"), elem_id="predict-units", info=tr("predict.units.info"))
        show_special = gr.Checkbox(True, label=tr("predict.special"), elem_id="predict-special",
                                   info=tr("predict.special.info"))
    with gr.Row():
        heatmap = gr.Plot(label=tr("predict.heatmap"), elem_id="heatmap")
        overview = gr.Plot(label=tr("predict.overview"))
    gr.Markdown(tr("predict.flow_intro"))
    flow = gr.HTML(elem_id="predict-flow")
    with gr.Row():
        explain_button = gr.Button(tr("predict.explain"), variant="secondary", scale=0)
        gr.Markdown(tr("predict.explain.help"))
    saliency_html = gr.HTML(elem_id="predict-saliency")
    agreement = gr.Markdown(elem_id="predict-agreement")
    last_saliency = gr.State(None)
    gr.Markdown(tr("predict.ablate_intro"))
    with gr.Row():
        heads_off = gr.Textbox(label=tr("predict.heads_off"), placeholder="L1H2, L6H3", scale=3,
                               elem_id="predict-ablate-heads")
        ablate_button = gr.Button(tr("predict.ablate"), scale=1)
    with gr.Row():
        ablation_note = gr.Markdown(elem_id="predict-ablation-note")
        ablated_probabilities = gr.Plot(label=tr("predict.ablated"))
    with gr.Accordion(tr("predict.download"), open=False):
        with gr.Row():
            export_button = gr.Button(tr("predict.export"), scale=0)
            export_note = gr.Markdown(tr("predict.export.help"))
        export_files = gr.File(label=tr("predict.files"), file_count="multiple", visible=False, elem_id="export-files")
    with gr.Accordion(tr("predict.before_after"), open=False):
        with gr.Row():
            compare_button = gr.Button(tr("predict.compare"), scale=0)
            gr.Markdown(tr("predict.compare.help"))
        compare_note = gr.Markdown(elem_id="predict-compare-note")
        with gr.Row():
            before_heatmap = gr.Plot(label=tr("predict.pretrained"))
            after_heatmap = gr.Plot(label=tr("predict.fine_tuned"))
        change_plot = gr.Plot(label=tr("predict.change"))
    with gr.Accordion(tr("predict.inside"), open=False, elem_id="inside"):
        gr.Markdown(tr("predict.inside.help"))
        inside_button = gr.Button(tr("predict.inside_show"), scale=0, elem_id="inside-show")
        space_note = gr.Markdown(elem_id="inside-space-note")
        space_plot = gr.Plot(label=tr("predict.space"), elem_id="inside-space")
        layers_note = gr.Markdown(elem_id="inside-layers-note")
        layers_plot = gr.Plot(label=tr("predict.layers"), elem_id="inside-layers")
        gr.Markdown(tr("predict.norm.help"))
        norm_button = gr.Button(tr("predict.norm"), scale=0, elem_id="inside-norm")
        norm_note = gr.Markdown(elem_id="inside-norm-note")
        norm_plot = gr.Plot(label=tr("predict.norm_head"), elem_id="inside-norm-head")
        cls_plot = gr.Plot(label=tr("predict.cls_row"))
    with gr.Accordion(tr("predict.heads_matter"), open=False):
        with gr.Row():
            rank_button = gr.Button(tr("predict.rank"), scale=0)
            gr.Markdown(tr("predict.rank.help", n=RANK_EXAMPLES))
        with gr.Row():
            ranking = gr.Markdown(elem_id="predict-ranking")
            importance_plot = gr.Plot(label=tr("predict.importance"))

    attention_inputs = [text, layer, head, model, dataset, units, show_special, session]
    attention_outputs = [heatmap, overview, note]
    flow_inputs = [text, model, dataset, units, show_special, session]
    # A press is one event (each event more is a round trip through Gradio's queue); the API keeps its three
    # endpoints, served by events of an unseen button.
    gr.on([run.click, text.submit], press, [text, layer, head, model, dataset, units, show_special, session],
          Press.components(label=label, probabilities=probabilities, note=note, layer=layer, head=head,
                           heatmap=heatmap, overview=overview, flow=flow), api_name="press", **INSPECT)
    api_only = gr.Button(visible=False)
    api_only.click(predict, [text, model, dataset, session], [label, probabilities, note], api_name="predict", **INSPECT)
    api_only.click(show_attention, attention_inputs, attention_outputs, api_name="attention", **INSPECT)
    api_only.click(show_flow, flow_inputs, flow, api_name="rollout", **INSPECT)
    for slider in (layer, head):
        slider.release(show_attention, attention_inputs, attention_outputs, api_name=False,
                       **INSPECT, show_progress="hidden")
    for control in (units, show_special):
        control.change(show_attention, attention_inputs, attention_outputs, api_name=False,
                       **INSPECT, show_progress="hidden").then(
            show_flow, flow_inputs, flow, api_name=False, **INSPECT,
            show_progress="hidden").then(
            refresh_saliency, [text, units, show_special, last_saliency, session], saliency_html, api_name=False,
            show_progress="hidden")
    ablate_button.click(ablate, [text, heads_off, model, dataset, session], [ablation_note, ablated_probabilities],
                        api_name="ablate", **INSPECT)
    compare_button.click(compare, [text, layer, head, units, show_special, session],
                         [compare_note, before_heatmap, after_heatmap, change_plot], api_name="attention_change",
                         **INSPECT)
    export_button.click(export, attention_inputs, [export_files, export_note], api_name="export_attention",
                        **INSPECT)
    rank_button.click(rank_heads, [model, dataset, session], [ranking, importance_plot], api_name="head_importance",
                      concurrency_limit=1, concurrency_id="rank_heads")
    inside_button.click(representations, session, [space_note, space_plot], api_name="representations",
                        concurrency_id="inside", concurrency_limit=1).then(
        layer_change, session, [layers_note, layers_plot], api_name="layer_change", concurrency_id="inside",
        concurrency_limit=1)
    norm_button.click(norm_attention, [text, layer, head, model, dataset, session], [norm_note, norm_plot, cls_plot],
                      api_name="norm_attention", concurrency_id="inside", concurrency_limit=1)
    explain_button.click(show_saliency, flow_inputs, [saliency_html, agreement, note, last_saliency],
                         api_name="saliency", **INSPECT)


def predict(text: str, model: str, dataset: str, session: Session):
    """The class probabilities of `text`: from the session's fine-tuned model, else the pretrained one with an
    untrained head for `dataset`'s labels. Returns the label probabilities, a bar chart and which model answered.

    Args:
        text: the sentence to classify.
        model: a catalog key or a Hugging Face Hub id; used until the session has trained a model.
        dataset: whose labels the untrained head has, until the session has trained a model.
    """
    try:
        look = session.views.look(model, dataset, text)
    except ValueError as error:  # InputError, an unknown model or dataset: one sentence
        return {}, None, warning(error, language_of(session))
    language = language_of(session)
    return (look.inspection.probabilities, probabilities_figure(look.inspection.probabilities, words=words(language)),
            with_cjk_note(look.description, text, look, language))


def press(text: str, layer: int, head: int, model: str, dataset: str, unit: str = PIECES, special: bool = True,
          session: Session = None) -> Press:
    """Every view of one Predict press from one look at `text`: the prediction, the sliders fitted to the
    model, the chosen head's attention and every layer's, and where what the classifier reads comes from (the
    same as /predict, /attention and /rollout together)."""
    try:
        look = session.views.look(model, dataset, text)
    except ValueError as error:  # InputError, an unknown model or dataset: one sentence
        return Press(rest=None, label={}, note=warning(error, language_of(session)), layer=gr.skip(),
                     head=gr.skip(), flow="")
    inspection, language = look.inspection, language_of(session)
    (l, h), figures = _attention_figures(inspection, layer, head, unit, special, language)
    heatmap, overview = figures.values()
    layers, heads = inspection.shape
    return Press(label=inspection.probabilities,
                 probabilities=probabilities_figure(inspection.probabilities, words=words(language)),
                 note=with_cjk_note(look.description, text, look, language),
                 layer=gr.update(maximum=layers, value=l + 1), head=gr.update(maximum=heads, value=h + 1),
                 heatmap=heatmap, overview=overview, flow=_flow_html(inspection, unit, special, language))


def show_attention(text: str, layer: int, head: int, model: str, dataset: str, unit: str = PIECES,
                   special: bool = True, session: Session = None):
    """One head's attention on `text` as a heatmap, and every layer and head at a glance.

    Args:
        text: the sentence to look into.
        layer: the layer, counted from 1 (clamped to the model's).
        head: the head, counted from 1 (clamped to the model's).
        model: a catalog key or a Hugging Face Hub id; used until the session has trained a model.
        dataset: whose labels the untrained head has, until the session has trained a model.
        unit: 'Word pieces' or 'Words' (a word's pieces merged).
        special: show the [CLS] and [SEP] tokens.
    """
    try:
        look = session.views.look(model, dataset, text)
    except ValueError as error:
        return None, None, warning(error, language_of(session))
    return (*_attention_figures(look.inspection, layer, head, unit, special, language_of(session))[1].values(),
            with_cjk_note(look.description, text, look, language_of(session)))


def export(text, layer, head, model, dataset, unit=PIECES, special=True, session: Session = None):
    """The two attention figures as HTML and PNG, and every layer's attention as .npz."""
    try:
        inspection = session.views.look(model, dataset, text).inspection
    except ValueError as error:
        return gr.update(value=None, visible=False), warning(error, language_of(session))
    figures = _attention_figures(inspection, layer, head, unit, special)[1]
    folder = tempfile.mkdtemp(prefix="ktdemo-export-", dir=session.folder)
    language = language_of(session)
    try:
        paths = exports.export_bundle(figures, inspection, folder, model, text)
        message = t("predict.export_done", language)
    except exports.ExportUnavailable as error:  # no PNG renderer here: HTML and .npz still work
        paths = exports.export_bundle(figures, inspection, folder, model, text, png=False)
        message = t("predict.export_partial", language, error=error)
    return gr.update(value=[str(path) for path in paths], visible=True), message


# What the classifier reads, by the head's pooling (`attention.reader_weights`): the sentence that says which and
# why, and the titles of its shaded rows. Every view of "what the classifier reads" names it with these.
READS = {"cls": "predict.reads_cls", "mean": "predict.reads_mean"}
FLOW_TITLES = {"cls": ("predict.flow_last", "predict.flow_rollout"),
               "mean": ("predict.flow_last_mean", "predict.flow_rollout_mean")}
AGREEMENT_NOTES = {"cls": "predict.agreement_cls", "mean": "predict.agreement_mean"}
NORM_ROWS = {"cls": "predict.norm_row_cls", "mean": "predict.norm_row_mean"}


def show_flow(text, model, dataset, unit=PIECES, special=True, session: Session = None) -> str:
    """Where the information of what the classifier reads comes from: its last-layer attention and the rollout.
    That is [CLS]'s row for a [CLS] head, the mean of every token's row for a mean-pooling head; the first line
    says which."""
    try:
        inspection = session.views.look(model, dataset, text).inspection
    except ValueError:
        return ""
    return _flow_html(inspection, unit, special, language_of(session))


def _flow_html(inspection: Inspection, unit: str, special: bool, language: str = EN) -> str:
    view = inspection_view(inspection, unit == WORDS, bool(special))
    raw = view_scores(reader_attention(inspection), view, normalise=True)
    rolled = view_scores(reader_rollout(inspection), view, normalise=True)
    last, rollout = FLOW_TITLES[inspection.pooling]
    return (f'<p class="ktdemo-reads">{html.escape(t(READS[inspection.pooling], language))}</p>'
            + shaded_tokens_html(view.labels, raw, t(last, language))
            + shaded_tokens_html(view.labels, rolled, t(rollout, language)))


def show_saliency(text, model, dataset, unit=PIECES, special=True, session: Session = None):
    """Gradient × input and integrated gradients for the predicted class, and their agreement with attention."""
    try:
        look, salient, agreement = session.views.saliency(model, dataset, text)
    except ValueError as error:
        return "", "", warning(error, language_of(session)), None
    language = language_of(session)
    return (_saliency_html(salient, unit, special, language), _agreement(agreement, look.inspection.pooling, language),
            with_cjk_note(look.description, text, look, language), (text, salient))


def _agreement(correlations: dict[str, float], pooling: str, language: str = EN) -> str:
    """The agreement table in `language`, saying whose attention row it ranks (what the head reads)."""
    names = {pair: t(f"predict.agreement.{pair.replace(' vs ', '_')}", language) for pair in correlations}
    return agreement_markdown({names[pair]: rho for pair, rho in correlations.items()},
                              t(AGREEMENT_NOTES[pooling], language),
                              (t("predict.agreement_compared", language), t("predict.agreement_rho", language)))


def refresh_saliency(text, unit, special, stored, session: Session = None):
    if not stored or stored[0] != text:
        return gr.skip()
    return _saliency_html(stored[1], unit, special, language_of(session))


def ablate(text, heads, model, dataset, session: Session = None):
    """The probabilities of `text` with some attention heads switched off, against the model's own.

    Args:
        text: the sentence to classify.
        heads: the heads to switch off, e.g. 'L1H2, L6H3' (layer and head from 1).
        model: a catalog key or a Hugging Face Hub id; used until the session has trained a model.
        dataset: whose labels the untrained head has, until the session has trained a model.
    """
    try:
        look, chosen, ablated = session.views.ablate(model, dataset, text, heads)
    except ValueError as error:
        return warning(error, language_of(session)), None
    label, probabilities = look.inspection.prediction, look.inspection.probabilities
    names = ", ".join(f"L{l + 1}H{h + 1}" for l, h in chosen)  # as the user writes them
    language = language_of(session)
    summary = t("predict.ablation_summary", language, names=names, label=label, before=f"{probabilities[label]:.2%}",
                after=f"{ablated.probabilities[label]:.2%}", prediction=ablated.prediction)
    return summary, probabilities_figure(ablated.probabilities, t("predict.ablation_title", language), words(language))


def compare(text, layer, head, unit=PIECES, special=True, session: Session = None):
    """The chosen head on `text` in the pretrained and the fine-tuned model, and how far every head moved."""
    try:
        moved = session.views.attention_change(text)
    except ValueError as error:
        return _problem(error, session), None, None, None
    language = language_of(session)
    summary = _change_summary(moved.change, moved.sentences, moved.kind, language)
    if moved.after is None:
        return (f"{warning(moved.problem, language)}{t('note.join', language)}{summary}", None, None,
                attention_change_figure(moved.change, words(language)))
    l, h = _selected(moved.after, layer, head)
    view, after_weights = _view_attentions(moved.after, unit, special)
    before_weights = view_attention(moved.before.attentions, view)  # same tokenizer, same tokens: the same view
    return (summary,
            attention_heatmap_figure(before_weights[l, h], view.labels,
                                     t("predict.before_title", language, layer=l + 1, head=h + 1), words(language)),
            attention_heatmap_figure(after_weights[l, h], view.labels,
                                     t("predict.after_title", language, layer=l + 1, head=h + 1), words(language)),
            attention_change_figure(moved.change, words(language)))


def rank_heads(model, dataset, session: Session = None, progress=gr.Progress()):
    """Switch off one head at a time and measure the validation accuracy lost: the heads that matter most."""
    language = language_of(session)
    try:
        drop, examples, description = session.views.head_importance(
            model, dataset, on_head=lambda done, total: progress(
                done / total, desc=t("predict.rank_progress", language, done=done, total=total)))
    except ValueError as error:
        return warning(error, language), None
    return _ranking_markdown(drop, examples, description, language), head_importance_figure(drop, words(language))


def representations(session: Session):
    """The test sentences as the classifier head reads them, in the pretrained and in the fine-tuned model,
    side by side in 2-D (each model's own PCA), coloured by true class, mistakes open, with each space's
    cross-validated linear-probe accuracy. Needs a finished run; cached per run."""
    try:
        space = session.views.sentence_space()
    except ValueError as error:
        return _problem(error, session), None
    language = language_of(session)
    return _space_note(space, language), sentence_space_figure(space, words(language))


def layer_change(session: Session):
    """Per layer: how far fine-tuning moved it (linear CKA with the pretrained layer, on validation sentences)
    and how linearly separable the task is in it, before and after. Needs a finished run; cached per run."""
    try:
        change = session.views.layer_change()
    except ValueError as error:
        return _problem(error, session), None
    language = language_of(session)
    scratch = t("predict.layers_scratch", language) if session.runs.current.config.kind == "from_scratch" else ""
    return (t("predict.layers_note", language, summary=in_language(change.summary, language), scratch=scratch,
              examples=change.examples, chance=f"{change.chance:.0%}"),
            layer_change_figure(change, words(language)))


def norm_attention(text, layer, head, model, dataset, session: Session = None):
    """The chosen head's attention weights beside the norm-based view ‖α·f(x)‖ (Kobayashi et al. 2020: the
    weight times the size of the transformed value vector it moves), and what the classifier reads gathers in
    that layer: [CLS]'s row for a [CLS] head, the mean of every token's row for a mean-pooling head.

    Args:
        text: the sentence to look into.
        layer: the layer, counted from 1.
        head: the head, counted from 1.
        model: a catalog key or a Hugging Face Hub id; used until the session has trained a model.
        dataset: whose labels the untrained head has, until the session has trained a model.
    """
    try:
        norm = session.views.norm_attention(model, dataset, text)
    except ValueError as error:
        return warning(error, language_of(session)), None, None
    l, h = _selected(norm, layer, head)
    language = language_of(session)
    return (_norm_note(norm, l, h, language), norm_attention_figure(norm, l, h, words(language)),
            cls_row_figure(norm, l, words(language)))


def _problem(error: ValueError, session: Session) -> str:
    """The one sentence for a view that could not be made; a view that needs a run says so in this tab's words."""
    language = language_of(session)
    return t("predict.not_trained", language) if isinstance(error, NoRun) else warning(error, language)


def _space_note(space, language: str = EN) -> str:
    gain = space.separation_after - space.separation_before
    domains = t("predict.space_domains", language) if space.domains else ""
    return t("predict.space_note", language, n=len(space.texts), before=f"{space.separation_before:.0%}",
             after=f"{space.separation_after:.0%}", gain=f"{gain * 100:+.0f}",
             mistakes=int(space.mistakes.sum())) + domains


def _norm_note(norm, layer: int, head: int, language: str = EN) -> str:
    """Which token gets most weight and which moves most, in the chosen head, summed over the queries."""
    weight, moved = norm.attentions[layer, head].sum(axis=0), norm.norms[layer, head].sum(axis=0)
    top_weight, top_moved = int(weight.argmax()), int(moved.argmax())
    same = t("predict.norm_same", language) if top_weight == top_moved else f"**{norm.tokens[top_moved]}**"
    read_weight, read_norm = int(norm.reader_raw[layer].argmax()), int(norm.reader_norm[layer].argmax())
    return (t("predict.norm_note", language, layer=layer + 1, head=head + 1, weight_token=norm.tokens[top_weight],
              same=same) + "\n\n"
            + t(NORM_ROWS[norm.pooling], language, layer=layer + 1, weight_token=norm.tokens[read_weight],
                norm_token=norm.tokens[read_norm]))


def _saliency_html(salient: explain.Saliency, unit: str, special: bool, language: str = EN) -> str:
    view = inspection_view(salient, unit == WORDS, bool(special))  # a Saliency has the same token fields
    integrated = t("predict.saliency_ig", language, target=salient.target,
                   sum=f"{salient.integrated_gradients.sum():+.3f}", gap=f"{salient.logit_gap:+.3f}")
    return (shaded_tokens_html(view.labels, view_scores(salient.gradient_x_input, view),
                               t("predict.saliency_gradient", language, target=salient.target), signed=True)
            + shaded_tokens_html(view.labels, view_scores(salient.integrated_gradients, view), integrated,
                                 signed=True))



def _selected(view, layer_no, head_no) -> tuple[int, int]:
    """The chosen (layer, head), 0-based, clamped to the model's size (`view`: an Inspection or a NormAttention)."""
    layers, heads = view.shape
    return clamp(layer_no, layers), clamp(head_no, heads)


def _attention_figures(inspection: Inspection, layer_no, head_no, unit: str, special: bool, language: str = EN):
    """((layer, head) shown, {name: figure}) for the head view and the model view."""
    l, h = _selected(inspection, layer_no, head_no)
    view, attentions = _view_attentions(inspection, unit, special)
    title = t("predict.head_title", language, layer=l + 1, head=h + 1)
    return (l, h), {f"attention L{l + 1} H{h + 1}": attention_heatmap_figure(attentions[l, h], view.labels, title,
                                                                             words(language)),
                    "attention every layer and head": attention_overview_figure(attentions, selected=(l, h),
                                                                                words=words(language))}


def _view_attentions(inspection: Inspection, unit: str, special: bool):
    view = inspection_view(inspection, unit == WORDS, bool(special))
    return view, view_attention(inspection.attentions, view)


def _head_name(index: tuple[int, int]) -> str:
    return f"L{index[0] + 1} H{index[1] + 1}"


def _change_summary(change: np.ndarray, sentences: int, kind: str, language: str = EN) -> str:
    most = np.unravel_index(np.argmax(change), change.shape)
    least = np.unravel_index(np.argmin(change), change.shape)
    summary = (t("predict.js_caption", language, n=sentences)
               + t("predict.change_most", language, most=_head_name(most), most_value=f"{change[most]:.2f}",
                   least=_head_name(least), least_value=f"{change[least]:.2f}"))
    if kind == "from_scratch":
        summary += t("predict.change_scratch", language)
    return summary


def _ranking_markdown(drop: np.ndarray, examples: int, description: str, language: str = EN) -> str:
    """The heads whose loss costs the most accuracy, in points (one flipped prediction = 100/examples)."""
    order = [np.unravel_index(i, drop.shape) for i in np.argsort(-drop, axis=None, kind="stable")[:TOP_HEADS]]
    costly = [index for index in order if drop[index] > 0]  # a head whose loss costs nothing is no top head
    description = in_language(description, language)
    if not costly:
        return (t("predict.ranking_none", language, examples=examples) + t("note.join", language) + description)
    rows = [t("predict.ranking_row", language, rank=rank, head=_head_name(index), points=f"{100 * drop[index]:.1f}")
            for rank, index in enumerate(costly, start=1)]
    return (t("predict.ranking_title", language, examples=examples) + "\n\n"
            + "\n".join(rows) + f"\n\n{description}")
