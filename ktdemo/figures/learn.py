"""Figures of the Learn tab, drawn from plain arrays: attention step by step, heads, positions, residual stream."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .attention import DIVERGING
from .style import BLUE, GREEN, ORANGE, PALETTE, SEQUENTIAL, Words, english, layout

HEADS_PER_ROW = 4


def token_labels(tokens: list[str]) -> list[str]:
    """Position-prefixed labels: a repeated token keeps its own bar or row."""
    return [f"{position} {token}" for position, token in enumerate(tokens)]


def _symmetric(*arrays: np.ndarray) -> float:
    """One colour range centred on 0 for arrays that share a scale."""
    return max(max(float(np.abs(a).max()) for a in arrays if a.size), 1e-9)


def _weight_range(weights: np.ndarray) -> float:
    """An axis end for attention weights: room for the largest bar and its label, never past 100%."""
    return min(1.0, 1.25 * max(float(np.max(weights)), 0.05))


def attention_steps_figure(tokens: list[str], scores: np.ndarray, weights: np.ndarray, query: int,
                           title: str, words: Words = english) -> go.Figure:
    """Scores K·q/√d (left) and their softmax (right), one bar per key token, the real numbers written on."""
    labels = token_labels(tokens)
    figure = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06,
                           subplot_titles=(words("figure.score_title"), words("figure.softmax_title")))
    figure.add_bar(x=scores, y=labels, orientation="h", marker_color=BLUE, texttemplate="%{x:.3f}",
                   hovertemplate=words("figure.score_hover") + "<extra></extra>", row=1, col=1)
    colours = [ORANGE if i == int(np.argmax(weights)) else GREEN for i in range(len(weights))]
    figure.add_bar(x=weights, y=labels, orientation="h", marker_color=colours, texttemplate="%{x:.3f}",
                   hovertemplate=words("figure.weight_hover") + "<extra></extra>", row=1, col=2)
    figure.update_traces(textposition="outside", cliponaxis=False, showlegend=False)
    figure.update_yaxes(autorange="reversed", row=1, col=1, title_text=words("figure.key_token", query=labels[query]))
    figure.update_xaxes(range=[0, _weight_range(weights)], tickformat=".0%", row=1, col=2)
    return layout(figure, title, height=max(300, 26 * len(tokens) + 140))


def query_key_value_figure(tokens: list[str], query: np.ndarray, keys: np.ndarray, values: np.ndarray,
                           output: np.ndarray, title: str, words: Words = english) -> go.Figure:
    """The vectors themselves: q and the output (one row each) above K and V (one row per token)."""
    labels = token_labels(tokens)
    size = query.shape[0]
    figure = make_subplots(rows=2, cols=2, row_heights=[1, max(len(tokens), 2)], vertical_spacing=0.12,
                           horizontal_spacing=0.1,
                           subplot_titles=(words("figure.q_title"), words("figure.output_title"),
                                           words("figure.k_title"), words("figure.v_title")))
    largest = _symmetric(query, keys, values, output)
    dims = list(range(size))
    dim_hover = words("figure.dim_hover") + "<extra></extra>"
    for (row, col), z, y in (((1, 1), query[None], ["q"]), ((1, 2), output[None], [words("figure.out")]),
                             ((2, 1), keys, labels), ((2, 2), values, labels)):
        figure.add_heatmap(z=np.round(z, 4), x=dims, y=y, colorscale=DIVERGING, zmin=-largest, zmax=largest,
                           showscale=(row, col) == (2, 2), hovertemplate=dim_hover,
                           row=row, col=col)
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(title_text=words("figure.dimension_of", size=size), row=2)
    figure = layout(figure, title, height=max(340, 22 * len(tokens) + 220))
    figure.update_layout(margin={"l": 110})
    return figure


def heads_figure(rows: np.ndarray, tokens: list[str], query: int, layer: int, words: Words = english) -> go.Figure:
    """Small multiples: each head's attention row for the same query token, on one shared 0–1 scale."""
    heads = rows.shape[0]
    columns = min(heads, HEADS_PER_ROW)
    lines = math.ceil(heads / columns)
    labels = token_labels(tokens)
    figure = make_subplots(rows=lines, cols=columns, shared_yaxes=True, shared_xaxes=True,
                           subplot_titles=[words("figure.head_n", n=h + 1) for h in range(heads)],
                           horizontal_spacing=0.03, vertical_spacing=0.08 / lines)
    for head, row in enumerate(rows):
        figure.add_bar(x=row, y=labels, orientation="h", marker_color=PALETTE[head % len(PALETTE)],
                       hovertemplate=words("figure.head_hover", n=head + 1) + "<extra></extra>", showlegend=False,
                       row=head // columns + 1, col=head % columns + 1)
    figure.update_xaxes(range=[0, _weight_range(rows)], tickformat=".0%", nticks=3)
    figure.update_yaxes(autorange="reversed", tickfont={"size": 10})
    title = words("figure.heads_title", layer=layer + 1, token=tokens[query], position=query)
    return layout(figure, title, height=max(300, lines * (18 * len(tokens) + 60) + 100))


def sinusoid_figure(encoding: np.ndarray, dims: list[int], words: Words = english) -> go.Figure:
    """The sinusoidal encoding as a heatmap (position × dimension) and a few of its dimensions as lines."""
    positions, size = encoding.shape
    figure = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.1,
                           subplot_titles=(words("figure.pe_title", size=size), words("figure.pe_dims")))
    figure.add_heatmap(z=np.round(encoding, 3), colorscale=SEQUENTIAL, zmin=-1, zmax=1, colorbar={"x": 0.5},
                       hovertemplate=words("figure.pe_hover") + "<extra></extra>", row=1, col=1)
    for index, dim in enumerate(dims):
        kind = "sin" if dim % 2 == 0 else "cos"
        figure.add_scatter(x=list(range(positions)), y=encoding[:, dim], mode="lines",
                           name=words("figure.dim_name", dim=dim, kind=kind),
                           line={"color": PALETTE[index % len(PALETTE)], "width": 2}, row=1, col=2)
    figure.update_xaxes(title_text=words("figure.dimension"), row=1, col=1)
    figure.update_yaxes(title_text=words("figure.position"), autorange="reversed", row=1, col=1)
    figure.update_xaxes(title_text=words("figure.position"), row=1, col=2)
    return layout(figure, words("figure.sinusoid"), height=420)


