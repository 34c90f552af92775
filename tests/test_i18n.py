"""The interface in English and Chinese: one string per key in each language, and the text the server builds
follows the page's language."""
import json
import re
import string
from pathlib import Path
from types import SimpleNamespace

import pytest

from ktdemo.config import KINDS
from ktdemo.messages import say
from ktdemo.progress import TrainingLog, stage_phase, waiting_phase
from ktdemo.training import presets, studies
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
    assert EN["kind.from_scratch"] == KINDS["from_scratch"].name  # English is the core's own
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
    from ktdemo.serving.app import App
    from ktdemo.serving.session import Session

    app = App(grace_s=0)
    token, session = ui.attach(None, Session(app), SimpleNamespace(headers={"accept-language": "zh-CN,zh;q=0.9"}))
    assert session.language == "zh-CN"
    # a reload hands back the same session, now in the reloading browser's language
    again, same = ui.attach(token, Session(app), SimpleNamespace(headers={"accept-language": "en-GB"}))
    assert (again, same) == (token, session) and same.language == "en"
    assert Session().language == "en"  # an API client never loads the page: English


def test_launch_gets_the_translations():
    from ktdemo.ui import launch_options

    translations = launch_options()["i18n"].translations_dict
    assert {"en", "zh-CN", "zh"} <= set(translations)  # "zh": what a zh-TW page falls back to
    assert translations["zh-CN"]["tab.train"] == "训练" and translations["en"]["tab.train"] == "Train"


def fake_job(phase=say("phase.training_on", name="SMS spam"), stage=None, step=12, max_steps=40, evals=((10, 0.8125),), configs=1):
    log = TrainingLog(phase=phase, stage=stage, step=step, max_steps=max_steps, evals=list(evals))
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

    staged = fake_job(phase=say("phase.training_on", name="Rotten Tomatoes"), stage=stage_phase(1, 2, "rotten_tomatoes"),
                      configs=3)
    assert "Run 1 of 3 · Stage 1 of 2 (rotten_tomatoes) · training on rotten tomatoes" in status_html(staged)
    assert "第 1 次运行，共 3 次 · 第 1 阶段，共 2 阶段（rotten_tomatoes） · 正在 Rotten Tomatoes 上训练" in \
        status_html(staged, language="zh-CN")
    waiting = fake_job(phase=waiting_phase(2, 40.0), evals=())
    assert "排队等待：前面还有 2 次运行，约 40 秒" in status_html(waiting, language="zh-CN")
    assert "Waiting for its turn: 2 runs ahead, about 40 s" in status_html(waiting)
    assert "已停止" in status_html(fake_job(phase=say("phase.stopped")), language="zh-CN")
    assert "kt-stopped" in status_html(fake_job(phase=say("phase.stopped")))
    assert "Loading data" in status_html(fake_job(phase=say("phase.loading_data")))


def test_kind_help_and_a_preset_note_in_chinese():
    from ktdemo.ui import train_tab

    assert train_tab._kind_help("cross_domain", "lora") == (
        "**Cross-domain:** train on a source dataset, test on the target (then adapt with k target examples). "
        "**LoRA:** low-rank adapters on attention (peft) plus the head.")
    # the colon outside the bold: CommonMark closes "**" after "：" only before a space or punctuation
    assert train_tab._kind_help("cross_domain", "lora", "zh-CN").startswith("**跨领域**：在源数据集上训练")
    name = "Spam filter from 16 examples per class"
    *_, english = train_tab.fill_preset(name, ("dataset",))
    *_, chinese = train_tab.fill_preset(name, ("dataset",), "zh-CN")
    assert english == f"**{name}:** {presets.PRESETS[name].note}"
    assert chinese.startswith("**每类 16 个样本的垃圾短信过滤器**：只有") and "预训练" in chinese


def test_the_chinese_text_sentence():
    model = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"
    assert model in i18n.cjk_note("这部电影很好看", ["minilm"], "en")
    assert "多语言" in i18n.cjk_note("这部电影很好看", ["minilm"], "zh-CN")
    assert i18n.cjk_note("A fine film.", ["minilm"], "zh-CN") == ""
    assert i18n.cjk_note("这部电影很好看", [model], "en") == ""  # the model reads Chinese already


def test_chinese_input_gets_the_sentence_from_the_predict_and_learn_handlers(tiny_model):
    from ktdemo.serving.session import Session
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


# -- the core's messages: keys and placeholders, never reproduced sentences -----------------------------------
# A message is a key (ktdemo/locales/en.json, the one English) and its parameters; the UI formats it from its
# own catalogue. So the checks are on keys: every key the code says exists in English and Chinese with the same
# placeholders, every key of the catalogue is said somewhere, and a message formats in each language.

