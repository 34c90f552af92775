"""Lesson presets: each fills the Train tab with a valid run."""
import inspect

import pytest
from gradio_client import Client

from ktdemo import data, presets
from ktdemo.ui import train_tab


@pytest.mark.parametrize("name", list(presets.PRESETS))
def test_each_preset_builds_a_valid_config(name):
    values = presets.preset_values(name)
    assert list(values) == list(inspect.signature(train_tab.make_config).parameters)
    config = train_tab.make_config(**values)
    assert config.dataset in data.DATASETS and presets.PRESETS[name].note
    assert values["examples_per_class"] in train_tab.PER_CLASS and values["adapt_per_class"] in train_tab.ADAPT_CHOICES


def test_the_lessons_the_issue_asks_for():
    cross = train_tab.make_config(**presets.preset_values("Movie reviews → product reviews (cross-domain)"))
    assert (cross.kind, cross.dataset, cross.source_dataset, cross.adapt_per_class) == (
        "cross_domain", "vader_amazon", "rotten_tomatoes", 32)
    zero = train_tab.make_config(**presets.preset_values("News topics with no labels (zero-shot)"))
    assert (zero.kind, zero.dataset) == ("zero_shot", "bbc_news")
    spam = train_tab.make_config(**presets.preset_values("Spam filter from 16 examples per class"))
    assert (spam.dataset, spam.per_class) == ("sms_spam", 16)
    assert train_tab.make_config(**presets.preset_values("LoRA vs full fine-tune in 60 s")).method == "lora"
    assert "Compare tab" in presets.PRESETS["Pretrained vs from scratch"].note


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ValueError, match="no preset"):
        presets.preset_values("nope")


def test_preset_endpoint_fills_every_setting(app_url):
    *values, note = Client(app_url, verbose=False).predict("News topics with no labels (zero-shot)",
                                                           api_name="/preset")
    settings = dict(zip(inspect.signature(train_tab.make_config).parameters, values))
    assert settings["dataset_key"] == "bbc_news" and settings["kind"] == "zero_shot"
    assert settings["descriptions"].count("\n") == len(data.DATASETS["bbc_news"].label_names) - 1
    assert "No training" in note
