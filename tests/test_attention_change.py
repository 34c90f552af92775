"""Before vs after transfer (JS divergence of attention rows) and head importance by ablation."""
import copy

import numpy as np
import pytest
import torch
from gradio_client import Client

from ktdemo.figures.attention import attention_change_figure, head_importance_figure
from ktdemo.inspection import attention
from ktdemo.models.evaluation import predict_probabilities

TEXTS = ["A fine film.", "Dull, long and far too loud for its own good.", "Wonderful!"]




def test_js_divergence_is_zero_for_equal_one_for_disjoint_and_symmetric():
    rows = np.random.default_rng(0).dirichlet(np.ones(5), size=(3, 4))
    np.testing.assert_allclose(attention.js_divergence(rows, rows), 0.0, atol=1e-12)
    assert attention.js_divergence([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]) == pytest.approx(1.0, abs=1e-9)
    other = rows[::-1]
    forward, backward = attention.js_divergence(rows, other), attention.js_divergence(other, rows)
    assert forward.shape == (3, 4)
    np.testing.assert_allclose(forward, backward)
    assert ((forward >= 0) & (forward <= 1)).all()
    np.testing.assert_allclose(attention.js_divergence(rows.swapaxes(1, 2), other.swapaxes(1, 2), axis=1), forward)


def test_the_same_model_twice_has_not_changed(tiny):
    model, tokenizer = tiny
    change = attention.attention_change(model, model, tokenizer, TEXTS)
    assert change.shape == (2, 2)
    np.testing.assert_allclose(change, 0.0, atol=1e-9)


def _perturbed(model, layer: int):
    changed = copy.deepcopy(model)  # the cached model is shared: never touch it
    with torch.no_grad():
        query = changed.bert.encoder.layer[layer].attention.self.query.weight  # random init is tiny: near-uniform rows
        query.copy_(torch.randn(query.shape, generator=torch.Generator().manual_seed(0)))
    return changed


def test_perturbing_one_layers_queries_changes_only_that_layer(tiny):
    model, tokenizer = tiny
    change = attention.attention_change(model, _perturbed(model, 1), tokenizer, TEXTS)
    np.testing.assert_allclose(change[0], 0.0, atol=1e-9)  # layer 1 reads only the embeddings: untouched
    assert (change[1] > 1e-2).all()


def test_batched_change_ignores_padding(tiny):
    model, tokenizer = tiny
    after = _perturbed(model, 0)
    per_text = []
    for text in TEXTS:  # one text at a time: no padding at all
        before_rows = attention.inspect(model, tokenizer, text).attentions
        after_rows = attention.inspect(after, tokenizer, text).attentions
        per_text.append(attention.js_divergence(before_rows, after_rows).mean(axis=-1))
    batched = attention.attention_change(model, after, tokenizer, TEXTS, batch_size=3)
    np.testing.assert_allclose(batched, np.mean(per_text, axis=0), atol=1e-5)


def test_empty_comparison_is_refused(tiny):
    with pytest.raises(attention.InputError):
        attention.attention_change(tiny[0], *tiny, [])


def test_head_importance_shape_progress_and_a_silenced_layer(tiny):
    model, tokenizer = tiny
    silenced = copy.deepcopy(model)
    with torch.no_grad():  # layer 2's heads feed a zero projection: switching one off changes nothing
        silenced.bert.encoder.layer[1].attention.output.dense.weight.zero_()
    texts = TEXTS * 3
    labels = predict_probabilities(silenced, tokenizer, texts, 64).argmax(axis=1)  # baseline accuracy is 100%
    calls = []
    drop = attention.head_importance(silenced, tokenizer, texts, labels, on_head=lambda *done: calls.append(done))
    assert drop.shape == (2, 2) and calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert (drop >= 0).all()  # nothing beats 100%
    np.testing.assert_array_equal(drop[1], 0.0)
    with pytest.raises(attention.InputError, match="examples"):
        attention.head_importance(model, tokenizer, [], [])


def test_change_figure_has_layers_as_rows_and_heads_as_columns():
    change = np.random.default_rng(3).uniform(0, 0.3, size=(3, 4))
    trace = attention_change_figure(change).data[0]
    assert np.asarray(trace.z).shape == (3, 4)
    assert list(trace.x) == ["H1", "H2", "H3", "H4"] and list(trace.y) == ["L1", "L2", "L3"]
    assert trace.zmin == 0 and "JS" in trace.hovertemplate


def test_importance_figure_is_in_points_and_centred_on_zero():
    drop = np.array([[0.05, -0.02], [0.0, 0.1]])
    figure = head_importance_figure(drop)
    trace = figure.data[0]
    np.testing.assert_allclose(trace.z, 100 * drop)
    assert trace.zmin == -trace.zmax == pytest.approx(-10.0)
    assert "points" in figure.layout.title.text


def test_the_endpoints_before_and_after_training(app_url, tiny_model):
    client = Client(app_url, verbose=False)
    note, before, after, change = client.predict("A fine film.", api_name="/attention_change")
    assert "Train a model first" in note and change is None
    ranking, figure = client.predict(model=tiny_model, api_name="/head_importance")  # the untrained head works
    assert "64" in ranking and "untrained head" in ranking and figure is not None

    client.predict(model=tiny_model, time_budget_s=5, per_class="16", api_name="/train")
    note, before, after, change = client.predict("A fine film.", api_name="/attention_change")
    assert "Jensen–Shannon" in note and "Most changed" in note
    assert before is not None and after is not None and change is not None
    note, before, after, change = client.predict("  ", api_name="/attention_change")
    assert "Type a sentence" in note and before is None and change is not None
    ranking, figure = client.predict(model=tiny_model, api_name="/head_importance")
    assert "Fine-tuned" in ranking and figure is not None
