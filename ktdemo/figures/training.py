"""Figures of a training run: live curves, confusion matrix, before/after bars."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..messages import Message, say
from .style import BLUE, GREEN, ORANGE, SEQUENTIAL, Words, english, layout


def training_curves_figure(losses: list[tuple[int, float]], evals: list[tuple[int, float]],
                           max_steps: int | None = None, words: Words = english) -> go.Figure:
    """Training loss (left axis) and validation accuracy (right axis) against the step."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    if losses:
        steps, values = zip(*losses)
        figure.add_scatter(x=steps, y=values, name=words("figure.training_loss"), mode="lines",
                           line={"color": BLUE, "width": 1}, opacity=0.35, secondary_y=False)
        figure.add_scatter(x=steps, y=_smooth(values), name=words("figure.loss_smoothed"), mode="lines",
                           line={"color": BLUE, "width": 2.5}, secondary_y=False)
    if evals:
        steps, values = zip(*evals)
        figure.add_scatter(x=steps, y=values, name=words("figure.validation_accuracy"), mode="lines+markers",
                           line={"color": ORANGE, "width": 2.5}, secondary_y=True)
    figure.update_xaxes(title_text=words("figure.step"), range=[0, max_steps] if max_steps else None)
    figure.update_yaxes(title_text=words("figure.loss"), rangemode="tozero", secondary_y=False)
    figure.update_yaxes(title_text=words("figure.accuracy"), range=[0, 1], tickformat=".0%", secondary_y=True)
    return layout(figure, words("figure.curves"), height=360)


def _smooth(values, weight: float = 0.9) -> list[float]:
    """Exponential moving average with bias correction, like TensorBoard's smoothing."""
    smoothed, average = [], 0.0
    for i, value in enumerate(values, start=1):
        average = weight * average + (1 - weight) * value
        smoothed.append(average / (1 - weight**i))
    return smoothed


def confusion_figure(confusion: list[list[int]], label_names: list[str], title: str | None = None,
                     words: Words = english) -> go.Figure:
    figure = go.Figure(go.Heatmap(
        z=confusion, x=label_names, y=label_names, colorscale=SEQUENTIAL, texttemplate="%{z}",
        hovertemplate=words("figure.confusion_hover") + "<extra></extra>", showscale=False,
    ))
    figure.update_xaxes(title_text=words("figure.predicted"), side="bottom")
    figure.update_yaxes(title_text=words("figure.true"), autorange="reversed")
    return layout(figure, title or words("figure.confusion"), height=max(300, 60 * len(label_names) + 140))


def before_after_figure(before: dict, after: dict, start: dict | None = None, start_name: Message | None = None,
                        words: Words = english) -> go.Figure:
    """Accuracy and macro-F1 of the untrained head, of the warm-started head where the run had one (`start`, named
    `start_name`: the results table's start row, e.g. the zero-shot head), and of the fine-tuned model."""
    metrics = ["accuracy", "macro_f1"]
    names = [words("figure.accuracy"), words("figure.macro_f1")]
    start_name = start_name or say("figure.start", name=say("part.start.warm"))
    rows = [(words("figure.before_untrained"), before, BLUE),
            *([(words(start_name.key, **start_name.params), start, GREEN)] if start else []),
            (words("figure.after_transfer"), after, ORANGE)]
    figure = go.Figure([go.Bar(x=names, y=[row[m] for m in metrics], name=name, marker_color=colour,
                               texttemplate="%{y:.1%}", textposition="outside") for name, row, colour in rows])
    figure.update_yaxes(range=[0, 1.1], tickformat=".0%")
    return layout(figure, words("figure.before_after"), height=320)
