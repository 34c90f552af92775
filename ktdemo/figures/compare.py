"""Comparing finished transfer runs: a summary table and figures of accuracy against cost.

Each run arrives as a plain dict ("row") with keys such as ``method``, ``kind``, ``accuracy``,
``total_seconds`` and ``trainable_params``; any of them may be None.
"""
from __future__ import annotations

from collections import defaultdict
from statistics import fmean
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..config import KINDS, METHODS, ZERO_SHOT_METHODS
from .style import PALETTE, SEQUENTIAL, Words, english, layout

METHOD_NAMES = {key: choice.name for key, choice in {**METHODS, **ZERO_SHOT_METHODS}.items() if key != "auto"}
KIND_NAMES = {key: choice.name for key, choice in KINDS.items()}
# Plotly symbol and the matching glyph for the key printed above the plot.
KIND_SYMBOLS = {
    "in_domain": ("circle", "●"),
    "cross_domain": ("diamond", "◆"),
    "zero_shot": ("star", "★"),
    "sequential": ("square", "■"),
    "from_scratch": ("x", "✕"),
}
MISSING = "—"
NO_RUNS = english("figure.no_runs")  # what an empty figure says
COLUMNS = ["#", "kind", "method", "model", "trained on", "tested on", "examples/class", "accuracy",
           "macro-F1", "gain vs untrained head", "trainable params", "wall time (s)", "examples/s",
           "peak memory (MB)"]


def method_colour(method: str) -> str:
    """Fixed per method, so a method keeps its colour whichever runs are on screen."""
    index = list(METHOD_NAMES).index(method) if method in METHOD_NAMES else len(METHOD_NAMES)
    return PALETTE[index % len(PALETTE)]


def human_count(n: int | float) -> str:
    """950 -> "950", 4_600 -> "4.6k", 22_700_000 -> "22.7M"."""
    value, suffix = float(n), ""
    for bigger in ("k", "M", "B"):
        if abs(value) < 999.95:  # would round to 1000.0 of the smaller unit otherwise
            break
        value, suffix = value / 1000, bigger
    return f"{value:.1f}".removesuffix(".0") + suffix if suffix else f"{int(n)}"


def _share(part: float, whole: float) -> str:
    percent = 100 * part / whole
    if 0 < percent < 0.01:
        return "<0.01%"
    return f"{percent:.3g}%" if percent >= 1 else f"{percent:.2g}%"  # "100%", "12.5%", "0.02%"


def _text(value, fmt: str) -> str:
    return MISSING if value is None else format(value, fmt)


def _trained_on(row: Mapping) -> str:
    if row.get("kind") == "zero_shot":
        return MISSING
    source, target = row.get("source_dataset"), row.get("dataset")
    if row.get("kind") == "sequential" and source:
        return f"{source} → {target}"
    return source or target or MISSING


def _params(row: Mapping) -> str:
    trainable, total = row.get("trainable_params"), row.get("total_params")
    if trainable is None:
        return MISSING
    return f"{human_count(trainable)} ({_share(trainable, total)})" if total else human_count(trainable)


def _examples_per_class(row: Mapping) -> str:
    if row.get("kind") == "zero_shot":
        return "0"  # no labelled training examples at all
    return "all" if row.get("per_class") is None else str(row["per_class"])


def _gain(row: Mapping) -> str:
    before, after = row.get("before_accuracy"), row.get("accuracy")
    return MISSING if before is None or after is None else f"{100 * (after - before):+.1f} pp"


def comparison_table(rows: Sequence[Mapping]) -> pd.DataFrame:
    """One readable line per run; numbers become display strings and missing values "—"."""
    return pd.DataFrame([[
        row.get("run"),
        KIND_NAMES.get(row.get("kind"), row.get("kind") or MISSING),
        METHOD_NAMES.get(row.get("method"), row.get("method") or MISSING),
        row.get("model") or MISSING,
        _trained_on(row),
        row.get("dataset") or MISSING,
        _examples_per_class(row),
        _text(row.get("accuracy"), ".1%"),
        _text(row.get("macro_f1"), ".1%"),
        _gain(row),
        _params(row),
        _text(row.get("total_seconds"), ",.1f"),
        _text(row.get("examples_per_s"), ",.1f"),
        _text(row.get("peak_memory_mb"), ",.0f"),
    ] for row in rows], columns=COLUMNS)


