"""What transfer did inside the model, through the app's API: the three endpoints before and after a run."""
from gradio_client import Client


def test_the_inside_views_need_a_run_then_show_it(app_url, tiny_model):
    client = Client(app_url, verbose=False)
    note, figure = client.predict(api_name="/representations")
    assert "Train a model first" in note and figure is None
    assert "Train a model first" in client.predict(api_name="/layer_change")[0]
    note, head, cls = client.predict(text="A fine film.", layer=2, head=1, model=tiny_model,
                                     api_name="/norm_attention")  # the pretrained model answers before a run
    assert "moves the most" in note and head is not None and cls is not None

    client.predict(model=tiny_model, time_budget_s=5, per_class="16", api_name="/train")
    note, figure = client.predict(api_name="/representations")
    assert "test sentences" in note and "linear probe" in note and figure is not None
    note, figure = client.predict(api_name="/layer_change")
    assert "CKA" in note and "validation sentences" in note and figure is not None
    note, head, cls = client.predict(text="  ", layer=1, head=1, api_name="/norm_attention")
    assert "Type a sentence" in note and head is None
