"""The interface in English and Chinese: one string per key in each language, and the text the server builds
follows the page's language."""
import re
import string
from pathlib import Path
from types import SimpleNamespace

import pytest

from ktdemo.config import KINDS, RunConfig, parse_label_map, parse_setting
from ktdemo.models import catalog
from ktdemo.progress import TrainingLog, failure_sentence
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
    from ktdemo.serving.registry import Sessions
    from ktdemo.serving.session import Session

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


# -- the core's sentences in Chinese (i18n.translated) -------------------------------------------------------
# Each "error." and "notice." key's English is the core's sentence; these produce every such sentence from the
# core itself, so a changed sentence in the core fails here (its pattern would no longer know it).

def _raised(call, *errors) -> str:
    with pytest.raises(errors or Exception) as caught:
        call()
    return str(caught.value)


def _core_messages(tmp_path, monkeypatch, tiny_model) -> dict[str, list[str]]:
    """Key -> sentences of the core that its pattern must translate."""
    import math
    import threading

    import numpy as np

    from ktdemo import data, models, network
    from ktdemo.data import hub, upload, validate
    from ktdemo.inspection import attention, representations
    from ktdemo.serving import worker
    from ktdemo.serving.records import Run
    from ktdemo.serving.runs import SessionRuns
    from ktdemo.serving.session import Session
    from ktdemo.training import loop, transfer

    found: dict[str, list[str]] = {}

    def add(key, *messages):
        found.setdefault(key, []).extend(messages)

    add("error.type_a_sentence", _raised(lambda: attention.clean_text("  ")))
    add("error.heads_format", _raised(lambda: attention.parse_heads("L1H2, head 3", 6, 12)))
    add("error.head_missing", _raised(lambda: attention.parse_heads("L9H1", 6, 12)))
    add("error.rank_needs_examples", _raised(lambda: attention.head_importance(None, None, [], [], 32)))
    session = Session()
    add("error.name_a_head", _raised(lambda: session.views.ablate(tiny_model, "rotten_tomatoes", "A fine film.", " ")))
    add("error.finish_run", *(_raised(call) for call in (
        lambda: session.views.attention_change("A fine film."), session.views.layer_change,
        session.downloads.report_files, session.downloads.model_zip, session.downloads.config_file)))
    look = session.views.look(tiny_model, "rotten_tomatoes", "fine " * 600)
    add("notice.untrained", session.views.model_view(tiny_model, "rotten_tomatoes").description)
    add("notice.truncated", look.description.split(": its predictions are chance until you train. ")[1])
    current = SimpleNamespace(model=None, tokenizer=None, config=RunConfig(model=tiny_model),
                              dataset_name="Rotten Tomatoes", after=SimpleNamespace(accuracy=0.8125))
    monkeypatch.setattr(SessionRuns, "current", property(lambda self: current))
    add("notice.fine_tuned", Session().views.model_view(tiny_model, "rotten_tomatoes").description)

    add("error.not_a_model", _raised(lambda: models.resolve("../x")))
    add("notice.model_bundled", models.check(tiny_model))
    spec = models.resolve("owner/model")
    monkeypatch.setattr(catalog, "_offline", lambda: False)
    monkeypatch.setattr(network, "hub_unreachable", lambda: False)
    add("notice.model_hub", models.check("owner/model"))
    monkeypatch.setattr(network, "hub_unreachable", lambda: True)
    add("error.model_offline", _raised(lambda: models.model_source(spec)))
    monkeypatch.setattr(catalog, "MODELS", {})
    add("error.model_offline", _raised(lambda: models.model_source(spec)))
    for problem, key in (("no file named model.safetensors", "error.no_safetensors"),
                         ("needs trust_remote_code=True", "error.custom_code"),
                         ("Max retries exceeded", "error.model_download"),
                         ("RepositoryNotFound: 404", "error.model_not_found"),
                         ("something odd\nmore", "error.model_load")):
        add(key, str(models.explain_load_error(spec, OSError(problem))))

    add("error.no_dataset", _raised(lambda: transfer.load_data(RunConfig(dataset="nope"))))
    add("error.no_bundled_dataset", _raised(lambda: data.catalog.get_spec("nope")))
    add("error.dataset_offline", hub._offline_sentence("owner/data"))
    add("error.dataset_not_found", hub._explain(type("DatasetNotFoundError", (Exception,), {})(), "owner/data", None,
                                                False))
    add("error.not_a_dataset_id", _raised(lambda: session.data.add_hub("../x")))
    big, empty, binary, odd = (tmp_path / name for name in ("big.csv", "empty.csv", "binary.csv", "odd.xyz"))
    big.write_text("text,label\n" + "a fine film,1\n" * 10)
    empty.write_text("")
    binary.write_bytes(b"\x00\x01\x02" * 100)
    odd.write_text("x")
    monkeypatch.setattr(upload, "MAX_UPLOAD_BYTES", 10)
    add("error.upload_too_large", _raised(lambda: upload.read_table_file(big)))
    monkeypatch.undo()  # the real limit, models and sessions again
    add("error.upload_empty", _raised(lambda: upload.read_table_file(empty)))
    add("error.binary_file", _raised(lambda: upload.read_table_file(binary)))
    add("error.upload_type", _raised(lambda: upload.read_table_file(odd)))
    header, broken = tmp_path / "header.csv", tmp_path / "broken.csv"
    header.write_text("text,label\n")
    broken.write_text('text,label\n"a fine film,1\n')
    add("error.upload_no_rows", _raised(lambda: upload.read_table_file(header)))
    add("error.unreadable_parse", _raised(lambda: upload.read_table_file(broken)))
    with monkeypatch.context() as patched:
        patched.setattr(data, "read_upload", lambda *args: 1 / 0)
        add("error.unreadable_table", _raised(lambda: Session().data.add_upload(str(big))))
        patched.setattr(data, "load_hub", lambda *args, **kwargs: 1 / 0)
        add("error.dataset_hub_failed", _raised(lambda: Session().data.add_hub("owner/data")))
    table = upload.read_table_file(big)
    add("error.no_column", _raised(lambda: validate.check_columns(table, "review", "label")),
        _raised(lambda: validate.check_columns(table, "text", "stars")))
    add("error.same_columns", _raised(lambda: validate.check_columns(table, "text", "text")))
    table["blank"] = ""
    add("error.empty_column", _raised(lambda: validate.check_columns(table, "text", "blank")))
    add("error.one_column", _raised(lambda: upload.guess_columns(table[["text"]])))
    add("error.one_class", _raised(lambda: validate.check_class_sizes(table["label"].astype(int) * 0, ["neg", "pos"])))

    add("error.unknown_choice", *(_raised(lambda: RunConfig(**{name: "bogus"}))
                                  for name in ("kind", "method", "pooling", "warm_start")))
    add("error.needs_source", _raised(lambda: RunConfig(kind="cross_domain")),
        _raised(lambda: RunConfig(kind="sequential")))
    add("error.not_a_number", _raised(lambda: parse_setting("learning_rate", "fast")))
    add("error.label_map", _raised(lambda: parse_label_map("fresh positive")))
    add("notice.out_of_memory", failure_sentence(MemoryError()))
    add("notice.run_failed", failure_sentence(KeyError("text")), failure_sentence(RuntimeError()))
    callback = loop._RunCallback(TrainingLog(), threading.Event(), None)
    callback.on_log(None, SimpleNamespace(global_step=3), SimpleNamespace(), logs={"loss": math.nan})
    add("notice.nan_loss", callback.failure)
    cancel = threading.Event()
    cancel.set()
    add("notice.stopped_before", _raised(lambda: transfer._Run(RunConfig(), [], TrainingLog(), cancel,
                                                                {}).enter("loading data")))
    dead = SimpleNamespace(_process=SimpleNamespace(is_alive=lambda: False, exitcode=-9), close=lambda: None)
    add("notice.worker_crashed", _raised(lambda: worker.Worker._check(dead, None)))
    alive = SimpleNamespace(_process=SimpleNamespace(is_alive=lambda: True), close=lambda: None)
    add("notice.stopped", _raised(lambda: worker.Worker._check(alive, 0.0)))

    def shared_run(members, reused=False):
        done = threading.Event()
        return Run(1, RunConfig(), TrainingLog(), reused=reused,
                   shared=SimpleNamespace(members=members, peak=members, done=done)).sharing()

    add("notice.shared_reused", shared_run(2, reused=True))
    add("notice.shared_one", shared_run(2))
    add("notice.shared_many", shared_run(4))

    busy = Session()
    busy.runs.job = SimpleNamespace(running=lambda: True)
    add("error.run_in_progress", _raised(lambda: busy.runs.start(RunConfig())))
    busy.closed = True
    add("error.session_ended", _raised(lambda: busy.runs.start(RunConfig())))

    for cka in ([0.995, 0.999, 0.998], [0.99, 0.9, 0.6, 0.3], [0.4, 0.9, 0.95, 0.96], [0.5, 0.4, 0.99, 0.98],
                [0.99, 0.3, 0.97, 0.99], [0.99, 0.3, 0.4, 0.99], [0.99, 0.97, 0.5], [0.5, 0.4, 0.45]):
        summary, held = representations.change_summary(np.array(cka), representations.layer_names(len(cka)))
        key = "notice.layers_unchanged" if held is None else (
            "notice.layers_moved" if "pretrained ones" not in summary else "notice.layers_moved_rest")
        add(key, summary)
    return found


