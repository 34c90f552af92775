"""Gradient saliency for one prediction: gradient × input and integrated gradients, as plain numpy data.

Both attribute the predicted class's logit to the input tokens through the word embeddings.
Integrated gradients (Sundararajan et al. 2017) averages the gradient along the straight path from a
baseline (every word replaced by [PAD], special tokens kept) to the input, so its attributions add up
to logit(input) − logit(baseline) ("completeness"); gradient × input is the one-step shortcut.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .attention import DISPLAY_TOKENS, Inspection, clean_text, reader_attention, reader_rollout, word_ids_of

IG_STEPS = 32
BATCH = 32  # path points per forward pass


@dataclass
class Saliency:
    tokens: list[str]
    target: str  # the label whose logit is explained (the predicted one)
    gradient_x_input: np.ndarray  # (tokens,), signed: positive pushes towards `target`
    integrated_gradients: np.ndarray  # (tokens,), signed; sums to logit_gap up to the path integral's error
    logit_gap: float  # logit(input) − logit(baseline) for `target`
    word_ids: list[int | None] | None = None
    special: list[bool] | None = None

    @property
    def completeness_error(self) -> float:
        return abs(float(self.integrated_gradients.sum()) - self.logit_gap)


def _encode(model, tokenizer, text: str, max_length: int):
    encoded = tokenizer(clean_text(text), truncation=True, max_length=max_length, return_tensors="pt",
                        return_special_tokens_mask=True)
    special = encoded.pop("special_tokens_mask")[0].bool()
    return encoded.to(next(model.parameters()).device), special


def _baseline(model, tokenizer, embeddings: torch.Tensor, special: torch.Tensor) -> torch.Tensor:
    """Every word replaced by the [PAD] embedding (zeros if the tokenizer has none); special tokens kept."""
    if tokenizer.pad_token_id is None:
        filler = torch.zeros_like(embeddings[0])
    else:
        pad = torch.tensor([tokenizer.pad_token_id], device=embeddings.device)
        filler = model.get_input_embeddings()(pad)[0]
    return torch.where(special[:, None].to(embeddings.device), embeddings, filler)


def _target_logits(model, encoded, embeddings: torch.Tensor, target: int) -> torch.Tensor:
    """The target logit for a batch of embedded sequences (batch, tokens, hidden) of the same text."""
    batch = embeddings.shape[0]
    extra = {k: v.expand(batch, -1) for k, v in encoded.items() if k != "input_ids"}
    return model(inputs_embeds=embeddings, **extra).logits[:, target]


def _path_gradients(model, encoded, start: torch.Tensor, end: torch.Tensor, target: int, steps: int) -> torch.Tensor:
    """Mean gradient of the target logit at the midpoints of `steps` equal segments from start to end."""
    alphas = (torch.arange(steps, dtype=start.dtype, device=start.device) + 0.5) / steps
    total = torch.zeros_like(start)
    for chunk in alphas.split(BATCH):
        points = (start + chunk[:, None, None] * (end - start)).requires_grad_(True)
        (gradient,) = torch.autograd.grad(_target_logits(model, encoded, points, target).sum(), points)
        total += gradient.sum(dim=0)
    return total / steps


def saliency(model, tokenizer, text: str, steps: int = IG_STEPS, max_length: int = DISPLAY_TOKENS) -> Saliency:
    """Gradient × input and integrated gradients for the predicted class of one text."""
    if model.training:
        model.eval()  # dropout would make every gradient noisy
    encoded, special = _encode(model, tokenizer, text, max_length)
    with torch.no_grad():
        embeddings = model.get_input_embeddings()(encoded["input_ids"])[0]
        baseline = _baseline(model, tokenizer, embeddings, special)
        logits = _target_logits(model, encoded, torch.stack([embeddings, baseline]), slice(None))
    target = int(logits[0].argmax())
    with torch.enable_grad():
        at_input = _path_gradients(model, encoded, embeddings, embeddings, target, 1)
        along_path = _path_gradients(model, encoded, baseline, embeddings, target, steps)
    return Saliency(
        tokens=tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist()),
        target=model.config.id2label[target],
        gradient_x_input=(at_input * embeddings).sum(-1).float().cpu().numpy(),
        integrated_gradients=((embeddings - baseline) * along_path).sum(-1).float().cpu().numpy(),
        logit_gap=float(logits[0, target] - logits[1, target]),
        word_ids=word_ids_of(encoded),
        special=special.tolist(),
    )


# --- Agreement -------------------------------------------------------------------------------------------------

def agreement(inspection: Inspection, salient: Saliency) -> dict[str, float]:
    """Spearman rank correlation between three token rankings, over the words (special tokens left out,
    since [CLS]/[SEP] soak up attention without carrying meaning): the last-layer attention and the rollout
    of what the classifier reads (`attention.reader_weights`: [CLS]'s row, or the mean of every token's for a
    mean-pooling head), and the magnitude of integrated gradients. NaN when fewer than 3 tokens can be ranked."""
    if len(inspection.tokens) != len(salient.tokens):
        raise ValueError("The attention and the gradients were computed on different texts.")
    special = inspection.special or [False] * len(inspection.tokens)
    words = [i for i, flag in enumerate(special) if not flag]
    scores = {
        "attention": reader_attention(inspection)[words],
        "rollout": reader_rollout(inspection)[words],
        "gradient": np.abs(salient.integrated_gradients[words]),
    }
    pairs = [("attention", "rollout"), ("attention", "gradient"), ("rollout", "gradient")]
    return {f"{a} vs {b}": _spearman(scores[a], scores[b]) for a, b in pairs}


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr  # scipy.stats takes ~1 s to import: not at app start-up

    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)
