"""Figures of one prediction: class probabilities and attention heatmaps."""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from .style import BLUE, ORANGE, SEQUENTIAL, layout

DIVERGING = [[0.0, BLUE], [0.5, "#FFFFFF"], [1.0, ORANGE]]  # Okabe-Ito ends: colour-blind safe


def probabilities_figure(probabilities: dict[str, float], title: str = "Class probabilities") -> go.Figure:
    labels = list(probabilities)
    values = [probabilities[label] for label in labels]
    best = int(np.argmax(values))
    colours = [ORANGE if i == best else BLUE for i in range(len(labels))]
    figure = go.Figure(go.Bar(x=values, y=labels, orientation="h", marker_color=colours,
                              texttemplate="%{x:.1%}", textposition="outside",
                              hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    figure.update_xaxes(range=[0, 1.15], tickformat=".0%")
    figure.update_yaxes(autorange="reversed")
    return layout(figure, title, height=max(220, 40 * len(labels) + 120))


def attention_heatmap_figure(weights: np.ndarray, tokens: list[str], title: str) -> go.Figure:
    """One head: row = the token that attends (query), column = the token attended to (key).

    Axes are positions, labelled with tokens: a repeated token keeps its own row and column.
    """
    positions = list(range(len(tokens)))
    hover = [[f"{tokens[q]} → {tokens[k]}" for k in positions] for q in positions]
    figure = go.Figure(go.Heatmap(
        z=np.round(weights, 4), x=positions, y=positions, text=hover, colorscale=SEQUENTIAL, zmin=0,
        hovertemplate="%{text}<br>weight %{z:.3f}<extra></extra>", colorbar={"title": {"text": "weight"}},
    ))
    axis = {"tickmode": "array", "tickvals": positions, "ticktext": tokens, "tickfont": {"size": 11}}
    figure.update_xaxes(title_text="attended to (key)", side="top", tickangle=-60, **axis)
    figure.update_yaxes(title_text="attending (query)", autorange="reversed", **axis)
    size = min(820, max(380, 22 * len(tokens) + 200))
    figure = layout(figure, title, height=size)
    figure.update_layout(margin={"t": 110})
    return figure


def attention_overview_figure(attentions: np.ndarray, selected: tuple[int, int] | None = None) -> go.Figure:
    """Every layer (rows) × head (columns) as small tiles of one heatmap: light enough for 144 heads.

    Each tile is that head's token × token attention; `selected` (layer, head), 0-based, is outlined.
    """
    layers, heads, tokens, _ = attentions.shape
    cell = tokens + 1  # one empty row/column between tiles
    grid = np.full((layers * cell - 1, heads * cell - 1), np.nan, dtype=np.float32)
    for layer in range(layers):
        for head in range(heads):
            grid[layer * cell:layer * cell + tokens, head * cell:head * cell + tokens] = attentions[layer, head]
    centres = [i * cell + (tokens - 1) / 2 for i in range(max(layers, heads))]
    figure = go.Figure(go.Heatmap(z=np.round(grid, 3), colorscale=SEQUENTIAL, zmin=0, showscale=False,
                                  hoverongaps=False, hovertemplate="weight %{z:.3f}<extra></extra>"))
    figure.update_xaxes(tickmode="array", tickvals=centres[:heads], ticktext=[f"H{h + 1}" for h in range(heads)],
                        side="top", showgrid=False, zeroline=False)
    figure.update_yaxes(tickmode="array", tickvals=centres[:layers], ticktext=[f"L{l + 1}" for l in range(layers)],
                        autorange="reversed", showgrid=False, zeroline=False, scaleanchor="x")
    if selected is not None:
        layer, head = selected
        figure.add_shape(type="rect", x0=head * cell - 1, x1=head * cell + tokens, y0=layer * cell - 1,
                         y1=layer * cell + tokens, line={"color": ORANGE, "width": 3})
    # tiles stay square (scaleanchor): size the figure to the grid's aspect, not to a fixed height
    height = int(min(900, max(260, 110 + 480 * layers / heads)))
    figure = layout(figure, "All layers × heads (rows: layers, columns: heads)", height=height)
    figure.update_layout(margin={"l": 50, "r": 20, "t": 90, "b": 20})
    return figure


def _layer_head_figure(values: np.ndarray, title: str, what: str, **heatmap) -> go.Figure:
    """A (layers, heads) grid of one number per head: rows L1.. top down, columns H1.., values written in."""
    layers, heads = values.shape
    figure = go.Figure(go.Heatmap(
        z=values, x=[f"H{h + 1}" for h in range(heads)], y=[f"L{l + 1}" for l in range(layers)],
        texttemplate="%{z:.2f}" if layers * heads <= 144 else None, textfont={"size": 10},
        hovertemplate=f"%{{y}} %{{x}}: {what} %{{z:.3f}}<extra></extra>", colorbar={"title": {"text": what}},
        **heatmap))
    figure.update_xaxes(title_text="head", side="top", showgrid=False)
    figure.update_yaxes(title_text="layer", autorange="reversed", showgrid=False)
    figure = layout(figure, title, height=int(min(700, max(260, 150 + 36 * layers))))
    figure.update_layout(margin={"t": 100})
    return figure


def attention_change_figure(change: np.ndarray) -> go.Figure:
    """How differently each head attends after fine-tuning: mean JS divergence, 0 (same) to 1 (disjoint)."""
    return _layer_head_figure(np.asarray(change, dtype=float), "How much each head changed (JS divergence)",
                              "JS", colorscale=SEQUENTIAL, zmin=0)


def head_importance_figure(drop: np.ndarray) -> go.Figure:
    """Accuracy points lost when each head alone is switched off: orange hurts, blue helps, white neither."""
    points = 100 * np.asarray(drop, dtype=float)
    largest = max(float(np.abs(points).max()), 1e-9) if points.size else 1.0
    return _layer_head_figure(points, "Accuracy lost with each head switched off (points)", "points",
                              colorscale=DIVERGING, zmin=-largest, zmax=largest)


def shaded_tokens_html(tokens: list[str], scores, title: str, signed: bool = False) -> str:
    """The sentence as an HTML snippet, each token shaded by its score (tokens are escaped: user text).

    Unsigned scores (attention, rollout) shade orange by size; signed ones (gradients) shade orange for
    'pushes towards the predicted class' and blue for 'pushes away'. Shading is relative to the largest |score|.
    """
    values = np.asarray(scores, dtype=float)
    largest = float(np.abs(values).max()) if values.size else 0.0
    spans = []
    for token, value in zip(tokens, values):
        strength = abs(value) / largest if largest > 0 else 0.0
        colour = BLUE if signed and value < 0 else ORANGE
        red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        spans.append(f'<span title="{value:+.4f}" style="background: rgba({red},{green},{blue},{strength:.2f}); '
                     f'padding: 1px 3px; margin: 1px; border-radius: 3px; display: inline-block">'
                     f'{html.escape(token)}</span>')
    return (f'<div class="ktdemo-shading"><div style="font-weight: 600; margin-bottom: 2px">{html.escape(title)}</div>'
            f'<div style="line-height: 1.9">{" ".join(spans)}</div></div>')


def agreement_markdown(correlations: dict[str, float], note: str) -> str:
    """A small table of Spearman correlations, and why they can disagree."""
    rows = "\n".join(f"| {pair} | {'n/a' if np.isnan(rho) else f'{rho:+.2f}'} |" for pair, rho in correlations.items())
    return f"| Rankings compared | Spearman ρ |\n|---|---|\n{rows}\n\n{note}"
