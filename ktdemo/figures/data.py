"""Plotly figures for the dataset preview; each takes plain data and returns a figure."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .style import PALETTE, SEQUENTIAL, VERMILLION, layout  # Okabe-Ito colours, shared look

HORIZONTAL_FROM = 9  # classes; from here on bars lie down so long names stay readable


def colours(count: int) -> list[str]:
    return [PALETTE[i % len(PALETTE)] for i in range(count)]


def class_balance_figure(counts: Mapping[str, int], title: str = "Examples per class") -> go.Figure:
    """One bar per class with its count and share of the total."""
    names, values = list(counts), [int(v) for v in counts.values()]
    total = sum(values)
    shares = [f"{v:,} ({v / (total or 1):.0%})" for v in values]
    horizontal = len(names) >= HORIZONTAL_FROM
    figure = go.Figure(go.Bar(
        x=values if horizontal else names, y=names if horizontal else values,
        orientation="h" if horizontal else "v", text=shares, textposition="auto",
        marker_color=colours(len(names)), hovertemplate="%{text}<extra></extra>",
    ))
    layout(figure, f"{title} ({total:,} in all)", height=max(360, 22 * len(names)) if horizontal else 360)
    count_axis, class_axis = {"title_text": "examples"}, {"title_text": "class"}
    figure.update_layout(showlegend=False, xaxis=count_axis if horizontal else class_axis,
                         yaxis=class_axis if horizontal else count_axis)
    if horizontal:
        figure.update_yaxes(autorange="reversed")  # first class on top
    return figure


GROUPED_BARS_UP_TO = 8  # classes; with more, grouped bars and their legend become unreadable


def split_balance_figure(counts: Mapping[str, Mapping[str, int]], title: str = "Classes in each split") -> go.Figure:
    """Per split (train/validation/test), the count of each class: grouped bars, or a heatmap of each
    class's share of its split when there are many classes (stratified splits show equal columns)."""
    splits = list(counts)
    classes = list(next(iter(counts.values()), {}))
    if len(classes) > GROUPED_BARS_UP_TO:
        return _split_share_heatmap(counts, splits, classes, title)
    figure = go.Figure([
        go.Bar(name=name, x=splits, y=[counts[split].get(name, 0) for split in splits], marker_color=colour)
        for name, colour in zip(classes, colours(len(classes)))
    ])
    layout(figure, title)
    figure.update_layout(barmode="group", xaxis_title="split", yaxis_title="examples", legend_title_text="class")
    return figure


def _split_share_heatmap(counts, splits: list[str], classes: list[str], title: str) -> go.Figure:
    totals = {split: max(1, sum(counts[split].values())) for split in splits}
    shares = [[counts[split].get(name, 0) / totals[split] for split in splits] for name in classes]
    numbers = [[counts[split].get(name, 0) for split in splits] for name in classes]
    figure = go.Figure(go.Heatmap(z=shares, x=splits, y=classes, customdata=numbers, colorscale=SEQUENTIAL,
                                  hovertemplate="%{y} in %{x}: %{customdata} examples (%{z:.1%})<extra></extra>",
                                  colorbar={"title": {"text": "share"}, "tickformat": ".0%"}))
    layout(figure, title, height=max(360, 14 * len(classes) + 140))
    figure.update_yaxes(autorange="reversed", tickfont={"size": 10})
    figure.update_layout(xaxis_title="split")
    return figure


def length_histogram_figure(
    lengths: Sequence[int], max_length: int | None = None, unit: str = "tokens", title: str = "Text length",
) -> go.Figure:
    """Histogram of lengths; with ``max_length`` a line shows where the model cuts and how often."""
    lengths = np.asarray(lengths, dtype=int)
    figure = go.Figure(go.Histogram(x=lengths, marker_color=PALETTE[0], nbinsx=50,
                                    hovertemplate=f"%{{x}} {unit}: %{{y}} texts<extra></extra>"))
    summary = f"median {np.median(lengths):.0f} {unit}" if lengths.size else "no texts"
    if max_length is not None:
        cut = float((lengths > max_length).mean()) if lengths.size else 0.0
        figure.add_vline(x=max_length, line_dash="dash", line_color=VERMILLION,
                         annotation_text=f"max length {max_length}", annotation_position="top right")
        summary += f"; {cut:.0%} longer than {max_length} are cut"
    layout(figure, f"{title} ({summary})")
    figure.update_layout(xaxis_title=f"length in {unit}", yaxis_title="texts", bargap=0.05, showlegend=False)
    return figure