# Sentences only a live run, a queue or a shared run says (the test cannot cheaply make them): their English
# must still be the core's, word for word.
SAID_IN_SOURCE = {"notice.stopped_first_stage": "training.transfer", "notice.stopped_waiting": "serving.worker",
                  "notice.stopped_probe": "training.probe", "notice.not_run": "serving.runs"}


def test_every_core_sentence_key_translates_a_sentence_of_the_core(tmp_path, monkeypatch, tiny_model):
    import importlib
    import inspect

    found = _core_messages(tmp_path, monkeypatch, tiny_model)
    keys = {key for key in EN if key.startswith(i18n.MESSAGE_PREFIXES)}
    assert sorted(keys - set(found) - set(SAID_IN_SOURCE)) == [], "a core-sentence key no test produces"
    for key, messages in found.items():
        for message in messages:
            assert i18n.translated(message, "en") == message  # English: the core's, unchanged
            chinese = i18n.translated(message, "zh-CN")
            # the right key matched, and what it names came through (a name stays as the core wrote it)
            assert [k for pattern, k in i18n.MESSAGES if pattern.fullmatch(message)][:1] == [key], (key, message)
            assert chinese != message and i18n.CJK.search(chinese), (key, message, chinese)
            # a phrase of PARTS (or a run kind, a list of layers) is put in Chinese; a name, id or number stays
            groups = next(pattern for pattern, k in i18n.MESSAGES if k == key).fullmatch(message).groupdict()
            for group, value in groups.items():
                phrase = group in i18n.PARTS or group in ("kind", "numbers", "names")
                shown = i18n._group_text(group, value, "zh-CN")
                assert shown in chinese and (shown != value or not phrase or value.isdigit()), (key, group, value)
    for key, module in SAID_IN_SOURCE.items():
        assert EN[key] in inspect.getsource(importlib.import_module(f"ktdemo.{module}")), key


