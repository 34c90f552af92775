"""User files -> Splits: CSV, TSV, JSON, JSON Lines and Parquet, with guessed columns.

``read_table_file`` gives the raw table (every column, as read) so a UI can offer the columns;
``guess_columns`` proposes the text and label columns; ``read_upload`` does both and returns
validated :class:`Splits`. Anything wrong with the file becomes one DataError sentence.
"""

from __future__ import annotations

import csv
import io
import json
import os
import warnings
from pathlib import Path

import pandas as pd

from ..messages import Message, say
from .errors import DataError
from .splits import Splits, make_splits
from .validate import MAX_CLASSES, check_columns, encode_labels

MAX_UPLOAD_MB = 20
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
UPLOAD_FORMATS = (".csv", ".tsv", ".json", ".jsonl", ".parquet")
TEXT_COLUMN_NAMES = ("text", "sentence", "review", "content", "document", "body", "message", "sms",
                     "question", "tweet", "comment", "utterance", "title")
LABEL_COLUMN_NAMES = ("label", "labels", "class", "category", "target", "sentiment", "y", "topic",
                      "coarse_label", "intent", "emotion", "tag")
SPLIT_COLUMN = "split"  # optional: rows marked "test" become the official test set
DELIMITERS = (",", "\t", ";", "|")
ENCODINGS = ("utf-8-sig", "latin-1")  # utf-8-sig also reads plain utf-8; latin-1 never fails


def read_upload(
    path: str | os.PathLike,
    text_column: str | None = None,
    label_column: str | None = None,
    *,
    seed: int = 0,
    per_class: int | None = None,
) -> Splits:
    """Read a user file into validated Splits; columns not given are guessed (see the notices).

    Labels may be strings or integers. If the file has a ``split`` column, its rows marked
    ``test`` form the test set and the other rows give train and validation.
    """
    raw = read_table_file(path)
    chosen = guess_columns(raw, text_column, label_column)
    notices = []
    if chosen != (text_column, label_column):
        notices.append(say("notice.columns_guessed", text=chosen[0], label=chosen[1]))
    text_column, label_column = chosen
    table, label_names = table_from_columns(raw, text_column, label_column)

    official_test = None
    split_column = _split_column(raw, exclude=(text_column, label_column))
    if split_column:
        is_test = raw[split_column].astype(str).str.strip().str.lower().eq("test")
        official_test, table = table[is_test], table[~is_test]
        notices.append(say("notice.split_column", column=split_column))
    splits = make_splits(table, label_names, seed=seed, per_class=per_class,
                         official_test=official_test, name=Path(path).name)
    splits.notices[:0] = notices
    return splits


