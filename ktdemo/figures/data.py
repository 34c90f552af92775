"""Plotly figures for the dataset preview; each takes plain data and returns a figure."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .style import PALETTE, SEQUENTIAL, VERMILLION, Words, english, layout  # Okabe-Ito colours, shared look

HORIZONTAL_FROM = 9  # classes; from here on bars lie down so long names stay readable


def colours(count: int) -> list[str]:
    return [PALETTE[i % len(PALETTE)] for i in range(count)]


def class_balance_figure(counts: Mapping[str, int], title: str | None = None, words: Words = english) -> go.Figure:
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
    layout(figure, words("figure.in_all", title=title or words("figure.examples_per_class"), total=f"{total:,}"),
           height=max(360, 22 * len(names)) if horizontal else 360)
    count_axis, class_axis = {"title_text": words("figure.examples")}, {"title_text": words("figure.class")}
    figure.update_layout(showlegend=False, xaxis=count_axis if horizontal else class_axis,
                         yaxis=class_axis if horizontal else count_axis)
    if horizontal:
        figure.update_yaxes(autorange="reversed")  # first class on top
    return figure


GROUPED_BARS_UP_TO = 8  # classes; with more, grouped bars and their legend become unreadable


def split_balance_figure(counts: Mapping[str, Mapping[str, int]], title: str | None = None,
                         words: Words = english) -> go.Figure:
    """Per split (train/validation/test), the count of each class: grouped bars, or a heatmap of each
    class's share of its split when there are many classes (stratified splits show equal columns)."""
    splits = list(counts)
    classes = list(next(iter(counts.values()), {}))
    title = title or words("figure.classes_per_split")
    if len(classes) > GROUPED_BARS_UP_TO:
        return _split_share_heatmap(counts, splits, classes, title, words)
    figure = go.Figure([
        go.Bar(name=name, x=splits, y=[counts[split].get(name, 0) for split in splits], marker_color=colour)
        for name, colour in zip(classes, colours(len(classes)))
    ])
    layout(figure, title)
    figure.update_layout(barmode="group", xaxis_title=words("figure.split"), yaxis_title=words("figure.examples"),
                         legend_title_text=words("figure.class"))
    return figure


def _split_share_heatmap(counts, splits: list[str], classes: list[str], title: str, words: Words) -> go.Figure:
    totals = {split: max(1, sum(counts[split].values())) for split in splits}
    shares = [[counts[split].get(name, 0) / totals[split] for split in splits] for name in classes]
    numbers = [[counts[split].get(name, 0) for split in splits] for name in classes]
    figure = go.Figure(go.Heatmap(z=shares, x=splits, y=classes, customdata=numbers, colorscale=SEQUENTIAL,
                                  hovertemplate=words("figure.share_hover") + "<extra></extra>",
                                  colorbar={"title": {"text": words("figure.share")}, "tickformat": ".0%"}))
    layout(figure, title, height=max(360, 14 * len(classes) + 140))
    figure.update_yaxes(autorange="reversed", tickfont={"size": 10})
    figure.update_layout(xaxis_title=words("figure.split"))
    return figure


def length_histogram_figure(
    lengths: Sequence[int], max_length: int | None = None, unit: str = "tokens", title: str | None = None,
    words: Words = english,
) -> go.Figure:
    """Histogram of lengths; with ``max_length`` a line shows where the model cuts and how often (`unit`:
    "tokens" or "words")."""
    lengths = np.asarray(lengths, dtype=int)
    unit = words(f"figure.unit.{unit}")
    figure = go.Figure(go.Histogram(x=lengths, marker_color=PALETTE[0], nbinsx=50,
                                    hovertemplate=words("figure.length_hover", unit=unit) + "<extra></extra>"))
    summary = words("figure.median", n=f"{np.median(lengths):.0f}", unit=unit) if lengths.size else \
        words("figure.no_texts")
    if max_length is not None:
        cut = float((lengths > max_length).mean()) if lengths.size else 0.0
        figure.add_vline(x=max_length, line_dash="dash", line_color=VERMILLION,
                         annotation_text=words("figure.max_length", n=max_length), annotation_position="top right")
        summary = words("figure.cut", summary=summary, fraction=f"{cut:.0%}", n=max_length)
    layout(figure, words("figure.titled", title=title or words("figure.text_length"), summary=summary))
    figure.update_layout(xaxis_title=words("figure.length_in", unit=unit), yaxis_title=words("figure.texts"),
                         bargap=0.05, showlegend=False)
    return figure
