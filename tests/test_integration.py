"""Claims on the real bundled model and data: transfer must visibly work, not just run."""
import dataclasses

import pytest

from ktdemo.runs import RunConfig
from ktdemo.transfer import run_transfer

pytestmark = pytest.mark.integration

# 128 reviews per class and a fixed step count: reproducible, about 30 s per run on 2 CPU cores.
SMALL = RunConfig(per_class=128, max_steps=40, time_budget_s=None, seed=0)


@pytest.fixture(scope="module")
def pretrained_run():
    return run_transfer(SMALL)


def test_fine_tuning_minilm_on_rotten_tomatoes_beats_the_untrained_head(pretrained_run):
    result = pretrained_run
    assert result.stats["test_examples"] > 1000  # the whole held-out test split, never seen in training
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
