"""The interface's words in English and Simplified Chinese, from one source per language.

Static text (labels, tabs, Markdown) is a `tr(key)` marker that the browser translates (`gr.I18n`, passed to
launch()). Text the server builds (the training status, results, notes) is formatted here with the session's
language: `t(key, language, **params)`.

The strings live in locales/en.json and locales/zh-CN.json. The core's messages (phases, notices, errors: keys
"phase.", "notice.", "error.", "part.") have their one English in ktdemo/locales/en.json, beside the core that
says them (`ktdemo.messages`); their Chinese is in zh-CN.json by the same keys. English for the names the core already spells
(run kinds, methods, poolings, warm starts, studies, presets and a few settings' help lines) is read from the
core itself, so the screen and the API, CLI and report keep one English name; their Chinese is in zh-CN.json.

Which language: Gradio's frontend picks its locale from `navigator.language`, taking it only if it is one of
the locales Gradio ships (exactly "zh-CN" or "zh-TW" for Chinese; a bare "zh", "zh-HK" or "zh-SG" falls back
to English), and looks a key up in that locale, then its base ("zh"), then English. The server reads the first
tag of the Accept-Language header (the browser's first language, as navigator.language) by the same rule, so
the text the server builds agrees with the text the browser translates.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import gradio as gr

from ..config import KINDS, METHODS, POOLINGS, WARM_STARTS, ZERO_SHOT_METHODS, help_text
from ..messages import ENGLISH as CORE_ENGLISH
from ..messages import Message, message_of, render
from ..training import presets, studies

LOCALES = Path(__file__).resolve().parent / "locales"
EN, ZH = "en", "zh-CN"
LANGUAGES = (EN, ZH)
# Gradio's frontend takes a navigator.language only when it ships that locale; for Chinese these two.
CHINESE_TAGS = {"zh-cn": ZH, "zh-tw": ZH}
# The core's choices, translated by key: "kind.in_domain" (its name) and "kind.in_domain.help" (its help).
CHOICE_GROUPS = {"kind": KINDS, "method": {**METHODS, **ZERO_SHOT_METHODS}, "pooling": POOLINGS,
                 "warm_start": WARM_STARTS}
INFO_SETTINGS = ("adapt_per_class", "learning_rate")  # RunConfig help lines the Train tab shows as info lines
# A preset's name is its API value; its key names its label and note here.
PRESET_KEYS = {
    "Movie reviews → product reviews (cross-domain)": "cross_domain",
    "News topics with no labels (zero-shot)": "zero_shot",
    "Pretrained vs from scratch": "from_scratch",
    "LoRA vs full fine-tune in 60 s": "lora",
    "Spam filter from 16 examples per class": "spam",
}


def info_line(name: str) -> str:
    """A setting's help text as an info line shows it."""
    text = help_text(name)
    return text[0].upper() + text[1:] + "."


def core_strings() -> dict[str, str]:
    """The English the core spells: choice names and help lines, studies, presets, settings' help."""
    strings = {}
    for group, options in CHOICE_GROUPS.items():
        for key, option in options.items():
            strings[f"{group}.{key}"] = option.name
            strings[f"{group}.{key}.help"] = option.help
    strings.update({f"study.{key}": text for key, text in studies.STUDIES.items()})
    for name, key in PRESET_KEYS.items():
        strings[f"preset.{key}"] = name
        strings[f"preset.{key}.note"] = presets.PRESETS[name].note
    strings.update({f"help.{name}": info_line(name) for name in INFO_SETTINGS})
    return strings


def load(language: str) -> dict[str, str]:
    """The strings of `language` (English: the file, the core's names and the core's messages, ktdemo/locales)."""
    strings = json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8"))
    return {**strings, **core_strings(), **CORE_ENGLISH} if language == EN else strings


STRINGS = {language: load(language) for language in LANGUAGES}
# What the browser gets: copies, to which `tr` adds static text with its parameters filled in. "zh" too: a
# "zh-TW" page looks a key up in "zh-TW", then "zh", then English.
_FRONTEND = {language: dict(strings) for language, strings in STRINGS.items()}
I18N = gr.I18n(en=_FRONTEND[EN], **{ZH: _FRONTEND[ZH], "zh": _FRONTEND[ZH]})