def test_core_sentences_in_chinese_read_right(tiny_model):
    from ktdemo import models
    from ktdemo.inspection import attention

    zh = "zh-CN"
    assert i18n.translated(_raised(lambda: attention.clean_text("")), zh) == "请先输入一句话。"
    assert i18n.translated(_raised(lambda: models.resolve("../x")), zh) == \
        "“../x”既不是模型名称，也不是形如“owner/model”的 Hugging Face Hub id。"
    assert i18n.translated(_raised(lambda: attention.parse_heads("L9H1", 6, 12)), zh) == \
        "L9H1 不存在：这个模型有 6 层，每层 12 个头。"
    assert i18n.translated(_raised(lambda: RunConfig(kind="cross_domain")), zh) == \
        "跨领域运行需要先有一个用来训练的源数据集。"
    assert i18n.translated("Finish a run first: the downloads are of its results.", zh) == "请先完成一次运行：下载的是它的结果。"
    # sentences joined with a space: each translated, an unknown one left as it is
    assert i18n.translated("Fine-tuned **Tiny** on **SMS spam** (test accuracy 91.0%). The text was cut to its first "
                           "128 tokens.", zh) == "已在 **SMS spam** 上微调 **Tiny**（测试集准确率 91.0%）。文本被截断为前 128 个词元。"
    assert i18n.translated("Something new. Type a sentence first.", zh) == "Something new.请先输入一句话。"
    assert i18n.translated("Something new happened.", zh) == "Something new happened."
    assert i18n.translated(None, zh) == "" and i18n.translated("", "en") == ""
    summary = "The embeddings and layer 1 changed most (CKA 0.50, 0.40); the other layers stayed close to the " \
              "pretrained ones (CKA ≥ 0.98): unlike Merchant et al. (2020), who found that fine-tuning mostly " \
              "moves the top layers."
    assert i18n.translated(summary, zh).startswith("嵌入层和第 1 层变化最大（CKA 0.50, 0.40）；其余各层仍接近")
    assert i18n.translated("Layers 2 and 4 changed most (CKA 0.50, 0.40): as Merchant et al. (2020) found, transfer "
                           "moved mostly the top layers.", zh).startswith("第 2、4 层变化最大")


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
    assert "本会话已有一次运行" in train_tab.status_html(
        None, "A run is already in progress in this session; stop it first.", "zh-CN")
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
    description = "Pretrained **Tiny** with an **untrained head** for SMS spam: its predictions are chance until you train."
    assert predict_tab._ranking_markdown(drop, 32, description).startswith("**Heads that matter most**")
    ranked = predict_tab._ranking_markdown(drop, 32, description, "zh-CN")
    assert "**最重要的注意力头**" in ranked and "1. **L1 H2**：−3.1 个百分点" in ranked and "未训练分类头" in ranked
    assert predict_tab._ranking_markdown(drop * 0, 32, description, "zh-CN").startswith("关闭任何单个注意力头")
