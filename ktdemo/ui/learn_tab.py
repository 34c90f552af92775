"""Learn tab: the Transformer's moving parts, each computed from the loaded model and the user's sentence."""
from __future__ import annotations

import gradio as gr

from .. import learn
from ..figures.learn import (attention_steps_figure, heads_figure, position_similarity_figure,
                             query_key_value_figure, residual_norms_figure, sinusoid_figure, token_labels)
from ..session import Session

DEFAULT_SENTENCE = "The film was not bad at all."
POSITIONS = 64  # positions shown: the sinusoids and the learned embeddings alike
FAR = 16  # "far apart" positions, for the similarity summary

ATTENTION_TEXT = (
    "**1 · Scaled dot-product attention, for one token.** The layer turns each token's vector x into a query "
    "q, a key k and a value v (three learned matrices, one slice per head). The chosen token's q is compared "
    "with every k: score = k·q / √d, then softmax turns the scores into weights that sum to 1. The head's "
    "output is the weighted sum of the v's. These are the model's real numbers for your sentence.")
HEADS_TEXT = (
    "**2 · Several heads side by side.** Each head has its own Q/K/V matrices, so the same token attends "
    "differently in each: some look at the next or previous word, some at [CLS] or [SEP], some spread out. "
    "The layer concatenates the heads' outputs and mixes them with one more matrix.")
POSITIONS_TEXT = (
    "**3 · Positions.** Attention alone ignores word order, so position is added to each token's vector. "
    "The original Transformer used fixed sinusoids: each pair of dimensions is a clock at its own speed. "
    "BERT-family models learn one vector per position instead; below, how alike those vectors are.")
RESIDUAL_TEXT = (
    "**4 · The residual stream and the feed-forward block.** Each layer adds to a running vector per token: "
    "first the attention block's update, then the feed-forward block's (a two-layer network applied to "
    "each token alone). Below: the stream's size entering each layer and the size of each update "
    "(mean L2 norm over the tokens; BERT normalises the stream after each addition).")

INSIDE_TEXT = (
    "**5 · What transfer changes inside.** Three views, in the Predict tab once you have trained "
    "(*What transfer changed inside the model*):\n\n"
    "- *Sentence space.* Each test sentence as the vector the classifier reads, before and after transfer, "
    "flattened to 2-D with PCA. Fine-tuning pulls the classes apart; the cross-validated accuracy of a linear "
    "probe on the full vectors says how far, in numbers a picture cannot fake. In a cross-domain run the "
    "source and target sentences share the picture, so the domain gap shows.\n"
    "- *Layer by layer.* Linear CKA (Kornblith et al. 2019) compares a layer before and after: 1 means the "
    "same up to rotation and scale. Fine-tuning usually changes the top layers most and leaves the lower ones "
    "close to pretraining (Merchant et al. 2020): general features below, the task on top. A probe per layer "
    "shows where the task becomes linearly readable.\n"
    "- *Attention weighed by what it moves.* A head's weight α says where it looks; what reaches a token is "
    "α times the value vector it picks up, ‖α·f(x)‖ (Kobayashi et al. 2020). Heads often put much weight on "
    "[CLS], [SEP] or a full stop whose vectors are tiny: by norm, those heads do little there.")


def build(model, dataset, session: gr.State) -> None:
    gr.Markdown("Every view below comes from the model chosen above (fine-tuned once you have trained, "
                "else the pretrained one) and from your sentence.")
    with gr.Row():
        text = gr.Textbox(DEFAULT_SENTENCE, label="Your sentence", lines=1, max_lines=4, scale=4, max_length=5000,
                          elem_id="learn-text")
        show = gr.Button("Show", variant="primary", scale=1, elem_id="learn-show")
    with gr.Row():
        layer = gr.Slider(1, 6, value=1, step=1, label="Layer")
        head = gr.Slider(1, 12, value=1, step=1, label="Head")
        token = gr.Dropdown([("1 · (press Show)", 1)], value=1, label="Query token", allow_custom_value=True,
                            elem_id="learn-token", info="By position, from 0 ([CLS]): the token whose attention is followed.")
    note = gr.Markdown(elem_id="learn-note")
    gr.Markdown(ATTENTION_TEXT)
    steps_text = gr.Markdown(elem_id="learn-steps-text")
    steps_plot = gr.Plot(label="Scores and weights", elem_id="learn-steps")
    vectors_plot = gr.Plot(label="q, K, V and the output")
    gr.Markdown(HEADS_TEXT)
    heads_plot = gr.Plot(label="Every head of the layer", elem_id="learn-heads")
    gr.Markdown(POSITIONS_TEXT)
    sinusoid_plot = gr.Plot(label="Sinusoidal encoding")
    positions_text = gr.Markdown(elem_id="learn-positions-text")
    positions_plot = gr.Plot(label="Learned position embeddings")
    gr.Markdown(RESIDUAL_TEXT)
    residual_text = gr.Markdown(elem_id="learn-residual-text")
    residual_plot = gr.Plot(label="Residual stream", elem_id="learn-residual")
    gr.Markdown(INSIDE_TEXT, elem_id="learn-inside")

    inputs = [text, layer, head, token, model, dataset, session]
    outputs = [note, steps_text, steps_plot, vectors_plot, heads_plot, sinusoid_plot, positions_text, positions_plot,
               residual_text, residual_plot, layer, head, token]
    gr.on([show.click, text.submit], show_all, inputs, outputs, api_name="learn", concurrency_id="inspect",
          concurrency_limit=4)
    for control in (layer.release, head.release, token.input):
        control(show_all, inputs, outputs, api_name=False, concurrency_id="inspect", concurrency_limit=4,
                show_progress="hidden")


