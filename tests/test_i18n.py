"""The interface in English and Chinese: one string per key in each language, and the text the server builds
follows the page's language."""
import re
import string
from pathlib import Path
from types import SimpleNamespace

import pytest

from ktdemo import presets, runs, studies
from ktdemo.ui import i18n

UI = Path(__file__).resolve().parents[1] / "ktdemo" / "ui"
EN, ZH = i18n.STRINGS["en"], i18n.STRINGS["zh-CN"]
# A key written out where the UI asks for a string: tr("key"…), t("key"…) (tr_each names text it builds itself).
KEY_USE = re.compile(r"""\b(?:tr|t)\(\s*["']([a-z_]+(?:\.[a-z_]+)+)["']""")


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_both_languages_have_the_same_keys():
    assert sorted(set(EN) - set(ZH)) == [], "keys without Chinese"
    assert sorted(set(ZH) - set(EN)) == [], "Chinese keys that English lacks"


@pytest.mark.parametrize("key", sorted(EN))
def test_a_key_has_the_same_placeholders_in_both_languages(key):
    assert placeholders(EN[key]) == placeholders(ZH[key])
    assert ZH[key].strip() or not EN[key].strip()  # only a separator may be blank (Chinese needs no space)


def test_every_key_the_ui_uses_exists():
    used = {key for path in UI.glob("*.py") for key in KEY_USE.findall(path.read_text(encoding="utf-8"))}
    assert len(used) > 150  # the scan sees the UI's keys
    assert sorted(used - set(EN)) == []


def test_the_core_choices_studies_and_presets_have_a_key_each():
    for group, options in i18n.CHOICE_GROUPS.items():
        for key in options:
            assert f"{group}.{key}" in ZH and f"{group}.{key}.help" in ZH
    assert all(f"study.{key}" in ZH for key in studies.STUDIES)
    assert set(i18n.PRESET_KEYS) == set(presets.PRESETS)
    assert EN["kind.from_scratch"] == runs.KINDS["from_scratch"].name  # English is the core's own
    assert EN["preset.spam.note"] == presets.PRESETS["Spam filter from 16 examples per class"].note


def test_no_key_is_both_in_en_json_and_from_the_core():
    import json

    own = json.loads((UI / "locales" / "en.json").read_text(encoding="utf-8"))
    assert not set(own) & set(i18n.core_strings())


def test_chinese_uses_the_course_terms():
    text = "".join(ZH.values())
    for term in ("注意力", "多头注意力", "微调", "零样本", "位置编码", "残差连接", "线性探测", "预训练", "跨领域",
                 "顺序迁移", "随机初始化", "学习率", "准确率", "宏平均 F1", "词元", "查询", "键", "值"):
        assert term in text, term


@pytest.mark.parametrize("header, language", [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"), ("zh-TW,zh;q=0.9", "zh-CN"), ("zh-cn", "zh-CN"),
    ("en-US,en;q=0.9", "en"), ("fr-FR,zh-CN;q=0.5", "en"), ("", "en"), (None, "en"),
    ("zh", "en"),  # Gradio's frontend shows a bare "zh" in English (it ships zh-CN and zh-TW only): so do we
])
def test_the_language_comes_from_the_first_tag_of_accept_language(header, language):
    assert i18n.language_of_header(header) == language


def test_the_page_load_stores_the_language_in_the_session(monkeypatch):
    import ktdemo.ui as ui
    from ktdemo.session import Session, Sessions

    monkeypatch.setattr(ui, "SESSIONS", Sessions(grace_s=0))
    token, session = ui.attach(None, Session(), SimpleNamespace(headers={"accept-language": "zh-CN,zh;q=0.9"}))
    assert session.language == "zh-CN"
    # a reload hands back the same session, now in the reloading browser's language
    again, same = ui.attach(token, Session(), SimpleNamespace(headers={"accept-language": "en-GB"}))
    assert (again, same) == (token, session) and same.language == "en"
    assert Session().language == "en"  # an API client never loads the page: English


def test_launch_gets_the_translations():
    from ktdemo.ui import launch_options

    translations = launch_options()["i18n"].translations_dict
    assert {"en", "zh-CN", "zh"} <= set(translations)  # "zh": what a zh-TW page falls back to
    assert translations["zh-CN"]["tab.train"] == "训练" and translations["en"]["tab.train"] == "Train"