def position_similarity_figure(similarity: np.ndarray, title: str, words: Words = english) -> go.Figure:
    """Cosine similarity between learned position embeddings: −1 (blue) to 1 (orange)."""
    figure = go.Figure(go.Heatmap(z=np.round(similarity, 3), colorscale=DIVERGING, zmin=-1, zmax=1,
                                  hovertemplate=words("figure.cosine_hover") + "<extra></extra>",
                                  colorbar={"title": {"text": words("figure.cosine")}}))
    figure.update_xaxes(title_text=words("figure.position"), side="top", constrain="domain")
    figure.update_yaxes(title_text=words("figure.position"), autorange="reversed", scaleanchor="x", constrain="domain")
    figure = layout(figure, title, height=480)
    figure.update_layout(margin={"t": 100})
    return figure


def residual_norms_figure(norms: dict[str, np.ndarray], words: Words = english) -> go.Figure:
    """Per layer: the stream's size entering the layer and the size of what each sub-block adds to it."""
    names = {"stream": (words("figure.residual_stream"), BLUE),
             "attention": (words("figure.attention_update"), ORANGE),
             "feed_forward": (words("figure.feed_forward_update"), GREEN)}
    figure = go.Figure()
    for key, (name, colour) in names.items():
        values = np.asarray(norms[key])
        figure.add_scatter(x=list(range(1, len(values) + 1)), y=values, name=name, mode="lines+markers",
                           line={"color": colour, "width": 2.5},
                           hovertemplate=words("figure.residual_hover", name=name) + "<extra></extra>")
    figure.update_xaxes(title_text=words("figure.layer"), dtick=1)
    figure.update_yaxes(title_text=words("figure.mean_norm"), type="log")  # updates can be 100× smaller
    return layout(figure, words("figure.residual"), height=380)