def language_of_header(accept_language: str | None) -> str:
    """The page's language from an Accept-Language header: its first tag, by the frontend's rule."""
    first = (accept_language or "").split(",")[0].split(";")[0].strip().lower()
    return CHINESE_TAGS.get(first, EN)


def language_of(session) -> str:
    """The session's language (English for an API client, which never loaded the page)."""
    language = getattr(session, "language", EN)
    return language if language in STRINGS else EN


def t(key: str, language: str = EN, **params) -> str:
    """`key`'s text in `language` (English where it lacks one), its {placeholders} filled from `params`."""
    text = STRINGS.get(language, STRINGS[EN]).get(key)
    if text is None:
        text = STRINGS[EN][key]
    return text.format(**params) if params else text


def tr(key: str, **params):
    """A marker the browser translates: `key`'s text in the page's language. With `params` (static values such
    as a size limit), each language's text is formatted here and registered under a key of its own."""
    if not params:
        if key not in STRINGS[EN]:
            raise KeyError(f"no string '{key}'")
        return I18N(key)
    formatted = f"{key}|" + "|".join(f"{name}={params[name]}" for name in sorted(params))
    for language, strings in _FRONTEND.items():
        strings[formatted] = t(key, language, **params)
    return I18N(formatted)


def tr_each(key: str, build):
    """A marker for static text the server builds once per language: `build(language)` is its text."""
    built = f"{key}|built"
    for language, strings in _FRONTEND.items():
        strings[built] = build(language)
    return I18N(built)


def choices(group: str, options: dict) -> list[tuple[object, str]]:
    """(translated name, key) for a radio or dropdown of the core's choices: the value stays the key."""
    return [(tr(f"{group}.{key}"), key) for key in options]


def preset_choices() -> list[tuple[object, str]]:
    return [(tr(f"preset.{PRESET_KEYS[name]}"), name) for name in presets.PRESETS]


# -- the core's messages ----------------------------------------------------------------------------------------

def text(message, language: str = EN) -> str:
    """A message of the core (a Message: key and parameters) in `language`, from that language's catalogue,
    English where it lacks a key. A plain string (a name, a sentence from outside the core) is shown as it is."""
    if isinstance(message, BaseException):
        message = message_of(message)
    if isinstance(message, (list, tuple)):  # sentences said one after the other (a description and a note)
        return t("note.join", language).join(text(part, language) for part in message if part)
    if isinstance(message, Message):
        return render(message, STRINGS.get(language, STRINGS[EN]), STRINGS[EN])
    return "" if message is None else str(message)


def words(language: str = EN):
    """The figures' formatter (figures.style.Words) in `language`: `words(key, **params)`, a core message's key
    or a core choice's name ("kind.in_domain", "method.full")."""
    def say(key: str, **params) -> str:
        return text(Message(key, params), language) if key in CORE_ENGLISH else t(key, language, **params)
    return say


def status_text(log, language: str = EN) -> str:
    """A run log's stage (in a run of several) and phase, in `language`; English capitalised as a whole, as it
    always was (so a dataset's name shows in lower case: "Training on sms spam")."""
    line = " · ".join(text(part, language) for part in log.status())
    return line.capitalize() if language == EN else line


def warning(error, language: str) -> str:
    """The ⚠️ line a handler shows for a core error (its Message where it carries one), in `language`."""
    return f"⚠️ {text(message_of(error), language)}"


# -- text in Chinese, read by an English model -------------------------------------------------------------

CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
MULTILINGUAL_ENCODER = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"


def cjk_note(text: str | None, model_names, language: str) -> str:
    """One sentence when `text` has Chinese (or Japanese, Korean) characters and the model answering is not
    multilingual by its name: the bundled encoders read English. Empty otherwise."""
    if not text or not CJK.search(text):
        return ""
    if any("multilingual" in str(name or "").lower() for name in model_names):
        return ""
    return t("note.cjk", language, model=MULTILINGUAL_ENCODER)


def with_cjk_note(description, sentence: str | None, look, language: str) -> str:
    """`description` (which model answered: a Look's, or its view's) in `language`, with the Chinese-text
    sentence after it where `sentence` needs it."""
    note = text(description, language)
    config = getattr(getattr(look, "view", None), "model", None)
    name = getattr(getattr(config, "config", None), "_name_or_path", "")
    extra = cjk_note(sentence, [name, note], language)
    return f"{note}\n\n{extra}" if extra else note