def fake_job(phase="training on SMS spam", stage="", step=12, max_steps=40, evals=((10, 0.8125),), configs=1):
    log = runs.TrainingLog(phase=phase, stage=stage, step=step, max_steps=max_steps, evals=list(evals))
    log.train_started, log.budget_s = log.started, 30.0
    return SimpleNamespace(log=log, index=0, configs=[None] * configs, run=SimpleNamespace(sharing=lambda: None))


def test_the_status_line_in_both_languages():
    from ktdemo.ui.train_tab import status_html

    assert status_html(None).endswith("<p>Ready. Press <b>Start training</b>.</p>")
    assert "就绪。请点击<b>开始训练</b>。" in status_html(None, language="zh-CN")

    english = status_html(fake_job())
    # English as before: the phase capitalised as a whole (so "sms spam")
    assert re.search(r"Training on sms spam · step 12/40 · about \d+ s left · \d+ s elapsed · "
                     r"validation accuracy 81\.2%", english), english
    chinese = status_html(fake_job(), language="zh-CN")
    assert re.search(r"正在 SMS spam 上训练 · 第 12/40 步 · 约剩 \d+ 秒 · 已用 \d+ 秒 · 验证集准确率 81\.2%",
                     chinese), chinese

    staged = fake_job(phase="stage 1 of 2 (rotten_tomatoes) · training on Rotten Tomatoes", configs=3)
    assert "Run 1 of 3 · Stage 1 of 2 (rotten_tomatoes) · training on rotten tomatoes" in status_html(staged)
    assert "第 1 次运行，共 3 次 · 第 1 阶段，共 2 阶段（rotten_tomatoes） · 正在 Rotten Tomatoes 上训练" in \
        status_html(staged, language="zh-CN")
    waiting = fake_job(phase="waiting for its turn: 2 runs ahead, about 40 s", evals=())
    assert "排队等待：前面还有 2 次运行，约 40 秒" in status_html(waiting, language="zh-CN")
    assert "已停止" in status_html(fake_job(phase="stopped"), language="zh-CN")
    assert "Loading data" in i18n.phase_text("loading data", "en").capitalize()


def test_kind_help_and_a_preset_note_in_chinese():
    from ktdemo.ui import train_tab

    assert train_tab._kind_help("cross_domain", "lora") == (
        "**Cross-domain:** train on a source dataset, test on the target (then adapt with k target examples). "
        "**LoRA:** low-rank adapters on attention (peft) plus the head.")
    assert train_tab._kind_help("cross_domain", "lora", "zh-CN").startswith("**跨领域：**在源数据集上训练")
    name = "Spam filter from 16 examples per class"
    *_, english = train_tab.fill_preset(name, ("dataset",))
    *_, chinese = train_tab.fill_preset(name, ("dataset",), "zh-CN")
    assert english == f"**{name}:** {presets.PRESETS[name].note}"
    assert chinese.startswith("**每类 16 个样本的垃圾短信过滤器：**只有") and "预训练" in chinese


def test_the_chinese_text_sentence():
    model = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"
    assert model in i18n.cjk_note("这部电影很好看", ["minilm"], "en")
    assert "多语言" in i18n.cjk_note("这部电影很好看", ["minilm"], "zh-CN")
    assert i18n.cjk_note("A fine film.", ["minilm"], "zh-CN") == ""
    assert i18n.cjk_note("这部电影很好看", [model], "en") == ""  # the model reads Chinese already


def test_chinese_input_gets_the_sentence_from_the_predict_and_learn_handlers(tiny_model):
    from ktdemo.session import Session
    from ktdemo.ui import learn_tab, predict_tab

    session = Session()
    session.language = "zh-CN"
    *_, note = predict_tab.predict("这部电影很好看。", tiny_model, "rotten_tomatoes", session)
    assert "多语言" in note and "paraphrase-multilingual-MiniLM-L12-v2" in note
    *_, note = predict_tab.show_attention("这部电影很好看。", 1, 1, tiny_model, "rotten_tomatoes", session=session)
    assert "多语言" in note
    note, steps, *_ = learn_tab.show_all("这部电影很好看。", 1, 1, 1, tiny_model, "rotten_tomatoes", session)
    assert "多语言" in note and steps.startswith("查询词元")
    *_, note = predict_tab.predict("A fine film.", tiny_model, "rotten_tomatoes", session)
    assert "多语言" not in note
    session.language = "en"
    *_, note = predict_tab.predict("这部电影很好看。", tiny_model, "rotten_tomatoes", session)
    assert "multilingual Hub encoder" in note