def _method_name(method, words: Words) -> str:
    return words(f"method.{method}") if method in METHOD_NAMES else str(method)


def _kind_name(kind, words: Words) -> str:
    return words(f"kind.{kind}") if kind in KIND_NAMES else (kind or MISSING)


def _empty(title: str, message: str | None = None, words: Words = english) -> go.Figure:
    message = message or words("figure.no_runs")
    figure = go.Figure()
    figure.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                          font={"size": 15, "color": "#666"})
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return layout(figure, title, height=300)


def _by_method(items: Sequence[Mapping]) -> dict[str, list[Mapping]]:
    """Groups by method, known methods first in METHOD_NAMES order so legends read the same every time."""
    groups = defaultdict(list)
    for item in items:
        groups[item.get("method")].append(item)
    order = [m for m in METHOD_NAMES if m in groups] + [m for m in groups if m not in METHOD_NAMES]
    return {method: groups[method] for method in order}


def _accuracy_scatter(rows: Sequence[Mapping], x_of, x_note, x_title: str, title: str,
                      words: Words = english) -> go.Figure:
    """Accuracy against a cost, one trace per method (colour) with the run's kind as the marker symbol.

    ``x_of(row)`` gives the plotted x; ``x_note(row)`` a line of hover text about it.
    """
    rows = [row for row in rows if row.get("accuracy") is not None]
    if not rows:
        return _empty(title, words=words)
    figure = go.Figure()
    hover = words("figure.run_hover") + "<extra></extra>"
    for method, group in _by_method(rows).items():
        figure.add_scatter(
            x=[x_of(row) for row in group], y=[row["accuracy"] for row in group],
            mode="markers", name=_method_name(method, words),
            marker={"color": method_colour(method), "size": 12, "line": {"width": 1, "color": "white"},
                    "symbol": [KIND_SYMBOLS.get(row.get("kind"), ("circle",))[0] for row in group]},
            customdata=[[row.get("label") or f"#{row.get('run')}", _text(row.get("macro_f1"), ".1%"),
                         x_note(row), _kind_name(row.get("kind"), words)]
                        for row in group],
            hovertemplate=hover,
        )
    kinds = [kind for kind in KIND_SYMBOLS if any(row.get("kind") == kind for row in rows)]
    figure.add_annotation(  # the legend shows methods; this key explains the symbols
        text="   ".join(f"{KIND_SYMBOLS[kind][1]} {_kind_name(kind, words)}" for kind in kinds),
        x=1, y=1.02, xref="paper", yref="paper", xanchor="right", yanchor="bottom", showarrow=False,
        font={"size": 12, "color": "#444"})
    figure.update_xaxes(title_text=x_title)
    figure.update_yaxes(title_text=words("figure.test_accuracy"), range=[0, 1.05], tickformat=".0%")
    return layout(figure, title, height=420)


def _cost_note(row: Mapping, words: Words = english) -> str:
    seconds, params = row.get("total_seconds"), row.get("trainable_params")
    return words("figure.cost_note", seconds=_text(seconds, ',.1f'),
                 params=MISSING if params is None else human_count(params))


def accuracy_vs_time_figure(rows: Sequence[Mapping], words: Words = english) -> go.Figure:
    return _accuracy_scatter(rows, lambda row: row.get("total_seconds"), lambda row: _cost_note(row, words),
                             words("figure.wall_time"), words("figure.accuracy_vs_time"), words)


def accuracy_vs_parameters_figure(rows: Sequence[Mapping], words: Words = english) -> go.Figure:
    """Log x axis. Zero-shot runs train nothing (0 params, which a log axis cannot show); they are
    placed at x=1 and their hover says so, because leaving out the baseline would hide the point."""
    def x_of(row):
        params = row.get("trainable_params")
        return None if params is None else max(params, 1)

    def note(row):
        trained = row.get("trainable_params")
        cost = _cost_note(row, words)
        return words("figure.none_trained", note=cost) if trained is not None and trained < 1 else cost

    figure = _accuracy_scatter(rows, x_of, note, words("figure.trainable_log"), words("figure.accuracy_vs_params"),
                               words)
    if figure.data:
        figure.update_xaxes(type="log")
    return figure


