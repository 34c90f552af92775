"""The interface's words in English and Simplified Chinese, from one source per language.

Static text (labels, tabs, Markdown) is a `tr(key)` marker that the browser translates (`gr.I18n`, passed to
launch()). Text the server builds (the training status, results, notes) is formatted here with the session's
language: `t(key, language, **params)`.

The strings live in locales/en.json and locales/zh-CN.json. English for the names the core already spells
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
import string
from pathlib import Path

import gradio as gr

from ..config import KINDS, METHODS, POOLINGS, WARM_STARTS, help_text
from ..training import presets, studies

LOCALES = Path(__file__).resolve().parent / "locales"
EN, ZH = "en", "zh-CN"
LANGUAGES = (EN, ZH)
# Gradio's frontend takes a navigator.language only when it ships that locale; for Chinese these two.
CHINESE_TAGS = {"zh-cn": ZH, "zh-tw": ZH}
# The core's choices, translated by key: "kind.in_domain" (its name) and "kind.in_domain.help" (its help).
CHOICE_GROUPS = {"kind": KINDS, "method": METHODS, "pooling": POOLINGS,
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
    """The strings of `language` (English: the file and the core's own)."""
    strings = json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8"))
    return {**strings, **core_strings()} if language == EN else strings


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


# -- the training status line --------------------------------------------------------------------------------

# The phases the run's log passes through (transfer.py, worker.py, session.py), as patterns: each " · " part of
# a phase is matched on its own and, in Chinese, put in its words; an unknown part stays as it is.
PHASES = [
    (re.compile(r"waiting"), "phase.waiting"),
    (re.compile(r"queued"), "phase.queued"),
    (re.compile(r"running"), "phase.running"),
    (re.compile(r"done"), "phase.done"),
    (re.compile(r"stopped"), "phase.stopped"),
    (re.compile(r"failed"), "phase.failed"),
    (re.compile(r"starting the training process"), "phase.starting"),
    (re.compile(r"loading data"), "phase.loading_data"),
    (re.compile(r"loading model"), "phase.loading_model"),
    (re.compile(r"scoring the untrained head"), "phase.scoring_untrained"),
    (re.compile(r"scoring the trained model"), "phase.scoring_trained"),
    (re.compile(r"scoring on the other test sets"), "phase.scoring_others"),
    (re.compile(r"zero-shot: matching test texts to the label descriptions"), "phase.zero_shot"),
    (re.compile(r"warm start: a linear probe on frozen features"), "phase.warm_start"),
    (re.compile(r"training on (?P<name>.+)"), "phase.training_on"),
    (re.compile(r"adapting with (?P<k>\d+) target examples per class"), "phase.adapting"),
    (re.compile(r"waiting for its turn: (?P<n>\d+) runs? ahead(?:, about (?P<s>\d+) s)?"), "phase.waiting_turn"),
    (re.compile(r"stage (?P<i>\d+) of (?P<n>\d+) \((?P<name>.+)\)"), "phase.stage_of_source"),
    (re.compile(r"stage (?P<i>\d+) of (?P<n>\d+)"), "phase.stage_of"),
]


def phase_text(phase: str, language: str) -> str:
    """A phase (or a stage) of the run's log in `language`; English as the log says it."""
    if language == EN:
        return phase
    parts = []
    for part in phase.split(" · "):
        for pattern, key in PHASES:
            match = pattern.fullmatch(part)
            if match:
                groups = {name: value for name, value in match.groupdict().items()}
                if key == "phase.waiting_turn":
                    seconds = groups.pop("s")
                    groups["about"] = t("phase.about_s", language, s=seconds) if seconds else ""
                part = t(key, language, **groups)
                break
        parts.append(part)
    return " · ".join(parts)


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


def with_cjk_note(note: str, text: str | None, look, language: str) -> str:
    """`note` (a Look's description), with the Chinese-text sentence after it where it applies."""
    config = getattr(getattr(look, "view", None), "model", None)
    name = getattr(getattr(config, "config", None), "_name_or_path", "")
    extra = cjk_note(text, [name, note], language)
    return f"{note}\n\n{extra}" if extra else note


# -- the core's sentences --------------------------------------------------------------------------------------

# The core (models, data, runs, session, attention, representations) speaks English only. Its sentences that
# the UI shows (errors, notices, a model's description) have a key each under "error." or "notice.", whose
# English is the core's sentence with {placeholders} where it names something: that text is also the pattern
# that recognises the sentence, so a core sentence and its key cannot drift apart unseen (tests/test_i18n.py
# produces each sentence from the core). A placeholder named in PARTS holds a phrase that is translated in
# turn, by the "part." keys under its prefix; the rest (names, numbers, ids) stay as they are.
MESSAGE_PREFIXES = ("error.", "notice.")
PARTS = {"why": "part.why.", "advice": "part.advice.", "role": "part.role.", "setting": "part.setting.",
         "which": "part.which.", "others": "part.others.", "how": "part.how.", "verdict": "part.verdict."}


def _template_pattern(template: str, groups: dict[str, str] | None = None) -> re.Pattern:
    """An English text with {placeholders} as a pattern whose named groups catch what fills them (`groups`:
    the pattern of what may fill a placeholder, where it is not anything)."""
    parts, seen = [], set()
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append(f"(?P={field})" if field in seen else f"(?P<{field}>{(groups or {}).get(field, '.+?')})")
            seen.add(field)
    return re.compile("".join(parts), re.S)


def _keys(prefixes) -> list[str]:
    """The keys under `prefixes`, the most literal text first (the most specific pattern wins)."""
    keys = [key for key in STRINGS[EN] if key.startswith(tuple(prefixes))]
    literal = {key: sum(len(text) for text, *_ in string.Formatter().parse(STRINGS[EN][key])) for key in keys}
    return sorted(keys, key=lambda key: -literal[key])


def _alternatives(keys: list[str]) -> str:
    """A pattern (no groups) for any of `keys`' English texts, its placeholders filled by anything."""
    texts = ("".join(re.escape(literal) + (".+?" if field is not None else "")
                     for literal, field, _, _ in string.Formatter().parse(STRINGS[EN][key])) for key in keys)
    return "(?:" + "|".join(texts) + ")"


PART_PATTERNS = {group: [(_template_pattern(STRINGS[EN][key]), key) for key in _keys((prefix,))]
                 for group, prefix in PARTS.items()}
# A placeholder of PARTS matches only its phrases, so "{others} {how}" splits where the phrases end.
_PART_GROUPS = {group: _alternatives(_keys((prefix,))) for group, prefix in PARTS.items()}
MESSAGES = [(_template_pattern(STRINGS[EN][key], _PART_GROUPS), key) for key in _keys(MESSAGE_PREFIXES)]


def _listed(text: str, language: str, word=None) -> str:
    """'2, 3 and 4' (or 'embeddings and layer 1') in `language`'s way of listing, each item through `word`."""
    items = re.split(r", | and ", text)
    items = [word(item) if word else item for item in items]
    if len(items) == 1:
        return items[0]
    return t("part.list.comma", language).join(items[:-1]) + t("part.list.and", language) + items[-1]


def _layer_name(name: str, language: str) -> str:
    """'embeddings' or 'layer 3' (representations.layer_names) in `language`."""
    match = re.fullmatch(r"layer (\d+)", name)
    if match:
        return t("part.layer_name.layer", language, i=match[1])
    return t("part.layer_name.embeddings", language) if name == "embeddings" else name


def _group_text(group: str, value: str, language: str) -> str:
    """What fills a placeholder, in `language`: a phrase of PARTS, a run kind, a list of layers, or as it is."""
    if group in PART_PATTERNS:
        found = _match(value, PART_PATTERNS[group], language)
        return value if found is None else found
    if group == "kind":
        key = f"kind.{value.replace('-', '_')}"
        return t(key, language) if key in STRINGS[EN] else value
    if group == "numbers":  # "2 and 4": numbers in a list ("第 2、4 层")
        return t("part.list.comma", language).join(re.split(r", | and ", value))
    if group == "names":
        return _listed(value, language, lambda name: _layer_name(name, language))
    return value


def _match(text: str, patterns, language: str) -> str | None:
    for pattern, key in patterns:
        match = pattern.fullmatch(text)
        if match:
            return t(key, language, **{group: _group_text(group, value, language)
                                       for group, value in match.groupdict().items()})
    return None


def translated(message, language: str) -> str:
    """A sentence of the core (an error, a notice, a model's description) in `language`: English as the core
    says it; in Chinese by its key where a pattern knows it, else as it is. Sentences the core (or a handler)
    joined with a space are translated one run of sentences at a time, the longest known run first."""
    message = "" if message is None else str(message)
    if language == EN or not message:
        return message
    cuts = [0] + [m.end() for m in re.finditer(r"(?<=[.!?]) ", message)] + [len(message) + 1]
    sentences = [message[a:b - 1] for a, b in zip(cuts, cuts[1:])]
    pieces, i = [], 0  # (text, known)
    while i < len(sentences):
        for j in range(min(len(sentences), i + 8), i, -1):  # a message is a few sentences
            known = _match(" ".join(sentences[i:j]), MESSAGES, language)
            if known is not None:
                pieces.append((known, True))
                i = j
                break
        else:
            pieces.append((sentences[i], False))
            i += 1
    text = pieces[0][0]
    for (_, before), (piece, known) in zip(pieces, pieces[1:]):
        text += (" " if not (before or known) else t("note.join", language)) + piece
    return text


def warning(error, language: str) -> str:
    """The ⚠️ line a handler shows for a core error, in `language`."""
    return f"⚠️ {translated(error, language)}"
