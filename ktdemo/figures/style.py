"""One look for every figure: colour-blind-safe colours (Okabe-Ito, cividis) and a shared layout."""
from __future__ import annotations

from typing import Callable

import plotly.graph_objects as go
import plotly.io as pio

from ..config import KINDS, METHODS, ZERO_SHOT_METHODS
from ..messages import Message

# A figure's words ("figure." keys of the catalogue) come through a formatter: `words(key, **params)`. English
# by default (the report, the CLI); the UI passes one in the page's language (i18n.words). The core's choice
# names ("kind.in_domain", "method.full") are words too: their English is the core's own (config), their other
# languages are in the UI's catalogue by the same keys.
Words = Callable[..., str]
CHOICE_NAMES = {f"{group}.{key}": choice.name
                for group, choices in (("kind", KINDS), ("method", {**METHODS, **ZERO_SHOT_METHODS}))
                for key, choice in choices.items()}


def english(key: str, **params) -> str:
    if key in CHOICE_NAMES:
        return CHOICE_NAMES[key]
    return Message(key, params).english()


def phrase(words: Words, message) -> str:
    """A Message (a result's name, a domain) in `words`' language; a plain string as it is."""
    return words(message.key, **message.params) if isinstance(message, Message) else str(message)


BLUE, ORANGE, GREEN, VERMILLION = "#0072B2", "#E69F00", "#009E73", "#D55E00"
PALETTE = [BLUE, ORANGE, GREEN, VERMILLION, "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
SEQUENTIAL = "Cividis"  # readable for colour-blind viewers and in greyscale
# plotly_white less the defaults of trace types no figure here draws, plus the layout every figure shares. Every
# figure carries its template: the whole plotly_white is 7.1 KB of each figure's JSON, this one 3.3 KB. It is the
# process's default template, which plotly gives each new figure without validating it again: set per figure
# (with the shared layout), the validation cost 6-13 ms a figure, and a Predict press draws three. A trace type
# that is not listed draws with plotly's own defaults: add it here.
TEMPLATE = go.layout.Template(layout=pio.templates["plotly_white"].layout,
                              data={kind: pio.templates["plotly_white"].data[kind]
                                    for kind in ("bar", "heatmap", "histogram", "scatter")})
TEMPLATE.layout.update(title={"x": 0.01, "xanchor": "left"}, margin={"l": 60, "r": 30, "t": 60, "b": 50},
                       legend={"orientation": "h", "y": -0.2}, font={"size": 13})
pio.templates["ktdemo"] = TEMPLATE
pio.templates.default = "ktdemo"


def layout(figure: go.Figure, title: str, height: int = 360) -> go.Figure:
    """`figure` with its title and height; the rest of its look comes from TEMPLATE."""
    return figure.update_layout(title_text=title, height=height)
