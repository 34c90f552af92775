"""Every validation rule: what it fixes (with a notice) or refuses (with one clear sentence)."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pandas as pd
import pytest

from ktdemo.data import MAX_CLASSES, MAX_TEXT_CHARS, DataError, make_splits
from ktdemo.data.upload import table_from_columns
from ktdemo.data.validate import encode_labels
from ktdemo.progress import english  # a Message list as its English sentences


def balanced(n_per_class=10, classes=("neg", "pos")):
    rows = [(f"example {i} of {name}", code) for code, name in enumerate(classes) for i in range(n_per_class)]
    return pd.DataFrame(rows, columns=["text", "label"]), list(classes)


def one_sentence(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message and message.endswith((".", "?"))
    return message


def test_missing_column():
    with pytest.raises(DataError) as error:
        make_splits(pd.DataFrame({"sentence": ["a"], "label": [0]}), ["a", "b"])
    assert one_sentence(error) == "There is no text column named 'text' (columns: sentence, label)."


def test_missing_column_chosen_by_user():
    raw = pd.DataFrame({"review": ["a", "b"], "stars": [1, 2]})
    with pytest.raises(DataError, match="There is no label column named 'score' \\(columns: review, stars\\)"):
        table_from_columns(raw, "review", "score")


def test_same_column_for_text_and_label():
    raw = pd.DataFrame({"review": ["a", "b"], "stars": [1, 2]})
    with pytest.raises(DataError, match="must differ, but both are 'review'"):
        table_from_columns(raw, "review", "review")


@pytest.mark.parametrize("empty", [np.nan, "", "   "])
def test_empty_text_column(empty):
    df = pd.DataFrame({"text": [empty] * 4, "label": [0, 1, 0, 1]})
    with pytest.raises(DataError) as error:
        make_splits(df, ["a", "b"])
    assert one_sentence(error) == "The text column 'text' is empty."


def test_empty_label_column():
    raw = pd.DataFrame({"review": ["a", "b"], "stars": [None, None]})
    with pytest.raises(DataError, match="The label column 'stars' is empty."):
        table_from_columns(raw, "review", "stars")


def test_empty_texts_are_removed_with_notice():
    df, names = balanced()
    df.loc[[0, 11], "text"] = ["", "  \n "]
    df.loc[1, "text"] = np.nan
    splits = make_splits(df, names, name="toy")
    assert "3 empty texts removed from toy." in english(splits.notices)
    assert sum(len(part) for part in splits.parts().values()) == 17


def test_nan_labels_are_removed_with_notice():
    df, names = balanced()
    df["label"] = df["label"].astype(float)
    df.loc[[2, 12], "label"] = np.nan
    splits = make_splits(df, names, name="toy")
    assert "2 rows without a label removed from toy." in english(splits.notices)
    assert all(part["label"].dtype == "int64" for part in splits.parts().values())


def test_all_labels_missing():
    df, names = balanced()
    df["label"] = np.nan
    with pytest.raises(DataError) as error:
        make_splits(df, names)
    assert one_sentence(error) == "The label column 'label' is empty."


def test_labels_out_of_range():
    df, names = balanced()
    df.loc[0, "label"] = 7
    with pytest.raises(DataError, match="Labels in the data must be whole numbers from 0 to 1."):
        make_splits(df, names)


def test_string_labels_need_encoding_first():
    df, names = balanced()
    df["label"] = df["label"].map({0: "neg", 1: "pos"})
    with pytest.raises(DataError, match="Labels in the data must be whole numbers from 0 to 1."):
        make_splits(df, names)


def test_one_class_only():
    df, names = balanced()
    df["label"] = 1
    with pytest.raises(DataError) as error:
        make_splits(df, names)
    assert one_sentence(error) == "All examples have the same label ('pos'); a classifier needs at least two classes."


def test_class_too_small_to_split():
    df, names = balanced(10, ("a", "b", "c"))
    df = df[(df["label"] != 2) | (df.index < 22)]  # class 'c' keeps 2 examples
    with pytest.raises(DataError) as error:
        make_splits(df, names)
    assert one_sentence(error) == (
        "Class 'c' has only 2 examples; each class needs at least 3 to be split into train, "
        "validation and test."
    )


def test_smallest_splittable_classes_reach_every_split():
    df, names = balanced(3, ("a", "b", "c", "d"))
    splits = make_splits(df, names)
    for part in splits.parts().values():
        assert set(part["label"]) == {0, 1, 2, 3}


def test_too_many_classes():
    raw = pd.DataFrame({"text": [f"t{i}" for i in range(500)], "label": [f"id-{i}" for i in range(500)]})
    with pytest.raises(DataError) as error:
        table_from_columns(raw, "text", "label")
    assert one_sentence(error) == (
        f"The label column has 500 different values but at most {MAX_CLASSES} classes are "
        "supported; is it really the label column?"
    )


def test_too_many_label_names():
    df, _ = balanced()
    with pytest.raises(DataError, match="has 101 different values"):
        make_splits(df, [str(i) for i in range(101)])


def test_duplicates_are_reported_and_removed_case_and_space_insensitively():
    df, names = balanced()
    extra = pd.DataFrame({"text": ["EXAMPLE 0 of neg", " example  1 of neg\t", "example 2 of neg"],
                          "label": [0, 0, 1]})
    splits = make_splits(pd.concat([df, extra]), names, name="toy")
    assert "3 duplicate texts removed from toy." in english(splits.notices)
    assert sum(len(part) for part in splits.parts().values()) == 20


def test_very_long_texts_are_truncated_with_notice():
    df, names = balanced()
    df.loc[0, "text"] = "word " * 3_000
    splits = make_splits(df, names, name="toy")
    assert f"1 text in toy longer than {MAX_TEXT_CHARS:,} characters cut to that length." in english(splits.notices)
    longest = max(part["text"].str.len().max() for part in splits.parts().values())
    assert longest == MAX_TEXT_CHARS


def test_clean_data_has_no_notices():
    df, names = balanced()
    assert make_splits(df, names).notices == []


@pytest.mark.parametrize("bad", [0, -3, 2.5, "8", True])
def test_per_class_must_be_positive_integer(bad):
    df, names = balanced()
    with pytest.raises(DataError, match="Examples per class must be a positive whole number"):
        make_splits(df, names, per_class=bad)


@pytest.mark.parametrize(
    ("labels", "names", "codes"),
    [
        (["pos", "neg", " pos "], ["neg", "pos"], [1, 0, 1]),
        ([1, 0, 1], ["0", "1"], [1, 0, 1]),
        ([1.0, 0.0, np.nan], ["0", "1"], [1, 0, None]),
        (["10", "2", "2"], ["2", "10"], [1, 0, 0]),  # numeric strings sort as numbers
        ([-1, 1, 1], ["-1", "1"], [0, 1, 1]),
        ([0.5, 1.5, 0.5], ["0.5", "1.5"], [0, 1, 0]),
        (["1", "x", "1"], ["1", "x"], [0, 1, 0]),
    ],
)
def test_labels_as_strings_or_numbers(labels, names, codes):
    encoded, label_names = encode_labels(pd.Series(labels, dtype=object))
    assert label_names == names
    assert [None if pd.isna(code) else int(code) for code in encoded] == codes
