"""What transfer did inside the model, as plain numpy data: sentence spaces, layers, norm-based attention.

- Sentence space: the pooled vector the classifier head reads, before and after transfer, in 2-D (PCA),
  with a cross-validated linear separation score per model.
- Layer change: per layer (0 = the embeddings, then each encoder layer), linear CKA between the pretrained
  and the transferred model (Kornblith et al. 2019) and a linear probe's accuracy in each; Merchant et al.
  (2020) found that fine-tuning mostly moves the top layers, and the summary says whether it did here.
- Norm-based attention (Kobayashi et al. 2020): ||α_ij f(x_j)|| instead of α_ij alone, where f(x_j) is the
  value vector passed through the head's slice of the output projection: a large weight on a tiny vector
  moves nothing.

One forward pass per model gives the pooled vectors, every layer and the logits (`encode`); the views take
models and texts, or those `Encoded` results, so a caller can cache one pass per run and draw both views
from it. The models may be shared between sessions: nothing here changes them, and hooks read only this
thread's passes. Drawing lives in `figures.inside`.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from ..messages import Message, Said, plain, say
from ..models.anatomy import bert_layers, last_linear
from ..models.evaluation import length_sorted_batches
from .attention import DISPLAY_TOKENS, clean_text, model_pooling, reader_weights
from .hooks import this_thread_hooks

MAX_ITER = 1000  # logistic regression on standardised features converges well within this
NOT_SUPPORTED = say("error.norm_not_supported")
UNCHANGED = 0.01  # 1 - CKA below this everywhere: transfer left every layer where it was
CLOSE = 0.95  # CKA at or above this: a layer "stayed close" to the pretrained one


class RepresentationError(Said, ValueError):
    """The texts or labels cannot give this view; the message is one sentence for the user."""


# --- One forward pass: pooled vectors, every layer, logits -------------------------------------------------------

@dataclass
class Encoded:
    """What one model makes of some texts, in the texts' order."""

    sentences: np.ndarray  # (n, d): the pooled vector the classifier's last linear layer reads
    layers: list[np.ndarray]  # (layers + 1) × (n, hidden): mean over real tokens, embeddings first
    logits: np.ndarray  # (n, labels): the classifier's output, for its predictions

    @property
    def predictions(self) -> np.ndarray:
        return self.logits.argmax(axis=1)


@contextmanager
def _captured_inputs(module):
    """Within the block, the inputs of `module` in this thread's forward passes land in the list, in order."""
    inputs = []

    def keep(_module, args):
        inputs.append(args[0].detach())

    with this_thread_hooks([(module, keep)], pre=True):
        yield inputs


