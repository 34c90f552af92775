"""Looking inside the session's model: prediction and attention, saliency, ablation, how attention changed,
head importance, and the inside views (cached per run: the same run always gives the same views)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .. import models
from ..config import RunConfig
from ..inspection import attention, explain
from ..messages import Message, message_of, say
from .datasets import sample as _sample
from .inside import InsideViews, inside_views
from .records import needed

if TYPE_CHECKING:
    from ..training.transfer import RunResult
    from .session import Session

COMPARE_SENTENCES, RANK_EXAMPLES = 32, 64  # fixed validation samples: fast enough on 2 CPU cores


@dataclass
class ModelView:
    """What a prediction runs on, and how to describe it to the user."""

    model: object
    tokenizer: object
    trained: bool
    description: Message


@dataclass
class Look:
    """A model's prediction and attention on one text, and the line that says which model answered."""

    view: ModelView
    inspection: attention.Inspection
    description: list[Message]  # which model answered, and a note where the text was cut


@dataclass
class AttentionChange:
    """How far fine-tuning moved each head, and one sentence in the pretrained and the fine-tuned model."""

    change: np.ndarray  # (layers, heads): Jensen-Shannon divergence of the attention rows, 0..1
    sentences: int  # validation sentences it is averaged over
    kind: str  # the run's kind: a from-scratch run's heads never were the pretrained ones
    before: attention.Inspection | None  # None: the sentence could not be used (`problem` says why)
    after: attention.Inspection | None
    problem: Message | str | None = None  # why there is no sentence pair


class SessionViews:
    """The session's inspection use cases, on its current model (else the pretrained one)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._last_inspection: tuple[tuple, attention.Inspection] | None = None
        self._inside_views: tuple[RunResult, InsideViews] | None = None

    def clear(self) -> None:
        self._last_inspection = None
        self._inside_views = None  # its sentences may be an upload's

    def model_view(self, model: str, dataset: str) -> ModelView:
        """The fine-tuned model if there is one, else the pretrained encoder with an untrained head."""
        run = self.session.runs.current
        if run is not None:
            return ModelView(run.model, run.tokenizer, True,
                             say("notice.fine_tuned", model=models.resolve(run.config.model).name,
                                 dataset=run.dataset_name, accuracy=f"{run.after.accuracy:.1%}"))
        spec = models.resolve(model)
        dataset_labels, dataset_name = self.session.data.labels_of(dataset)
        return ModelView(models.pretrained_classifier(spec.key, dataset_labels), models.load_tokenizer(spec.key), False,
                         say("notice.untrained", model=spec.name, dataset=dataset_name))

    def inspect(self, view: ModelView, text: str) -> attention.Inspection:
        """Predict and capture attention; Predict then Attention on the same text costs one forward pass."""
        key = (id(view.model), text)
        if self._last_inspection is None or self._last_inspection[0] != key:
            self._last_inspection = (key, attention.inspect(view.model, view.tokenizer, text))
        return self._last_inspection[1]

    def look(self, model: str, dataset: str, text: str) -> Look:
        """The model that answers, its prediction and attention on `text`, and how to describe them."""
        view = self.model_view(model, dataset)
        inspection = self.inspect(view, text)
        description = [view.description]
        if inspection.truncated:
            description.append(say("notice.truncated", n=len(inspection.tokens)))
        return Look(view, inspection, description)

    def saliency(self, model: str, dataset: str, text: str) -> tuple[Look, explain.Saliency, dict[str, float]]:
        """Gradient attributions for the predicted class, and how well attention agrees with them."""
        look = self.look(model, dataset, text)
        salient = explain.saliency(look.view.model, look.view.tokenizer, text)
        return look, salient, explain.agreement(look.inspection, salient)

    def ablate(self, model: str, dataset: str, text: str, heads: str) -> tuple[Look, list, attention.Inspection]:
        """The prediction on `text` with the heads named in `heads` ('L1H2, L6H3') switched off."""
        look = self.look(model, dataset, text)
        chosen = attention.parse_heads(heads, *look.inspection.shape)
        if not chosen:
            raise attention.InputError(say("error.name_a_head"))
        return look, chosen, attention.inspect_ablated(look.view.model, look.view.tokenizer, text, chosen)

    def attention_change(self, text: str) -> AttentionChange:
        """How far fine-tuning moved each head (on a fixed validation sample), and `text` in both models."""
        run = needed(self.session.runs.current, "comparison")
        pretrained = self.pretrained_of(run)
        sentences = self.validation_sample(run.config.dataset, COMPARE_SENTENCES).text.tolist()
        change = attention.attention_change(pretrained, run.model, run.tokenizer, sentences, run.config.max_length)
        try:
            pair = (attention.inspect(pretrained, run.tokenizer, text), attention.inspect(run.model, run.tokenizer, text))
        except attention.InputError as error:  # the per-head change does not need a sentence
            return AttentionChange(change, len(sentences), run.config.kind, None, None, message_of(error))
        return AttentionChange(change, len(sentences), run.config.kind, *pair)

    def head_importance(self, model: str, dataset: str, on_head=None) -> tuple:
        """(accuracy lost per head, examples measured on, what model it was) on a fixed validation sample."""
        view = self.model_view(model, dataset)
        sample = self.validation_sample(dataset, RANK_EXAMPLES)
        current = self.session.runs.current
        max_length = current.config.max_length if current else RunConfig.max_length
        drop = attention.head_importance(view.model, view.tokenizer, sample.text.tolist(), sample.label.tolist(),
                                         max_length, on_head=on_head)
        return drop, len(sample), view.description

    def sentence_space(self):
        """The test sentences as the head reads them, in the pretrained and the fine-tuned model, in 2-D."""
        return self._inside().space

    def layer_change(self):
        """How far each layer moved (CKA) and how linearly readable the task is in it, before and after."""
        return self._inside().layers

    def norm_attention(self, model: str, dataset: str, text: str):
        """`text`'s attention in the model that answers, weighed by what each token moves (Kobayashi et al.)."""
        from ..inspection import representations

        view = self.model_view(model, dataset)
        return representations.norm_attention(view.model, view.tokenizer, text)

    def inside_or_none(self) -> InsideViews | None:
        try:
            return self._inside()
        except ValueError:  # too few sentences or one class: the report leaves the views out
            return None

    def _inside(self) -> InsideViews:
        run = needed(self.session.runs.current, "inside")
        with self.session.lock:
            cached = self._inside_views
        if cached is None or cached[0] is not run:
            cached = (run, inside_views(run, self.pretrained_of(run), self.session.data.datasets))
            with self.session.lock:
                self._inside_views = cached
        return cached[1]

    def pretrained_of(self, run: RunResult):
        """The pretrained model `run` started from, with an untrained head for its labels (cached per process)."""
        return models.pretrained_classifier(run.config.model, run.label_names, run.config.seed, run.config.pooling)

    def validation_sample(self, dataset: str, size: int):
        """A fixed sample of the validation split: of the current run's dataset, else of `dataset`."""
        run = self.session.runs.current
        key = run.config.dataset if run else dataset
        splits = self.session.data.datasets.get(key)
        if splits is None:
            (load_data,) = models.heavy_import("ktdemo.training.transfer", "load_data")  # the training stack: seconds, once
            splits = load_data(run.config if run else RunConfig(dataset=key))
        if splits.validation.empty:
            raise attention.InputError(say("error.no_validation", name=splits.name or key))
        return _sample(splits.validation, size)
