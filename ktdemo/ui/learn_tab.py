"""Learn tab: the Transformer's moving parts, each computed from the loaded model and the user's sentence."""
from __future__ import annotations

import gradio as gr

from ..figures.learn import (attention_steps_figure, heads_figure, position_similarity_figure, query_key_value_figure,
                             residual_norms_figure, sinusoid_figure, token_labels)
from ..inspection import lessons
from ..serving.session import Session
from .controls import INSPECT, clamp, outputs
from .i18n import EN, language_of, t, words
from .i18n import tr, warning, with_cjk_note

DEFAULT_SENTENCE = "The film was not bad at all."
POSITIONS = 64  # positions shown: the sinusoids and the learned embeddings alike
FAR = 16  # "far apart" positions, for the similarity summary
READS = {"cls": "learn.reads_cls", "mean": "learn.reads_mean"}  # what the classifier reads, by the head's pooling

Lesson = outputs("note", "steps_text", "steps_plot", "vectors_plot", "heads_plot", "sinusoid_plot", "positions_text",
                 "positions_plot", "residual_text", "residual_plot", "layer", "head", "token")  # every lesson view


def build(model, dataset, session: gr.State) -> None:
    gr.Markdown(tr("learn.intro"))
    with gr.Row():
        text = gr.Textbox(DEFAULT_SENTENCE, label=tr("learn.text"), lines=1, max_lines=4, scale=4, max_length=5000,
                          elem_id="learn-text")
        show = gr.Button(tr("learn.show"), variant="primary", scale=1, elem_id="learn-show")
    with gr.Row():
        layer = gr.Slider(1, 6, value=1, step=1, label=tr("learn.layer"))
        head = gr.Slider(1, 12, value=1, step=1, label=tr("learn.head"))
        token = gr.Dropdown([(tr("learn.token.press_show"), 1)], value=1, label=tr("learn.token"),
                            allow_custom_value=True, elem_id="learn-token", info=tr("learn.token.info"))
    note = gr.Markdown(elem_id="learn-note")
    gr.Markdown(tr("learn.attention"))
    steps_text = gr.Markdown(elem_id="learn-steps-text")
    steps_plot = gr.Plot(label=tr("learn.steps"), elem_id="learn-steps")
    vectors_plot = gr.Plot(label=tr("learn.vectors"))
    gr.Markdown(tr("learn.heads"))
    heads_plot = gr.Plot(label=tr("learn.heads_plot"), elem_id="learn-heads")
    gr.Markdown(tr("learn.positions"))
    sinusoid_plot = gr.Plot(label=tr("learn.sinusoid"))
    positions_text = gr.Markdown(elem_id="learn-positions-text")
    positions_plot = gr.Plot(label=tr("learn.positions_plot"))
    gr.Markdown(tr("learn.residual"))
    residual_text = gr.Markdown(elem_id="learn-residual-text")
    residual_plot = gr.Plot(label=tr("learn.residual_plot"), elem_id="learn-residual")
    gr.Markdown(tr("learn.inside"), elem_id="learn-inside")

    inputs = [text, layer, head, token, model, dataset, session]
    outputs = Lesson.components(note=note, steps_text=steps_text, steps_plot=steps_plot, vectors_plot=vectors_plot,
                                heads_plot=heads_plot, sinusoid_plot=sinusoid_plot, positions_text=positions_text,
                                positions_plot=positions_plot, residual_text=residual_text,
                                residual_plot=residual_plot, layer=layer, head=head, token=token)
    gr.on([show.click, text.submit], show_all, inputs, outputs, api_name="learn", **INSPECT)
    for control in (layer.release, head.release, token.input):
        control(show_all, inputs, outputs, api_name=False, **INSPECT,
                show_progress="hidden")


