"""Predict tab: type a sentence, see the class probabilities and the attention of every layer and head."""
from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from ..attention import InputError, Inspection
from ..figures.attention import attention_heatmap_figure, attention_overview_figure, probabilities_figure
from ..workspace import Workspace

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
    with gr.Row():
        heatmap = gr.Plot(label="One head", elem_id="heatmap")
        overview = gr.Plot(label="Every layer and head")

    def predict(sentence, model_key, dataset_key, ws: Workspace):
        try:
            inspection, description = _inspect(ws, sentence, model_key, dataset_key)
        except (InputError, ValueError) as error:
            return {}, None, f"⚠️ {error}"
        return inspection.probabilities, probabilities_figure(inspection.probabilities), description

    def show_attention(sentence, layer_no, head_no, model_key, dataset_key, ws: Workspace):
        try:
            inspection, description = _inspect(ws, sentence, model_key, dataset_key)
        except (InputError, ValueError) as error:
            return None, None, f"⚠️ {error}", gr.skip(), gr.skip()
        layers, heads = inspection.shape
        l, h = min(max(int(layer_no), 1), layers) - 1, min(max(int(head_no), 1), heads) - 1
        title = f"Layer {l + 1}, head {h + 1}"
        return (attention_heatmap_figure(inspection.attentions[l, h], inspection.tokens, title),
                attention_overview_figure(inspection.attentions, selected=(l, h)), description,
                gr.update(maximum=layers, value=l + 1), gr.update(maximum=heads, value=h + 1))

    attention_inputs = [text, layer, head, model, dataset, workspace]
    attention_outputs = [heatmap, overview, note, layer, head]
    gr.on([run.click, text.submit], predict, [text, model, dataset, workspace], [label, probabilities, note],
          api_name="predict", concurrency_id="inspect", concurrency_limit=4).then(
        show_attention, attention_inputs, attention_outputs, api_name="attention",
        concurrency_id="inspect", concurrency_limit=4)
    for slider in (layer, head):
        slider.release(show_attention, attention_inputs, attention_outputs, api_name=False,
                       concurrency_id="inspect", concurrency_limit=4, show_progress="hidden")


def _inspect(ws: Workspace, sentence: str, model_key: str, dataset_key: str) -> tuple[Inspection, str]:
    view = ws.model_view(model_key, dataset_key)
    inspection = ws.inspect(view, sentence)
    description = view.description
    if inspection.truncated:
        description += f" The text was cut to its first {len(inspection.tokens)} tokens."
    return inspection, description