def _masked_mean(state: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(batch, tokens, hidden) -> (batch, hidden): the mean over real tokens (padding left out), not normalised,
    so a layer's geometry (norms included) is what CKA and the probes see."""
    weights = mask.unsqueeze(-1).to(state.dtype)
    return (state * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


@contextmanager
def _in_eval_mode(model):
    """No dropout within the block (the same text always gives the same vectors); a model already in eval
    mode, as the shared ones are, is left untouched."""
    was_training = model.training
    if was_training:
        model.eval()
    try:
        yield model
    finally:
        if was_training:
            model.train()


@torch.inference_mode()
def encode(model, tokenizer, texts, max_length: int = 64, batch_size: int = 64) -> Encoded:
    """Pooled vectors, every layer's sentence means and the logits of `texts`, in one batched forward pass.

    The pooled vector is captured at the input of the classifier's last linear layer, so it is whatever the
    model's head reads: a sentence encoder's normalised mean (`heads._MeanPooling`), BERT's pooled [CLS]...
    For a pretrained model with a fresh head it is the same vector, before any training moved it.
    """
    texts = list(texts)
    if not texts:
        raise RepresentationError(say("error.view_needs_sentence"))
    order, sentences, layers, logits = [], [], [], []
    with _in_eval_mode(model), _captured_inputs(last_linear(model)) as pooled:
        for batch, encoded in length_sorted_batches(tokenizer, texts, max_length, model.device, batch_size):
            pooled.clear()
            output = model(**encoded, output_hidden_states=True)
            order.append(batch)
            sentences.append(pooled[-1].float().cpu().numpy())
            layers.append([_masked_mean(state.float(), encoded["attention_mask"]).cpu().numpy()
                           for state in output.hidden_states])
            logits.append(output.logits.float().cpu().numpy())
    inverse = np.argsort(np.concatenate(order))  # batches come sorted by length: back to the texts' order
    return Encoded(sentences=np.concatenate(sentences)[inverse],
                   layers=[np.concatenate(rows)[inverse] for rows in zip(*layers)],
                   logits=np.concatenate(logits)[inverse])


def sentence_embeddings(model, tokenizer, texts, max_length: int = 64, batch_size: int = 64) -> np.ndarray:
    """(n, d): the pooled sentence vectors the classifier head reads."""
    return encode(model, tokenizer, texts, max_length, batch_size).sentences


def hidden_states(model, tokenizer, texts, max_length: int = 64, batch_size: int = 64) -> list[np.ndarray]:
    """(layers + 1) × (n, hidden): each layer's output (the embeddings first) averaged over real tokens."""
    return encode(model, tokenizer, texts, max_length, batch_size).layers


# --- Comparing representations -------------------------------------------------------------------------------

def linear_cka(x, y) -> float:
    """Linear CKA (Kornblith et al. 2019) of two representations of the same n examples, (n, d1) and (n, d2):
    ||Yᵀ X||²_F / (||Xᵀ X||_F ||Yᵀ Y||_F) on centred columns. 1: the same up to rotation and scale; ~0: unrelated."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise RepresentationError("CKA compares two (examples × features) arrays with the same examples.")
    x, y = x - x.mean(axis=0), y - y.mean(axis=0)
    if len(x) < max(x.shape[1], y.shape[1]):  # fewer examples than features: the n × n Gram form is cheaper
        gram_x, gram_y = x @ x.T, y @ y.T
        cross, norm_x, norm_y = (gram_x * gram_y).sum(), np.linalg.norm(gram_x), np.linalg.norm(gram_y)
    else:
        cross = np.linalg.norm(y.T @ x) ** 2
        norm_x, norm_y = np.linalg.norm(x.T @ x), np.linalg.norm(y.T @ y)
    if norm_x == 0 or norm_y == 0:
        raise RepresentationError("CKA is undefined when a representation is the same for every example.")
    return float(cross / (norm_x * norm_y))


def _principal_axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) PCA coordinates and the share of variance of each axis; zeros where there is no second axis."""
    from sklearn.decomposition import PCA  # imported here: sklearn takes a second to import

    coordinates, shares = np.zeros((len(points), 2)), np.zeros(2)
    components = min(2, len(points) - 1, points.shape[1])
    if components > 0:
        pca = PCA(n_components=components, svd_solver="full")  # exact SVD: no randomness to seed
        coordinates[:, :components] = pca.fit_transform(points)
        shares[:components] = pca.explained_variance_ratio_
    return coordinates, shares


def _signs_by_extreme(coordinates: np.ndarray) -> np.ndarray:
    """+1/-1 per axis so that the point farthest from the centre on it lies on its positive side."""
    extreme = coordinates[np.abs(coordinates).argmax(axis=0), np.arange(coordinates.shape[1])]
    return np.where(extreme < 0, -1.0, 1.0)


def project_2d(before, after) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Both models' vectors of the same texts in 2-D: (before points, after points, before's and after's share
    of variance on each axis).

    The two models' spaces are different spaces, so one PCA per model, not one fitted on both: the same method
    on each side. PCA's axis signs are arbitrary, so they are fixed: before's farthest point on each axis is on
    its positive side, and after's axes are turned to agree with before's (their coordinates correlate
    positively), so an unchanged model draws the same picture twice and nothing flips between runs. Texts from
    two domains go into one array per model: they share that model's projection.
    """
    before, after = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    if len(before) != len(after):
        raise RepresentationError("Before and after must be vectors of the same texts.")
    points_before, share_before = _principal_axes(before)
    points_after, share_after = _principal_axes(after)
    points_before *= _signs_by_extreme(points_before)
    agreement = (points_before * points_after).sum(axis=0)
    points_after *= np.where(agreement < 0, -1.0, np.where(agreement > 0, 1.0, _signs_by_extreme(points_after)))
    return points_before, points_after, share_before, share_after


def separation_score(embeddings, labels, folds: int = 5, seed: int = 0) -> float:
    """How linearly separable the classes are: cross-validated accuracy of a logistic regression on the
    standardised vectors, in stratified folds (fewer where a class has fewer examples than `folds`).

    A class with a single example cannot be both trained on and tested on, so it is left out of the score.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = np.asarray(embeddings, dtype=np.float64), np.asarray(labels)
    if len(x) != len(y):
        raise RepresentationError("Give one label per vector.")
    classes, counts = np.unique(y, return_counts=True)
    kept = np.isin(y, classes[counts >= 2])
    if (counts >= 2).sum() < 2:
        raise RepresentationError("A separation score needs at least two classes with two or more examples each.")
    splits = max(2, min(folds, int(counts[counts >= 2].min())))
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=MAX_ITER))
    folded = StratifiedKFold(n_splits=splits, shuffle=True, random_state=seed)
    return float(cross_val_score(probe, x[kept], y[kept], cv=folded).mean())