def show_all(text, layer, head, token, model, dataset, session: Session = None):
    """Every lesson view for `text` in the session's model: one head's attention step by step (layer, head
    and query token count from 1, 1 and 0), every head of the layer, positions, the residual stream."""
    try:
        look = session.look(model, dataset, text)
    except ValueError as error:  # InputError included: one sentence for the user
        return (f"⚠️ {error}", *[None] * 9, gr.skip(), gr.skip(), gr.skip())
    view, inspection = look.view, look.inspection
    layers, heads = inspection.shape
    tokens = inspection.tokens
    l, h, t = _clamp(layer, layers), _clamp(head, heads), _clamp(token, len(tokens), first=0)
    steps = _attention_section(view, text, l, h, t)
    positions = _positions_section(view.model)
    residual = _residual_section(view, text)
    heads_fig = heads_figure(learn.heads_for_token(inspection, l, t), tokens, t, l)
    size = view.model.config.hidden_size
    sinusoids = sinusoid_figure(learn.sinusoidal_encoding(POSITIONS, size), learn.showcase_dimensions(size))
    choices = [(label.replace(" ", " · ", 1), i) for i, label in enumerate(token_labels(tokens))]
    return (view.description, *steps, heads_fig, sinusoids, *positions, *residual,
            gr.update(maximum=layers, value=l + 1), gr.update(maximum=heads, value=h + 1),
            gr.update(choices=choices, value=t))


def _clamp(number, count: int, first: int = 1) -> int:
    """A choice from the screen or the API (layers and heads count from 1, positions from 0), as a 0-based
    index that exists."""
    try:
        number = int(float(number))
    except (TypeError, ValueError):
        number = first
    return min(max(number - first, 0), count - 1)


def _attention_section(view, sentence: str, layer: int, head: int, token: int) -> tuple:
    """(text, steps figure, vectors figure) for one head and query token."""
    try:
        walk = learn.attention_walkthrough(view.model, view.tokenizer, sentence, layer, head, token)
    except ValueError as error:
        return f"⚠️ {error}", None, None
    top = int(walk.weights.argmax())
    where = f"layer {layer + 1}, head {head + 1}"
    text = (f"Query **{walk.tokens[token]}** (position {token}) in {where}. Each head works in d = {walk.size} "
            f"dimensions, so scores are divided by √{walk.size} = {walk.size ** 0.5:.2f}. "
            f"It attends most to **{walk.tokens[top]}** ({walk.weights[top]:.1%}).")
    return (text,
            attention_steps_figure(walk.tokens, walk.scores, walk.weights, token,
                                   f"Attention of “{walk.tokens[token]}” (position {token}), {where}"),
            query_key_value_figure(walk.tokens, walk.query, walk.keys, walk.values, walk.output,
                                   f"The vectors behind it (head size d = {walk.size})"))


def _positions_section(model) -> tuple:
    """(text, figure) for the model's learned position embeddings, or why it has none."""
    try:
        similarity = learn.position_similarity(model, POSITIONS)
    except ValueError as error:
        return f"⚠️ {error}", None
    total = learn.position_embeddings(model).shape[0]
    count = len(similarity)
    near, far = learn.similarity_by_distance(similarity, FAR)
    text = (f"Cosine similarity of the model's first {count} learned position vectors (of {total}). Positions "
            f"one apart: {near:.2f} on average; {FAR} or more apart: {far:.2f}.")
    return text, position_similarity_figure(similarity, "Learned position embeddings: cosine similarity")


def _residual_section(view, sentence: str) -> tuple:
    """(text, figure) for the residual stream and each sub-block's update."""
    try:
        norms = learn.residual_norms(view.model, view.tokenizer, sentence)
    except ValueError as error:
        return f"⚠️ {error}", None
    attention = (norms["attention"] / norms["stream"]).mean()
    feed_forward = (norms["feed_forward"] / norms["stream"]).mean()
    text = (f"Averaged over the layers, an attention update is {attention:.0%} of the stream's size entering the "
            f"layer, a feed-forward update {feed_forward:.0%}.")
    return text, residual_norms_figure(norms)
