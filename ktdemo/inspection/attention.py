"""Predictions and the attention weights behind them, as plain numpy data.

One forward pass gives both: class probabilities and, per layer, the (heads, tokens, tokens)
softmax weights of the multi-head attention. Drawing lives in `figures`.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from ..messages import Said, say
from ..models.anatomy import head_output_projections
from ..models.evaluation import length_sorted_batches, predict_probabilities
from ..models.heads import pooling_of
from .hooks import this_thread_hooks

MAX_CHARS = 20_000  # longer text is cut before tokenising: the display shows at most max_length tokens anyway
DISPLAY_TOKENS = 128


class InputError(Said, ValueError):
    """The text cannot be used; the message is one sentence for the user."""


@dataclass
class Inspection:
    tokens: list[str]
    attentions: np.ndarray  # (layers, heads, query tokens, key tokens); each row sums to 1
    probabilities: dict[str, float]  # label name -> probability, in label order
    truncated: bool  # the text had more tokens than were shown
    word_ids: list[int | None] | None = None  # from a fast tokenizer; None: words are guessed from piece prefixes
    special: list[bool] | None = None  # True for tokens the tokenizer added ([CLS], [SEP], <s>...)
    pooling: str = "cls"  # what the classifier head reads (`heads.pooling_of`): "cls" or "mean"; see `reader_weights`

    @property
    def prediction(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)

    @property
    def shape(self) -> tuple[int, int]:
        return self.attentions.shape[0], self.attentions.shape[1]


def clean_text(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise InputError(say("error.type_a_sentence"))
    return text[:MAX_CHARS]


@torch.inference_mode()
def inspect(model, tokenizer, text: str, max_length: int = DISPLAY_TOKENS) -> Inspection:
    """Predict one text and capture every layer's attention (the model must use eager attention)."""
    text = clean_text(text)
    encoded = tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt",
                        return_special_tokens_mask=True)
    special = [bool(flag) for flag in encoded.pop("special_tokens_mask")[0].tolist()]
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
        word_ids=word_ids_of(encoded),
        special=special,
        pooling=model_pooling(model),
    )


def word_ids_of(encoded) -> list[int | None] | None:
    """The word index of each token, when a fast tokenizer kept its alignment (slow ones cannot say)."""
    try:
        return encoded.word_ids(0)
    except (ValueError, AttributeError):
        return None


# --- Word-level view -----------------------------------------------------------------------------------------
# A display unit is a group of token positions: one word piece, or all the pieces of one word.
# Merging rule (as in bertviz/Clark et al. 2019): attention *to* a word is the sum over its pieces (key
# columns), attention *from* a word is the mean over its pieces (query rows), so every row still sums to 1.
# Hiding special tokens drops their rows and columns first and renormalises each remaining row to 1.

WORD_START_MARKERS = ("Ġ", "▁")  # byte-level BPE (GPT-2, RoBERTa) and sentencepiece mark a word's first piece
CONTINUATION_MARKER = "##"  # WordPiece (BERT) marks the pieces after the first
KNOWN_SPECIAL = {"[CLS]", "[SEP]", "[PAD]", "[MASK]", "<s>", "</s>", "<pad>", "<mask>", "<|endoftext|>"}


@dataclass
class TokenView:
    """What the displays show: one label per unit, and the token positions behind each unit."""

    labels: list[str]
    groups: list[list[int]]


def special_flags(tokens: list[str], special: list[bool] | None = None) -> list[bool]:
    return list(special) if special is not None else [token in KNOWN_SPECIAL for token in tokens]


def word_groups(tokens: list[str], word_ids: list[int | None] | None = None,
                special: list[bool] | None = None) -> list[list[int]]:
    """Group consecutive pieces of one word; each special token stays alone.

    The fast tokenizer's word_ids are the ground truth; without them the piece prefixes are read:
    `##` continues a word (WordPiece), `Ġ`/`▁` starts one (BPE, sentencepiece).
    """
    special = special_flags(tokens, special)
    marks_starts = any(t.startswith(WORD_START_MARKERS) for t, s in zip(tokens, special) if not s)
    groups: list[list[int]] = []
    previous_special = True
    for position, token in enumerate(tokens):
        if special[position]:
            groups.append([position])
            previous_special = True
            continue
        if word_ids is not None:
            continues = not previous_special and word_ids[position] == word_ids[groups[-1][-1]]
        elif marks_starts:
            continues = not previous_special and not token.startswith(WORD_START_MARKERS)
        else:
            continues = not previous_special and token.startswith(CONTINUATION_MARKER)
        if continues:
            groups[-1].append(position)
        else:
            groups.append([position])
        previous_special = False
    return groups