def chance_accuracy(labels) -> float:
    """The accuracy of always guessing the most common class: the floor a probe must beat."""
    _, counts = np.unique(np.asarray(labels), return_counts=True)
    return float(counts.max() / counts.sum()) if counts.size else float("nan")


# --- Sentence space ------------------------------------------------------------------------------------------

@dataclass
class SentenceSpace:
    """The sentences as the head sees them, in 2-D, before and after transfer (one row per text)."""

    before: np.ndarray  # (n, 2) PCA of the pretrained model's pooled vectors
    after: np.ndarray  # (n, 2) PCA of the transferred model's pooled vectors (its own PCA)
    labels: np.ndarray  # (n,) true class index
    label_names: list[str]
    predictions: np.ndarray  # (n,) the transferred model's predicted class
    mistakes: np.ndarray  # (n,) bool: predictions != labels
    texts: list[str]
    domains: list | None  # per text, for cross-domain ("source…"/"target…" or a Message), None when one domain
    separation_before: float  # cross-validated linear probe accuracy in the full pooled space
    separation_after: float
    variance_before: np.ndarray  # (2,) share of variance on each axis
    variance_after: np.ndarray


def compare_spaces(before: Encoded, after: Encoded, texts, labels, label_names, predictions=None, domains=None,
                   folds: int = 5, seed: int = 0) -> SentenceSpace:
    """The sentence space from two `encode` results of the same texts; `predictions` default to after's."""
    texts, labels = list(texts), np.asarray(labels, dtype=int)
    predictions = after.predictions if predictions is None else np.asarray(predictions, dtype=int)
    if not len(texts) == len(labels) == len(predictions) == len(before.sentences) == len(after.sentences):
        raise RepresentationError("Give one label and one prediction per text.")
    if domains is not None and len(domains) != len(texts):
        raise RepresentationError("Give one domain per text.")
    points_before, points_after, share_before, share_after = project_2d(before.sentences, after.sentences)
    return SentenceSpace(
        before=points_before, after=points_after, labels=labels, label_names=list(label_names),
        predictions=predictions, mistakes=predictions != labels, texts=texts,
        domains=list(domains) if domains is not None else None,
        separation_before=separation_score(before.sentences, labels, folds, seed),
        separation_after=separation_score(after.sentences, labels, folds, seed),
        variance_before=share_before, variance_after=share_after)


def sentence_space(before_model, after_model, tokenizer, texts, labels, label_names, predictions=None,
                   domains=None, max_length: int = 64, batch_size: int = 64, folds: int = 5,
                   seed: int = 0) -> SentenceSpace:
    """The pooled vectors of `texts` in the pretrained and the transferred model, side by side in 2-D.

    `predictions` (the transferred model's, for the mistakes) are computed in the same pass when not given;
    `domains` names each text's domain for a cross-domain run.
    """
    texts = list(texts)
    encoded_before = encode(before_model, tokenizer, texts, max_length, batch_size)
    encoded_after = encode(after_model, tokenizer, texts, max_length, batch_size)
    return compare_spaces(encoded_before, encoded_after, texts, labels, label_names, predictions, domains, folds, seed)


# --- Layer by layer ------------------------------------------------------------------------------------------

@dataclass
class LayerChange:
    """Per layer, 0 = the embeddings, 1..L = the encoder layers' outputs."""

    names: list[str]  # "embeddings", "layer 1", ...
    cka: np.ndarray  # (L + 1,) linear CKA between the pretrained and the transferred layer
    probe_before: np.ndarray  # (L + 1,) cross-validated linear probe accuracy on the pretrained layer
    probe_after: np.ndarray  # (L + 1,) ... on the transferred layer
    chance: float  # accuracy of always guessing the most common class
    summary: Message  # one line: which layers moved, and whether Merchant et al. (2020)'s pattern held
    top_layers_moved_most: bool | None  # Merchant et al.'s finding held here; None: nothing moved
    examples: int


def layer_names(count: int) -> list[str]:
    return ["embeddings"] + [f"layer {i}" for i in range(1, count)]


