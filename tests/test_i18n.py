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


# -- every figure in the page's language ------------------------------------------------------------------------
# What a figure shows in words: titles (subplot titles are annotations), axis titles, legend names, hover
# templates, annotations, tick texts, slider prefixes and hover texts.
FIGURE_TEXT_KEYS = {"text", "name", "hovertemplate", "prefix", "ticktext"}
# Kept as they are in Chinese: technical terms and names.
KEPT_TERMS = {"cka", "cls", "pca", "nli", "lora", "kobayashi", "vaswani", "softmax", "model"}
CJK_TEXT = re.compile(r"[\u4e00-\u9fff]")


def _figure_words(figure) -> list[str]:
    shown = []

    def walk(node, key=None):
        if isinstance(node, dict):
            for name, value in node.items():
                if name != "template":
                    walk(value, name)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value, key)
        elif hasattr(node, "tolist"):  # a numpy array of strings (trace text)
            walk(node.tolist(), key)
        elif isinstance(node, str) and key in FIGURE_TEXT_KEYS:
            shown.append(node)

    walk(figure.to_plotly_json())
    return shown


def _english_figure_words() -> set[str]:
    """Every English word a figure may say: the figure words of the catalogue and the core's choice names."""
    from ktdemo import messages
    from ktdemo.figures.style import CHOICE_NAMES

    texts = [text for key, text in messages.ENGLISH.items()
             if key.startswith(("figure.", "part.kind.", "part.method."))]
    texts += list(CHOICE_NAMES.values())
    words = {word.lower() for text in texts
             for word in re.findall(r"[A-Za-z]{3,}", re.sub(r"%\{\{.*?\}\}|<[^>]*>|\{[a-z_]+\}", " ", text))}
    return words - KEPT_TERMS


def _chinese_figures():
    import numpy as np

    from ktdemo.figures import attention, compare, inside, learn
    from ktdemo.figures.timelapse import timelapse_figure
    from ktdemo.inspection.representations import SentenceSpace
    from ktdemo.outputs.report import comparison_figure
    from ktdemo.serving.records import run_label
    from ktdemo.training.timelapse import Snapshot
    from ktdemo.training.transfer import Scores

    zh = i18n.words("zh-CN")
    rows = [{"run": n, "label": run_label(n, method, kind, "数据甲", zh), "kind": kind, "method": method,
             "accuracy": 0.5 + n / 10, "macro_f1": 0.5, "total_seconds": 10.0 * n, "trainable_params": params,
             "total_params": 1000} for n, (method, kind, params) in enumerate(
                 [("full", "in_domain", 900), ("lora", "cross_domain", 20), ("similarity", "zero_shot", 0)], start=1)]
    points = [{"method": "full", "kind": kind, "per_class": k, "accuracy": 0.7}
              for kind in ("in_domain", "cross_domain") for k in (2, 8, None)]
    rng = np.random.default_rng(0)
    tokens = ["[CLS]", "好", "电影", "[SEP]"]
    weights = rng.dirichlet(np.ones(4), size=(2, 2, 4))
    space = SentenceSpace(
        before=rng.normal(size=(4, 2)), after=rng.normal(size=(4, 2)), labels=np.array([0, 1, 0, 1]),
        label_names=["负面", "正面"], predictions=np.array([0, 1, 1, 1]), mistakes=np.array([False, False, True, False]),
        texts=["好看", "难看", "不错", "一般"], domains=[say("figure.domain_named.source", name="数据甲")] * 2
        + [say("figure.domain_named.target", name="数据乙")] * 2, separation_before=0.6, separation_after=0.9,
        variance_before=np.array([0.5, 0.2]), variance_after=np.array([0.6, 0.1]))
    change = SimpleNamespace(cka=[0.9, 0.8, 0.5], names=["嵌入层", "第 1 层", "第 2 层"], probe_before=[0.5, 0.6, 0.7],
                             probe_after=[0.5, 0.7, 0.9], chance=0.5)
    norm = SimpleNamespace(shape=(2, 2), tokens=tokens, attentions=weights, norms=weights * 2,
                           reader_raw=weights[:, 0, 0], reader_norm=weights[:, 1, 0], pooling="cls")
    shots = [Snapshot(step, loss, tokens, weights.astype("float16"), {"负面": 0.4, "正面": 0.6})
             for step, loss in ((0, None), (5, 0.5))]
    scores = Scores().add(say("result.source_test", name="数据甲"), SimpleNamespace(accuracy=0.9)).add(
        say("result.target_before_adapting"), SimpleNamespace(accuracy=0.6))
    cross = SimpleNamespace(config=SimpleNamespace(kind="cross_domain", adapt_per_class=4), scores=scores,
                            after=SimpleNamespace(accuracy=0.8), dataset_name="数据乙")
    return {
        "accuracy vs time": compare.accuracy_vs_time_figure(rows, zh),
        "accuracy vs parameters": compare.accuracy_vs_parameters_figure(rows, zh),
        "no runs": compare.accuracy_vs_time_figure([], zh),
        "k-shot": compare.kshot_curve_figure(points, chance=0.5, words=zh),
        "no sweep": compare.kshot_curve_figure([], words=zh),
        "transfer matrix": compare.transfer_matrix_figure([[0.9, None], [0.6, 0.8]], ["数据甲", "数据乙"],
                                                          ["数据甲", "数据乙"], zh),
        "domain gap": comparison_figure(cross, zh),
        "sentence space": inside.sentence_space_figure(space, zh),
        "layer change": inside.layer_change_figure(change, zh),
        "norm attention": inside.norm_attention_figure(norm, 1, 1, zh),
        "cls row": inside.cls_row_figure(norm, None, zh),
        "mean row": inside.cls_row_figure(SimpleNamespace(**{**vars(norm), "pooling": "mean"}), 0, zh),
        "steps": learn.attention_steps_figure(tokens, rng.normal(size=4), weights[0, 0, 0], 1, "步骤", zh),
        "vectors": learn.query_key_value_figure(tokens, rng.normal(size=3), rng.normal(size=(4, 3)),
                                                rng.normal(size=(4, 3)), rng.normal(size=3), "向量", zh),
        "heads": learn.heads_figure(weights[0, :, 1], tokens, 1, 0, zh),
        "sinusoid": learn.sinusoid_figure(rng.normal(size=(8, 4)), [0, 1], zh),
        "positions": learn.position_similarity_figure(rng.normal(size=(4, 4)), "位置", zh),
        "residual": learn.residual_norms_figure({"stream": [1, 2], "attention": [0.1, 0.2],
                                                 "feed_forward": [0.2, 0.3]}, zh),
        "probabilities": attention.probabilities_figure({"负面": 0.4, "正面": 0.6}, words=zh),
        "heatmap": attention.attention_heatmap_figure(weights[0, 0], tokens, "注意力", zh),
        "overview": attention.attention_overview_figure(weights, (0, 1), zh),
        "head change": attention.attention_change_figure(rng.random((2, 2)), zh),
        "head importance": attention.head_importance_figure(rng.normal(size=(2, 2)) / 10, zh),
        "time-lapse": timelapse_figure(weights[-1].mean(axis=0)[None].repeat(2, axis=0), tokens, [0, 5],
                                       [shot.caption(zh) for shot in shots], words=zh),
    }


