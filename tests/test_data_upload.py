"""Uploads: every format and encoding, column guessing and overrides, malformed and hostile files."""

import json
import os
import string

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ktdemo.data import DataError, Splits, guess_columns, read_table_file, read_upload
from ktdemo.data import upload as upload_module
from ktdemo.progress import english  # a Message list as its English sentences

REVIEWS = [f"review number {i}, {'loved' if i % 2 else 'hated'} it" for i in range(40)]
STARS = ["pos" if i % 2 else "neg" for i in range(40)]


def frame():
    return pd.DataFrame({"id": range(40), "review": REVIEWS, "stars": STARS})


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def assert_valid(splits: Splits):
    assert isinstance(splits, Splits)
    assert len(splits.label_names) >= 2
    for part in splits.parts().values():
        assert list(part.columns) == ["text", "label"] and len(part)
        assert part["label"].between(0, len(splits.label_names) - 1).all()
        assert part["text"].str.strip().ne("").all()


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".json", ".jsonl", ".parquet"])
def test_every_format_reads_the_same_table(tmp_path, suffix):
    path = tmp_path / f"reviews{suffix}"
    writers = {
        ".csv": lambda: frame().to_csv(path, index=False),
        ".tsv": lambda: frame().to_csv(path, sep="\t", index=False),
        ".json": lambda: frame().to_json(path, orient="records"),
        ".jsonl": lambda: frame().to_json(path, orient="records", lines=True),
        ".parquet": lambda: frame().to_parquet(path),
    }
    writers[suffix]()
    splits = read_upload(path)
    assert_valid(splits)
    assert splits.label_names == ["neg", "pos"] and splits.name == f"reviews{suffix}"
    assert str(splits.notices[0]) == "Using column 'review' as text and 'stars' as label; pick others if these are wrong."
    assert set(pd.concat(splits.parts().values())["text"]) == set(REVIEWS)


@pytest.mark.parametrize(
    "content",
    [
        {"data": [{"text": t, "label": s} for t, s in zip(REVIEWS, STARS)]},
        {"text": REVIEWS, "label": STARS},
    ],
    ids=["wrapped-records", "columns"],
)
def test_other_json_layouts(tmp_path, content):
    assert_valid(read_upload(write(tmp_path, "x.json", json.dumps(content))))


def test_json_lines_in_a_json_file(tmp_path):
    lines = "\n".join(json.dumps({"text": t, "label": s}) for t, s in zip(REVIEWS, STARS))
    assert_valid(read_upload(write(tmp_path, "x.json", lines)))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1"])
def test_encodings(tmp_path, encoding):
    rows = "".join(f"Café crème n°{i},{i % 2}\n" for i in range(12))
    path = write(tmp_path, "fr.csv", ("text,label\n" + rows).encode(encoding))
    splits = read_upload(path)
    assert splits.label_names == ["0", "1"]  # the BOM does not end up in a column name
    assert all(text.startswith("Café crème n°") for text in pd.concat(splits.parts().values())["text"])


def test_integer_labels_keep_numeric_order(tmp_path):
    path = write(tmp_path, "n.csv", "text,label\n" + "".join(f"t{i},{[2, 10, 1][i % 3]}\n" for i in range(30)))
    assert read_upload(path).label_names == ["1", "2", "10"]


def test_user_overrides_guessed_columns(tmp_path):
    df = frame().assign(genre=["film" if i < 20 else "book" for i in range(40)])
    path = tmp_path / "multi.csv"
    df.to_csv(path, index=False)
    assert guess_columns(read_table_file(path)) == ("review", "stars")
    splits = read_upload(path, text_column="review", label_column="genre")
    assert splits.label_names == ["book", "film"] and splits.notices == []
    assert str(read_upload(path, label_column="genre").notices[0]).startswith("Using column 'review' as text and 'genre'")


def test_guessing_by_content_when_names_are_unfamiliar(tmp_path):
    df = pd.DataFrame({"a": STARS, "b": [f"a much longer sentence than the label {i}" for i in range(40)],
                       "c": range(40)})
    assert guess_columns(df) == ("b", "a")


def test_unknown_column_from_user(tmp_path):
    path = tmp_path / "r.csv"
    frame().to_csv(path, index=False)
    with pytest.raises(DataError, match="There is no label column named 'score' \\(columns: id, review, stars\\)."):
        read_upload(path, label_column="score")


