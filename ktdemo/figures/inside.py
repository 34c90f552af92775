"""Figures of what transfer did inside the model, from `representations`' plain data: the sentence space
before and after, layer-by-layer change, and norm-based attention beside the raw weights."""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..messages import Message, UserError, say
from .attention import three_digits
from .style import BLUE, ORANGE, PALETTE, SEQUENTIAL, Words, english, layout, phrase

HOVER_CHARS = 100  # of a text shown on hover: a review can be paragraphs long
GREY = "#7F7F7F"
DOMAIN_SYMBOLS = {"source": "circle", "target": "diamond"}
OTHER_SYMBOLS = ("circle", "diamond", "square", "triangle-up", "star", "cross")


def _short(text: str) -> str:
    """One line of at most HOVER_CHARS characters, escaped: plotly renders some HTML in hover text."""
    text = " ".join(str(text).split())
    text = text if len(text) <= HOVER_CHARS else text[:HOVER_CHARS - 1] + "…"
    return html.escape(text, quote=False)


def _role(domain) -> str:
    """A domain's role, "source" or "target" where it has one: a domain named by serving.inside (a Message
    "figure.domain_named.source"…) or a string ("source", "source: …")."""
    if isinstance(domain, Message):
        return domain.key.rsplit(".", 1)[-1]
    return next((key for key in DOMAIN_SYMBOLS if str(domain).startswith(key)), "")


def _symbols(domains: list | None) -> dict:
    """Each domain's marker: a source ("source", "source: …") a circle, a target a diamond, others in turn."""
    if domains is None:
        return {"": "circle"}
    names = list(dict.fromkeys(domains))
    known = {name: DOMAIN_SYMBOLS.get(_role(name)) for name in names}
    spare = iter(s for s in OTHER_SYMBOLS if s not in known.values())
    return {name: known[name] or next(spare, "circle") for name in names}


def _domain_name(domain, words: Words = english) -> str:
    if isinstance(domain, str) and domain in DOMAIN_SYMBOLS:  # a bare "source" reads better so
        return words(f"figure.domain.{domain}")
    return phrase(words, domain)


def _legend_key(figure: go.Figure, name: str, colour: str, symbol: str, group: str | None = None) -> None:
    """A legend entry that draws nothing: one key per class, per domain and for mistakes, not one per trace."""
    figure.add_scatter(x=[None], y=[None], mode="markers", name=name, legendgroup=group,
                       marker={"color": colour, "symbol": symbol, "size": 9, "line": {"width": 2, "color": colour}},
                       row=1, col=1)


def sentence_space_figure(space, words: Words = english) -> go.Figure:
    """Two panels, pretrained and after transfer (each its own PCA): colour = true class, filled = right
    after transfer, open = misclassified after transfer, marker shape = domain (cross-domain runs)."""
    titles = (words("figure.space_before", accuracy=f"{space.separation_before:.0%}"),
              words("figure.space_after", accuracy=f"{space.separation_after:.0%}"))
    figure = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.08)
    domains = space.domains if space.domains is not None else [""] * len(space.texts)
    symbols = _symbols(space.domains)
    names = space.label_names
    hover = [words("figure.space_hover", text=_short(text), true=html.escape(names[t]),
                   predicted=html.escape(names[p])) for text, t, p in zip(space.texts, space.labels, space.predictions)]
    for col, points in ((1, space.before), (2, space.after)):
        for label in np.unique(space.labels):
            colour = PALETTE[int(label) % len(PALETTE)]
            for domain, symbol in symbols.items():
                for mistaken in (False, True):
                    chosen = np.flatnonzero((space.labels == label) & np.array([d == domain for d in domains])
                                            & (space.mistakes == mistaken))
                    if not chosen.size:
                        continue
                    figure.add_scatter(
                        x=points[chosen, 0], y=points[chosen, 1], mode="markers", showlegend=False,
                        legendgroup=f"class {label}", text=[hover[i] for i in chosen],
                        hovertemplate="%{text}<extra></extra>",
                        marker={"color": colour, "size": 8, "opacity": 0.85, "line": {"width": 2, "color": colour},
                                "symbol": symbol + ("-open" if mistaken else "")}, row=1, col=col)
    for label in np.unique(space.labels):
        _legend_key(figure, names[int(label)], PALETTE[int(label) % len(PALETTE)], "circle", f"class {label}")
    if space.mistakes.any():
        _legend_key(figure, words("figure.misclassified"), GREY, "circle-open")
    if space.domains is not None:
        for domain, symbol in symbols.items():
            _legend_key(figure, _domain_name(domain, words), GREY, symbol)
    for col, shares in ((1, space.variance_before), (2, space.variance_after)):
        figure.update_xaxes(title_text=words("figure.pc1", explained=f"{shares[0]:.0%}"), zeroline=False, row=1, col=col)
        figure.update_yaxes(title_text=words("figure.pc2", explained=f"{shares[1]:.0%}"), zeroline=False, row=1, col=col)
    return layout(figure, words("figure.space"), height=460)


