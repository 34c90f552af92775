"""Datasets from the Hugging Face Hub by id, or from a local folder/file in the same formats.

Local paths make the same code testable offline: a folder written by ``save_to_disk``, a folder
of parquet/CSV/JSON files (split names taken from the file names, as on the Hub), or one file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..network import hub_unreachable
from ..messages import Message, say
from .errors import DataError
from .splits import Splits, make_splits
from .upload import guess_columns
from .validate import encode_labels

MAX_HUB_ROWS = 20_000  # per split: more does not fit a CPU training budget anyway
TEST_SPLIT_NAMES = ("test", "validation", "valid", "dev")  # the first labelled one is the test set
LOCAL_BUILDERS = {".parquet": "parquet", ".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json"}


@dataclass(frozen=True)
class HubPreset:
    dataset_id: str
    config: str | None
    text_column: str
    label_column: str
    description: str


HUB_PRESETS: dict[str, HubPreset] = {
    "sst2": HubPreset("stanfordnlp/sst2", None, "sentence", "label", "Movie review sentences, positive/negative."),
    "imdb": HubPreset("stanfordnlp/imdb", None, "text", "label", "Full IMDb movie reviews, positive/negative."),
    "rotten_tomatoes": HubPreset("cornell-movie-review-data/rotten_tomatoes", None, "text", "label",
                                 "Rotten Tomatoes review snippets, positive/negative."),
    "ag_news": HubPreset("fancyzhx/ag_news", None, "text", "label", "News headlines and leads in 4 topics."),
    "emotion": HubPreset("dair-ai/emotion", None, "text", "label", "English tweets labelled with 6 emotions."),
    "trec": HubPreset("CogComp/trec", None, "text", "coarse_label", "Questions in 6 answer types."),
    "sms_spam": HubPreset("ucirvine/sms_spam", None, "sms", "label", "Text messages, ham or spam."),
    "tweet_eval_sentiment": HubPreset("cardiffnlp/tweet_eval", "sentiment", "text", "label",
                                      "Tweets: negative, neutral or positive."),
}


def load_hub(
    dataset_id: str,
    config: str | None = None,
    split: str | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    *,
    seed: int = 0,
    per_class: int | None = None,
    max_rows: int | None = MAX_HUB_ROWS,
    cache_dir: str | None = None,
) -> Splits:
    """A Hub dataset (id, preset key or local path) as Splits.

    ``split`` (default "train") gives train and validation; the official "test" split, or
    "validation" when the test labels are hidden, is the test set. Columns not given are
    guessed; ``ClassLabel`` names are used when the label column has them.
    """
    dataset_id = dataset_id.strip()
    if dataset_id in HUB_PRESETS:
        preset = HUB_PRESETS[dataset_id]
        dataset_id, config = preset.dataset_id, config or preset.config
        text_column, label_column = text_column or preset.text_column, label_column or preset.label_column
    parts = _open(dataset_id, config, cache_dir)
    train_name = split or ("train" if "train" in parts else next(iter(parts)))
    if train_name not in parts:
        raise DataError(say("error.no_split", dataset=dataset_id, split=train_name, splits=", ".join(parts)))
    pool = parts[train_name]
    text_column, label_column = _pick_columns(pool, text_column, label_column)
    label_names = _class_names(pool, label_column)

    notices = []
    test_name = _labelled_test_split(parts, train_name, label_column)
    frames = {}
    for name in filter(None, (train_name, test_name)):
        rows = parts[name]
        if max_rows and len(rows) > max_rows:
            chosen = np.sort(np.random.default_rng(seed).choice(len(rows), max_rows, replace=False))
            rows = rows.select(chosen)
            notices.append(say("notice.hub_sample", n=f"{max_rows:,}", total=f"{len(parts[name]):,}", split=name))
        frames[name] = _to_frame(rows, text_column, label_column, label_names)
    if test_name:
        hidden = test_name != "test" and "test" in parts
        notices.append(say("notice.official_test_hidden" if hidden else "notice.official_test", split=test_name))

    if label_names is None:  # plain values: one shared encoding for both splits
        both = pd.concat(frames.values(), keys=frames.keys())
        codes, label_names = encode_labels(both["label"])
        for name in frames:
            frames[name] = frames[name].assign(label=codes.loc[name].to_numpy())
    splits = make_splits(frames[train_name], label_names, seed=seed, per_class=per_class,
                         official_test=frames.get(test_name), name=_display_name(dataset_id, config))
    splits.notices[:0] = notices
    return splits


# -- opening --------------------------------------------------------------------------------------

def _open(dataset_id: str, config: str | None, cache_dir: str | None):
    """A DatasetDict-like mapping {split name: Dataset}."""
    import datasets  # heavy: only when a Hub dataset is asked for

    local = Path(dataset_id).expanduser()
    try:
        if local.exists():
            loaded = _open_local(local, config, cache_dir)
        else:
            if not dataset_id or " " in dataset_id or dataset_id.count("/") > 1:
                raise DataError(say("error.not_a_dataset_id", dataset=dataset_id))
            _check_hub_reachable(dataset_id)
            loaded = datasets.load_dataset(dataset_id, config, cache_dir=cache_dir)
    except DataError:
        raise
    except Exception as error:
        raise DataError(_explain(error, dataset_id, config, local.exists())) from None
    if isinstance(loaded, datasets.Dataset):
        loaded = datasets.DatasetDict({"train": loaded})
    if not len(loaded):
        raise DataError(say("error.hub_no_data", dataset=dataset_id))
    return loaded


def _open_local(path: Path, config: str | None, cache_dir: str | None):
    import datasets

    if path.is_dir() and ((path / "dataset_dict.json").exists() or (path / "state.json").exists()):
        return datasets.load_from_disk(str(path))
    if path.is_file():
        builder = LOCAL_BUILDERS.get(path.suffix.lower())
        if builder is None:
            raise DataError(say("error.hub_file_type", name=path.name))
        options = {"delimiter": "\t"} if path.suffix.lower() == ".tsv" else {}
        return datasets.load_dataset(builder, data_files=str(path), cache_dir=cache_dir, **options)
    return datasets.load_dataset(str(path), config, cache_dir=cache_dir)


def _check_hub_reachable(dataset_id: str) -> None:
    if hub_unreachable():
        raise DataError(_offline_sentence(dataset_id))


def _offline_sentence(dataset_id: str) -> Message:
    return say("error.dataset_offline", dataset=dataset_id)


def _explain(error: Exception, dataset_id: str, config: str | None, local: bool) -> Message:
    """One sentence for the error types load_dataset raises."""
    chain = []
    while error is not None and len(chain) < 10:
        chain.append(error)
        error = error.__cause__ or error.__context__
    kinds = {type(e).__name__ for e in chain}
    text = " ".join(str(e) for e in chain)
    if local:
        return say("error.local_unreadable", dataset=dataset_id, kind=type(chain[0]).__name__)
    if kinds & {"DatasetNotFoundError", "RepositoryNotFoundError", "GatedRepoError"}:
        return say("error.dataset_not_found", dataset=dataset_id)
    if config and "config" in text.lower():
        return say("error.no_config", dataset=dataset_id, config=config)
    if "Config name is missing" in text:
        return say("error.config_missing", dataset=dataset_id)
    if kinds & {"ConnectionError", "OfflineModeIsEnabled", "LocalEntryNotFoundError", "Timeout",
                "ConnectTimeout", "ConnectError", "TimeoutError", "gaierror"}:
        return _offline_sentence(dataset_id)
    return say("error.hub_load_failed", dataset=dataset_id, kind=type(chain[0]).__name__)


# -- columns and labels ----------------------------------------------------------------------------

def _pick_columns(pool, text_column: str | None, label_column: str | None) -> tuple[str, str]:
    """Given columns must exist; missing ones are guessed, a ClassLabel column first for labels."""
    for role, column in (("text", text_column), ("label", label_column)):
        if column is not None and column not in pool.column_names:
            raise DataError(say("error.no_column", role=say(f"part.role.{role}"), column=column,
                                columns=", ".join(pool.column_names)))
    if label_column is None:
        label_column = next((name for name, feature in pool.features.items()
                             if _is_class_label(feature) and name != text_column), None)
    sample = pool.select(range(min(len(pool), 200))).to_pandas()
    return guess_columns(sample, text_column, label_column)


def _is_class_label(feature) -> bool:
    return type(feature).__name__ == "ClassLabel"


def _class_names(pool, label_column: str) -> list[str] | None:
    feature = pool.features[label_column]
    return list(feature.names) if _is_class_label(feature) else None


def _labelled_test_split(parts, train_name: str, label_column: str) -> str | None:
    """The first test-like split whose labels are not all hidden (GLUE's test labels are -1)."""
    for name in TEST_SPLIT_NAMES:
        if name != train_name and name in parts and label_column in parts[name].column_names:
            labels = parts[name][label_column]
            if any(label is not None and label != -1 for label in labels):
                return name
    return None


def _to_frame(rows, text_column: str, label_column: str, label_names: list[str] | None) -> pd.DataFrame:
    frame = rows.select_columns([text_column, label_column]).to_pandas()
    frame.columns = ["text", "label"]
    if label_names is not None:  # ClassLabel: -1 marks a hidden label
        frame["label"] = frame["label"].where(frame["label"] >= 0)
    return frame


def _display_name(dataset_id: str, config: str | None) -> str:
    name = Path(dataset_id).name if Path(dataset_id).expanduser().exists() else dataset_id
    return f"{name} ({config})" if config else name
