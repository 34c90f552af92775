"""Figures of a training run: live curves, confusion matrix, before/after bars."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import BLUE, GREEN, ORANGE, SEQUENTIAL, layout


def training_curves_figure(losses: list[tuple[int, float]], evals: list[tuple[int, float]],
                           max_steps: int | None = None) -> go.Figure:
    """Training loss (left axis) and validation accuracy (right axis) against the step."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    if losses:
        steps, values = zip(*losses)
        figure.add_scatter(x=steps, y=values, name="training loss", mode="lines",
                           line={"color": BLUE, "width": 1}, opacity=0.35, secondary_y=False)
        figure.add_scatter(x=steps, y=_smooth(values), name="loss (smoothed)", mode="lines",
                           line={"color": BLUE, "width": 2.5}, secondary_y=False)
    if evals:
        steps, values = zip(*evals)
        figure.add_scatter(x=steps, y=values, name="validation accuracy", mode="lines+markers",
                           line={"color": ORANGE, "width": 2.5}, secondary_y=True)
    figure.update_xaxes(title_text="step", range=[0, max_steps] if max_steps else None)
    figure.update_yaxes(title_text="loss", rangemode="tozero", secondary_y=False)
    figure.update_yaxes(title_text="accuracy", range=[0, 1], tickformat=".0%", secondary_y=True)
    return layout(figure, "Training loss and validation accuracy", height=360)


def _smooth(values, weight: float = 0.9) -> list[float]:
    """Exponential moving average with bias correction, like TensorBoard's smoothing."""
    smoothed, average = [], 0.0
    for i, value in enumerate(values, start=1):
        average = weight * average + (1 - weight) * value
        smoothed.append(average / (1 - weight**i))
    return smoothed


def confusion_figure(confusion: list[list[int]], label_names: list[str], title: str = "Confusion matrix") -> go.Figure:
    figure = go.Figure(go.Heatmap(
        z=confusion, x=label_names, y=label_names, colorscale=SEQUENTIAL, texttemplate="%{z}",
        hovertemplate="true %{y}<br>predicted %{x}<br>%{z} examples<extra></extra>", showscale=False,
    ))
    figure.update_xaxes(title_text="predicted", side="bottom")
    figure.update_yaxes(title_text="true", autorange="reversed")
    return layout(figure, title, height=max(300, 60 * len(label_names) + 140))


def before_after_figure(before: dict, after: dict, start: dict | None = None,
                        start_name: str = "start (warm-started head, no training)") -> go.Figure:
    """Accuracy and macro-F1 of the untrained head, of the warm-started head where the run had one (`start`:
    the results table's start row, e.g. the zero-shot head), and of the fine-tuned model."""
    metrics = ["accuracy", "macro_f1"]
    names = ["accuracy", "macro-F1"]
    rows = [("before (untrained head)", before, BLUE), *([(start_name, start, GREEN)] if start else []),
            ("after transfer", after, ORANGE)]
    figure = go.Figure([go.Bar(x=names, y=[row[m] for m in metrics], name=name, marker_color=colour,
                               texttemplate="%{y:.1%}", textposition="outside") for name, row, colour in rows])
    figure.update_yaxes(range=[0, 1.1], tickformat=".0%")
    return layout(figure, "Held-out test set: before vs after", height=320)
