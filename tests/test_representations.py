"""What transfer did inside the model: CKA, 2-D projections, separation, layer change, norm-based attention."""
import copy

import numpy as np
import pytest
import torch

from ktdemo import models
from ktdemo.figures import inside
from ktdemo.inspection import attention, representations
from ktdemo.inspection.representations import RepresentationError, linear_cka
from ktdemo.models.evaluation import predict_probabilities

TEXTS = ["A fine film.", "Dull, long and far too loud for its own good.", "Wonderful!", "Not for me.",
         "The cast is wonderful and the script is sharp.", "It never quite decides what it wants to be.",
         "I laughed, I cried.", "Boring.", "An uneven but often brilliant debut.", "Not worth the ticket price.",
         "A gorgeous, moving film.", "The plot falls apart in the second hour."]
LABELS = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0])


@pytest.fixture(scope="module")
def tiny(tiny_model):
    return models.pretrained_classifier(tiny_model, ["neg", "pos"]), models.load_tokenizer(tiny_model)


@pytest.fixture(scope="module")
def tiny_mean(tiny_model):
    return models.pretrained_classifier(tiny_model, ["neg", "pos"], pooling="mean")


def _orthogonal(size: int, seed: int = 0) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(size, size)))
    return q * np.sign(np.diag(r))


def _cka_by_centering_matrix(x, y) -> float:
    """HSIC form, independent of the module: tr(KHLH) / sqrt(tr(KHKH) tr(LHLH)), K = XXᵀ, L = YYᵀ."""
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l = h @ x @ x.T @ h, h @ y @ y.T @ h
    return float(np.trace(k @ l) / np.sqrt(np.trace(k @ k) * np.trace(l @ l)))


def _blobs(n: int = 60, dims: int = 20, distance: float = 20.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n // 2)
    points = rng.normal(size=(n, dims))
    points[labels == 1, 0] += distance
    return points, labels


# --- CKA -----------------------------------------------------------------------------------------------------

def test_cka_of_a_representation_with_itself_is_one():
    x = np.random.default_rng(0).normal(size=(40, 8))
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-12)


def test_cka_is_invariant_to_rotation_and_isotropic_scaling_but_not_to_stretching_one_axis():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(50, 6)), rng.normal(size=(50, 9))
    q = _orthogonal(9, seed=2)
    assert linear_cka(x, 3.7 * x @ _orthogonal(6)) == pytest.approx(1.0, abs=1e-10)
    assert linear_cka(x, 0.2 * y @ q) == pytest.approx(linear_cka(x, y), abs=1e-10)
    stretched = x.copy()
    stretched[:, 0] *= 10
    assert linear_cka(x, stretched) < 0.9


def test_cka_of_independent_random_matrices_is_far_below_one():
    rng = np.random.default_rng(3)
    assert linear_cka(rng.normal(size=(500, 10)), rng.normal(size=(500, 10))) < 0.1


@pytest.mark.parametrize("shape", [(20, 50), (200, 5)])  # Gram form (n < d) and feature form (n ≥ d)
def test_both_forms_of_cka_agree_with_the_centering_matrix_formula(shape):
    rng = np.random.default_rng(4)
    x = rng.normal(size=shape)
    y = x[:, :3] @ rng.normal(size=(3, shape[1])) + rng.normal(size=shape)
    assert linear_cka(x, y) == pytest.approx(_cka_by_centering_matrix(x, y), rel=1e-9)
    assert 0.05 < linear_cka(x, y) < 0.99


def test_cka_refuses_mismatched_or_constant_inputs():
    with pytest.raises(RepresentationError, match="same examples"):
        linear_cka(np.ones((4, 2)), np.ones((5, 2)))
    with pytest.raises(RepresentationError, match="same for every example"):
        linear_cka(np.ones((4, 2)), np.random.default_rng(0).normal(size=(4, 2)))


# --- projection and separation -------------------------------------------------------------------------------

def test_far_apart_blobs_score_as_separable_and_stay_separable_in_2d():
    from sklearn.linear_model import LogisticRegression

    points, labels = _blobs()
    assert representations.separation_score(points, labels) >= 0.95
    before, after, share_before, _ = representations.project_2d(points, points)
    assert before.shape == after.shape == (60, 2)
    assert LogisticRegression(C=1e4, max_iter=5000).fit(before, labels).score(before, labels) == 1.0
    assert share_before[0] > 0.5  # the gap between the blobs is the main direction of variance