def _floor2(value: float) -> str:
    """Two decimals rounded down, so 'CKA ≥ 0.95' stays true of 0.9549."""
    return f"{math.floor(value * 100) / 100:.2f}"


def _layer_name(name: str) -> Message:
    """A name of `layer_names` as a phrase the UI puts in its words."""
    if name == "embeddings":
        return say("part.layer_name.embeddings")
    return say("part.layer_name.layer", i=name.removeprefix("layer ")) if name.startswith("layer ") else plain(name)


def _which(layers: list[int], names: list[str], last: int) -> Message:
    """'The top layer', 'The top 2 layers', 'Layers 2 and 4', 'The embeddings and layer 1'."""
    if 0 not in layers and layers == list(range(last - len(layers) + 1, last + 1)):
        return say("part.which.top") if len(layers) == 1 else say("part.which.top_n", n=len(layers))
    if 0 in layers:
        return say("part.which.names", names=[_layer_name(names[i]) for i in layers])
    return say("part.which.layer" if len(layers) == 1 else "part.which.layers", numbers=[str(i) for i in layers])


def change_summary(cka: np.ndarray, names: list[str]) -> tuple[Message, bool | None]:
    """One line from the numbers: the layers that moved most (up to 3, each at least half the largest change),
    how close the rest stayed, and whether the most-moved layers are in the top half as Merchant et al. (2020)
    found for fine-tuning. Returns (sentence, whether the finding held; None when nothing moved)."""
    change, last = 1 - np.asarray(cka, dtype=float), len(cka) - 1
    if change.max() < UNCHANGED:
        return say("notice.layers_unchanged", cka=_floor2(float(np.min(cka)))), None
    ranked = [int(i) for i in np.argsort(-change, kind="stable")[:3] if change[i] >= change.max() / 2]
    moved = sorted(ranked)
    rest = [i for i in range(len(cka)) if i not in moved]
    values = ", ".join(f"{cka[i]:.2f}" for i in moved)
    upper = [i for i in range(1, last + 1) if i > last / 2]
    lower = [i for i in range(len(cka)) if i not in upper]
    held = bool(all(i in upper for i in moved) and change[upper].mean() > change[lower].mean())
    verdict = say("part.verdict.held" if held else "part.verdict.not_held")
    which = _which(moved, names, last)
    if not rest:
        return say("notice.layers_moved", which=which, values=values, verdict=verdict), held
    closest = float(np.min(cka[rest]))
    return say("notice.layers_moved_rest", which=which, values=values, verdict=verdict, cka=_floor2(closest),
               others=say("part.others.embeddings" if rest == [0] else "part.others.rest"),
               how=say("part.how.close" if closest >= CLOSE else "part.how.closer")), held


def compare_layers(before: Encoded, after: Encoded, labels, folds: int = 5, seed: int = 0) -> LayerChange:
    """CKA and probe accuracies per layer from two `encode` results of the same texts."""
    labels = np.asarray(labels, dtype=int)
    if len(before.layers) != len(after.layers):
        raise RepresentationError("The two models have different numbers of layers; they cannot be compared.")
    if len(labels) != len(before.layers[0]):
        raise RepresentationError("Give one label per text.")
    cka = np.array([linear_cka(b, a) for b, a in zip(before.layers, after.layers)])
    probe_before = np.array([separation_score(layer, labels, folds, seed) for layer in before.layers])
    probe_after = np.array([separation_score(layer, labels, folds, seed) for layer in after.layers])
    names = layer_names(len(cka))
    summary, held = change_summary(cka, names)
    return LayerChange(names, cka, probe_before, probe_after, chance_accuracy(labels), summary, held, len(labels))


def layer_change(before_model, after_model, tokenizer, texts, labels, max_length: int = 64,
                 batch_size: int = 64, folds: int = 5, seed: int = 0) -> LayerChange:
    """How far transfer moved each layer (CKA to the pretrained layer) and how linearly readable the task is
    in each, before and after. The models must share the tokenizer and the number of layers."""
    texts = list(texts)
    return compare_layers(encode(before_model, tokenizer, texts, max_length, batch_size),
                          encode(after_model, tokenizer, texts, max_length, batch_size), labels, folds, seed)


# --- Norm-based attention (Kobayashi et al. 2020) --------------------------------------------------------------