def piece_text(token: str) -> str:
    for marker in (CONTINUATION_MARKER, *WORD_START_MARKERS):
        if token.startswith(marker) and len(token) > len(marker):
            return token[len(marker):]
    return token


def token_view(tokens: list[str], words: bool = False, show_special: bool = True,
               word_ids: list[int | None] | None = None, special: list[bool] | None = None) -> TokenView:
    """The units to display: word pieces or whole words, with or without the special tokens."""
    special = special_flags(tokens, special)
    groups = word_groups(tokens, word_ids, special) if words else [[i] for i in range(len(tokens))]
    if not show_special and not all(special):
        groups = [group for group in groups if not special[group[0]]]
    # a word reads without its piece markers; a piece (or a special token) keeps its raw form
    labels = [tokens[group[0]] if not words or special[group[0]] else "".join(piece_text(tokens[i]) for i in group)
              for group in groups]
    return TokenView(labels, groups)


def inspection_view(inspection, words: bool = False, show_special: bool = True) -> TokenView:
    """The view of anything with `tokens`, `word_ids` and `special` (an Inspection, a Saliency)."""
    return token_view(inspection.tokens, words, show_special, inspection.word_ids, inspection.special)


def _membership(view: TokenView) -> tuple[list[int], np.ndarray]:
    """The kept positions, and a (kept positions, units) 0/1 matrix saying which unit each belongs to."""
    kept = [position for group in view.groups for position in group]
    member = np.zeros((len(kept), len(view.groups)))
    row = 0
    for unit, group in enumerate(view.groups):
        member[row:row + len(group), unit] = 1.0
        row += len(group)
    return kept, member


def view_attention(weights: np.ndarray, view: TokenView) -> np.ndarray:
    """Attention (..., T, T) on the view's units (..., U, U): hidden rows/columns dropped, rows renormalised,
    key columns of a word summed, query rows of a word averaged."""
    kept, member = _membership(view)
    shown = weights[..., kept, :][..., :, kept]
    totals = shown.sum(axis=-1, keepdims=True)
    shown = np.divide(shown, totals, out=np.zeros_like(shown), where=totals > 0)
    to_units = shown @ member
    return (member / member.sum(axis=0)).T @ to_units


def view_scores(scores: np.ndarray, view: TokenView, normalise: bool = False) -> np.ndarray:
    """A per-token score (T,) on the view's units (U,): summed over a word's pieces; `normalise` rescales
    a distribution (rollout, attention row) to sum to 1 again after hidden tokens are dropped."""
    kept, member = _membership(view)
    units = scores[kept] @ member
    total = units.sum()
    return units / total if normalise and total > 0 else units


# --- Attention rollout (Abnar & Zuidema 2020) ------------------------------------------------------------------

def attention_rollout(attentions: np.ndarray) -> np.ndarray:
    """How much each input token flows into each position after all layers, (L, H, T, T) -> (T, T).

    Per layer: average the heads, add the identity for the residual connection, renormalise rows;
    then chain the layers by matrix product (a later layer multiplies on the left).
    """
    tokens = attentions.shape[-1]
    identity = np.eye(tokens)
    rolled = identity
    for layer in attentions.mean(axis=1):
        mixed = layer + identity
        rolled = (mixed / mixed.sum(axis=-1, keepdims=True)) @ rolled
    return rolled


def cls_attention(attentions: np.ndarray) -> np.ndarray:
    """Raw attention of the first token ([CLS], what a [CLS] head reads) in the last layer, heads averaged."""
    return attentions[-1].mean(axis=0)[0]


def cls_rollout(attentions: np.ndarray) -> np.ndarray:
    return attention_rollout(attentions)[0]