PACKAGE = UI.parent
CORE_PREFIXES = ("error.", "notice.", "phase.", "part.", "plan.", "result.", "figure.")
CORE_KEY = re.compile(r"""["']((?:error|notice|phase|part|plan|result|figure)\.[a-z0-9_]+(?:\.[a-z0-9_]+)*)["']""")
# Keys the code builds from a name (f"part.setting.{name}"): said where that f-string is.
BUILT_KEY = re.compile(r"""f["']((?:error|notice|phase|part|plan|result|figure)\.(?:[a-z_]+\.)*)\{""")


def _sources() -> dict[str, str]:
    return {str(path.relative_to(PACKAGE)): path.read_text(encoding="utf-8") for path in PACKAGE.rglob("*.py")}


def test_the_core_messages_have_one_english_source():
    from ktdemo import messages

    own = json.loads((UI / "locales" / "en.json").read_text(encoding="utf-8"))
    assert not [key for key in own if key.startswith(CORE_PREFIXES)], "a core message's English in ui/locales"
    assert all(key.startswith(CORE_PREFIXES) or key == "plain" for key in messages.ENGLISH)
    assert all(EN[key] == text for key, text in messages.ENGLISH.items())  # the UI's English is the core's


def test_every_key_the_code_says_is_in_both_catalogues_with_the_same_placeholders():
    from ktdemo import messages

    said = {key for text in _sources().values() for key in CORE_KEY.findall(text)}
    assert len(said) > 60  # the scan sees the core's keys
    assert sorted(said - set(messages.ENGLISH)) == [], "said but not in ktdemo/locales/en.json"
    for key in messages.ENGLISH:
        assert key in ZH, f"{key}: no Chinese"
        assert placeholders(messages.ENGLISH[key]) == placeholders(ZH[key]), key


def test_every_key_of_the_catalogue_is_said_somewhere():
    from ktdemo import messages

    sources = _sources()
    said = {key for text in sources.values() for key in CORE_KEY.findall(text)}
    built = {prefix for text in sources.values() for prefix in BUILT_KEY.findall(text)}
    said |= {f"{key}_one" for key in said}  # data.validate.counted says "<key>_one" for one thing
    unused = [key for key in messages.ENGLISH if key != "plain" and key not in said
              and not any(key.startswith(prefix) for prefix in built)]
    assert unused == [], "keys nothing says"


def _example(key: str, strings: dict) -> "object":
    """A Message of `key` with a value for each placeholder (a nested phrase for some, to format in turn)."""
    from ktdemo.messages import Message, say

    values = {name: f"<{name}>" for name in placeholders(strings[key])}
    if "why" in values:
        values["why"] = say("part.why.downloads")
    if "numbers" in values:
        values["numbers"] = ["2", "4"]
    return Message(key, values)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_every_message_formats_in_each_language_with_every_placeholder_filled(language):
    from ktdemo import messages

    for key in messages.ENGLISH:
        message = _example(key, messages.ENGLISH)
        shown = i18n.text(message, language)
        assert not [name for name in placeholders(i18n.STRINGS[language].get(key) or messages.ENGLISH[key])
                    if "{" + name + "}" in shown], (key, shown)  # every placeholder filled
        for name, value in message.params.items():
            if isinstance(value, str):
                assert value in shown, (key, name, shown)
        if language == "en":
            assert shown == str(message) == message.english()  # the UI's English is the CLI's and the API's


def test_the_ui_says_sentences_in_a_row_and_the_sharing_notice():
    from ktdemo.serving.shared import sharing_notice

    described = [say("notice.untrained", model="Tiny", dataset="SMS spam"), say("notice.truncated", n=128)]
    assert i18n.text(described, "en").endswith("until you train. The text was cut to its first 128 tokens.")
    assert i18n.text(described, "zh-CN").endswith("随机猜测。文本被截断为前 128 个词元。")
    assert sharing_notice(False, 0) is None and sharing_notice(True, 3).key == "notice.shared_reused"
    assert str(sharing_notice(False, 1)) == "The same run as 1 other session here: trained once."
    assert str(sharing_notice(False, 2)) == "The same run as 2 other sessions here: trained once."


def test_a_message_nests_phrases_and_lists_in_the_reader_language():
    from ktdemo.messages import say

    message = say("error.finish_run", why=say("part.why.downloads"))
    assert str(message) == "Finish a run first: the downloads are of its results."
    assert i18n.text(message, "zh-CN") == "请先完成一次运行：下载的是它的结果。"
    layers = say("part.which.names", names=[say("part.layer_name.embeddings"), say("part.layer_name.layer", i=1)])
    assert str(layers) == "The embeddings and layer 1"
    assert i18n.text(layers, "zh-CN") == "嵌入层和第 1 层"