def test_every_figure_says_its_words_in_the_page_language():
    english = _english_figure_words()
    assert {"accuracy", "chance", "trained", "tested", "layer", "head", "source", "target", "probe", "full"} <= english
    for name, figure in _chinese_figures().items():
        shown = _figure_words(figure)
        assert CJK_TEXT.search(figure.layout.title.text or ""), (name, figure.layout.title.text)
        left = {word for text in shown
                for word in re.findall(r"[A-Za-z]{3,}", re.sub(r"%\{.*?\}|<[^>]*>", " ", text))
                if word.lower() in english}
        assert left == set(), (name, left, shown)


def test_the_chinese_figures_say_what_the_english_ones_do():
    figures = _chinese_figures()
    matrix = figures["transfer matrix"]
    assert (matrix.layout.xaxis.title.text, matrix.layout.yaxis.title.text) == ("测试数据集", "训练数据集")
    kshot = figures["k-shot"]
    assert kshot.layout.xaxis.title.text == "每类标注样本数" and kshot.layout.yaxis.title.text == "测试集准确率"
    assert kshot.layout.annotations[0].text == "随机水平" and "全部" in kshot.layout.xaxis.categoryarray
    assert {trace.name for trace in kshot.data} == {"全量微调 · 领域内", "全量微调 · 跨领域"}
    by_time = figures["accuracy vs time"]
    assert {trace.name for trace in by_time.data} == {"全量微调", "LoRA", "零样本（相似度）"}
    assert "● 领域内" in by_time.layout.annotations[0].text and "★ 零样本" in by_time.layout.annotations[0].text
    assert by_time.data[0].customdata[0][0] == "#1 全量微调 · 领域内 · 数据甲"
    assert "没有训练任何参数" in figures["accuracy vs parameters"].data[-1].customdata[0][2]
    assert figures["domain gap"].data[0].x == ("源测试集（数据甲）", "适配前的目标测试集", "适配后的目标测试集（数据乙）")
    space = figures["sentence space"]
    legend = {trace.name: trace.marker.symbol for trace in space.data if trace.x[0] is None}
    assert legend["源：数据甲"] == "circle" and legend["目标：数据乙"] == "diamond" and "迁移后分错" in legend
    layers = figures["layer change"]
    assert {trace.name for trace in layers.data} == {"CKA：预训练与迁移后", "探测：预训练", "探测：迁移后", "总是预测最常见的类别"}
    assert figures["overview"].data[1].text[0][1] == "第 1 层，第 2 个头"
    assert figures["head change"].layout.xaxis.title.text == "注意力头"
    assert figures["head change"].layout.yaxis.title.text == "层"
    assert figures["time-lapse"].layout.title.text.endswith("第 5 步 · 损失 0.50 · 预测为 正面（0.60）")
    assert figures["time-lapse"].layout.sliders[0].currentvalue.prefix == "步数："


def test_the_english_figure_words_are_as_before():
    from ktdemo.figures import compare
    from ktdemo.figures.style import english
    from ktdemo.serving.records import run_label

    assert run_label(3, "linear_probe", "cross_domain", "SMS spam") == "#3 linear probe · cross-domain · SMS spam"
    assert run_label(1, "similarity", "zero_shot", "AG News") == "#1 similarity · zero-shot · AG News"
    assert run_label(2, "full", "from_scratch", "x") == "#2 full · from-scratch · x"
    assert english("kind.from_scratch") == "Random init (control)" and english("method.nli") == "Zero-shot (NLI)"
    assert i18n.words("en")("kind.in_domain") == "In-domain" and i18n.words("zh-CN")("kind.in_domain") == "领域内"
    assert compare.NO_RUNS == "Finish a run to compare it here."
    figure = compare.kshot_curve_figure([{"method": "full", "kind": "in_domain", "per_class": None, "accuracy": 0.5}],
                                        chance=0.5)
    assert figure.data[0].hovertemplate == "Full fine-tune<br>%{x} per class: %{y:.1%}<extra></extra>"
    assert figure.layout.annotations[0].text == "chance" and list(figure.data[0].x) == ["all"]
