"""Lesson presets: each fills the Train tab with a valid run, named by RunConfig's fields."""
import pytest
from gradio_client import Client

from ktdemo import data
from ktdemo.config import SETTINGS, config_from
from ktdemo.training import presets
from ktdemo.ui import train_tab


@pytest.mark.parametrize("name", list(presets.PRESETS))
def test_each_preset_is_a_partial_config_that_makes_a_valid_run(name):
    assert set(presets.PRESETS[name].settings) <= set(SETTINGS)
    config = presets.preset_config(name)
    assert config.dataset in data.DATASETS and presets.PRESETS[name].note
    settings = presets.preset_settings(name)
    shown = {field: train_tab.shown(field, settings[field], settings) for field in settings}
    assert shown["per_class"] in train_tab.PER_CLASS and shown["adapt_per_class"] in train_tab.ADAPT_CHOICES
    assert config_from(shown) == config  # what the controls show makes the same run again


def test_the_lessons_the_issue_asks_for():
    cross = presets.preset_config("Movie reviews → product reviews (cross-domain)")
    assert (cross.kind, cross.dataset, cross.source_dataset, cross.adapt_per_class) == (
        "cross_domain", "vader_amazon", "rotten_tomatoes", 32)
    zero = presets.preset_config("News topics with no labels (zero-shot)")
    assert (zero.kind, zero.dataset) == ("zero_shot", "bbc_news")
    spam = presets.preset_config("Spam filter from 16 examples per class")
    assert (spam.dataset, spam.per_class) == ("sms_spam", 16)
    assert presets.preset_config("LoRA vs full fine-tune in 60 s").method == "lora"
    assert "Compare tab" in presets.PRESETS["Pretrained vs from scratch"].note


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ValueError, match="no preset"):
        presets.preset_config("nope")


def test_preset_endpoint_fills_every_setting_by_name(app_url):
    client = Client(app_url, verbose=False)
    *values, note = client.predict(name="News topics with no labels (zero-shot)", api_name="/preset")
    names = [p["parameter_name"] for p in client.view_api(return_format="dict", print_info=False)
             ["named_endpoints"]["/plan"]["parameters"]]
    settings = dict(zip(names, values))  # /preset fills the controls in the order /plan and /train take them
    assert settings["dataset"] == "bbc_news" and settings["kind"] == "zero_shot"
    assert settings["label_descriptions"].count("\n") == len(data.DATASETS["bbc_news"].label_names) - 1
    assert "No training" in note
