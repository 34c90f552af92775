"""TEMPORARY: the English sentences serving/session.py still builds, put in the page's language by matching them
against the catalogue's English templates. Delete this module once the session hands the UI Messages (its run
errors, sharing notes, model descriptions, NoRun, waiting phase): every other part of the core says Messages,
which `i18n.text` formats without reading a sentence.

A key's English with {placeholders} is the pattern that recognises its sentence; a placeholder named in PARTS
holds a phrase translated in turn by the "part." keys under its prefix; the rest (names, numbers) stays as is.
"""
from __future__ import annotations

import re
import string

from ..messages import ENGLISH

EN = "en"
_STRINGS: dict = {}  # language -> strings, set by i18n at import (it owns the catalogues)


def t(key: str, language: str, **params) -> str:
    text = _STRINGS.get(language, _STRINGS[EN]).get(key) or _STRINGS[EN][key]
    return text.format(**params) if params else text


# The waiting phase serving/session.py writes into the log as English.
WAITING = re.compile(r"waiting for its turn: (?P<n>\d+) runs? ahead(?:, about (?P<s>\d+) s)?")

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
    keys = [key for key in ENGLISH if key.startswith(tuple(prefixes))]
    literal = {key: sum(len(text) for text, *_ in string.Formatter().parse(ENGLISH[key])) for key in keys}
    return sorted(keys, key=lambda key: -literal[key])


def _alternatives(keys: list[str]) -> str:
    """A pattern (no groups) for any of `keys`' English texts, its placeholders filled by anything."""
    texts = ("".join(re.escape(literal) + (".+?" if field is not None else "")
                     for literal, field, _, _ in string.Formatter().parse(ENGLISH[key])) for key in keys)
    return "(?:" + "|".join(texts) + ")"


PART_PATTERNS = {group: [(_template_pattern(ENGLISH[key]), key) for key in _keys((prefix,))]
                 for group, prefix in PARTS.items()}
# A placeholder of PARTS matches only its phrases, so "{others} {how}" splits where the phrases end.
_PART_GROUPS = {group: _alternatives(_keys((prefix,))) for group, prefix in PARTS.items()}
MESSAGES = [(_template_pattern(ENGLISH[key], _PART_GROUPS), key) for key in _keys(MESSAGE_PREFIXES)]


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
        return t(key, language) if key in _STRINGS[EN] else value
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
    waiting = WAITING.fullmatch(message)
    if waiting:
        about = t("phase.about_s", language, s=waiting["s"]) if waiting["s"] else ""
        return t("phase.waiting_turn_one" if waiting["n"] == "1" else "phase.waiting_turn", language,
                 n=waiting["n"], about=about)
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

