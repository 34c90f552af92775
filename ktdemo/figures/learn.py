"""Figures of the Learn tab, drawn from plain arrays: attention step by step, heads, positions, residual stream."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .attention import DIVERGING
from .style import BLUE, GREEN, ORANGE, PALETTE, SEQUENTIAL, layout

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
                           title: str) -> go.Figure:
    """Scores K·q/√d (left) and their softmax (right), one bar per key token, the real numbers written on."""
    labels = token_labels(tokens)
    figure = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06,
                           subplot_titles=("score = k·q / √d", "weight = softmax(score)"))
    figure.add_bar(x=scores, y=labels, orientation="h", marker_color=BLUE, texttemplate="%{x:.3f}",
                   hovertemplate="%{y}: score %{x:.4f}<extra></extra>", row=1, col=1)
    colours = [ORANGE if i == int(np.argmax(weights)) else GREEN for i in range(len(weights))]
    figure.add_bar(x=weights, y=labels, orientation="h", marker_color=colours, texttemplate="%{x:.3f}",
                   hovertemplate="%{y}: weight %{x:.4f}<extra></extra>", row=1, col=2)
    figure.update_traces(textposition="outside", cliponaxis=False, showlegend=False)
    figure.update_yaxes(autorange="reversed", row=1, col=1, title_text=f"key token (query: {labels[query]})")
    figure.update_xaxes(range=[0, _weight_range(weights)], tickformat=".0%", row=1, col=2)
    return layout(figure, title, height=max(300, 26 * len(tokens) + 140))


def query_key_value_figure(tokens: list[str], query: np.ndarray, keys: np.ndarray, values: np.ndarray,
                           output: np.ndarray, title: str) -> go.Figure:
    """The vectors themselves: q and the output (one row each) above K and V (one row per token)."""
    labels = token_labels(tokens)
    size = query.shape[0]
    figure = make_subplots(rows=2, cols=2, row_heights=[1, max(len(tokens), 2)], vertical_spacing=0.12,
                           horizontal_spacing=0.1, subplot_titles=("q (this token's query)", "output = Σ weight·v",
                                                                   "K (one key per token)", "V (one value per token)"))
    largest = _symmetric(query, keys, values, output)
    dims = list(range(size))
    for (row, col), z, y in (((1, 1), query[None], ["q"]), ((1, 2), output[None], ["out"]),
                             ((2, 1), keys, labels), ((2, 2), values, labels)):
        figure.add_heatmap(z=np.round(z, 4), x=dims, y=y, colorscale=DIVERGING, zmin=-largest, zmax=largest,
                           showscale=(row, col) == (2, 2), hovertemplate="%{y}, dim %{x}: %{z:.4f}<extra></extra>",
                           row=row, col=col)
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(title_text=f"dimension (of {size})", row=2)
    figure = layout(figure, title, height=max(340, 22 * len(tokens) + 220))
    figure.update_layout(margin={"l": 110})
    return figure


def heads_figure(rows: np.ndarray, tokens: list[str], query: int, layer: int) -> go.Figure:
    """Small multiples: each head's attention row for the same query token, on one shared 0–1 scale."""
    heads = rows.shape[0]
    columns = min(heads, HEADS_PER_ROW)
    lines = math.ceil(heads / columns)
    labels = token_labels(tokens)
    figure = make_subplots(rows=lines, cols=columns, shared_yaxes=True, shared_xaxes=True,
                           subplot_titles=[f"head {h + 1}" for h in range(heads)],
                           horizontal_spacing=0.03, vertical_spacing=0.08 / lines)
    for head, row in enumerate(rows):
        figure.add_bar(x=row, y=labels, orientation="h", marker_color=PALETTE[head % len(PALETTE)],
                       hovertemplate=f"head {head + 1}: %{{y}} %{{x:.3f}}<extra></extra>", showlegend=False,
                       row=head // columns + 1, col=head % columns + 1)
    figure.update_xaxes(range=[0, _weight_range(rows)], tickformat=".0%", nticks=3)
    figure.update_yaxes(autorange="reversed", tickfont={"size": 10})
    title = f"Layer {layer + 1}: where each head sends the attention of “{tokens[query]}” (position {query})"
    return layout(figure, title, height=max(300, lines * (18 * len(tokens) + 60) + 100))


def sinusoid_figure(encoding: np.ndarray, dims: list[int]) -> go.Figure:
    """The sinusoidal encoding as a heatmap (position × dimension) and a few of its dimensions as lines."""
    positions, size = encoding.shape
    figure = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.1,
                           subplot_titles=(f"PE(position, dimension), d_model = {size}",
                                           "a few dimensions along the positions"))
    figure.add_heatmap(z=np.round(encoding, 3), colorscale=SEQUENTIAL, zmin=-1, zmax=1, colorbar={"x": 0.5},
                       hovertemplate="position %{y}, dim %{x}: %{z:.3f}<extra></extra>", row=1, col=1)
    for index, dim in enumerate(dims):
        kind = "sin" if dim % 2 == 0 else "cos"
        figure.add_scatter(x=list(range(positions)), y=encoding[:, dim], mode="lines", name=f"dim {dim} ({kind})",
                           line={"color": PALETTE[index % len(PALETTE)], "width": 2}, row=1, col=2)
    figure.update_xaxes(title_text="dimension", row=1, col=1)
    figure.update_yaxes(title_text="position", autorange="reversed", row=1, col=1)
    figure.update_xaxes(title_text="position", row=1, col=2)
    return layout(figure, "Sinusoidal positional encoding (Vaswani et al. 2017)", height=420)


def position_similarity_figure(similarity: np.ndarray, title: str) -> go.Figure:
    """Cosine similarity between learned position embeddings: −1 (blue) to 1 (orange)."""
    figure = go.Figure(go.Heatmap(z=np.round(similarity, 3), colorscale=DIVERGING, zmin=-1, zmax=1,
                                  hovertemplate="positions %{y} and %{x}: cosine %{z:.3f}<extra></extra>",
                                  colorbar={"title": {"text": "cosine"}}))
    figure.update_xaxes(title_text="position", side="top", constrain="domain")
    figure.update_yaxes(title_text="position", autorange="reversed", scaleanchor="x", constrain="domain")
    figure = layout(figure, title, height=480)
    figure.update_layout(margin={"t": 100})
    return figure


def residual_norms_figure(norms: dict[str, np.ndarray]) -> go.Figure:
    """Per layer: the stream's size entering the layer and the size of what each sub-block adds to it."""
    names = {"stream": ("residual stream (layer input)", BLUE),
             "attention": ("attention update", ORANGE), "feed_forward": ("feed-forward update", GREEN)}
    figure = go.Figure()
    for key, (name, colour) in names.items():
        values = np.asarray(norms[key])
        figure.add_scatter(x=list(range(1, len(values) + 1)), y=values, name=name, mode="lines+markers",
                           line={"color": colour, "width": 2.5},
                           hovertemplate=f"layer %{{x}}: {name} %{{y:.3f}}<extra></extra>")
    figure.update_xaxes(title_text="layer", dtick=1)
    figure.update_yaxes(title_text="mean L2 norm per token (log)", type="log")  # updates can be 100× smaller
    return layout(figure, "Residual stream and sub-block updates, per layer", height=380)
