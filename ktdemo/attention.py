"""Predictions and the attention weights behind them, as plain numpy data.

One forward pass gives both: class probabilities and, per layer, the (heads, tokens, tokens)
softmax weights of the multi-head attention. Drawing lives in `figures`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

MAX_CHARS = 20_000  # longer text is cut before tokenising: the display shows at most max_length tokens anyway
DISPLAY_TOKENS = 128


class InputError(ValueError):
    """The text cannot be used; the message is one sentence for the user."""


@dataclass
class Inspection:
    tokens: list[str]
    attentions: np.ndarray  # (layers, heads, query tokens, key tokens); each row sums to 1
    probabilities: dict[str, float]  # label name -> probability, in label order
    truncated: bool  # the text had more tokens than were shown

    @property
    def prediction(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)

    @property
    def shape(self) -> tuple[int, int]:
        return self.attentions.shape[0], self.attentions.shape[1]


def clean_text(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise InputError("Type a sentence first.")
    return text[:MAX_CHARS]


@torch.inference_mode()
def inspect(model, tokenizer, text: str, max_length: int = DISPLAY_TOKENS) -> Inspection:
    """Predict one text and capture every layer's attention (the model must use eager attention)."""
    text = clean_text(text)
    encoded = tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt")
    full_length = len(tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])
    device = next(model.parameters()).device
    output = model(**encoded.to(device), output_attentions=True)
    if not output.attentions:
        raise RuntimeError("The model returned no attention weights; load it with attn_implementation='eager'.")
    attentions = torch.stack(output.attentions)[:, 0].float().cpu().numpy()  # drop the batch axis
    probabilities = torch.softmax(output.logits[0].float(), dim=-1).cpu().numpy()
    labels = [model.config.id2label[i] for i in range(len(probabilities))]
    return Inspection(
        tokens=tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist()),
        attentions=attentions,
        probabilities={label: float(p) for label, p in zip(labels, probabilities)},
        truncated=full_length > max_length,
    )
