"""Claims on the real bundled model and data: transfer must visibly work, not just run."""
import pytest

from ktdemo.runs import RunConfig
from ktdemo.transfer import run_transfer

pytestmark = pytest.mark.integration


def test_fine_tuning_minilm_on_rotten_tomatoes_beats_the_untrained_head():
    # 128 reviews per class and a fixed step count: reproducible, about 30 s on 2 CPU cores.
    config = RunConfig(per_class=128, max_steps=40, time_budget_s=None, seed=0)
    result = run_transfer(config)
    assert result.stats["test_examples"] > 1000  # the whole held-out test split, never seen in training
    assert result.before.accuracy < 0.6  # an untrained head is close to chance
    assert result.after.accuracy >= result.before.accuracy + 0.10
    assert result.after.macro_f1 >= 0.6