@dataclass
class NormAttention:
    """One sentence's attention in every layer and head, as weights and as the size of what each token sends."""

    tokens: list[str]
    special: list[bool]  # True for the tokens the tokenizer added ([CLS], [SEP]...)
    attentions: np.ndarray  # (layers, heads, n, n) α_ij: softmax weights, rows sum to 1
    norms: np.ndarray  # (layers, heads, n, n) ||α_ij f(x_j)||, f(x) = (x W_V + b_V) W_O^head
    value_norms: np.ndarray  # (layers, heads, n) ||f(x_j)||
    cls_raw: np.ndarray  # (layers, n) row 0 ([CLS]) of α, averaged over the heads (as `attention.cls_attention`)
    cls_norm: np.ndarray  # (layers, n) ||Σ_heads α_0j f(x_j)||: token j's whole contribution to [CLS]'s update
    truncated: bool  # the text had more tokens than `max_length`
    # What the classifier reads (`attention.reader_weights`, w: all on [CLS], or 1/n on every token for a
    # mean-pooling head): its row of α, Σ_i w_i α_ij averaged over the heads, and ||Σ_heads Σ_i w_i α_ij f(x_j)||,
    # token j's whole contribution to the update of that vector. For a [CLS] head, the same as cls_raw and cls_norm.
    pooling: str = "cls"
    reader_raw: np.ndarray | None = None  # (layers, n)
    reader_norm: np.ndarray | None = None  # (layers, n)

    @property
    def shape(self) -> tuple[int, int]:
        return self.attentions.shape[0], self.attentions.shape[1]


def _supported_layers(model) -> list:
    try:
        return bert_layers(model)
    except ValueError:
        raise RepresentationError(NOT_SUPPORTED) from None


def _transformed_values(layer, x: torch.Tensor) -> torch.Tensor:
    """(heads, n, hidden): f(x_j) = (x_j W_V + b_V) W_O^h for each head h, W_O^h being the rows of the output
    projection that read head h's slice (the output bias is left out: it does not depend on j)."""
    attention, dense = layer.attention.self, layer.attention.output.dense
    heads, size = attention.num_attention_heads, attention.attention_head_size
    values = attention.value(x).view(x.shape[0], heads, size)  # (n, heads, head size)
    projection = dense.weight.view(dense.out_features, heads, size)  # torch stores W_O transposed: (out, in)
    return torch.einsum("nhd,ohd->hno", values.float(), projection.float())


@torch.inference_mode()
def norm_attention(model, tokenizer, text: str, max_length: int = DISPLAY_TOKENS) -> NormAttention:
    """Kobayashi et al. (2020)'s norm-based attention for one sentence, tokenised as `attention.inspect` does.

    The model must use eager attention (`models.for_inspection`). x_j is the layer's input, the residual stream
    that `output_hidden_states` returns before each layer, so one forward pass gives everything.
    """
    layers = _supported_layers(model)
    text = clean_text(text)
    encoded = tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt",
                        return_special_tokens_mask=True)
    special = [bool(flag) for flag in encoded.pop("special_tokens_mask")[0].tolist()]
    full_length = len(tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])
    with _in_eval_mode(model):
        output = model(**encoded.to(model.device), output_attentions=True, output_hidden_states=True)
    if not output.attentions:
        raise RuntimeError("The model returned no attention weights; load it with attn_implementation='eager'.")
    attentions = torch.stack(output.attentions)[:, 0].float()  # (layers, heads, n, n)
    # hidden_states[l] is the input of layer l (the embeddings for l = 0)
    transformed = torch.stack([_transformed_values(layer, state[0]) for layer, state in
                               zip(layers, output.hidden_states)])  # (layers, heads, n, hidden)
    value_norms = transformed.norm(dim=-1)
    norms = attentions * value_norms[:, :, None, :]  # ||α f|| = α ||f||: α is a non-negative scalar
    cls_norm = torch.einsum("lhj,lhjo->ljo", attentions[:, :, 0, :], transformed).norm(dim=-1)
    pooling = model_pooling(model)
    reads = torch.einsum("i,lhij->lhj", torch.from_numpy(reader_weights(pooling, len(special))).float(),
                         attentions.cpu()).to(attentions.device)  # (layers, heads, n): the rows the head reads
    reader_norm = torch.einsum("lhj,lhjo->ljo", reads, transformed).norm(dim=-1)
    return NormAttention(
        tokens=tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist()), special=special,
        attentions=attentions.cpu().numpy(), norms=norms.cpu().numpy(), value_norms=value_norms.cpu().numpy(),
        cls_raw=attentions[:, :, 0, :].mean(dim=1).cpu().numpy(), cls_norm=cls_norm.cpu().numpy(),
        truncated=full_length > max_length, pooling=pooling, reader_raw=reads.mean(dim=1).cpu().numpy(),
        reader_norm=reader_norm.cpu().numpy())
