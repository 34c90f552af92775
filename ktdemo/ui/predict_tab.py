"""Predict tab: type a sentence, see the class probabilities and the attention of every layer and head."""
from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from .. import explain
from ..attention import (InputError, Inspection, cls_attention, cls_rollout, inspect_ablated, inspection_view,
                         parse_heads, view_attention, view_scores)
from ..figures.attention import (agreement_markdown, attention_heatmap_figure, attention_overview_figure,
                                 probabilities_figure, shaded_tokens_html)
from ..workspace import ModelView, Workspace

WORDS, PIECES = "Words", "Word pieces"
EXAMPLES = json.loads((Path(__file__).resolve().parents[2] / "assets" / "examples.json").read_text())["sentences"]


def build(model, dataset, workspace: gr.State) -> None:
    with gr.Row():
        text = gr.Textbox(label="Your text", placeholder="Type a sentence and press Enter", lines=1, max_lines=6,
                          scale=4, max_length=5000, elem_id="predict-text")
        run = gr.Button("Predict", variant="primary", scale=1)
    gr.Examples(EXAMPLES, inputs=text, label="Try one")
    note = gr.Markdown(elem_id="predict-note")
    with gr.Row():
        label = gr.Label(label="Prediction", num_top_classes=5)
        probabilities = gr.Plot(label="Class probabilities")
    gr.Markdown("**Attention.** Row: the token that attends (query); column: the token it attends to (key). "
                "Each row sums to 1. Attention shows where a head looks, not why the model decides.")
    with gr.Row():
        layer = gr.Slider(1, 6, value=6, step=1, label="Layer")
        head = gr.Slider(1, 12, value=1, step=1, label="Head")
        units = gr.Radio([WORDS, PIECES], value=PIECES, label="Words / word pieces", elem_id="predict-units",
                         info="A word's pieces: attention to it is summed, attention from it averaged.")
        show_special = gr.Checkbox(True, label="Show special tokens", elem_id="predict-special",
                                   info="Hidden: [CLS]/[SEP] rows and columns dropped, rows renormalised to 1.")
    with gr.Row():
        heatmap = gr.Plot(label="One head", elem_id="heatmap")
        overview = gr.Plot(label="Every layer and head")
    gr.Markdown("**What the classifier reads.** The classifier sees only the first token ([CLS]). "
                "Its last-layer attention (heads averaged) and the *rollout* (attention chained through every "
                "layer, counting the residual connection) show where that token's information comes from.")
    flow = gr.HTML(elem_id="predict-flow")
    with gr.Row():
        explain_button = gr.Button("Explain with gradients", variant="secondary", scale=0)
        gr.Markdown("Gradient × input and integrated gradients (32 steps from an all-[PAD] sentence) for the "
                    "predicted class: orange pushes towards it, blue away. About a second or two on CPU.")
    saliency_html = gr.HTML(elem_id="predict-saliency")
    agreement = gr.Markdown(elem_id="predict-agreement")
    last_saliency = gr.State(None)
    gr.Markdown("**Switch heads off.** The chosen heads' outputs are zeroed before the layer mixes them; "
                "compare the probabilities with the ones above.")
    with gr.Row():
        heads_off = gr.Textbox(label="Heads to switch off", placeholder="L1H2, L6H3", scale=3,
                               elem_id="predict-ablate-heads")
        ablate_button = gr.Button("Predict without them", scale=1)
    with gr.Row():
        ablation_note = gr.Markdown(elem_id="predict-ablation-note")
        ablated_probabilities = gr.Plot(label="Probabilities with those heads off")

    def predict(sentence, model_key, dataset_key, ws: Workspace):
        try:
            _, inspection, description = _inspect(ws, sentence, model_key, dataset_key)
        except (InputError, ValueError) as error:
            return {}, None, f"⚠️ {error}"
        return inspection.probabilities, probabilities_figure(inspection.probabilities), description

    def show_attention(sentence, layer_no, head_no, model_key, dataset_key, unit=PIECES, special=True,
                       ws: Workspace = None):
        try:
            _, inspection, description = _inspect(ws, sentence, model_key, dataset_key)
        except (InputError, ValueError) as error:
            return None, None, f"⚠️ {error}", gr.skip(), gr.skip()
        layers, heads = inspection.shape
        l, h = min(max(int(layer_no), 1), layers) - 1, min(max(int(head_no), 1), heads) - 1
        view = inspection_view(inspection, unit == WORDS, bool(special))
        attentions = view_attention(inspection.attentions, view)
        title = f"Layer {l + 1}, head {h + 1}"
        return (attention_heatmap_figure(attentions[l, h], view.labels, title),
                attention_overview_figure(attentions, selected=(l, h)), description,
                gr.update(maximum=layers, value=l + 1), gr.update(maximum=heads, value=h + 1))

    def show_flow(sentence, model_key, dataset_key, unit=PIECES, special=True, ws: Workspace = None):
        try:
            _, inspection, _ = _inspect(ws, sentence, model_key, dataset_key)
        except (InputError, ValueError):
            return ""
        view = inspection_view(inspection, unit == WORDS, bool(special))
        raw = view_scores(cls_attention(inspection.attentions), view, normalise=True)
        rolled = view_scores(cls_rollout(inspection.attentions), view, normalise=True)
        return (shaded_tokens_html(view.labels, raw, "[CLS] attention, last layer (heads averaged)")
                + shaded_tokens_html(view.labels, rolled, "[CLS] attention rollout (all layers)"))

    def show_saliency(sentence, model_key, dataset_key, unit=PIECES, special=True, ws: Workspace = None):
        try:
            view_model, inspection, description = _inspect(ws, sentence, model_key, dataset_key)
            salient = explain.saliency(view_model.model, view_model.tokenizer, sentence)
        except (InputError, ValueError) as error:
            return "", "", f"⚠️ {error}", None
        correlations = agreement_markdown(explain.agreement(inspection, salient), explain.AGREEMENT_NOTE)
        return (_saliency_html(salient, unit, special), correlations, description,
                (sentence, salient))

    def refresh_saliency(sentence, unit, special, stored):
        if not stored or stored[0] != sentence:
            return gr.skip()
        return _saliency_html(stored[1], unit, special)

    def ablate(sentence, heads_spec, model_key, dataset_key, ws: Workspace = None):
        try:
            view_model, inspection, _ = _inspect(ws, sentence, model_key, dataset_key)
            chosen = parse_heads(heads_spec, *inspection.shape)
            if not chosen:
                raise InputError("Name at least one head to switch off, e.g. L1H2.")
            ablated = inspect_ablated(view_model.model, view_model.tokenizer, sentence, chosen)
        except (InputError, ValueError) as error:
            return f"⚠️ {error}", None
        label = inspection.prediction
        names = ", ".join(f"L{l + 1}H{h + 1}" for l, h in chosen)
        summary = (f"With {names} off, P({label}) goes from {inspection.probabilities[label]:.2%} "
                   f"to {ablated.probabilities[label]:.2%}; the prediction is **{ablated.prediction}**.")
        return summary, probabilities_figure(ablated.probabilities, "Class probabilities, heads off")

    attention_inputs = [text, layer, head, model, dataset, units, show_special, workspace]
    attention_outputs = [heatmap, overview, note, layer, head]
    flow_inputs = [text, model, dataset, units, show_special, workspace]
    gr.on([run.click, text.submit], predict, [text, model, dataset, workspace], [label, probabilities, note],
          api_name="predict", concurrency_id="inspect", concurrency_limit=4).then(
        show_attention, attention_inputs, attention_outputs, api_name="attention",
        concurrency_id="inspect", concurrency_limit=4).then(
        show_flow, flow_inputs, flow, api_name="rollout", concurrency_id="inspect", concurrency_limit=4)
    for slider in (layer, head):
        slider.release(show_attention, attention_inputs, attention_outputs, api_name=False,
                       concurrency_id="inspect", concurrency_limit=4, show_progress="hidden")
    for control in (units, show_special):
        control.change(show_attention, attention_inputs, attention_outputs, api_name=False,
                       concurrency_id="inspect", concurrency_limit=4, show_progress="hidden").then(
            show_flow, flow_inputs, flow, api_name=False, concurrency_id="inspect", concurrency_limit=4,
            show_progress="hidden").then(
            refresh_saliency, [text, units, show_special, last_saliency], saliency_html, api_name=False,
            show_progress="hidden")
    ablate_button.click(ablate, [text, heads_off, model, dataset, workspace], [ablation_note, ablated_probabilities],
                        api_name="ablate", concurrency_id="inspect", concurrency_limit=4)
    explain_button.click(show_saliency, flow_inputs, [saliency_html, agreement, note, last_saliency],
                         api_name="saliency", concurrency_id="inspect", concurrency_limit=4)


def _inspect(ws: Workspace, sentence: str, model_key: str, dataset_key: str) -> tuple[ModelView, Inspection, str]:
    """The model that answers, its (cached) inspection of the sentence, and how to describe it."""
    view = ws.model_view(model_key, dataset_key)
    inspection = ws.inspect(view, sentence)
    description = view.description
    if inspection.truncated:
        description += f" The text was cut to its first {len(inspection.tokens)} tokens."
    return view, inspection, description


def _saliency_html(salient: explain.Saliency, unit: str, special: bool) -> str:
    view = inspection_view(salient, unit == WORDS, bool(special))  # a Saliency has the same token fields
    return (shaded_tokens_html(view.labels, view_scores(salient.gradient_x_input, view),
                               f"Gradient × input for “{salient.target}”", signed=True)
            + shaded_tokens_html(view.labels, view_scores(salient.integrated_gradients, view),
                                 f"Integrated gradients for “{salient.target}” (sum {salient.integrated_gradients.sum():+.3f}"
                                 f" ≈ logit gap {salient.logit_gap:+.3f})", signed=True))
