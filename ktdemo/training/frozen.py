"""Frozen work done once: the frozen bottom of the encoder runs once per text, and training runs the rest.

Under *top layers* the embeddings and the bottom k encoder layers never change, so neither does what they
output for a text. `Bottom` keeps that output (each real token's hidden state after layer k) per text and
trains the layers above from it: a step costs only the part that trains, and the validation checks and the
final scoring read the same outputs. Texts are computed when first needed and then reused: every later
epoch, check and score is free of the bottom.

For an untouched pretrained encoder on a bundled dataset the outputs are kept on disk too (`frozen_store`), per
(model, dataset, max length, k), so every run and every session on the machine shares them, and the app builds
the default's in the background at start-up. A session's own data and any other start (a source-trained or
random encoder) stay in the run's memory only: nothing of a session's upload outlives its run.

The frozen bottom runs in eval mode (no dropout): the cached outputs are the pretrained layers' own.
Predictions, attention and the time-lapse use the whole model as always: only training and scoring go
through the cache, and they agree with the whole model to float precision (tests check 1e-5).
"""
from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from datasets import Dataset
from torch import nn

from ..messages import Message, say
from ..models.anatomy import encoder_layers
from ..models.evaluation import Metrics, batched_probabilities, length_sorted, length_sorted_batches, scored
from . import frozen_store


class _Given(nn.Module):
    """Stands in for the embeddings when the input is already a layer's output (passed as `inputs_embeds`)."""

    def forward(self, input_ids=None, inputs_embeds=None, *args, **kwargs):
        return inputs_embeds


@contextlib.contextmanager
def layers_only(model, start: int, stop: int | None = None, *, embedded: bool = False):
    """While inside, `model` runs only its encoder layers [start, stop); `embedded`: its input is already layer
    start's input, passed as `inputs_embeds` (the embeddings are skipped). The model is whole again on exit."""
    base, layers = model.base_model, encoder_layers(model)
    owner = base.encoder if hasattr(base, "encoder") else base.transformer
    swaps = {(owner, "layer"): layers[start:stop]}
    if embedded:
        swaps[(base, "embeddings")] = _Given()
        if getattr(base, "embeddings_project", None) is not None:  # ELECTRA's embedding-size projection
            swaps[(base, "embeddings_project")] = nn.Identity()
    saved = {key: getattr(*key) for key in swaps}
    try:
        for (module, name), replacement in swaps.items():
            setattr(module, name, replacement)
        yield model
    finally:
        for (module, name), original in saved.items():
            setattr(module, name, original)


class TopLayers(nn.Module):
    """The model above its frozen bottom: what the Trainer trains, fed the bottom's outputs."""

    main_input_name = "inputs_embeds"  # the Trainer counts the tokens seen from the attention mask

    def __init__(self, model, start: int):
        super().__init__()
        self.model, self.start = model, start

    def forward(self, inputs_embeds, attention_mask, labels=None):
        with layers_only(self.model, self.start, embedded=True):
            return self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask, labels=labels)


class Bottom:
    """The outputs of `model`'s embeddings and bottom `layers` encoder layers, per text, computed on first need.

    With a `store` entry (see `frozen_store`), it starts from the outputs stored there, and `keep` adds to it.
    """

    def __init__(self, model, tokenizer, layers: int, max_length: int, store: Path | None = None):
        self.model, self.tokenizer, self.layers, self.max_length = model, tokenizer, layers, max_length
        self.store = store
        self.outputs = frozen_store.read(store) if store else {}
        self.stored = len(self.outputs)  # how many came from the store
        self.added: list[str] = []
        self._lock = threading.Lock()

    def notice(self) -> Message:
        """What the run's notes say: how many texts' outputs came from the shared store, how many were computed."""
        return say("notice.frozen_bottom", k=self.layers, stored=f"{self.stored:,}", computed=f"{len(self.added):,}")

    def keep(self, splits) -> None:
        """Add what this run computed for `splits`' texts (the store's dataset) to the store, when it has one."""
        texts = set(frozen_store.texts_of(splits))
        others = set(self.added) - texts  # another dataset's (a cross-domain target's): not this entry's
        if self.store and len(others) < len(self.added):
            frozen_store.save(self.store, {t: o for t, o in self.outputs.items() if t not in others})

    def hidden(self, texts: list[str]) -> list[torch.Tensor]:
        """Each text's (real tokens, hidden size) output of the bottom."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self.outputs))
            if missing:
                self.outputs.update(compute(self.model, self.tokenizer, missing, self.max_length, self.layers))
                self.added.extend(missing)
        return [self.outputs[text] for text in texts]

    def batch(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """`inputs_embeds` and `attention_mask` for the layers above, padded on the right as the tokenizer pads."""
        hidden = self.hidden(texts)
        width = max(len(h) for h in hidden)
        embeds = torch.zeros(len(hidden), width, hidden[0].shape[-1])
        mask = torch.zeros(len(hidden), width, dtype=torch.long)
        for i, h in enumerate(hidden):
            embeds[i, :len(h)], mask[i, :len(h)] = h, 1
        device = self.model.device
        return {"inputs_embeds": embeds.to(device), "attention_mask": mask.to(device)}

    def collate(self, features: list[dict]) -> dict[str, torch.Tensor]:
        """A training or validation batch, as the Trainer's data collator."""
        batch = self.batch([f["text"] for f in features])
        batch["labels"] = torch.tensor([f["labels"] for f in features], device=batch["attention_mask"].device)
        return batch

    def dataset(self, frame: pd.DataFrame) -> Dataset:
        """The Trainer's dataset: texts, labels and token counts (for length-grouped batches)."""
        lengths = [len(ids) for ids in self.tokenizer(frame.text.tolist(), truncation=True,
                                                      max_length=self.max_length)["input_ids"]]
        return Dataset.from_dict({"text": frame.text.tolist(), "labels": frame.label.tolist(), "length": lengths})

    def trainable(self) -> TopLayers:
        return TopLayers(self.model, self.layers)

    def probabilities(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """The whole model's class probabilities for `texts`, from the bottom's outputs."""
        batches = ((rows, self.batch([texts[i] for i in rows])) for rows in length_sorted(texts, batch_size))
        return batched_probabilities(self.model, batches, len(texts), run=self.trainable())

    def evaluate(self, frame: pd.DataFrame) -> Metrics:
        return scored(self.probabilities(frame.text.tolist()), frame.label.tolist())


@torch.inference_mode()
def compute(model, tokenizer, texts: list[str], max_length: int, layers: int) -> dict[str, torch.Tensor]:
    """{text: (real tokens, hidden size) float32 output of the embeddings and the bottom `layers` layers}."""
    was_training = model.training
    model.eval()
    out = {}
    try:
        with layers_only(model, 0, layers):
            for indices, encoded in length_sorted_batches(tokenizer, texts, max_length, model.device):
                hidden = model.base_model(**encoded).last_hidden_state.float().cpu()
                real = encoded["attention_mask"].bool().cpu()
                for row, i in enumerate(indices):
                    out[texts[i]] = hidden[row][real[row]].clone()
    finally:
        model.train(was_training)
    return out