def test_random_labels_are_not_separable():
    points = np.random.default_rng(5).normal(size=(80, 10))
    labels = np.random.default_rng(6).integers(0, 2, size=80)
    assert representations.separation_score(points, labels) < 0.75


def test_separation_needs_two_classes_and_copes_with_few_examples():
    points, labels = _blobs(n=6, dims=1)  # one clear dimension: 2 training examples per class suffice
    assert representations.separation_score(points, labels, folds=5) >= 0.95  # 3 per class: 3 folds
    with pytest.raises(RepresentationError, match="two classes"):
        representations.separation_score(points, np.zeros(6, dtype=int))
    singleton = np.vstack([points, points[:1]])
    assert representations.separation_score(singleton, np.append(labels, 2)) >= 0.95  # the lone class is left out


def test_projection_is_deterministic_and_does_not_flip_for_a_rotated_rescaled_space():
    points, _ = _blobs(n=40, dims=8)
    rotated = 3.0 * points @ _orthogonal(8, seed=7)
    before, after, share_before, share_after = representations.project_2d(points, rotated)
    np.testing.assert_allclose(after, 3.0 * before, atol=1e-8)  # same picture: signs agree with before's
    np.testing.assert_allclose(share_after, share_before, atol=1e-10)
    again = representations.project_2d(points, rotated)
    np.testing.assert_array_equal(again[0], before)
    farthest = np.abs(before).argmax(axis=0)
    assert (before[farthest, [0, 1]] > 0).all()


# --- one forward pass ----------------------------------------------------------------------------------------

def test_pooled_vectors_are_what_the_cls_head_reads(tiny):
    model, tokenizer = tiny
    encoded = representations.encode(model, tokenizer, TEXTS[:3])
    for i, text in enumerate(TEXTS[:3]):
        with torch.no_grad():
            pooled = model.bert(**tokenizer(text, return_tensors="pt")).pooler_output[0].numpy()
        np.testing.assert_allclose(encoded.sentences[i], pooled, atol=1e-5)
    expected = predict_probabilities(model, tokenizer, TEXTS[:3], 64).argmax(axis=1)
    np.testing.assert_array_equal(encoded.predictions, expected)


def test_pooled_vectors_of_a_mean_pooled_model_are_its_normalised_mean(tiny_mean, tiny):
    _, tokenizer = tiny
    vectors = representations.sentence_embeddings(tiny_mean, tokenizer, TEXTS[:3])
    for i, text in enumerate(TEXTS[:3]):
        with torch.no_grad():
            hidden = tiny_mean.bert(**tokenizer(text, return_tensors="pt")).last_hidden_state[0].numpy()
        mean = hidden.mean(axis=0)
        np.testing.assert_allclose(vectors[i], mean / np.linalg.norm(mean), atol=1e-5)


def test_layer_means_leave_padding_out_and_keep_the_texts_order(tiny):
    model, tokenizer = tiny
    texts = TEXTS[:4]  # different lengths: each batch pads
    batched = representations.hidden_states(model, tokenizer, texts)
    assert len(batched) == model.config.num_hidden_layers + 1
    for i, text in enumerate(texts):
        with torch.no_grad():
            states = model(**tokenizer(text, return_tensors="pt"), output_hidden_states=True).hidden_states
        for layer, state in zip(batched, states):
            np.testing.assert_allclose(layer[i], state[0].mean(dim=0).numpy(), atol=1e-5)


def test_a_model_in_training_mode_is_read_without_dropout_and_left_training(tiny):
    model, tokenizer = tiny
    training = models.trainable_copy(model)  # train mode, SDPA attention: no attention weights needed here
    assert training.training
    vectors = representations.sentence_embeddings(training, tokenizer, TEXTS[:3])
    assert training.training
    np.testing.assert_allclose(vectors, representations.sentence_embeddings(model, tokenizer, TEXTS[:3]), atol=1e-5)


