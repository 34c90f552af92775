"""Zero-shot classification: label each text from a description of each label, with no training.

Similarity: embed texts and descriptions with a sentence encoder and pick the closest description.
NLI (Yin et al. 2019): ask an entailment model whether the text (premise) entails each description
(hypothesis) and pick the most entailed one, as transformers' zero-shot-classification pipeline does.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numpy as np
import torch

from .. import models
from ..data import DATASETS, DEFAULT_DATASET
from ..data.descriptions import default_descriptions
from ..messages import UserError, say
from ..models import heads
from ..models.evaluation import Metrics, length_sorted_batches, scored
from .probe import Features

# The encoder is taken from the cached classifier that the app preloads for the default dataset;
# its head is ignored, so any label names work and these ones reuse that cache entry.
_CACHED_LABELS = DATASETS[DEFAULT_DATASET].label_names
TEMPERATURE = 0.05  # cosine similarities (-1..1) / T: logits that make confident, well-spread probabilities


@torch.inference_mode()
def embed(encoder, tokenizer, texts: list[str], max_length: int = 128, batch_size: int = 64) -> np.ndarray:
    """Mean-pooled, L2-normalised sentence embeddings, as all-MiniLM-L6-v2 was trained to give."""
    texts = list(texts)
    out = np.zeros((len(texts), encoder.config.hidden_size), dtype=np.float32)
    for batch, encoded in length_sorted_batches(tokenizer, texts, max_length, encoder.device, batch_size):
        hidden = encoder(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"]).last_hidden_state
        out[batch] = heads.mean_pool(hidden.float(), encoded["attention_mask"]).cpu().numpy()
    return out


def _softmax(scores: np.ndarray) -> np.ndarray:
    return torch.softmax(torch.as_tensor(scores, dtype=torch.float32), dim=-1).numpy()


def similarity_probabilities(model_key: str, texts, descriptions: list[str], max_length: int = 128,
                             temperature: float = TEMPERATURE, known: Features | None = None) -> np.ndarray:
    """(texts, labels) softmax of cosine similarity / temperature between texts and descriptions. `known`: the
    pretrained encoder's mean-pooled features (the same embeddings), read from and added to."""
    tokenizer = models.load_tokenizer(model_key)
    encoder = models.pretrained_classifier(model_key, _CACHED_LABELS).base_model
    if known is None:
        vectors = embed(encoder, tokenizer, list(texts), max_length)
    else:  # the mean-pooling classifier's last layer reads exactly these embeddings
        pooled = models.pretrained_classifier(model_key, _CACHED_LABELS, pooling="mean")
        vectors = known.compute(pooled, tokenizer, list(texts), max_length)
    return _softmax(vectors @ embed(encoder, tokenizer, descriptions, max_length).T / temperature)


@functools.lru_cache(maxsize=2)
def _nli_model(nli_model: str):
    """An NLI checkpoint with its own trained head, and the index of its 'entailment' class."""
    model = models.load_classifier(nli_model)  # its own trained head
    entailment = [i for i, name in model.config.id2label.items() if str(name).lower().startswith("entail")]
    if not entailment:
        raise models.ModelError(say("error.not_nli", model=models.resolve(nli_model).hub_id))
    return model, int(entailment[0])


@torch.inference_mode()
def nli_probabilities(nli_model: str, texts, descriptions: list[str], batch_size: int = 16,
                      max_length: int = 256) -> np.ndarray:
    """(texts, labels) softmax over labels of the entailment logit of (text, description) pairs."""
    model, entailment = _nli_model(nli_model)
    tokenizer = models.load_tokenizer(nli_model)
    device = next(model.parameters()).device
    pairs = [(text, description) for text in texts for description in descriptions]
    logits = []
    for start in range(0, len(pairs), batch_size):
        premises, hypotheses = zip(*pairs[start:start + batch_size])
        encoded = tokenizer(list(premises), list(hypotheses), truncation="only_first", max_length=max_length,
                            padding=True, return_tensors="pt").to(device)
        logits.append(model(**encoded).logits[:, entailment].float().cpu())
    return _softmax(torch.cat(logits).reshape(-1, len(descriptions)).numpy())


@dataclass
class ZeroShotResult:
    method: str  # "similarity" or "nli"
    model: str  # model key or NLI model id
    descriptions: list[str]
    metrics: Metrics
    probabilities: np.ndarray  # (texts, labels)
    seconds: float


def zero_shot(texts, labels, label_names, descriptions=None, *, model_key: str = models.DEFAULT_MODEL,
              nli_model: str | None = None, task: str = "", max_length: int = 128,
              known: Features | None = None) -> ZeroShotResult:
    """Score zero-shot predictions on held-out texts: NLI when nli_model is given, else similarity (with the texts'
    embeddings from `known` where it has them)."""
    descriptions = list(descriptions or default_descriptions(label_names, task))
    if len(descriptions) != len(label_names):
        raise UserError(say("error.descriptions_count", labels=len(label_names), descriptions=len(descriptions)))
    started = time.perf_counter()
    texts = list(texts)
    if nli_model:
        probabilities = nli_probabilities(nli_model, texts, descriptions, max_length=max_length)
    else:
        probabilities = similarity_probabilities(model_key, texts, descriptions, max_length, known=known)
    metrics = scored(probabilities, labels)
    return ZeroShotResult("nli" if nli_model else "similarity", nli_model or model_key, descriptions, metrics,
                          probabilities, time.perf_counter() - started)
