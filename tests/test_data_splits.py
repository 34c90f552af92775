"""Split invariants: stratified, seed-fixed, no test text in train or validation, k per class."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ktdemo.data import PER_CLASS_CHOICES, DataError, drop_overlap, make_splits, normalize_text
from ktdemo.progress import english  # a Message list as its English sentences


def table(counts, prefix="text"):
    rows = [(f"{prefix} {label}-{i}", label) for label, n in enumerate(counts) for i in range(n)]
    return pd.DataFrame(rows, columns=["text", "label"]).sample(frac=1.0, random_state=1)


def texts(frame):
    return set(normalize_text(frame["text"]))


def assert_well_formed(splits, n_labels):
    for part in splits.parts().values():
        assert list(part.columns) == ["text", "label"]
        assert part["label"].dtype == "int64"
        assert part["label"].between(0, n_labels - 1).all()
        assert part.index.equals(pd.RangeIndex(len(part)))
    assert not texts(splits.test) & (texts(splits.train) | texts(splits.validation))
    assert not texts(splits.train) & texts(splits.validation)


@settings(max_examples=int(os.environ.get("KTDEMO_FUZZ_EXAMPLES", 50)), deadline=None, database=None)
@given(counts=st.lists(st.integers(3, 60), min_size=2, max_size=6), seed=st.integers(0, 2**31 - 1))
def test_every_split_is_disjoint_complete_and_stratified(counts, seed):
    df = table(counts)
    splits = make_splits(df, [f"c{i}" for i in range(len(counts))], seed=seed)
    assert_well_formed(splits, len(counts))
    assert sum(len(part) for part in splits.parts().values()) == len(df)
    assert set(splits.train["label"]) == set(range(len(counts)))  # every class is trained on
    total = len(df)
    for part, fraction in ((splits.validation, 0.1), (splits.test, 0.1)):
        assert len(part) >= len(counts)
        assert len(part) <= max(round(fraction * total), len(counts))
    for code, n in enumerate(counts):  # stratified: each split holds its share of each class, +-1
        in_test = (splits.test["label"] == code).sum()
        assert abs(in_test - n * len(splits.test) / total) <= 1.5


def test_default_fractions_are_80_10_10():
    splits = make_splits(table([500, 500]), ["a", "b"])
    assert [len(p) for p in splits.parts().values()] == [800, 100, 100]
    for part in splits.parts().values():
        assert part["label"].mean() == pytest.approx(0.5, abs=0.02)


def test_same_seed_same_splits_other_seed_other_splits():
    df = table([40, 60])
    first, again, other = (make_splits(df, ["a", "b"], seed=s) for s in (7, 7, 8))
    for name in ("train", "validation", "test"):
        pd.testing.assert_frame_equal(first.parts()[name], again.parts()[name])
    assert texts(first.test) != texts(other.test)


def test_input_row_order_does_not_leak_into_test_membership_between_runs():
    df = table([30, 30])
    assert texts(make_splits(df, ["a", "b"]).test) == texts(make_splits(df.copy(), ["a", "b"]).test)


def test_official_test_split_is_kept_and_removed_from_training():
    pool = table([20, 20])
    official = pd.concat([pool.iloc[:5], table([4, 4], prefix="held out")], ignore_index=True)
    official.loc[official.index[0], "text"] = "  " + official["text"].iloc[0].upper()  # same after normalising
    splits = make_splits(pool, ["a", "b"], official_test=official, name="toy")
    assert len(splits.test) == 13
    assert texts(splits.test) == texts(official)
    assert "5 texts also in the test split removed from training data." in english(splits.notices)
    assert len(splits.train) + len(splits.validation) == 35
    assert_well_formed(splits, 2)


def test_official_test_is_cleaned_too():
    pool = table([20, 20])
    official = pd.DataFrame({"text": ["x", "x", "", "y", "z"], "label": [0, 0, 1, 1, None]})
    splits = make_splits(pool, ["a", "b"], official_test=official)
    assert splits.test["text"].tolist() == ["x", "y"]
    assert "1 duplicate text removed from the test split." in english(splits.notices)
    assert "1 empty text removed from the test split." in english(splits.notices)
    assert "1 row without a label removed from the test split." in english(splits.notices)


def test_with_official_test_two_per_class_suffice_for_train_and_validation():
    splits = make_splits(table([2, 2]), ["a", "b"], official_test=table([3, 3], prefix="t"))
    assert sorted(splits.train["label"]) == [0, 1] and sorted(splits.validation["label"]) == [0, 1]


@pytest.mark.parametrize("k", [k for k in PER_CLASS_CHOICES if k])
def test_k_per_class_limits_only_training(k):
    df = table([300, 100, 50])
    full = make_splits(df, ["a", "b", "c"], seed=2)
    small = make_splits(df, ["a", "b", "c"], seed=2, per_class=k)
    expected = {code: min(k, n) for code, n in full.train["label"].value_counts().items()}
    assert small.train["label"].value_counts().to_dict() == expected
    assert texts(small.train) <= texts(full.train)
    pd.testing.assert_frame_equal(small.test, full.test)
    pd.testing.assert_frame_equal(small.validation, full.validation)


def test_smaller_budgets_are_subsets_of_larger_ones():
    df = table([300, 300])
    budgets = [texts(make_splits(df, ["a", "b"], seed=5, per_class=k).train) for k in (8, 16, 64, 256)]
    assert budgets[0] <= budgets[1] <= budgets[2] <= budgets[3]


def test_drop_overlap_across_datasets():
    target = pd.DataFrame({"text": ["A film.", "new one", "Other"], "label": [0, 1, 0]})
    source = pd.DataFrame({"text": ["a  FILM.", "unrelated"], "label": [1, 1]})
    kept, removed = drop_overlap(target, source, pd.DataFrame({"text": ["other"], "label": [0]}))
    assert kept["text"].tolist() == ["new one"] and removed == 2


def test_label_names_are_strings():
    splits = make_splits(table([5, 5]), [0, 1])
    assert splits.label_names == ["0", "1"]
    assert splits.class_counts() == {"train": {"0": 3, "1": 3}, "validation": {"0": 1, "1": 1}, "test": {"0": 1, "1": 1}}


def test_class_too_small_for_train_and_validation_next_to_official_test():
    with pytest.raises(DataError) as error:
        make_splits(table([1, 5]), ["a", "b"], official_test=table([3, 3], prefix="t"))
    assert str(error.value) == (
        "Class 'a' has only 1 example; each class needs at least 2 to be split into train and validation."
    )


def test_too_small_table_is_a_data_error_not_a_sklearn_error():
    with pytest.raises(DataError):
        make_splits(table([2, 5]), ["a", "b"])
