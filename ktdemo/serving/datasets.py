"""A session's data: the user's uploads and Hub datasets (by key), and what the Data tab shows of any dataset."""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

from .. import data, models
from ..config import HUB_PREFIX
from ..messages import say
from ..network import is_hub_id

log = logging.getLogger(__name__)

UPLOAD_PREFIX = "upload:"  # a session dataset from the user's file; "hub:<id>" from the Hub
PREVIEW_SAMPLE = 1_000  # texts tokenised for the length histogram; BBC's long articles take ~1.5 s per 1,000


@dataclass
class DataPreview:
    splits: data.Splits
    shown: data.Preview  # counts, lengths, examples of the training split
    model_name: str  # whose tokens the lengths count ("" when counted in words)
    problem: models.ModelError | None  # why the lengths are in words


class SessionData:
    """This session's uploaded and Hub datasets, by key ('upload:<name>', 'hub:<id>')."""

    def __init__(self) -> None:
        self.datasets: dict[str, data.Splits] = {}

    def add_dataset(self, key: str, splits: data.Splits) -> None:
        """Keep an uploaded or Hub dataset for this session's runs."""
        self.datasets[key] = splits

    def add_upload(self, file: str, text_column: str | None = None, label_column: str | None = None) -> str:
        """Read the user's file as a dataset of this session; its key ('upload:<name>'). DataError: one sentence."""
        name = Path(file).name
        try:
            splits = data.read_upload(file, text_column or None, label_column or None)
        except data.DataError:
            raise
        except Exception as error:  # a file the data layer did not foresee: one sentence, never a traceback
            log.exception("reading upload %s", name)
            raise data.DataError(say("error.unreadable_table", name=name)) from error
        self.add_dataset(UPLOAD_PREFIX + name, splits)
        return UPLOAD_PREFIX + name

    def add_hub(self, dataset_id: str, config: str | None = None, split: str | None = None,
                text_column: str | None = None, label_column: str | None = None) -> str:
        """Load a Hub dataset (or a preset's) into this session; its key ('hub:<id>'). DataError: one sentence."""
        dataset_id = (dataset_id or "").strip()
        if dataset_id in data.HUB_PRESETS:
            key = HUB_PREFIX + data.HUB_PRESETS[dataset_id].dataset_id
        elif is_hub_id(dataset_id) and not Path(dataset_id).exists():  # load_hub reads local folders too
            key = HUB_PREFIX + dataset_id
        else:
            raise data.DataError(say("error.not_a_dataset_id", dataset=dataset_id[:80]))
        optional = ((value or "").strip() or None for value in (config, split, text_column, label_column))
        try:
            splits = data.load_hub(dataset_id, *optional)
        except data.DataError:
            raise
        except Exception as error:  # noqa: BLE001
            log.exception("loading Hub dataset %s", dataset_id)
            raise data.DataError(say("error.dataset_hub_failed", dataset=dataset_id)) from error
        self.add_dataset(key, splits)
        return key

    def preview(self, model: str, dataset: str) -> DataPreview:
        """What the Data tab shows of `dataset`: classes per split, text lengths in `model`'s tokens (in words
        when its tokenizer cannot be loaded, e.g. a Hub model offline) and a few examples of each class."""
        if dataset in self.datasets:
            return _preview(self.datasets[dataset], model)
        if dataset not in data.DATASETS:
            raise data.DataError(say("error.no_session_dataset", dataset=dataset))
        try:
            return bundled_preview(model, dataset)
        except models.ModelError as error:
            return _preview(data.load_splits(dataset), model, problem=error)

    def labels_of(self, dataset: str) -> tuple[list[str], str]:
        """Label names and display name of a bundled or session dataset."""
        if dataset in self.datasets:
            splits = self.datasets[dataset]
            return list(splits.label_names), splits.name
        spec = data.DATASETS.get(dataset) or data.DATASETS[data.DEFAULT_DATASET]
        return list(spec.label_names), spec.name

    def clear(self) -> None:
        self.datasets.clear()


@functools.lru_cache(maxsize=32)
def bundled_preview(model: str, dataset: str) -> DataPreview:
    """Bundled datasets never change, so their previews are made once per model (ModelError: not cached)."""
    return _preview(data.load_splits(dataset), model, models.load_tokenizer(model))


def _preview(splits: data.Splits, model: str, tokenizer=None, problem: models.ModelError | None = None):
    if tokenizer is None and problem is None:
        try:
            tokenizer = models.load_tokenizer(model)
        except models.ModelError as error:  # e.g. a Hub model while offline: count words instead
            problem = error
    shown = data.preview_table(splits.train, splits.label_names, tokenizer, sample=PREVIEW_SAMPLE)
    name = models.resolve(model).name.split(" · ")[0] if tokenizer is not None else ""
    return DataPreview(splits, shown, name, problem)


def sample(frame, size: int):
    """A fixed sample of `size` rows (all of them, in order, when there are no more)."""
    return frame.sample(n=size, random_state=0) if len(frame) > size else frame
