"""The attention time-lapse as one figure that steps through training in the browser, no server round-trip."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .attention import attention_heatmap_figure, three_digits
from .style import Words, english


def timelapse_figure(frames: np.ndarray, tokens: list[str], steps: list[int], captions: list[str],
                     what: str | None = None, words: Words = english) -> go.Figure:
    """One (T, T) attention map per snapshot, (S, T, T), with a slider over them; starts at the last.

    The slider restyles the heatmap in place: Gradio draws Plotly figures without animation frames.
    """
    frames = np.asarray(frames, dtype=np.float32)
    what = what or words("figure.last_layer_mean")
    titles = [f"{what} · {caption}" for caption in captions]
    figure = attention_heatmap_figure(frames[-1], tokens, titles[-1], words)
    figure.update_traces(zmax=float(frames.max()) if frames.size else 1.0)  # one colour scale for every step
    positions = [{"method": "update", "label": str(step), "args": [{"z": [three_digits(frame)]}, {"title.text": title}]}
                 for frame, step, title in zip(frames, steps, titles)]
    figure.update_layout(sliders=[{"active": len(positions) - 1, "steps": positions, "pad": {"t": 30},
                                   "currentvalue": {"prefix": words("figure.step_prefix")}}])
    figure.update_layout(height=figure.layout.height + 90, margin={"b": 110})
    return figure
