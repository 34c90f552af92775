"""The Learn tab's numbers are the model's own: checked against the forward pass on the tiny BERT."""
import numpy as np
import plotly.graph_objects as go
import pytest

from ktdemo.figures import learn as figures
from ktdemo.inspection import attention, lessons

SENTENCE = "A fine film, truly."




@pytest.mark.parametrize("layer, head, token", [(0, 0, 0), (1, 1, 3)])
def test_walkthrough_weights_are_the_models_attention_row(tiny, layer, head, token):
    model, tokenizer = tiny
    walk = lessons.attention_walkthrough(model, tokenizer, SENTENCE, layer, head, token)
    inspection = attention.inspect(model, tokenizer, SENTENCE)
    assert walk.tokens == inspection.tokens
    np.testing.assert_allclose(walk.weights, inspection.attentions[layer, head, token], atol=1e-5)
    assert walk.keys.shape == walk.values.shape == (len(walk.tokens), walk.size)
    np.testing.assert_allclose(walk.scores, walk.keys @ walk.query / np.sqrt(walk.size), rtol=1e-6)


def test_walkthrough_output_is_the_heads_slice_of_the_context(tiny):
    """weights·V equals what the model feeds its attention output projection for that head and token."""
    model, tokenizer = tiny
    layer, head, token = 1, 1, 2
    captured = []
    projection = lessons.bert_layers(model)[layer].attention.output.dense
    handle = projection.register_forward_pre_hook(lambda module, inputs: captured.append(inputs[0][0].clone()))
    try:
        walk = lessons.attention_walkthrough(model, tokenizer, SENTENCE, layer, head, token)
    finally:
        handle.remove()
    context = captured[-1][token, head * walk.size:(head + 1) * walk.size].numpy()
    np.testing.assert_allclose(walk.output, walk.weights @ walk.values, rtol=1e-6)
    np.testing.assert_allclose(walk.output, context, atol=1e-5)
    assert not projection._forward_pre_hooks and not model._forward_hooks  # nothing left behind


def test_walkthrough_refuses_what_does_not_exist(tiny):
    model, tokenizer = tiny
    with pytest.raises(attention.InputError, match="no head 3"):
        lessons.attention_walkthrough(model, tokenizer, SENTENCE, 0, 2, 0)
    with pytest.raises(attention.InputError, match="Type a sentence"):
        lessons.attention_walkthrough(model, tokenizer, " ", 0, 0, 0)


def test_heads_for_token_is_one_row_per_head(tiny):
    inspection = attention.inspect(*tiny, SENTENCE)
    rows = lessons.heads_for_token(inspection, 1, 2)
    assert rows.shape == (2, len(inspection.tokens))
    np.testing.assert_allclose(rows.sum(axis=1), 1, atol=1e-5)


def test_sinusoidal_encoding_known_values():
    encoding = lessons.sinusoidal_encoding(50, 16)
    assert encoding.shape == (50, 16)
    np.testing.assert_allclose(encoding[0, 0::2], 0)  # sin 0
    np.testing.assert_allclose(encoding[0, 1::2], 1)  # cos 0
    assert encoding[1, 0] == pytest.approx(np.sin(1.0)) and encoding[1, 1] == pytest.approx(np.cos(1.0))
    assert encoding[3, 2] == pytest.approx(np.sin(3 / 10000 ** (2 / 16)))
    assert lessons.sinusoidal_encoding(4, 5).shape == (4, 5)  # an odd size has one sine more
    assert lessons.showcase_dimensions(384) == [0, 1, 48, 96]


def test_position_similarity_is_a_cosine_matrix(tiny):
    similarity = lessons.position_similarity(tiny[0], count=20)
    assert similarity.shape == (20, 20)
    np.testing.assert_allclose(np.diag(similarity), 1, atol=1e-6)
    np.testing.assert_allclose(similarity, similarity.T, atol=1e-6)
    near, far = lessons.similarity_by_distance(similarity, 16)
    assert -1 <= near <= 1 and -1 <= far <= 1


def test_models_without_learned_positions_or_bert_layers_get_a_clear_message():
    class Plain:
        base_model = object()

    with pytest.raises(ValueError, match="no learned absolute position"):
        lessons.position_similarity(Plain())
    with pytest.raises(ValueError, match="BERT-style layers"):
        lessons.bert_layers(Plain())


def test_residual_norms_per_layer(tiny):
    model, tokenizer = tiny
    norms = lessons.residual_norms(model, tokenizer, SENTENCE)
    assert set(norms) == {"stream", "attention", "feed_forward"}
    for values in norms.values():
        assert values.shape == (2,) and (values > 0).all()
    assert not lessons.bert_layers(model)[0].output.dense._forward_hooks  # the hooks were removed


def test_figures_from_synthetic_arrays():
    rng = np.random.default_rng(0)
    tokens = ["[CLS]", "a", "film", "a", "[SEP]"]
    weights = np.full(5, 0.2)
    assert isinstance(figures.attention_steps_figure(tokens, rng.normal(size=5), weights, 2, "t"), go.Figure)
    vectors = figures.query_key_value_figure(tokens, rng.normal(size=4), rng.normal(size=(5, 4)),
                                             rng.normal(size=(5, 4)), rng.normal(size=4), "t")
    assert len(vectors.data) == 4
    assert len(figures.heads_figure(np.full((6, 5), 0.2), tokens, 1, 0).data) == 6
    assert len(figures.sinusoid_figure(lessons.sinusoidal_encoding(10, 8), [0, 1, 4]).data) == 4
    assert isinstance(figures.position_similarity_figure(np.eye(4), "t"), go.Figure)
    residual = figures.residual_norms_figure({"stream": np.ones(3), "attention": np.ones(3),
                                              "feed_forward": np.ones(3)})
    assert [trace.name for trace in residual.data] == ["residual stream (layer input)", "attention update",
                                                      "feed-forward update"]
    assert figures.token_labels(tokens)[3] == "3 a"  # a repeated token keeps its own label


def test_learn_endpoint(app_url, tiny_model):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    note, steps, steps_plot, *_, residual_text, residual_plot, layer, head, token = client.predict(
        text=SENTENCE, layer=2, head=2, token=3, model=tiny_model, api_name="/learn")
    assert "untrained head" in note
    assert "layer 2, head 2" in steps and steps_plot is not None and residual_plot is not None
    assert "attention update" in residual_text
    assert (layer["value"], head["value"], token["value"]) == (2, 2, 3)  # updates of the controls
    note, *rest = client.predict(text="   ", layer=1, head=1, token=0, model=tiny_model, api_name="/learn")
    assert note.startswith("⚠️")
