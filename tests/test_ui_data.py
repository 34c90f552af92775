"""The Data tab through its API: preview, your own file, Hub datasets; each session sees only its own data."""
import time

import pytest
from gradio_client import Client, handle_file


def value(output):
    """A dropdown set with gr.update(...) comes back as the update; its value is what was selected."""
    return output["value"] if isinstance(output, dict) else output


def write_csv(folder, name, rows):
    path = folder / name
    path.write_text("\n".join(",".join(row) for row in rows) + "\n")
    return path


@pytest.fixture
def moods_csv(tmp_path):
    """Two classes × 20 rows, with an id column the guess must pass over."""
    rows = [("id", "comment", "mood")]
    for i in range(20):
        rows.append((str(2 * i), f"what a bright lovely sunny day number {i}", "cheerful"))
        rows.append((str(2 * i + 1), f"such a grey dreary rainy evening number {i}", "gloomy"))
    return write_csv(tmp_path, "moods.csv", rows)


def test_preview_of_a_bundled_dataset(app_url, tiny_model):
    client = Client(app_url, verbose=False)
    summary, balance, per_split, lengths, examples = client.predict(model=tiny_model, dataset="sms_spam", api_name="/preview")
    assert "SMS spam" in summary and "train" in summary and "test" in summary
    assert balance is not None and per_split is not None and lengths is not None
    assert {row[0] for row in examples["data"]} == {"ham", "spam"}


def test_upload_pick_columns_use_then_train(app_url, tiny_model, moods_csv):
    client = Client(app_url, verbose=False)
    text_column, label_column, note = client.predict(handle_file(str(moods_csv)), api_name="/columns")
    assert (value(text_column), value(label_column)) == ("comment", "mood") and "40 rows" in note
    assert text_column["choices"] == [["id", "id"], ["comment", "comment"], ["mood", "mood"]]
    dataset, note, summary, balance, per_split, lengths, examples = client.predict(
        handle_file(str(moods_csv)), text_column="comment", label_column="mood", model=tiny_model,
        api_name="/upload")
    dataset = value(dataset)
    assert dataset == "upload:moods.csv" and "moods.csv" in note
    assert "2 classes" in summary and balance is not None
    assert {row[0] for row in examples["data"]} == {"cheerful", "gloomy"}
    *_, results, _, _, _ = client.submit(model=tiny_model, dataset=dataset, time_budget_s=5, learning_rate="1e-4", max_length=32,
                                         api_name="/train").result(timeout=300)
    assert "held-out test examples" in results
    label, _, note = client.predict("a sunny day", api_name="/predict")
    assert note.startswith("Fine-tuned") and "moods.csv" in note
    assert {c["label"] for c in label["confidences"]} == {"cheerful", "gloomy"}


def test_files_without_usable_columns_or_classes_get_one_sentence(app_url, tmp_path, tiny_model):
    client = Client(app_url, verbose=False)
    one_column = write_csv(tmp_path, "words.csv", [("text",)] + [(f"word {i}",) for i in range(10)])
    *_, note = client.predict(handle_file(str(one_column)), api_name="/columns")
    assert note.startswith("⚠️") and "Only one column" in note
    _, note, *_ = client.predict(handle_file(str(one_column)), model=tiny_model, api_name="/upload")
    assert note.startswith("⚠️") and "Only one column" in note and "Traceback" not in note

    one_class = write_csv(tmp_path, "same.csv", [("text", "label")] + [(f"text {i}", "yes") for i in range(10)])
    _, note, *_ = client.predict(handle_file(str(one_class)), "text", "label", model=tiny_model, api_name="/upload")
    assert note.startswith("⚠️") and "same label" in note


def test_hub_offline_and_local_paths_get_one_sentence_fast(app_url):
    client = Client(app_url, verbose=False)
    started = time.monotonic()
    _, note, *_ = client.predict("stanfordnlp/imdb", api_name="/load_hub")
    assert note.startswith("⚠️") and "imdb" in note and len(note.splitlines()) == 1
    assert time.monotonic() - started < 15
    _, note, *_ = client.predict("../etc", api_name="/load_hub")  # the server's files are not a dataset source
    assert "is not a Hub dataset id" in note
    _, note, *_ = client.predict("tests", api_name="/load_hub")
    assert "is not a Hub dataset id" in note


def test_an_upload_is_invisible_to_other_sessions(app_url, tiny_model, moods_csv):
    alice, bob = Client(app_url, verbose=False), Client(app_url, verbose=False)
    dataset = value(alice.predict(handle_file(str(moods_csv)), model=tiny_model, api_name="/upload")[0])
    assert "moods.csv" in alice.predict(model=tiny_model, dataset=dataset, api_name="/preview")[0]
    with pytest.raises(Exception, match="not in the list of choices"):
        bob.predict(model=tiny_model, dataset=dataset, api_name="/preview")
