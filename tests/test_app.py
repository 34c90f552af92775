"""The app through its public API: launched in-process, driven with gradio_client like a remote user."""
import json
from pathlib import Path

from gradio_client import Client


def train(client, tiny_model, dataset="rotten_tomatoes"):
    return client.submit(tiny_model, dataset, 5, 1e-4, 32, api_name="/train")


def test_api_lists_the_three_named_events(app_url):
    endpoints = Client(app_url, verbose=False).view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/train", "/predict", "/attention", "/stop"} <= set(endpoints)


def test_predict_before_training_is_marked_untrained(app_url, tiny_model):
    client = Client(app_url, verbose=False)
    label, _, note = client.predict("A fine film.", tiny_model, api_name="/predict")
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
    client.predict("A fine film.", 1, 1, tiny_model, api_name="/attention")  # a 2-layer model
    heatmap, _, note = client.predict("A fine film.", 6, 12, tiny_model, api_name="/attention")
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
    status, curves, results, *_ = client.predict(model_key=tiny_model, budget_s=5, examples_per_class="16",
                                                 api_name="/train")
    assert "held-out test examples" in results and "seen of 32 " in results  # 16 per class
    label, probabilities, note = client.predict("A gorgeous, moving film.", api_name="/predict")
    heatmap, overview, note = client.predict("A gorgeous, moving film.", layer_no=2, head_no=2, api_name="/attention")
    assert label["label"] in {"negative", "positive"} and "Layer 2, head 2" in heatmap["plot"]


def test_plan_shows_the_eta_and_the_auto_choice_before_starting(app_url, tiny_model):
    client = Client(app_url, verbose=False)
    plan = client.predict(model_key=tiny_model, budget_s=30, method="auto", api_name="/plan")
    assert "Expected time" in plan and "Max length" in plan
    bad = client.predict(model_key=tiny_model, kind="cross_domain", source_key="trec", api_name="/plan")
    assert "Map the source labels" in bad


def test_cross_domain_run_then_export_its_config(app_url, tiny_model):
    client = Client(app_url, verbose=False)
    status, curves, results, comparison, *_ = client.predict(
        model_key=tiny_model, dataset_key="vader_amazon", budget_s=5, examples_per_class="16", kind="cross_domain",
        source_key="rotten_tomatoes", api_name="/train")
    assert "source test (Rotten Tomatoes reviews)" in results
    exported = client.predict(api_name="/export_config")
    config = json.loads(Path(exported["value"] if isinstance(exported, dict) else exported).read_text())
    assert config["kind"] == "cross_domain" and config["source_dataset"] == "rotten_tomatoes"


def test_a_study_fills_the_compare_table(app_url, tiny_model):
    client = Client(app_url, verbose=False)
    status, curves, table, *figures = client.predict("pretraining", 5, ["full"], model_key=tiny_model,
                                                     examples_per_class="16", api_name="/study")
    assert [row[1] for row in table["data"]] == ["in-domain", "random init (control)"]
    assert len(figures) == 4


def test_export_attention_gives_html_png_and_npz(app_url, tiny_model):
    client = Client(app_url, verbose=False)
    files, note = client.predict("A fine film.", 1, 1, tiny_model, api_name="/export_attention")
    paths = [Path(f["value"] if isinstance(f, dict) else f) for f in (files["value"] if isinstance(files, dict) else files)]
    assert sorted(p.suffix for p in paths) == [".html", ".html", ".npz", ".png", ".png"]
    assert "every layer" in note
