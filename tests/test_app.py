"""The app through its public API: launched in-process, driven with gradio_client like a remote user."""
import json
from pathlib import Path

from gradio_client import Client


def train(client, tiny_model, dataset="rotten_tomatoes"):
    return client.submit(model=tiny_model, dataset=dataset, time_budget_s=5, learning_rate="1e-4", max_length=32,
                         api_name="/train")


def test_api_lists_the_three_named_events(app_url):
    endpoints = Client(app_url, verbose=False).view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/train", "/predict", "/attention", "/stop"} <= set(endpoints)


def test_predict_before_training_is_marked_untrained(app_url, tiny_model):
    client = Client(app_url, verbose=False)
    label, _, note = client.predict(text="A fine film.", model=tiny_model, api_name="/predict")
    assert "untrained head" in note
    assert {c["label"] for c in label["confidences"]} == {"negative", "positive"}


def test_empty_text_gets_a_message_not_an_error(app_url):
    label, _, note = Client(app_url, verbose=False).predict("   ", api_name="/predict")
    assert "Type a sentence" in note


def test_train_then_predict_then_attention(app_url, tiny_model):
    client = Client(app_url, verbose=False)
    status, curves, results, before_after, confusion, mistakes = train(client, tiny_model).result(timeout=300)
    assert "after" in results and "held-out test examples" in results
    assert curves is not None and confusion is not None
    label, probabilities, note = client.predict("A fine film.", api_name="/predict")
    assert note.startswith("Fine-tuned")
    heatmap, overview, note = client.predict("A fine film.", api_name="/attention")
    assert overview is not None and "Layer 2, head 1" in heatmap["plot"]  # layer 6 clamped to the tiny model's last


def test_an_api_call_is_never_refused_by_the_slider_range_another_model_set(app_url, tiny_model):
    client = Client(app_url, verbose=False)
    client.predict(text="A fine film.", layer=1, head=1, model=tiny_model, api_name="/attention")  # a 2-layer model
    heatmap, _, note = client.predict(text="A fine film.", layer=6, head=12, model=tiny_model, api_name="/attention")
    assert "Layer 2, head 2" in heatmap["plot"], note


def test_two_sessions_keep_their_own_models(app_url, tiny_model):
    alice, bob = Client(app_url, verbose=False), Client(app_url, verbose=False)
    jobs = [train(alice, tiny_model, "rotten_tomatoes"), train(bob, tiny_model, "sms_spam")]
    for job in jobs:
        job.result(timeout=300)
    alice_labels = {c["label"] for c in alice.predict("Call now to win", api_name="/predict")[0]["confidences"]}
    bob_labels = {c["label"] for c in bob.predict("Call now to win", api_name="/predict")[0]["confidences"]}
    assert alice_labels == {"negative", "positive"}
    assert bob_labels == {"ham", "spam"}


def test_the_readme_client_example_works_with_keywords(app_url, tiny_model):
    client = Client(app_url, verbose=False)
    status, curves, results, *_ = client.predict(model=tiny_model, time_budget_s=5, per_class="16",
                                                 api_name="/train")
    assert "held-out test examples" in results and "seen of 32 " in results  # 16 per class
    label, probabilities, note = client.predict("A gorgeous, moving film.", api_name="/predict")
    heatmap, overview, note = client.predict(text="A gorgeous, moving film.", layer=2, head=2, api_name="/attention")
    assert label["label"] in {"negative", "positive"} and "Layer 2, head 2" in heatmap["plot"]


def test_plan_shows_the_eta_and_the_auto_choice_before_starting(app_url, tiny_model):
    client = Client(app_url, verbose=False)
    plan = client.predict(model=tiny_model, time_budget_s=30, method="auto", api_name="/plan")
    assert "Expected time" in plan and "Max length" in plan
    bad = client.predict(model=tiny_model, kind="cross_domain", source_dataset="trec", api_name="/plan")
    assert "Map the source labels" in bad


def test_cross_domain_run_then_export_its_config(app_url, tiny_model):
    client = Client(app_url, verbose=False)
    status, curves, results, comparison, *_ = client.predict(
        model=tiny_model, dataset="vader_amazon", time_budget_s=5, per_class="16", kind="cross_domain",
        source_dataset="rotten_tomatoes", api_name="/train")
    assert "source test (Rotten Tomatoes reviews)" in results
    exported = client.predict(api_name="/export_config")
    config = json.loads(Path(exported["value"] if isinstance(exported, dict) else exported).read_text())
    assert config["kind"] == "cross_domain" and config["source_dataset"] == "rotten_tomatoes"


def test_a_study_fills_the_compare_table(app_url, tiny_model):
    client = Client(app_url, verbose=False)
    status, curves, table, *figures = client.predict(study="pretraining", time_budget_s=5, kshot_methods=["full"], model=tiny_model,
                                                     per_class="16", api_name="/study")
    assert [row[1] for row in table["data"]] == ["In-domain", "Random init (control)"]
    assert len(figures) == 4


def test_export_attention_gives_html_png_and_npz(app_url, tiny_model):
    client = Client(app_url, verbose=False)
    files, note = client.predict(text="A fine film.", layer=1, head=1, model=tiny_model, api_name="/export_attention")
    paths = [Path(f["value"] if isinstance(f, dict) else f) for f in (files["value"] if isinstance(files, dict) else files)]
    assert sorted(p.suffix for p in paths) == [".html", ".html", ".npz", ".png", ".png"]
    assert "every layer" in note


def test_the_api_takes_run_config_field_names(app_url):
    from dataclasses import fields

    from ktdemo.config import RunConfig

    endpoints = Client(app_url, verbose=False).view_api(print_info=False, return_format="dict")["named_endpoints"]
    names = {p["parameter_name"] for p in endpoints["/train"]["parameters"]} - {"probe_text", "own_copy"}
    assert names <= {f.name for f in fields(RunConfig)} and {"time_budget_s", "per_class", "source_dataset"} <= names


def test_a_typed_hub_model_is_checked(app_url):
    client = Client(app_url, verbose=False)
    assert "Hub is unreachable" in client.predict(model="owner/some-model", api_name="/check_model")
    assert "not a model name" in client.predict(model="../../etc/passwd", api_name="/check_model")
    assert "not a model name" in client.predict(model="https://evil.example/model", api_name="/check_model")
    assert "bundled" in client.predict(model="minilm", api_name="/check_model")
