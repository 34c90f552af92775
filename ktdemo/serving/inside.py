"""What transfer did inside a run's model: the sentence space and the layer change, before and after."""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..messages import say
from .datasets import sample as _sample

if TYPE_CHECKING:
    from ..training.transfer import RunResult

INSIDE_SENTENCES = 256  # per view: under 5 s for MiniLM on 2 CPU cores (benchmarks/inside.py)


@dataclass
class InsideViews:
    """What transfer did inside the model: `representations.SentenceSpace` and `representations.LayerChange`."""

    space: object
    layers: object


def inside_views(run: RunResult, pretrained, sources: dict | None = None) -> InsideViews:
    """The sentence space on test sentences (a cross-domain run's source and target test sets, half each) and
    the layer change on validation sentences, from one forward pass per model and sample. A cross-domain run's
    domains are Messages ("source: Rotten Tomatoes"): the figure says them in the page's language, and the
    views stay the same whatever the language of the page that asked first (they are cached per run)."""
    from ..inspection import representations
    from ..training.transfer import training_data

    config = run.config
    target, train = training_data(dataclasses.replace(config, per_class=None), sources)
    if config.kind == "cross_domain":
        half = INSIDE_SENTENCES // 2
        parts = [(say("figure.domain_named.source", name=train.name), _sample(train.test, half)),
                 (say("figure.domain_named.target", name=target.name), _sample(target.test, half))]
    else:
        parts = [(target.name, _sample(target.test, INSIDE_SENTENCES))]
    texts = [text for _, frame in parts for text in frame.text.tolist()]
    labels = [label for _, frame in parts for label in frame.label.tolist()]
    domains = [name for name, frame in parts for _ in range(len(frame))] if len(parts) > 1 else None
    encode = functools.partial(representations.encode, tokenizer=run.tokenizer, max_length=config.max_length)
    space = representations.compare_spaces(encode(pretrained, texts=texts), encode(run.model, texts=texts), texts,
                                           labels, run.label_names, domains=domains, seed=config.seed)
    validation = _sample(target.validation, INSIDE_SENTENCES)
    sample = validation.text.tolist()
    layers = representations.compare_layers(encode(pretrained, texts=sample), encode(run.model, texts=sample),
                                            validation.label.tolist(), seed=config.seed)
    return InsideViews(space, layers)
