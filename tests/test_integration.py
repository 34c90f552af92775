"""Claims on the real bundled model and data: transfer must visibly work, not just run."""
import dataclasses

import pytest

from ktdemo.config import RunConfig
from ktdemo.training.transfer import run_transfer

pytestmark = pytest.mark.integration

# 128 reviews per class and a fixed step count: reproducible, about 30 s per run on 2 CPU cores.
SMALL = RunConfig(per_class=128, max_steps=40, time_budget_s=None, seed=0, method="full")  # claims of fine-tuning


@pytest.fixture(scope="module")
def pretrained_run():
    return run_transfer(SMALL)


def test_fine_tuning_minilm_on_rotten_tomatoes_beats_the_untrained_head(pretrained_run):
    result = pretrained_run
    assert result.stats.test_examples > 1000  # the whole held-out test split, never seen in training
    assert result.before.accuracy < 0.6  # an untrained head is close to chance
    assert result.after.accuracy >= result.before.accuracy + 0.10
    assert result.after.macro_f1 >= 0.6


def test_the_same_architecture_from_random_weights_learns_far_less(pretrained_run):
    control = run_transfer(dataclasses.replace(SMALL, kind="from_scratch"))
    assert control.after.accuracy < pretrained_run.after.accuracy - 0.10  # what pretraining is worth


def test_cross_domain_movie_reviews_to_amazon_transfers_above_chance():
    # Trained on movie reviews only, tested on product reviews: the domain gap is real, transfer still works.
    config = dataclasses.replace(SMALL, kind="cross_domain", source_dataset="rotten_tomatoes", dataset="vader_amazon")
    result = run_transfer(config)
    assert result.scores["source test (Rotten Tomatoes reviews)"].accuracy > 0.65
    assert result.after.accuracy > 0.6 and result.after.accuracy > result.before.accuracy + 0.05


def test_the_warm_start_on_minilm_is_the_zero_shot_classifier_and_training_only_improves_on_it(pretrained_run):
    result = pretrained_run
    assert (result.config.pooling, result.config.warm_start) == ("mean", "descriptions")  # auto, from its files
    zero = run_transfer(dataclasses.replace(SMALL, kind="zero_shot"))
    assert result.start.predictions == zero.after.predictions  # step 0 on the test set = zero-shot, text by text
    assert result.start.accuracy > 0.65  # a start well above chance: what the class sees at step 0
    evals = dict(result.log.evals)
    assert evals[result.stats.best_step] >= evals[0]
    assert result.after.accuracy > result.start.accuracy


def test_a_few_shot_run_on_minilm_ends_at_or_above_its_zero_shot_start():
    result = run_transfer(dataclasses.replace(SMALL, per_class=8, max_steps=10))
    evals = dict(result.log.evals)
    assert evals[result.stats.best_step] >= evals[0]
    assert result.after.accuracy >= result.start.accuracy - 0.02  # validation picks it: 16 texts, a little noise


def test_the_exported_minilm_reproduces_the_apps_probabilities_through_sentence_transformers(pretrained_run, tmp_path):
    import numpy as np

    from ktdemo.models.evaluation import predict_probabilities
    from ktdemo.outputs import report

    sentence_transformers = pytest.importorskip("sentence_transformers")
    texts = ["A gorgeous, moving film.", "Dull, predictable and far too long.", "It was fine, I guess."]
    folder = report.save_model(pretrained_run, tmp_path / "model")
    ours = predict_probabilities(pretrained_run.model, pretrained_run.tokenizer, texts, SMALL.max_length)
    theirs = sentence_transformers.SentenceTransformer(str(folder), device="cpu").encode(texts, convert_to_tensor=True)
    np.testing.assert_allclose(theirs.softmax(-1).numpy(), ours, atol=1e-5)