# --- What the classifier head reads ------------------------------------------------------------------------------
# The head reads one vector made from the last layer's token vectors (`heads`): a [CLS] head (transformers' own
# classifiers, DistilBERT's and RoBERTa's too) the first token's; a mean-pooling head (`heads._MeanPooling`, a
# sentence encoder such as all-MiniLM-L6-v2) the mean of every real token's, [CLS] and [SEP] included (its only
# mask is the attention mask: padding out, nothing else). Every view of "what the classifier reads" takes the
# attention row of that token, or the mean of those rows: attention and rollout are linear in the query rows.

def reader_pooling(pooling: str | None) -> str:
    """"mean" for a mean-pooling head; "cls" for any other (the families' standard heads read the first token)."""
    return "mean" if pooling == "mean" else "cls"


def model_pooling(model) -> str:
    """What `model`'s head reads, from its config (`heads.POOLING_KEY`): "mean" or "cls"."""
    return reader_pooling(pooling_of(model))


def reader_weights(pooling: str, tokens: int, real=None) -> np.ndarray:
    """(tokens,): each position's share in the vector the head reads, summing to 1. "cls": all on the first token;
    "mean": the same on every real token (`real`: False for padding; None: every token is real)."""
    weights = np.zeros(tokens)
    if reader_pooling(pooling) == "cls":
        weights[0] = 1.0
        return weights
    real = np.ones(tokens, dtype=bool) if real is None else np.asarray(real, dtype=bool)
    weights[real] = 1.0 / max(1, int(real.sum()))
    return weights


def reader_row(matrix: np.ndarray, pooling: str, real=None) -> np.ndarray:
    """The row(s) of a (..., queries, keys) matrix that the head reads: (..., keys), each a distribution when the
    matrix's rows are."""
    return reader_weights(pooling, matrix.shape[-2], real) @ matrix


def reader_attention(inspection) -> np.ndarray:
    """Last-layer attention (heads averaged) of what the head reads: [CLS]'s row, or the mean of every token's."""
    return reader_row(inspection.attentions[-1].mean(axis=0), inspection.pooling)


def reader_rollout(inspection) -> np.ndarray:
    """The attention rollout (all layers) of what the head reads: [CLS]'s row, or the mean of every token's."""
    return reader_row(attention_rollout(inspection.attentions), inspection.pooling)


# --- Head ablation -------------------------------------------------------------------------------------------------
# transformers 5 dropped BERT's `head_mask` argument, so a forward pre-hook on each layer's attention output
# projection zeroes the chosen heads' slices of its input (the concatenated per-head contexts, before it mixes them).

HEAD_PATTERN = re.compile(r"^\s*L(\d+)\s*H(\d+)\s*$", re.IGNORECASE)


def parse_heads(spec: str | None, layers: int, heads: int) -> list[tuple[int, int]]:
    """'L1H2, L6H3' -> [(0, 1), (5, 2)]: 1-based for people, 0-based for code."""
    chosen = []
    for part in filter(str.strip, (spec or "").split(",")):
        match = HEAD_PATTERN.match(part)
        if not match:
            raise InputError(say("error.heads_format", part=part.strip()))
        layer, head = int(match[1]), int(match[2])
        if not (1 <= layer <= layers and 1 <= head <= heads):
            raise InputError(say("error.head_missing", layer=layer, head=head, layers=layers, heads=heads))
        chosen.append((layer - 1, head - 1))
    return sorted(set(chosen))


@contextmanager
def ablated_heads(model, heads: list[tuple[int, int]]):
    """Within the block, the chosen (layer, head) pairs contribute nothing, in this thread only:
    the model is shared between sessions, so another thread's forward pass must stay untouched.

    A head is switched off by zeroing its slice of the attention output projection's input."""
    projections = head_output_projections(model)
    size = projections[0].in_features // model.config.num_attention_heads
    by_layer: dict[int, list[int]] = {}
    for layer, head in heads:
        by_layer.setdefault(layer, []).append(head)

    def hook_for(heads_here: list[int]):
        def zero_heads(module, inputs):
            context = inputs[0].clone()
            for head in heads_here:
                context[..., head * size:(head + 1) * size] = 0
            return (context, *inputs[1:])
        return zero_heads

    with this_thread_hooks([(projections[layer], hook_for(hs)) for layer, hs in by_layer.items()], pre=True):
        yield


