"""Figures of one prediction: class probabilities and attention heatmaps."""
from __future__ import annotations

import base64
import functools
import html
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.colors import get_colorscale, sample_colorscale

from .style import BLUE, ORANGE, SEQUENTIAL, Words, english, layout

DIVERGING = [[0.0, BLUE], [0.5, "#FFFFFF"], [1.0, ORANGE]]  # Okabe-Ito ends: colour-blind safe
# The overview's colour steps: 64 look the same as plotly's continuous scale on tiles this small and compress
# better. MiniLM, 64-token reviews: 99-118 KB of JSON with 64 steps, 129-154 KB with 128, 166-192 KB with 255
# (its weights as numbers were 1.7 MB); one Predict press must stay under 200 KB in all.
OVERVIEW_LEVELS = 64
TRANSPARENT = [[0.0, "rgba(0,0,0,0)"], [1.0, "rgba(0,0,0,0)"]]


def probabilities_figure(probabilities: dict[str, float], title: str | None = None,
                         words: Words = english) -> go.Figure:
    labels = list(probabilities)
    values = [probabilities[label] for label in labels]
    best = int(np.argmax(values))
    colours = [ORANGE if i == best else BLUE for i in range(len(labels))]
    figure = go.Figure(go.Bar(x=values, y=labels, orientation="h", marker_color=colours,
                              texttemplate="%{x:.1%}", textposition="outside",
                              hovertemplate="%{y}: %{x:.3f}<extra></extra>"),
                       layout={"xaxis": {"range": [0, 1.15], "tickformat": ".0%"}, "yaxis": {"autorange": "reversed"}},
                       _validate=False)  # the traces validate themselves; the figure's own checks cost ~8-15 ms
    return layout(figure, title or words("figure.probabilities"), height=max(220, 40 * len(labels) + 120))


def attention_heatmap_figure(weights: np.ndarray, tokens: list[str], title: str,
                             words: Words = english) -> go.Figure:
    """One head: row = the token that attends (query), column = the token attended to (key).

    Axes are categories named by token and position, so a repeated token keeps its own row and column and the
    hover can name both tokens without a string per cell (64 tokens: 4,096 strings, 61 KB of JSON).
    """
    names = [f"{token} ({position})" for position, token in enumerate(tokens)]
    axis = {"type": "category", "tickmode": "array", "tickvals": names, "ticktext": tokens, "tickfont": {"size": 11}}
    figure = go.Figure(  # axes in the constructor: update_xaxes/update_yaxes cost 9 ms here
        go.Heatmap(z=three_digits(weights), x=names, y=names, colorscale=SEQUENTIAL, zmin=0,
                   hovertemplate=words("figure.attention_hover") + "<extra></extra>",
                   colorbar={"title": {"text": words("figure.weight")}}),
        layout={"xaxis": {"title": {"text": words("figure.attended_to")}, "side": "top", "tickangle": -60, **axis},
                "yaxis": {"title": {"text": words("figure.attending")}, "autorange": "reversed", **axis}},
        _validate=False)
    size = min(820, max(380, 22 * len(tokens) + 200))
    figure = layout(figure, title, height=size)
    figure.update_layout(margin={"t": 110})
    return figure


def attention_overview_figure(attentions: np.ndarray, selected: tuple[int, int] | None = None,
                              words: Words = english) -> go.Figure:
    """Every layer (rows) × head (columns) as small tiles of one image: light enough for 144 heads.

    Each tile is that head's token × token attention, coloured as the one-head heatmap is (0 to the largest
    weight); `selected` (layer, head), 0-based, is outlined. An image, not a heatmap: MiniLM's 72 heads of 64
    tokens are 300,000 numbers (1.7 MB of JSON), and a tile is too small to hover a cell of anyway; hovering
    a tile names its head.
    """
    layers, heads, tokens, _ = attentions.shape
    cell = tokens + 1  # one empty row/column between tiles
    grid = np.full((layers * cell - 1, heads * cell - 1), np.nan, dtype=np.float32)
    for layer in range(layers):
        for head in range(heads):
            grid[layer * cell:layer * cell + tokens, head * cell:head * cell + tokens] = attentions[layer, head]
    centres = [i * cell + (tokens - 1) / 2 for i in range(max(layers, heads))]
    tiles = go.Heatmap(  # invisible, one cell per tile: the hover says which head a tile is
        z=np.zeros((layers, heads)), x0=centres[0], dx=cell, y0=centres[0], dy=cell, colorscale=TRANSPARENT,
        showscale=False,
        text=[[words("figure.tile", layer=l + 1, head=h + 1) for h in range(heads)] for l in range(layers)],
        hovertemplate="%{text}<extra></extra>")
    axis = {"tickmode": "array", "showgrid": False, "zeroline": False}
    figure = go.Figure(
        [go.Image(source=_png_uri(grid), x0=0, dx=1, y0=0, dy=1, hoverinfo="skip"), tiles],
        layout={"xaxis": {"tickvals": centres[:heads], "ticktext": [f"H{h + 1}" for h in range(heads)], "side": "top",
                          **axis},
                "yaxis": {"tickvals": centres[:layers], "ticktext": [f"L{l + 1}" for l in range(layers)],
                          "autorange": "reversed", "scaleanchor": "x", **axis}}, _validate=False)
    if selected is not None:
        layer, head = selected
        figure.add_shape(type="rect", x0=head * cell - 1, x1=head * cell + tokens, y0=layer * cell - 1,
                         y1=layer * cell + tokens, line={"color": ORANGE, "width": 3})
    # tiles stay square (scaleanchor): size the figure to the grid's aspect, not to a fixed height
    height = int(min(900, max(260, 110 + 480 * layers / heads)))
    figure = layout(figure, words("figure.overview"), height=height)
    figure.update_layout(margin={"l": 50, "r": 20, "t": 90, "b": 20})
    return figure


