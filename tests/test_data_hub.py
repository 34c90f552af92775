"""Hub datasets: the loading code runs against local folders in the Hub's formats; no network."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # never touch the network from tests

import pandas as pd
import pytest

datasets = pytest.importorskip("datasets")

from ktdemo.data import HUB_PRESETS, DataError
from ktdemo.data import hub as hub_module
from ktdemo.data import load_hub
from ktdemo.progress import english  # a Message list as its English sentences

FEATURES = datasets.Features({
    "idx": datasets.Value("int32"),
    "sentence": datasets.Value("string"),
    "label": datasets.ClassLabel(names=["negative", "positive"]),
})


def sentences(start, stop, hidden=False):
    rows = range(start, stop)
    return {"idx": list(rows), "sentence": [f"sentence {i} is {'good' if i % 2 else 'bad'}" for i in rows],
            "label": [-1 if hidden else i % 2 for i in rows]}


@pytest.fixture(scope="module")
def glue_like(tmp_path_factory):
    """Like SST-2: a ClassLabel column, an unlabelled test split, a validation split sharing 5 texts."""
    path = tmp_path_factory.mktemp("hub") / "sst2"
    datasets.DatasetDict({
        "train": datasets.Dataset.from_dict(sentences(0, 100), features=FEATURES),
        "validation": datasets.Dataset.from_dict(sentences(95, 125), features=FEATURES),
        "test": datasets.Dataset.from_dict(sentences(200, 230, hidden=True), features=FEATURES),
    }).save_to_disk(str(path))
    return path


@pytest.fixture(scope="module")
def parquet_repo(tmp_path_factory):
    """Like a Hub repo converted to parquet: data/train-*.parquet and data/test-*.parquet, string labels."""
    root = tmp_path_factory.mktemp("hub") / "topics"
    (root / "data").mkdir(parents=True)
    topics = ["sport", "world", "tech"]
    pd.DataFrame({"text": [f"headline {i}" for i in range(90)], "topic": topics * 30}).to_parquet(
        root / "data" / "train-00000-of-00001.parquet")
    pd.DataFrame({"text": [f"headline {i}" for i in range(80, 110)], "topic": [topics[i % 3] for i in range(80, 110)]}).to_parquet(
        root / "data" / "test-00000-of-00001.parquet")
    return root


def test_saved_dataset_uses_class_label_names_and_labelled_validation_as_test(glue_like, tmp_path):
    splits = load_hub(str(glue_like), cache_dir=str(tmp_path))
    assert splits.label_names == ["negative", "positive"]
    assert splits.name == "sst2"
    assert len(splits.test) == 30 and set(splits.test["text"]) == set(sentences(95, 125)["sentence"])
    assert "The official 'validation' split is the test set (the 'test' split has no labels)." in english(splits.notices)
    assert "5 texts also in the test split removed from training data." in english(splits.notices)
    assert len(splits.train) + len(splits.validation) == 95
    assert not set(splits.test["text"]) & set(splits.train["text"])


def test_parquet_folder_with_string_labels(parquet_repo, tmp_path):
    splits = load_hub(str(parquet_repo), text_column="text", label_column="topic", cache_dir=str(tmp_path))
    assert splits.label_names == ["sport", "tech", "world"]
    assert "The official 'test' split is the test set." in english(splits.notices)
    assert len(splits.test) == 30
    assert "10 texts also in the test split removed from training data." in english(splits.notices)
    for part in splits.parts().values():  # one label encoding shared by both source splits
        for text, code in zip(part["text"], part["label"]):
            assert splits.label_names[code] == ["sport", "world", "tech"][int(text.split()[1]) % 3]


def test_single_parquet_file_is_split_three_ways(parquet_repo, tmp_path):
    splits = load_hub(str(parquet_repo / "data" / "train-00000-of-00001.parquet"), cache_dir=str(tmp_path))
    assert [len(p) for p in splits.parts().values()] == [72, 9, 9]
    assert splits.notices == []


def test_columns_are_guessed(glue_like, tmp_path):
    splits = load_hub(str(glue_like), cache_dir=str(tmp_path))  # 'sentence' as text, ClassLabel 'label'
    assert splits.train["text"].str.startswith("sentence ").all()


def test_split_choice_and_row_cap(glue_like, tmp_path):
    splits = load_hub(str(glue_like), split="validation", max_rows=20, cache_dir=str(tmp_path))
    assert "Using a random 20 of the 30 rows of split 'validation'." in english(splits.notices)
    assert len(splits.train) + len(splits.validation) + len(splits.test) == 20


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(split="nope"), "has no split 'nope' (it has: train, validation, test)."),
        (dict(text_column="text"), "There is no text column named 'text' (columns: idx, sentence, label)."),
        (dict(label_column="stars"), "There is no label column named 'stars' (columns: idx, sentence, label)."),
    ],
)
def test_bad_choices_are_clear(glue_like, tmp_path, kwargs, message):
    with pytest.raises(DataError) as error:
        load_hub(str(glue_like), cache_dir=str(tmp_path), **kwargs)
    assert str(error.value).endswith(message)


def test_unreadable_local_folder(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.bin").write_bytes(b"\x00\x01")
    with pytest.raises(DataError, match="could not be read as a dataset"):
        load_hub(str(tmp_path / "junk"), cache_dir=str(tmp_path / "cache"))


@pytest.mark.parametrize("dataset_id", ["imdb", "stanfordnlp/imdb", "tweet_eval_sentiment"])
def test_offline_hub_is_one_clear_sentence(dataset_id, tmp_path):
    with pytest.raises(DataError) as error:
        load_hub(dataset_id, cache_dir=str(tmp_path))
    message = str(error.value)
    assert message.startswith("The Hugging Face Hub cannot be reached from here, so '")
    assert "\n" not in message and "Traceback" not in message


def test_unreachable_network_fails_fast_without_retries(monkeypatch):
    for name in ("HF_HUB_OFFLINE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")
    with pytest.raises(DataError, match="cannot be reached"):
        load_hub("fancyzhx/ag_news")


def test_malformed_id():
    with pytest.raises(DataError, match="'not an id' is not a Hub dataset id like 'stanfordnlp/imdb'."):
        load_hub("not an id")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (type("DatasetNotFoundError", (Exception,), {})("x"),
         "No public dataset 'someone/thing' was found on the Hugging Face Hub; check the id."),
        (ValueError("BuilderConfig 'zz' not found. Available: ['sentiment']"), "'someone/thing' has no configuration 'zz'."),
        (ConnectionError("Couldn't reach"), "The Hugging Face Hub cannot be reached from here, so 'someone/thing' "
                                            "cannot be downloaded; pick a bundled dataset or upload a file instead."),
        (RuntimeError("boom"), "'someone/thing' could not be loaded from the Hugging Face Hub (RuntimeError)."),
    ],
)
def test_hub_errors_are_explained(error, message):
    assert str(hub_module._explain(error, "someone/thing", "zz" if "config" in message else None, False)) == message


def test_presets_cover_the_issue_list():
    assert list(HUB_PRESETS) == ["sst2", "imdb", "rotten_tomatoes", "ag_news", "emotion", "trec", "sms_spam",
                                 "tweet_eval_sentiment"]
    assert HUB_PRESETS["tweet_eval_sentiment"].config == "sentiment"
    assert all("/" in preset.dataset_id for preset in HUB_PRESETS.values())


def test_a_bundled_dataset_without_its_wheel_comes_from_the_hub(parquet_repo, monkeypatch):
    """As on a Hugging Face Space that installed only requirements.txt (here the 'Hub' is a local folder)."""
    import dataclasses

    from ktdemo.data import DATASETS, load_splits

    spec = dataclasses.replace(DATASETS["bbc_news"], package="no_such_wheel_ktdemo", hub_id=str(parquet_repo))
    monkeypatch.setitem(DATASETS, "bbc_news", spec)
    splits = load_splits("bbc_news", seed=0)
    assert splits.name == f"{spec.name} (from the Hub)"
    assert len(splits.test) == 30 and splits.num_labels == 3  # the official test split, the Hub's own labels