def read_table_file(path: str | os.PathLike) -> pd.DataFrame:
    """The file as a DataFrame with string column names; DataError for anything unreadable."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in UPLOAD_FORMATS:
        raise DataError(say("error.upload_type", name=path.name, formats=", ".join(UPLOAD_FORMATS)))
    if not path.is_file():
        raise DataError(say("error.file_not_found", name=path.name))
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise DataError(say("error.upload_too_large", name=path.name, size=f"{size / 2**20:.1f}", limit=MAX_UPLOAD_MB))
    if size == 0:
        raise DataError(say("error.upload_empty", name=path.name))
    data = path.read_bytes()
    if suffix == ".parquet":
        table = _read_parquet(data, path.name)
    else:
        text = _decode(data, path.name)
        table = _read_json(text, path.name, suffix) if suffix in (".json", ".jsonl") else \
            _read_delimited(text, path.name, "\t" if suffix == ".tsv" else ",")
    if table.empty:
        raise DataError(say("error.upload_no_rows", name=path.name))
    table.columns = [str(column).strip() for column in table.columns]
    repeated = table.columns[table.columns.duplicated()]
    if len(repeated):
        raise DataError(say("error.repeated_column", name=path.name, column=repeated[0]))
    return table.reset_index(drop=True)


def guess_columns(
    table: pd.DataFrame, text_column: str | None = None, label_column: str | None = None
) -> tuple[str, str]:
    """(text column, label column), keeping the ones given: by familiar names, then by content."""
    columns = [c for c in table.columns if c.lower() != SPLIT_COLUMN and c not in (text_column, label_column)]
    missing = (text_column is None) + (label_column is None)
    if len(columns) < missing:
        raise DataError(say("error.one_column", column=table.columns[0]))
    if text_column is None:
        text_column = _by_name(columns, TEXT_COLUMN_NAMES) or max(columns, key=lambda c: _mean_length(table[c]))
        columns.remove(text_column)
    if label_column is None:
        label_column = _by_name(columns, LABEL_COLUMN_NAMES) or min(columns, key=lambda c: _label_score(table[c]))
    return text_column, label_column


def table_from_columns(raw: pd.DataFrame, text_column: str, label_column: str) -> tuple[pd.DataFrame, list[str]]:
    """Pick the two columns and encode the labels as 0..n-1 (unlabelled rows stay NaN)."""
    check_columns(raw, text_column, label_column)
    labels = raw[label_column]
    if not labels.map(pd.api.types.is_scalar).all():
        raise DataError(say("error.label_not_scalar", column=label_column))
    if labels.dtype == object or pd.api.types.is_string_dtype(labels):
        labels = labels.astype("str").str.strip().where(labels.notna())
        labels = labels.where(labels.ne(""))
    codes, label_names = encode_labels(labels)
    return pd.DataFrame({"text": raw[text_column], "label": codes}), label_names


# -- format readers ------------------------------------------------------------------------------

def _decode(data: bytes, name: str) -> str:
    head = data[:8192]
    controls = sum(byte < 32 and byte not in b"\t\n\r\x0c" for byte in head)
    if b"\x00" in head or controls > len(head) // 20:
        raise DataError(say("error.binary_file", name=name))
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")


def _read_parquet(data: bytes, name: str) -> pd.DataFrame:
    if not (data.startswith(b"PAR1") and data.endswith(b"PAR1")):
        raise DataError(say("error.parquet_invalid", name=name))
    try:
        return pd.read_parquet(io.BytesIO(data))
    except Exception:  # pyarrow raises many types for corrupt files
        raise DataError(say("error.parquet_damaged", name=name)) from None


def _read_delimited(text: str, name: str, default: str) -> pd.DataFrame:
    """Try the likely delimiters in turn; keep the first parse that gives two or more columns."""
    problem = None
    for delimiter in _likely_delimiters(text, default):
        try:
            with warnings.catch_warnings():
                # Rows longer than the header: pandas would drop the extra fields or turn the
                # first column into an index; both lose data silently, so treat them as errors.
                warnings.simplefilter("error", pd.errors.ParserWarning)
                table = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, index_col=False,
                                    skipinitialspace=True)
        except pd.errors.EmptyDataError:
            raise DataError(say("error.upload_no_rows", name=name)) from None
        except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError, csv.Error) as error:
            problem = problem or error
            continue
        if table.shape[1] >= 2:
            return table
    if problem is not None:
        raise DataError(say("error.unreadable_parse", name=name, hint=_parser_hint(problem))) from None
    return table  # one column: guess_columns says so


def _likely_delimiters(text: str, default: str) -> list[str]:
    """The header line decides: column names rarely hold delimiters, while texts often do.

    The extension's delimiter comes first when the header has it (a .csv saved with ';' in
    some locales still works); then the others, most frequent in the header first.
    """
    header = text.lstrip("\ufeff\r\n").split("\n", 1)[0]
    others = sorted(DELIMITERS, key=lambda d: -header.count(d))
    return list(dict.fromkeys(([default] if default in header else []) + others + [default]))


def _parser_hint(error: Exception) -> Message:
    message = str(error)  # pandas' English: what went wrong, in our words
    if "EOF" in message:
        return say("part.hint.quote")
    if "Expected" in message and "line" in message:
        line = message.split("line")[1].split(",")[0].strip()
        return say("part.hint.fields", line=line)
    return say("part.hint.columns")


def _read_json(text: str, name: str, suffix: str) -> pd.DataFrame:
    """A list of objects, an object of columns, {"data": [...]}, or one object per line."""
    readers = (_json_lines, _json_document) if suffix == ".jsonl" else (_json_document, _json_lines)
    for reader in readers:
        try:
            return _frame_from_json(reader(text), name)
        except (json.JSONDecodeError, RecursionError):
            continue
    raise DataError(say("error.json_invalid", name=name))


def _json_document(text: str):
    return json.loads(text)


def _json_lines(text: str):
    # split on "\n" only: splitlines() would also break at U+2028 and friends inside strings
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def _frame_from_json(data, name: str) -> pd.DataFrame:
    if isinstance(data, dict):
        lists = [value for value in data.values() if isinstance(value, list)]
        if len(data) == 1 and lists:
            return _frame_from_json(lists[0], name)
        if lists and len(lists) == len(data) and len({len(value) for value in lists}) == 1:
            return pd.DataFrame(data)
    if isinstance(data, list) and data and all(isinstance(row, dict) for row in data):
        return pd.DataFrame.from_records(data)
    raise DataError(say("error.json_records", name=name))


# -- column guessing ------------------------------------------------------------------------------

def _by_name(columns: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {column.lower(): column for column in columns}
    return next((lowered[name] for name in names if name in lowered), None)


def _mean_length(values: pd.Series) -> float:
    present = values.dropna().astype(str)
    if present.empty or pd.to_numeric(present, errors="coerce").notna().all():
        return -1.0  # numbers are not text
    return present.str.len().mean()


def _label_score(values: pd.Series) -> tuple[int, int]:
    """Lower is more label-like: between 2 and MAX_CLASSES distinct values, the fewer the better."""
    try:
        distinct = values.dropna().nunique()
    except TypeError:  # unhashable cells (lists, dicts)
        return (2, 0)
    return (0 if 2 <= distinct <= MAX_CLASSES else 1, distinct)


def _split_column(table: pd.DataFrame, exclude: tuple[str, ...]) -> str | None:
    for column in table.columns:
        if column.lower() == SPLIT_COLUMN and column not in exclude:
            values = table[column].astype(str).str.strip().str.lower()
            if values.eq("test").any() and not values.eq("test").all():
                return column
    return None