def three_digits(values) -> np.ndarray:
    """float32, rounded to 3 significant digits (what the hover shows): plotly sends float32 numpy arrays as
    4 bytes a value in base64, less than any decimal text of them, and small weights keep their digits."""
    values = np.asarray(values, dtype=np.float64)
    nonzero = np.abs(values) > 0
    scale = np.ones_like(values)
    scale[nonzero] = 10.0 ** (np.floor(np.log10(np.abs(values[nonzero]))) - 2)
    return (np.round(values / scale) * scale).astype(np.float32)


def _png_uri(grid: np.ndarray) -> str:
    """A (rows, columns) grid of weights as a PNG data URI in the sequential colours, 0 to its largest
    weight; NaN cells are transparent."""
    largest = float(np.nanmax(grid)) or 1.0
    steps = np.round(np.nan_to_num(grid) / largest * (OVERVIEW_LEVELS - 1))
    image = Image.fromarray(np.where(np.isnan(grid), OVERVIEW_LEVELS, steps).astype(np.uint8), mode="P")
    image.putpalette(_palette(OVERVIEW_LEVELS) + [255, 255, 255])  # one more entry, transparent: the gaps
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", transparency=OVERVIEW_LEVELS)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@functools.lru_cache(maxsize=4)
def _palette(levels: int) -> list[int]:
    """`levels` colours of the sequential scale, as plotly interpolates it, flat R, G, B."""
    colours = sample_colorscale(get_colorscale(SEQUENTIAL), [i / (levels - 1) for i in range(levels)],
                                colortype="tuple")
    return [round(channel * 255) for colour in colours for channel in colour]


def _layer_head_figure(values: np.ndarray, title: str, what: str, words: Words = english, **heatmap) -> go.Figure:
    """A (layers, heads) grid of one number per head: rows L1.. top down, columns H1.., values written in."""
    layers, heads = values.shape
    figure = go.Figure(go.Heatmap(
        z=values, x=[f"H{h + 1}" for h in range(heads)], y=[f"L{l + 1}" for l in range(layers)],
        texttemplate="%{z:.2f}" if layers * heads <= 144 else None, textfont={"size": 10},
        hovertemplate=f"%{{y}} %{{x}}: {what} %{{z:.3f}}<extra></extra>", colorbar={"title": {"text": what}},
        **heatmap))
    figure.update_xaxes(title_text=words("figure.head"), side="top", showgrid=False)
    figure.update_yaxes(title_text=words("figure.layer"), autorange="reversed", showgrid=False)
    figure = layout(figure, title, height=int(min(700, max(260, 150 + 36 * layers))))
    figure.update_layout(margin={"t": 100})
    return figure


def attention_change_figure(change: np.ndarray, words: Words = english) -> go.Figure:
    """How differently each head attends after fine-tuning: mean JS divergence, 0 (same) to 1 (disjoint)."""
    return _layer_head_figure(np.asarray(change, dtype=float), words("figure.head_change"), "JS", words,
                              colorscale=SEQUENTIAL, zmin=0)


def head_importance_figure(drop: np.ndarray, words: Words = english) -> go.Figure:
    """Accuracy points lost when each head alone is switched off: orange hurts, blue helps, white neither."""
    points = 100 * np.asarray(drop, dtype=float)
    largest = max(float(np.abs(points).max()), 1e-9) if points.size else 1.0
    return _layer_head_figure(points, words("figure.head_importance"), words("figure.points"), words,
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


def agreement_markdown(correlations: dict[str, float], note: str,
                       headers: tuple[str, str] = ("Rankings compared", "Spearman ρ")) -> str:
    """A small table of Spearman correlations, and why they can disagree."""
    rows = "\n".join(f"| {pair} | {'n/a' if np.isnan(rho) else f'{rho:+.2f}'} |" for pair, rho in correlations.items())
    return f"| {headers[0]} | {headers[1]} |\n|---|---|\n{rows}\n\n{note}"
