"""The Learn tab's numbers: the Transformer's moving parts, computed from the loaded model, as plain numpy data.

Scaled dot-product attention for one query token, the heads side by side, positional encodings (the original
sinusoids and a BERT-family model's learned position embeddings), and the residual stream with each layer's
sub-block updates. Reads BERT-style layers (BERT, MiniLM, RoBERTa, ELECTRA); drawing lives in `figures.learn`.
The model may be shared between sessions: nothing here changes it, and hooks only read, in this thread only.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from ..messages import say
from ..models.anatomy import bert_layers
from .attention import DISPLAY_TOKENS, InputError, Inspection, clean_text
from .hooks import this_thread_hooks


@dataclass
class Walkthrough:
    """One head's attention for one query token, step by step (d = the head's size)."""

    tokens: list[str]
    layer: int  # 0-based
    head: int
    token: int  # the query position
    query: np.ndarray  # (d,)   q = x W_Q (the head's slice)
    keys: np.ndarray  # (T, d)  K = X W_K
    values: np.ndarray  # (T, d) V = X W_V
    scores: np.ndarray  # (T,)   K·q / √d
    weights: np.ndarray  # (T,)  softmax(scores)
    output: np.ndarray  # (d,)   weights · V

    @property
    def size(self) -> int:
        return self.query.shape[0]


def _encode(tokenizer, text: str):
    """Tokenised as `attention.inspect` does, so positions match its attention rows."""
    return tokenizer(clean_text(text), truncation=True, max_length=DISPLAY_TOKENS, return_tensors="pt")


@contextmanager
def _captured_outputs(modules: list) -> list:
    """Within the block, each module's latest output (this thread's forward passes only) lands in the list."""
    outputs = [None] * len(modules)

    def hook_for(index: int):
        def keep(module, inputs, output):
            outputs[index] = output.detach()
        return keep

    with this_thread_hooks([(module, hook_for(i)) for i, module in enumerate(modules)]):
        yield outputs


@torch.inference_mode()
def _hidden_states(model, encoded) -> list[torch.Tensor]:
    """The residual stream entering each layer (and leaving the last): (layers + 1) × (T, hidden)."""
    device = next(model.parameters()).device
    output = model(**encoded.to(device), output_hidden_states=True)
    return [state[0] for state in output.hidden_states]


def _check(name: str, value: int, count: int) -> int:
    value = int(value)
    if not 0 <= value < count:
        raise InputError(say("error.no_such_part", what=say(f"part.what.{name}"), n=value + 1, count=count))
    return value


@torch.inference_mode()
def attention_walkthrough(model, tokenizer, text: str, layer: int, head: int, token: int) -> Walkthrough:
    """Recompute one head's attention for one query token from the layer's input and its own Q/K/V weights.

    Layer, head and token are 0-based. One sentence, no padding: the attention mask adds nothing to the scores.
    """
    layers = bert_layers(model)
    encoded = _encode(tokenizer, text)
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist())
    layer = _check("layer", layer, len(layers))
    head = _check("head", head, model.config.num_attention_heads)
    token = _check("token", token, len(tokens))
    x = _hidden_states(model, encoded)[layer]  # the layer's input, (T, hidden)
    attention = layers[layer].attention.self
    size = attention.attention_head_size
    span = slice(head * size, (head + 1) * size)

    def project(linear) -> np.ndarray:  # this head's columns of x W^T + b
        return linear(x)[:, span].float().cpu().numpy()

    queries, keys, values = project(attention.query), project(attention.key), project(attention.value)
    query = queries[token]
    scores = keys @ query / math.sqrt(size)
    weights = np.exp(scores - scores.max())
    weights /= weights.sum()
    return Walkthrough(tokens, layer, head, token, query, keys, values, scores, weights, weights @ values)


def heads_for_token(inspection: Inspection, layer: int, token: int) -> np.ndarray:
    """(heads, T): every head's attention row for one query token in one layer (0-based)."""
    return inspection.attentions[layer, :, token, :]


def sinusoidal_encoding(positions: int, d_model: int) -> np.ndarray:
    """(positions, d_model) encoding of Vaswani et al. 2017: PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(...).

    Each pair of dimensions is a clock at its own frequency, from one turn per 2π positions down to
    one per 10000·2π: any fixed offset is a rotation, so relative position is easy to read off.
    """
    position = np.arange(positions, dtype=np.float64)[:, None]
    rates = 1.0 / 10000 ** (np.arange(0, d_model, 2, dtype=np.float64) / d_model)
    encoding = np.zeros((positions, d_model))
    encoding[:, 0::2] = np.sin(position * rates)
    encoding[:, 1::2] = np.cos(position * rates[:d_model // 2])  # an odd d_model has one sine more
    return encoding


def position_embeddings(model) -> np.ndarray:
    """(max positions, hidden): the model's learned absolute position embeddings."""
    embedding = getattr(getattr(model.base_model, "embeddings", None), "position_embeddings", None)
    if not isinstance(embedding, torch.nn.Embedding):
        raise ValueError("This model has no learned absolute position embeddings to show "
                         "(it encodes positions otherwise, e.g. sinusoids or relative positions).")
    return embedding.weight.detach().float().cpu().numpy()


def position_similarity(model, count: int = 64) -> np.ndarray:
    """(count, count) cosine similarity between the first `count` learned position embeddings.

    RoBERTa's first two rows belong to padding and are never used for real tokens; they are shown as they are.
    """
    vectors = position_embeddings(model)[:count]
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return np.clip(unit @ unit.T, -1.0, 1.0)


@torch.inference_mode()
def residual_norms(model, tokenizer, text: str) -> dict[str, np.ndarray]:
    """Per layer (arrays of shape (layers,)), the L2 norm, averaged over the sentence's tokens, of:

    - "stream": the residual stream entering the layer (the previous layer's output, or the embeddings);
    - "attention": the attention sub-block's update, attention.output.dense's output: what is added to the
      stream before the LayerNorm (BERT is post-LN: LN(x + attention update));
    - "feed_forward": the feed-forward sub-block's update, output.dense's output, added to the
      post-attention stream before the layer's last LayerNorm.
    """
    layers = bert_layers(model)
    encoded = _encode(tokenizer, text)
    modules = [layer.attention.output.dense for layer in layers] + [layer.output.dense for layer in layers]
    with _captured_outputs(modules) as outputs:
        states = _hidden_states(model, encoded)[:-1]

    def mean_norm(tensors) -> np.ndarray:
        return np.array([float(t.reshape(-1, t.shape[-1]).float().norm(dim=-1).mean()) for t in tensors])

    return {"stream": mean_norm(states), "attention": mean_norm(outputs[:len(layers)]),
            "feed_forward": mean_norm(outputs[len(layers):])}


def showcase_dimensions(d_model: int) -> list[int]:
    """A fast sine and its cosine partner, then two slower sines: periods of about 6, 20 and 60 positions
    for d_model = 384 (even dimensions are sines, odd ones cosines)."""
    return sorted({0, 1, min(2 * (d_model // 16), d_model - 1), min(2 * (d_model // 8), d_model - 1)})


def similarity_by_distance(similarity: np.ndarray, far: int) -> tuple[float, float]:
    """Mean similarity of neighbouring positions (one apart) and of positions `far` or more apart (nan if none)."""
    distance = np.abs(np.subtract.outer(np.arange(len(similarity)), np.arange(len(similarity))))
    near, distant = similarity[distance == 1], similarity[distance >= far]
    return (float(near.mean()) if near.size else float("nan"),
            float(distant.mean()) if distant.size else float("nan"))