def kshot_curve_figure(points: Sequence[Mapping], chance: float | None = None, words: Words = english) -> go.Figure:
    """Accuracy against labelled examples per class, one line per method; None ("all") comes last.

    Repeated points (same method, kind and k, e.g. several seeds) are averaged. When the points
    mix kinds, each (method, kind) gets its own line, dashed for kinds other than the first.
    """
    title = words("figure.kshot")
    points = [point for point in points if point.get("accuracy") is not None]
    if not points:
        return _empty(title, words("figure.no_sweep"), words)
    every = words("figure.all")  # the x of a run on every training example
    ks = sorted({p["per_class"] for p in points if p.get("per_class") is not None})
    order = [str(k) for k in ks] + ([every] if any(p.get("per_class") is None for p in points) else [])
    kinds = list(dict.fromkeys(point.get("kind") for point in points))
    figure = go.Figure()
    for method, group in _by_method(points).items():
        for kind in kinds:
            values = defaultdict(list)
            for point in group:
                if point.get("kind") == kind:
                    values[every if point.get("per_class") is None else str(point["per_class"])].append(
                        point["accuracy"])
            if not values:
                continue
            xs = [k for k in order if k in values]
            name = _method_name(method, words)
            if len(kinds) > 1:
                name += f" · {_kind_name(kind, words)}"
            figure.add_scatter(x=xs, y=[fmean(values[k]) for k in xs], mode="lines+markers", name=name,
                               line={"color": method_colour(method), "width": 2.5,
                                     "dash": "solid" if kind == kinds[0] else "dash"},
                               marker={"size": 9},
                               hovertemplate=words("figure.kshot_hover", name=name) + "<extra></extra>")
    if chance is not None:
        figure.add_hline(y=chance, line_dash="dash", line_color="#888", annotation_text=words("figure.chance"),
                         annotation_position="bottom right")
    figure.update_xaxes(title_text=words("figure.labelled_per_class"), type="category",
                        categoryorder="array", categoryarray=order)
    figure.update_yaxes(title_text=words("figure.test_accuracy"), range=[0, 1.05], tickformat=".0%")
    return layout(figure, title, height=400)


def transfer_matrix_figure(accuracy: Sequence[Sequence[float | None]], train_names: Sequence[str],
                           test_names: Sequence[str], words: Words = english) -> go.Figure:
    """Accuracy of a model trained on each row's dataset and tested on each column's; blank = not run.
    Cells where training and test sets match (in-domain) are outlined."""
    title = words("figure.transfer_matrix")
    if not train_names or not test_names:
        return _empty(title, words=words)
    z = np.array([[np.nan if v is None else v for v in row] for row in accuracy], dtype=float)
    text = [["" if np.isnan(v) else f"{v:.1%}" for v in row] for row in z]
    figure = go.Figure(go.Heatmap(
        z=z, x=list(test_names), y=list(train_names), text=text, texttemplate="%{text}",
        colorscale=SEQUENTIAL, hoverongaps=False,
        colorbar={"tickformat": ".0%", "title": {"text": words("figure.accuracy")}},
        hovertemplate=words("figure.matrix_hover") + "<extra></extra>",
    ))
    for i, name in enumerate(train_names):
        if name in test_names:
            j = list(test_names).index(name)
            figure.add_shape(type="rect", x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5,
                             line={"color": "black", "width": 2})
    figure.update_xaxes(title_text=words("figure.tested_on"), side="bottom")
    figure.update_yaxes(title_text=words("figure.trained_on"), autorange="reversed")  # first row on top
    return layout(figure, title, height=max(300, 60 * len(train_names) + 160))


def domain_gap_figure(bars: Mapping[str, float], words: Words = english) -> go.Figure:
    """Accuracy at each stage of a domain shift, e.g. source test, target test, target after adapting."""
    title = words("figure.domain_gap")
    if not bars:
        return _empty(title, words=words)
    names = list(bars)
    figure = go.Figure(go.Bar(
        x=names, y=[bars[name] for name in names], marker_color=[PALETTE[i % len(PALETTE)] for i in range(len(names))],
        texttemplate="%{y:.1%}", textposition="outside", hovertemplate="%{x}: %{y:.1%}<extra></extra>",
    ))
    figure.update_layout(showlegend=False)
    figure.update_yaxes(title_text=words("figure.test_accuracy"), range=[0, 1.1], tickformat=".0%")
    return layout(figure, title, height=360)