def test_no_texts_is_refused(tiny):
    with pytest.raises(RepresentationError, match="at least one sentence"):
        representations.encode(*tiny, [])


# --- layer change --------------------------------------------------------------------------------------------

def _perturbed_top_layer(model):
    changed = copy.deepcopy(model)  # the cached model is shared: never touch it
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in changed.bert.encoder.layer[-1].modules():
            if isinstance(module, torch.nn.Linear):
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * 0.5)
    return changed


def test_identical_models_have_cka_one_everywhere_and_equal_probes(tiny):
    model, tokenizer = tiny
    change = representations.layer_change(model, model, tokenizer, TEXTS, LABELS)
    layers = model.config.num_hidden_layers + 1
    assert change.names == ["embeddings", "layer 1", "layer 2"]
    assert change.cka.shape == change.probe_before.shape == change.probe_after.shape == (layers,)
    np.testing.assert_allclose(change.cka, 1.0, atol=1e-9)
    np.testing.assert_array_equal(change.probe_before, change.probe_after)
    assert ((change.probe_before >= 0) & (change.probe_before <= 1)).all()
    assert change.chance == pytest.approx(0.5) and change.examples == len(TEXTS)
    assert change.top_layers_moved_most is None and str(change.summary).startswith("No layer changed much")


def test_perturbing_the_top_layer_moves_only_the_top_layer(tiny):
    model, tokenizer = tiny
    change = representations.layer_change(model, _perturbed_top_layer(model), tokenizer, TEXTS, LABELS)
    np.testing.assert_allclose(change.cka[:2], 1.0, atol=1e-6)  # the embeddings and layer 1 are untouched
    assert change.cka[2] < 0.95
    np.testing.assert_array_equal(change.probe_before[:2], change.probe_after[:2])
    assert change.top_layers_moved_most is True
    assert str(change.summary).startswith(f"The top layer changed most (CKA {change.cka[2]:.2f})")
    assert "as Merchant et al. (2020) found" in str(change.summary)


def test_summary_is_read_from_the_numbers():
    names = representations.layer_names(7)
    top, held = representations.change_summary(np.array([1.0, 0.99, 0.98, 0.97, 0.956, 0.74, 0.61]), names)
    top = str(top)  # its English
    assert top == ("The top 2 layers changed most (CKA 0.74, 0.61); the other layers stayed close to the pretrained "
                   "ones (CKA ≥ 0.95): as Merchant et al. (2020) found, transfer moved mostly the top layers.")
    assert held is True
    low, held = representations.change_summary(np.array([0.5, 0.6, 0.9, 0.99, 0.99, 0.99, 0.99]), names)
    low = str(low)
    assert low.startswith("The embeddings and layer 1 changed most (CKA 0.50, 0.60); the other layers stayed "
                          "closer to the pretrained ones (CKA ≥ 0.90)")
    assert "unlike Merchant et al. (2020)" in low and held is False
    middle, _ = representations.change_summary(np.array([1.0, 0.99, 0.7, 0.98, 0.75, 0.99, 0.99]), names)
    middle = str(middle)
    assert middle.startswith("Layers 2 and 4 changed most (CKA 0.70, 0.75)")


# --- sentence space ------------------------------------------------------------------------------------------

def test_sentence_space_shapes_and_mistakes(tiny):
    model, tokenizer = tiny
    after = _perturbed_top_layer(model)
    predictions = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0])
    domains = ["source"] * 6 + ["target"] * 6
    space = representations.sentence_space(model, after, tokenizer, TEXTS, LABELS, ["neg", "pos"], predictions,
                                           domains)
    assert space.before.shape == space.after.shape == (len(TEXTS), 2)
    np.testing.assert_array_equal(space.mistakes, predictions != LABELS)
    assert space.mistakes.sum() == 4 and space.domains == domains and space.texts == TEXTS
    assert 0 <= space.separation_before <= 1 and 0 <= space.separation_after <= 1
    by_default = representations.sentence_space(model, after, tokenizer, TEXTS, LABELS, ["neg", "pos"])
    expected = predict_probabilities(after, tokenizer, TEXTS, 64).argmax(axis=1)
    np.testing.assert_array_equal(by_default.predictions, expected)
    np.testing.assert_array_equal(by_default.mistakes, expected != LABELS)
    assert by_default.domains is None