def show_all(text, layer, head, token, model, dataset, session: Session = None):
    """Every lesson view for `text` in the session's model: one head's attention step by step (layer, head
    and query token count from 1, 1 and 0), every head of the layer, positions, the residual stream."""
    try:
        look = session.views.look(model, dataset, text)
    except ValueError as error:  # InputError included: one sentence for the user
        return Lesson(rest=None, note=warning(error, language_of(session)), layer=gr.skip(), head=gr.skip(),
                      token=gr.skip())
    view, inspection = look.view, look.inspection
    layers, heads = inspection.shape
    tokens = inspection.tokens
    l, h, q = clamp(layer, layers), clamp(head, heads), clamp(token, len(tokens), first=0)
    language = language_of(session)
    steps_text, steps_plot, vectors_plot = _attention_section(view, text, l, h, q, language)
    positions_text, positions_plot = _positions_section(view.model, language)
    residual_text, residual_plot = _residual_section(view, text, language, inspection.pooling)
    heads_fig = heads_figure(lessons.heads_for_token(inspection, l, q), tokens, q, l, words(language))
    size = view.model.config.hidden_size
    sinusoids = sinusoid_figure(lessons.sinusoidal_encoding(POSITIONS, size), lessons.showcase_dimensions(size),
                                words(language))
    choices = [(label.replace(" ", " · ", 1), i) for i, label in enumerate(token_labels(tokens))]
    return Lesson(note=with_cjk_note(view.description, text, look, language),
                  steps_text=steps_text, steps_plot=steps_plot, vectors_plot=vectors_plot, heads_plot=heads_fig,
                  sinusoid_plot=sinusoids, positions_text=positions_text, positions_plot=positions_plot,
                  residual_text=residual_text, residual_plot=residual_plot,
                  layer=gr.update(maximum=layers, value=l + 1), head=gr.update(maximum=heads, value=h + 1),
                  token=gr.update(choices=choices, value=q))


def _attention_section(view, sentence: str, layer: int, head: int, token: int, language: str = EN) -> tuple:
    """(text, steps figure, vectors figure) for one head and query token."""
    try:
        walk = lessons.attention_walkthrough(view.model, view.tokenizer, sentence, layer, head, token)
    except ValueError as error:
        return warning(error, language), None, None
    top = int(walk.weights.argmax())
    where = t("learn.where", language, layer=layer + 1, head=head + 1)
    text = t("learn.steps_text", language, token=walk.tokens[token], position=token, where=where, d=walk.size,
             root=f"{walk.size ** 0.5:.2f}", top=walk.tokens[top], weight=f"{walk.weights[top]:.1%}")
    return (text,
            attention_steps_figure(walk.tokens, walk.scores, walk.weights, token,
                                   t("learn.steps_title", language, token=walk.tokens[token], position=token,
                                     where=where), words(language)),
            query_key_value_figure(walk.tokens, walk.query, walk.keys, walk.values, walk.output,
                                   t("learn.vectors_title", language, d=walk.size), words(language)))


def _positions_section(model, language: str = EN) -> tuple:
    """(text, figure) for the model's learned position embeddings, or why it has none."""
    try:
        similarity = lessons.position_similarity(model, POSITIONS)
    except ValueError as error:
        return warning(error, language), None
    total = lessons.position_embeddings(model).shape[0]
    count = len(similarity)
    near, far = lessons.similarity_by_distance(similarity, FAR)
    text = t("learn.positions_text", language, count=count, total=total, near=f"{near:.2f}", far_n=FAR,
             far=f"{far:.2f}")
    return text, position_similarity_figure(similarity, t("learn.positions_title", language), words(language))


def _residual_section(view, sentence: str, language: str = EN, pooling: str = "cls") -> tuple:
    """(text, figure) for the residual stream and each sub-block's update."""
    try:
        norms = lessons.residual_norms(view.model, view.tokenizer, sentence)
    except ValueError as error:
        return warning(error, language), None
    attention = (norms["attention"] / norms["stream"]).mean()
    feed_forward = (norms["feed_forward"] / norms["stream"]).mean()
    text = t("learn.residual_text", language, attention=f"{attention:.0%}", feed_forward=f"{feed_forward:.0%}")
    # what the top of the stream feeds: [CLS] alone, or every token (the inspection's `pooling`)
    return text + t("note.join", language) + t(READS[pooling], language), residual_norms_figure(norms, words(language))