def test_split_column_gives_official_test(tmp_path):
    df = frame().assign(split=["test" if i < 10 else "train" for i in range(40)])
    path = tmp_path / "s.csv"
    df.to_csv(path, index=False)
    splits = read_upload(path)
    assert set(splits.test["text"]) == set(REVIEWS[:10])
    assert "Rows marked 'test' in column 'split' form the test set." in english(splits.notices)


# -- malformed and hostile files: always one DataError sentence -------------------------------------

def test_semicolon_file_named_csv_is_read(tmp_path):
    path = write(tmp_path, "semi.csv", "text;label\n" + "".join(f"good, fine {i};{i % 2}\n" for i in range(20)))
    assert_valid(read_upload(path))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bin.csv", bytes(range(256)) * 40, "'bin.csv' looks like a binary file, not text; save it as UTF-8 text."),
        ("x.csv", b"", "'x.csv' is empty."),
        ("x.csv", "\n\n\n", "'x.csv' has no rows."),
        ("x.csv", "text,label\n", "'x.csv' has no rows."),
        ("one.csv", "just text\nsome more\nand more\n",
         "Only one column ('just text') was found; a text column and a label column are needed "
         "(is the delimiter right?)."),
        ("q.csv", 'text,label\n"never closed,1\nb,0\n',
         "'q.csv' could not be read as a table: a quote is opened and never closed."),
        ("x.json", "{not json", "'x.json' is not valid JSON or JSON Lines."),
        ("x.json", "[1, 2, 3]", "'x.json' must hold a list of records like {\"text\": ..., \"label\": ...}."),
        ("x.jsonl", '{"text": "a", "label": 1}\n{"text": "b", "lab', "'x.jsonl' is not valid JSON or JSON Lines."),
        ("x.parquet", b"PAR1 this is not parquet", "'x.parquet' is not a valid Parquet file."),
        ("x.parquet", b"PAR1" + b"\x00" * 64 + b"PAR1", "'x.parquet' is a damaged Parquet file and cannot be read."),
        ("x.xlsx", b"whatever", "'x.xlsx' is not a supported file type; use .csv, .tsv, .json, .jsonl, .parquet."),
        ("nan.csv", "text,label\na,\nb,\n", "The label column 'label' is empty."),
        ("dup.json", json.dumps({"text": ["a", "b"], " text": ["c", "d"]}),
         "'dup.json' has more than one column named 'text'; rename one."),
        ("lists.json", json.dumps([{"text": "a", "label": [1]}, {"text": "b", "label": [2]}]),
         "The label column 'label' holds lists or objects, not single labels."),
    ],
)
def test_malformed_files_give_one_clear_sentence(tmp_path, name, content, message):
    with pytest.raises(DataError) as error:
        read_upload(write(tmp_path, name, content))
    assert str(error.value) == message


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="The file 'gone.csv' cannot be found."):
        read_upload(tmp_path / "gone.csv")


def test_file_over_the_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(upload_module, "MAX_UPLOAD_BYTES", 1_000)
    path = write(tmp_path, "big.csv", "text,label\n" + "a long enough line,1\n" * 100)
    with pytest.raises(DataError, match=r"'big.csv' is 0.0 MB, over the 20 MB limit for uploads."):
        read_upload(path)