def layer_change_figure(change, words: Words = english) -> go.Figure:
    """Left: CKA between the pretrained and the transferred layer (1 = unchanged). Right: a linear probe's
    accuracy on each layer, pretrained and after transfer, with the most-common-class line."""
    layers = list(range(len(change.cka)))
    ticks = {"tickmode": "array", "tickvals": layers, "ticktext": [words("figure.emb")] + [str(i) for i in layers[1:]],
             "title_text": words("figure.layer_axis")}
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                           subplot_titles=(words("figure.cka_title"), words("figure.probe_title")))
    figure.add_bar(x=layers, y=change.cka, name=words("figure.cka_name"), marker_color=BLUE,
                   text=[f"{value:.2f}" for value in change.cka], textposition="outside", cliponaxis=False,
                   customdata=change.names, hovertemplate="%{customdata}: CKA %{y:.3f}<extra></extra>", row=1, col=1)
    for values, name, colour in ((change.probe_before, words("figure.probe_before"), BLUE),
                                 (change.probe_after, words("figure.probe_after"), ORANGE)):
        figure.add_scatter(x=layers, y=values, name=name, mode="lines+markers", line={"color": colour, "width": 2.5},
                           customdata=change.names, hovertemplate=f"%{{customdata}}: {name} %{{y:.1%}}<extra></extra>",
                           row=1, col=2)
    figure.add_scatter(x=[layers[0], layers[-1]], y=[change.chance] * 2, name=words("figure.most_common"),
                       mode="lines", line={"color": GREY, "dash": "dot"}, hoverinfo="skip", row=1, col=2)
    figure.update_xaxes(**ticks)
    figure.update_yaxes(title_text="CKA", range=[0, 1.08], row=1, col=1)
    figure.update_yaxes(title_text=words("figure.accuracy_cv"), tickformat=".0%", range=[0, 1.02], row=1, col=2)
    return layout(figure, words("figure.layer_change"), height=400)


def _checked(name: str, value: int, count: int) -> int:
    if not 0 <= int(value) < count:
        raise UserError(say("error.no_such_part_model", what=say(f"part.what.{name}"), n=int(value) + 1, count=count))
    return int(value)


def _token_axis(tokens: list[str]) -> tuple[list[str], dict]:
    """Category names with the position, so a repeated token keeps its own row and column."""
    names = [f"{token} ({position})" for position, token in enumerate(tokens)]
    return names, {"type": "category", "tickmode": "array", "tickvals": names, "ticktext": tokens,
                   "tickfont": {"size": 11}}


def norm_attention_figure(norm, layer: int, head: int, words: Words = english) -> go.Figure:
    """One head (0-based layer and head), side by side: the attention weight α_ij, and ||α_ij f(x_j)||,
    how much of token j actually arrives at token i (Kobayashi et al. 2020). Each has its own colour scale."""
    layers, heads = norm.shape
    layer, head = _checked("layer", layer, layers), _checked("head", head, heads)
    names, axis = _token_axis(norm.tokens)
    figure = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.12,
                           subplot_titles=(words("figure.weight_title"), words("figure.norm_title")))
    for col, values, what, bar_x in ((1, norm.attentions[layer, head], words("figure.weight"), 0.44),
                                     (2, norm.norms[layer, head], words("figure.norm"), 1.0)):
        figure.add_heatmap(z=three_digits(values), x=names, y=names, colorscale=SEQUENTIAL, zmin=0,
                           colorbar={"title": {"text": what}, "x": bar_x, "len": 0.8},
                           hovertemplate=f"%{{y}} → %{{x}}<br>{what} %{{z:.3g}}<extra></extra>", row=1, col=col)
    figure.update_xaxes(title_text=words("figure.attended_to"), tickangle=-60, **axis)
    figure.update_yaxes(autorange="reversed", **axis)
    figure.update_yaxes(title_text=words("figure.attending"), row=1, col=1)
    size = min(760, max(380, 20 * len(norm.tokens) + 220))
    return layout(figure, words("figure.norm_attention", layer=layer + 1, head=head + 1), height=size)


def _shares(values: np.ndarray) -> np.ndarray:
    total = float(np.sum(values))
    return values / total if total > 0 else np.zeros_like(values)


def cls_row_figure(norm, layer: int | None = None, words: Words = english) -> go.Figure:
    """What the classifier reads gathers in one layer (0-based; None: the last), as shares of its row: for a
    [CLS] head [CLS]'s row (row 0), for a mean-pooling head such as MiniLM's the mean of every token's row
    (`norm.pooling`); the raw weights averaged over heads, and the norm of each token's summed contribution."""
    layer = norm.shape[0] - 1 if layer is None else _checked("layer", layer, norm.shape[0])
    names, axis = _token_axis(norm.tokens)
    raw, normed = _shares(norm.reader_raw[layer]), _shares(norm.reader_norm[layer])
    mean = norm.pooling == "mean"
    figure = go.Figure([
        go.Bar(x=names, y=three_digits(raw), name=words("figure.weight_mean_heads"), marker_color=BLUE,
               hovertemplate=words("figure.weight_share_hover") + "<extra></extra>"),
        go.Bar(x=names, y=three_digits(normed), name=words("figure.norm_based"), marker_color=ORANGE,
               hovertemplate=words("figure.norm_share_hover") + "<extra></extra>"),
    ])
    figure.update_xaxes(title_text=words("figure.token"), tickangle=-60, **axis)
    figure.update_yaxes(title_text=words("figure.share_mean_row" if mean else "figure.share_cls_row"),
                        tickformat=".0%", rangemode="tozero")
    title = "figure.gathers_mean" if mean else "figure.gathers_cls"
    figure = layout(figure, words(title, layer=layer + 1), height=380)
    figure.update_layout(legend={"y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"})  # clear of the tokens
    return figure
