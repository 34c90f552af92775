import numpy as np
import pytest

from ktdemo.inspection import attention, explain


def test_integrated_gradients_are_complete_and_converge(tiny):
    coarse = explain.saliency(*tiny, "A gorgeous, moving film about nothing.", steps=2)
    fine = explain.saliency(*tiny, "A gorgeous, moving film about nothing.", steps=64)
    assert fine.integrated_gradients.shape == fine.gradient_x_input.shape == (len(fine.tokens),)
    assert fine.logit_gap == pytest.approx(coarse.logit_gap)
    assert fine.completeness_error <= max(0.02 * abs(fine.logit_gap), 1e-4)
    assert fine.completeness_error <= coarse.completeness_error + 1e-6
    assert fine.integrated_gradients[0] == fine.integrated_gradients[-1] == 0  # [CLS]/[SEP] equal their baseline
    assert fine.target in {"negative", "positive"}


def test_saliency_explains_the_predicted_class(tiny):
    model, tokenizer = tiny
    salient = explain.saliency(model, tokenizer, "A fine film.", steps=4)
    assert salient.target == attention.inspect(model, tokenizer, "A fine film.").prediction
    assert salient.word_ids is not None and salient.special[0]
    assert attention.inspection_view(salient, words=True, show_special=False).labels == ["a", "fine", "film", "."]


def test_empty_text_is_refused(tiny):
    with pytest.raises(attention.InputError, match="Type a sentence"):
        explain.saliency(*tiny, "  ")


def test_agreement_compares_three_rankings(tiny):
    text = "A gorgeous, moving film about nothing at all."
    correlations = explain.agreement(attention.inspect(*tiny, text), explain.saliency(*tiny, text, steps=4))
    assert set(correlations) == {"attention vs rollout", "attention vs gradient", "rollout vs gradient"}
    assert all(-1 <= rho <= 1 for rho in correlations.values())


def test_agreement_of_too_few_tokens_is_nan(tiny):
    correlations = explain.agreement(attention.inspect(*tiny, "Fine."), explain.saliency(*tiny, "Fine.", steps=2))
    assert all(np.isnan(rho) for rho in correlations.values())


def test_word_view_rollout_and_saliency_endpoints(app_url, tiny_model):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    heatmap, overview, note = client.predict("Unbelievably fine.", 2, 1, tiny_model, "rotten_tomatoes",
                                                          "Words", False, api_name="/attention")
    assert heatmap is not None and overview is not None
    flow = client.predict(text="Unbelievably <b>fine</b>.", model=tiny_model, api_name="/rollout")
    assert "rollout" in flow and "<b>fine" not in flow  # user text is escaped
    saliency, agreement, note = client.predict(text="A fine film, truly.", model=tiny_model, api_name="/saliency")
    assert "Integrated gradients" in saliency and "Spearman" in agreement
    assert "Type a sentence" in client.predict("  ", api_name="/saliency")[2]


def test_ablate_endpoint_reports_the_change_and_refuses_bad_heads(app_url, tiny_model):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    summary, figure = client.predict(text="A fine film.", heads="L1H1, L2H2", model=tiny_model, api_name="/ablate")
    assert "With L1H1, L2H2 off" in summary and figure is not None
    summary, figure = client.predict(text="A fine film.", heads="L9H1", model=tiny_model, api_name="/ablate")
    assert "does not exist" in summary and figure is None