def test_real_size_limit_is_checked_before_reading(tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as sparse:  # a sparse file: no disk used, nothing read
        sparse.truncate(upload_module.MAX_UPLOAD_BYTES + 1)
    with pytest.raises(DataError, match="over the 20 MB limit"):
        read_upload(path)


def test_tens_of_thousands_of_classes(tmp_path):
    path = write(tmp_path, "ids.csv", "text,label\n" + "".join(f"text {i},class {i}\n" for i in range(30_000)))
    with pytest.raises(DataError, match="The label column has 30,000 different values but at most 100"):
        read_upload(path, text_column="text", label_column="label")


def test_nan_labels_are_dropped_with_notice(tmp_path):
    rows = "".join(f"t{i},{'' if i % 5 == 0 else i % 2}\n" for i in range(40))
    splits = read_upload(write(tmp_path, "n.csv", "text,label\n" + rows))
    assert "8 rows without a label removed from n.csv." in english(splits.notices)
    assert_valid(splits)


def test_ragged_rows(tmp_path):
    with pytest.raises(DataError, match="could not be read as a table: line 3 has a different number of fields"):
        read_upload(write(tmp_path, "r.csv", "text,label\na,1\nb,0,extra,more\n"))


# -- property: any bytes either give valid data or one DataError -------------------------------------

# tmp_path is shared by the examples of one test: each example overwrites the same file.
FUZZ = settings(max_examples=int(os.environ.get("KTDEMO_FUZZ_EXAMPLES", 100)), deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def check_upload(tmp_path, name, content):
    path = write(tmp_path, name, content)
    try:
        splits = read_upload(path)
    except DataError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert_valid(splits)


@FUZZ
@given(content=st.binary(max_size=600), suffix=st.sampled_from([".csv", ".tsv", ".json", ".jsonl", ".parquet"]))
def test_random_bytes_never_crash(tmp_path, content, suffix):
    check_upload(tmp_path, "random" + suffix, content)


cell = st.one_of(st.text(string.printable, max_size=12), st.integers(-3, 3), st.none())
label_cell = st.one_of(st.sampled_from(["pos", "neg", "0", "1"]), cell)  # often valid, sometimes not


@FUZZ
@given(rows=st.lists(st.tuples(cell, label_cell), max_size=40),
       delimiter=st.sampled_from([",", ";", "\t", "|"]), header=st.booleans())
def test_random_csv_never_crashes(tmp_path, rows, delimiter, header):
    lines = ([f"text{delimiter}label"] if header else []) + [
        delimiter.join("" if value is None else str(value) for value in row) for row in rows
    ]
    check_upload(tmp_path, "random.csv", "\n".join(lines))


json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), st.text(max_size=10))
json_value = st.recursive(json_scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["text", "label", "x"]), inner, max_size=3), max_leaves=8)


@FUZZ
@given(records=st.lists(st.dictionaries(st.sampled_from(["text", "label", "x", "split"]), json_value, max_size=4),
                        max_size=30) | json_value,
       lines=st.booleans())
def test_random_json_never_crashes(tmp_path, records, lines):
    if lines and isinstance(records, list):
        check_upload(tmp_path, "random.jsonl", "\n".join(json.dumps(r) for r in records))
    else:
        check_upload(tmp_path, "random.json", json.dumps(records))


def test_rows_longer_than_the_header_are_an_error_not_silent_loss(tmp_path):
    rows = "".join(f"t{i},{i % 2},extra\n" for i in range(12))
    with pytest.raises(DataError, match="'long.csv' could not be read as a table: the rows do not line up"):
        read_upload(write(tmp_path, "long.csv", "text,label\n" + rows))


def write_table(path, table):
    writers = {
        ".csv": lambda: table.to_csv(path, index=False),
        ".tsv": lambda: table.to_csv(path, sep="\t", index=False),
        ".json": lambda: table.to_json(path, orient="records", force_ascii=False),
        ".jsonl": lambda: table.to_json(path, orient="records", lines=True, force_ascii=False),
        ".parquet": lambda: table.to_parquet(path),
    }
    writers[path.suffix]()


any_text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30)


@FUZZ
@given(texts=st.lists(any_text, min_size=6, max_size=40),
       classes=st.sampled_from([("pos", "neg"), (0, 1), ("1", "2", "3")]),
       suffix=st.sampled_from([".csv", ".tsv", ".json", ".jsonl", ".parquet"]))
def test_written_tables_round_trip(tmp_path, texts, classes, suffix):
    """Any table a tool writes reads back with the same texts, or fails with one DataError."""
    if suffix in (".csv", ".tsv"):  # pandas writes a bare \r unquoted; every CSV reader sees a line break
        texts = [text.replace("\r", " ") for text in texts]
    table = pd.DataFrame({"text": texts, "label": [classes[i % len(classes)] for i in range(len(texts))]})
    path = tmp_path / f"table{suffix}"
    write_table(path, table)
    try:
        splits = read_upload(path, text_column="text", label_column="label")
    except DataError as error:
        assert "\n" not in str(error)
        return
    assert_valid(splits)
    read_back = set(pd.concat(splits.parts().values())["text"])
    assert read_back <= {text.strip() for text in texts}