def test_an_unchanged_model_draws_the_same_space_twice(tiny):
    model, tokenizer = tiny
    space = representations.sentence_space(model, model, tokenizer, TEXTS, LABELS, ["neg", "pos"])
    np.testing.assert_allclose(space.after, space.before, atol=1e-9)
    assert space.separation_after == space.separation_before


def test_sentence_space_refuses_mismatched_domains(tiny):
    model, tokenizer = tiny
    with pytest.raises(RepresentationError, match="one domain per text"):
        representations.sentence_space(model, model, tokenizer, TEXTS, LABELS, ["neg", "pos"], domains=["source"])


# --- norm-based attention ------------------------------------------------------------------------------------

def _hand_built_bert(tokenizer):
    """One layer, hidden 4, two heads of 2: the value and output weights set by hand, so f(x_j) is known."""
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=4, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=8, max_position_embeddings=64)
    model = BertForSequenceClassification(config)
    model.set_attn_implementation("eager")
    self_attention, output = model.bert.encoder.layer[0].attention.self, model.bert.encoder.layer[0].attention.output
    with torch.no_grad():
        self_attention.value.weight.copy_(torch.diag(torch.tensor([1.0, 2.0, 3.0, 4.0])))
        self_attention.value.bias.copy_(torch.tensor([1.0, 0.0, 0.0, -1.0]))
        # torch's (out, in): head 0 reads inputs 0-1 and writes 3×them to outputs 0-1; head 1 writes 0.5× its
        # inputs 2-3 to outputs 0-1 too. Transposed by mistake, the norms would come out otherwise.
        output.dense.weight.copy_(torch.tensor([[3.0, 0.0, 0.5, 0.0], [0.0, 3.0, 0.0, 0.5],
                                                [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]))
    return model.eval()


def test_norm_based_weights_on_a_hand_built_layer(tiny):
    _, tokenizer = tiny
    model = _hand_built_bert(tokenizer)
    result = representations.norm_attention(model, tokenizer, "A fine film.")
    with torch.no_grad():
        x = model.bert.embeddings(**{k: v for k, v in tokenizer("A fine film.", return_tensors="pt").items()
                                     if k != "attention_mask"})[0].numpy()
    values = x * np.array([1.0, 2.0, 3.0, 4.0]) + np.array([1.0, 0.0, 0.0, -1.0])
    by_hand = np.stack([3.0 * np.linalg.norm(values[:, :2], axis=1), 0.5 * np.linalg.norm(values[:, 2:], axis=1)])
    np.testing.assert_allclose(result.value_norms[0], by_hand, rtol=1e-5)
    np.testing.assert_allclose(result.norms, result.attentions * by_hand[None, :, None, :], rtol=1e-5, atol=1e-7)
    # [CLS]'s summed contribution: both heads write to outputs 0-1, so their vectors add up before the norm
    alpha = result.attentions[0, :, 0, :]  # (heads, tokens)
    summed = alpha[0, :, None] * 3.0 * values[:, :2] + alpha[1, :, None] * 0.5 * values[:, 2:]
    np.testing.assert_allclose(result.cls_norm[0], np.linalg.norm(summed, axis=1), rtol=1e-5)


def test_norm_based_weights_on_the_tiny_model_from_its_own_weights(tiny):
    model, tokenizer = tiny
    text = "A fine film, a fine film."
    result = representations.norm_attention(model, tokenizer, text)
    inspected = attention.inspect(model, tokenizer, text)
    assert result.tokens == inspected.tokens and result.special[0] and result.special[-1]
    np.testing.assert_allclose(result.attentions, inspected.attentions, atol=1e-6)
    with torch.no_grad():
        states = model(**tokenizer(text, return_tensors="pt"), output_hidden_states=True).hidden_states
    heads, size = model.config.num_attention_heads, model.config.hidden_size // model.config.num_attention_heads
    for index, layer in enumerate(model.bert.encoder.layer):
        x = states[index][0].numpy()
        value = layer.attention.self.value
        w_o = layer.attention.output.dense.weight.detach().numpy()
        v = x @ value.weight.detach().numpy().T + value.bias.detach().numpy()
        for head in range(heads):
            span = slice(head * size, (head + 1) * size)
            f = v[:, span] @ w_o[:, span].T  # (tokens, hidden)
            np.testing.assert_allclose(result.value_norms[index, head], np.linalg.norm(f, axis=1), rtol=1e-4)
            expected = result.attentions[index, head] * np.linalg.norm(f, axis=1)[None, :]
            np.testing.assert_allclose(result.norms[index, head], expected, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(result.cls_raw, result.attentions[:, :, 0, :].mean(axis=1), atol=1e-7)
    assert result.cls_norm.shape == (2, len(result.tokens)) and (result.cls_norm >= 0).all()


def test_norm_attention_refuses_other_layouts_and_sdpa(tiny):
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    model, tokenizer = tiny
    distil = DistilBertForSequenceClassification(DistilBertConfig(vocab_size=tokenizer.vocab_size, dim=16,
                                                                  n_layers=1, n_heads=2, hidden_dim=32))
    with pytest.raises(ValueError, match="BERT-style layers"):
        representations.norm_attention(distil, tokenizer, "hello")
    with pytest.raises(RuntimeError, match="eager"):
        representations.norm_attention(models.trainable_copy(model), tokenizer, "hello")


# --- figures -------------------------------------------------------------------------------------------------

def test_figures_draw_the_data(tiny):
    model, tokenizer = tiny
    after = _perturbed_top_layer(model)
    domains = ["source"] * 6 + ["target"] * 6
    space = representations.sentence_space(model, after, tokenizer, TEXTS, LABELS, ["neg", "pos"],
                                           np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0]), domains)
    figure = inside.sentence_space_figure(space)
    titles = [a.text for a in figure.layout.annotations]
    assert titles[0].startswith("Pretrained") and titles[1].startswith("After transfer")
    drawn = [t for t in figure.data if t.x[0] is not None]
    assert sum(len(t.x) for t in drawn) == 2 * len(TEXTS)
    assert sum(len(t.x) for t in drawn if t.marker.symbol.endswith("-open")) == 2 * 4
    assert {t.marker.symbol.removesuffix("-open") for t in drawn} == {"circle", "diamond"}

    change = representations.layer_change(model, after, tokenizer, TEXTS, LABELS)
    bars = inside.layer_change_figure(change).data[0]
    np.testing.assert_allclose(bars.y, change.cka)
    assert len(bars.x) == 3

    norm = representations.norm_attention(model, tokenizer, "A fine film.")
    raw, normed = inside.norm_attention_figure(norm, 1, 0).data
    np.testing.assert_allclose(raw.z, norm.attentions[1, 0], rtol=1e-2)
    np.testing.assert_allclose(normed.z, norm.norms[1, 0], rtol=1e-2)
    shares = inside.cls_row_figure(norm).data
    assert sum(shares[0].y) == pytest.approx(1.0, abs=1e-2) and sum(shares[1].y) == pytest.approx(1.0, abs=1e-2)
    with pytest.raises(ValueError, match="no head 3"):
        inside.norm_attention_figure(norm, 0, 2)


def test_named_domains_keep_source_circles_and_target_diamonds():
    points, labels = _blobs(n=8, dims=3)
    domains = ["source: Rotten Tomatoes"] * 4 + ["target: Amazon"] * 4
    space = representations.SentenceSpace(
        before=points[:, :2], after=points[:, :2], labels=labels, label_names=["neg", "pos"], predictions=labels,
        mistakes=np.zeros(8, dtype=bool), texts=["<b>" + "x" * 300] * 8, domains=domains, separation_before=1.0,
        separation_after=1.0, variance_before=np.array([0.5, 0.2]), variance_after=np.array([0.5, 0.2]))
    figure = inside.sentence_space_figure(space)
    drawn = [t for t in figure.data if t.x[0] is not None]
    assert {t.marker.symbol for t in drawn} == {"circle", "diamond"}
    assert {t.name for t in figure.data if t.x[0] is None} >= set(domains)
    hover = drawn[0].text[0]
    assert hover.startswith("&lt;b&gt;") and len(hover.split("<br>")[0]) < 120  # escaped and cut