def inspect_ablated(model, tokenizer, text: str, heads: list[tuple[int, int]],
                    max_length: int = DISPLAY_TOKENS) -> Inspection:
    """The same prediction with the chosen heads switched off."""
    with ablated_heads(model, heads):
        return inspect(model, tokenizer, text, max_length)


def _accuracy(model, tokenizer, texts: list[str], labels: np.ndarray, max_length: int, batch_size: int) -> float:
    probabilities = predict_probabilities(model, tokenizer, texts, max_length, batch_size)
    return float((probabilities.argmax(axis=1) == labels).mean())


def head_importance(model, tokenizer, texts: list[str], labels, max_length: int = 64,
                    on_head=None, batch_size: int = 16) -> np.ndarray:
    """(layers, heads): accuracy on the examples minus the accuracy with only that head switched off.

    Positive: the head helps; one flipped prediction of n examples moves it by 1/n. `on_head(done, total)`
    is called after each head, for a progress bar (one batched pass over the texts per head; small
    length-sorted batches pad less: ~40% faster than one batch of 64 on CPU).
    """
    texts, labels = list(texts), np.asarray(labels)
    if not texts or len(texts) != len(labels):
        raise InputError(say("error.rank_needs_examples"))
    layers, heads = len(head_output_projections(model)), model.config.num_attention_heads
    baseline = _accuracy(model, tokenizer, texts, labels, max_length, batch_size)
    drop = np.zeros((layers, heads))
    for index in range(layers * heads):
        layer, head = divmod(index, heads)
        with ablated_heads(model, [(layer, head)]):
            drop[layer, head] = baseline - _accuracy(model, tokenizer, texts, labels, max_length, batch_size)
        if on_head:
            on_head(index + 1, layers * heads)
    return drop


# --- Before vs after transfer ------------------------------------------------------------------------------------
# How far fine-tuning moved each head: Jensen-Shannon divergence between the pretrained and the fine-tuned
# model's attention rows. Unlike KL it is symmetric and bounded (0 to 1 in bits), and zeros do not explode it.

JS_EPSILON = 1e-12


def js_divergence(p, q, axis: int = -1) -> np.ndarray:
    """Jensen-Shannon divergence, base 2, between distributions along `axis`: 0 identical, 1 disjoint."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    m = (p + q) / 2

    def kl_to_m(x):  # a zero entry contributes 0 (x log x -> 0); the epsilon only keeps log2 finite
        return (x * (np.log2(x + JS_EPSILON) - np.log2(m + JS_EPSILON))).sum(axis=axis)

    return np.clip((kl_to_m(p) + kl_to_m(q)) / 2, 0.0, 1.0)


@torch.inference_mode()
def _batch_attentions(model, encoded) -> np.ndarray:
    """(layers, batch, heads, tokens, tokens) attention weights of one padded batch."""
    device = next(model.parameters()).device
    output = model(**{name: tensor.to(device) for name, tensor in encoded.items()}, output_attentions=True)
    if not output.attentions:
        raise RuntimeError("The model returned no attention weights; load it with attn_implementation='eager'.")
    return torch.stack(output.attentions).float().cpu().numpy()


def attention_change(before_model, after_model, tokenizer, texts: list[str], max_length: int = 64,
                     batch_size: int = 32) -> np.ndarray:
    """(layers, heads): the JS divergence between the two models' attention rows, averaged over the real
    (non-padding) query tokens of each text, then over the texts. The models must share the tokenizer."""
    texts = [clean_text(text) for text in texts]
    if not texts:
        raise InputError(say("error.comparison_needs_sentence"))
    total = None
    for _, encoded in length_sorted_batches(tokenizer, texts, max_length, "cpu", batch_size):
        before, after = _batch_attentions(before_model, encoded), _batch_attentions(after_model, encoded)
        if before.shape != after.shape:
            raise ValueError("The two models have different numbers of layers or heads; they cannot be compared.")
        # padding keys get weight 0 in both (masked), so they add nothing; padding queries are left out here
        real = encoded["attention_mask"].numpy().astype(np.float64)  # (batch, tokens)
        divergence = js_divergence(before, after)  # (layers, batch, heads, queries)
        per_text = (divergence * real[None, :, None, :]).sum(axis=-1) / real.sum(axis=-1)[None, :, None]
        summed = per_text.sum(axis=1)  # (layers, heads)
        total = summed if total is None else total + summed
    return total / len(texts)