def test_a_message_and_an_error_carrying_one_cross_the_process_boundary():
    import pickle

    from ktdemo.data import DataError
    from ktdemo.messages import say
    from ktdemo.progress import RunCancelled

    message = say("error.no_column", role=say("part.role.label"), column="stars", columns="text, label")
    assert pickle.loads(pickle.dumps(message)) == message
    for error in (DataError(message), RunCancelled(say("notice.stopped"))):
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error) and again.message == error.message and str(again) == str(error)
    assert str(DataError(message)) == "There is no label column named 'stars' (columns: text, label)."
    assert i18n.warning(DataError(message), "zh-CN").startswith("⚠️ 没有名为")


def test_no_code_decides_by_reading_an_english_phase():
    """The log's phase is a Message: code reads `log.state`, `log.training` or a key, never the sentence."""
    reads = re.compile(r"in [\w.]*\.phase\b|\.phase\s*[!=]=|\.phase\.startswith|\.phase\.capitalize|"
                       r"\.stage\s*[!=]=|in [\w.]*\.stage\b|\.stage\.startswith")
    found = [(path, line) for path, text in _sources().items() for line in text.splitlines() if reads.search(line)]
    assert found == []


def test_no_regex_over_english_in_the_translation_layer():
    for path in UI.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "re.compile" not in source.replace("CJK = re.compile", "") and "fullmatch" not in source, path.name


def test_the_handlers_show_core_sentences_in_the_page_language(tiny_model):
    from ktdemo.serving.session import Session
    from ktdemo.ui import check_model, data_tab, learn_tab, predict_tab, train_tab

    session = Session()
    session.language = "zh-CN"
    assert predict_tab.predict(" ", tiny_model, "rotten_tomatoes", session)[-1] == "⚠️ 请先输入一句话。"
    assert "未训练分类头" in predict_tab.predict("A fine film.", tiny_model, "rotten_tomatoes", session)[-1]
    assert predict_tab.ablate("A fine film.", "", tiny_model, "rotten_tomatoes", session)[0].startswith("⚠️ 请至少")
    assert learn_tab.show_all(" ", 1, 1, 1, tiny_model, "rotten_tomatoes", session)[0] == "⚠️ 请先输入一句话。"
    assert check_model("../x", session).startswith("⚠️ “../x”既不是")
    assert "内置模型" in check_model(tiny_model, session)
    assert data_tab.add_hub("../x", session=session)[1].startswith("⚠️ “../x”不是")
    assert data_tab.add_file(None, session=session)[1] == "⚠️ 请先选择一个文件。"
    session.runs.job = SimpleNamespace(running=lambda: True)  # a run of this session is still going
    assert "本会话已有一次运行" in next(train_tab.train(session))[0]
    session.runs.job = None
    # English pages and API clients: the core's English, as before
    session.language = "en"
    assert predict_tab.predict(" ", tiny_model, "rotten_tomatoes", session)[-1] == "⚠️ Type a sentence first."
    assert check_model("../x") == "⚠️ '../x' is not a model name or a Hugging Face Hub id like 'owner/model'."
    assert data_tab.add_file(None, session=session)[1] == "⚠️ Choose a file first."


def test_the_predict_notes_in_chinese():
    import numpy as np

    from ktdemo.ui import predict_tab

    change = np.array([[0.1, 0.5], [0.05, 0.2]])
    english = predict_tab._change_summary(change, 32, "from_scratch")
    assert english == (predict_tab.JS_CAPTION.format(n=32) + " Most changed: **L1 H2** (0.50); least: **L2 H1** "
                       "(0.05). This run started from random weights, so its heads never were the pretrained ones.")
    chinese = predict_tab._change_summary(change, 32, "from_scratch", "zh-CN")
    assert "Jensen–Shannon 散度" in chinese and "变化最大：**L1 H2**（0.50）" in chinese and "随机初始化" in chinese
    drop = np.array([[0.0, 0.03125], [0.0, 0.0]])
    description = say("notice.untrained", model="Tiny", dataset="SMS spam")
    assert predict_tab._ranking_markdown(drop, 32, description).startswith("**Heads that matter most**")
    ranked = predict_tab._ranking_markdown(drop, 32, description, "zh-CN")
    assert "**最重要的注意力头**" in ranked and "1. **L1 H2**：−3.1 个百分点" in ranked and "未训练分类头" in ranked
    assert predict_tab._ranking_markdown(drop * 0, 32, description, "zh-CN").startswith("关闭任何单个注意力头")
