"""Every word the core says to a user travels as a `Message`: a key and its parameters, made into a sentence at
the edge, in the reader's language (gettext and Fluent work this way; so does Gradio's `gr.I18n`).

The English of every key is in locales/en.json, the one English source: `str(message)` is that sentence, which
the CLI, the API, the report and the exceptions' `str()` print. The UI formats the same message in the session's
language from its own catalogue (ui/locales/zh-CN.json, by the same keys), English where it lacks one.

A parameter is a name, a number, a phrase (a nested Message, put in the reader's words in turn) or a list of
those (listed the language's way: "2, 3 and 4", "2、3 和 4"). Code reads a message's key, never its sentence.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parent / "locales" / "en.json"
ENGLISH: dict[str, str] = json.loads(CATALOGUE.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Message:
    """A key of the catalogue and what fills its {placeholders}. Picklable: it crosses the worker's boundary."""

    key: str
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.key not in ENGLISH:
            raise KeyError(f"no message '{self.key}' in {CATALOGUE.name}")

    def english(self) -> str:
        return render(self, ENGLISH)

    def __str__(self) -> str:
        return self.english()

    def __hash__(self):  # params is a dict: hash by the sentence's identity instead
        return hash((self.key, render(self, ENGLISH)))


def say(key: str, **params) -> Message:
    """A message: `say("error.upload_empty", name="a.csv")`."""
    return Message(key, params)


def plain(text: str) -> Message:
    """Text that has no key (a name, or a sentence from outside the core), shown as it is in every language."""
    return Message("plain", {"text": text})


def render(message, strings: dict[str, str], fallback: dict[str, str] = ENGLISH) -> str:
    """`message` as a sentence from `strings` (a language's catalogue; `fallback` where it lacks a key), its
    nested messages and lists rendered the same way. A plain string is returned as it is."""
    if not isinstance(message, Message):
        return "" if message is None else str(message)
    template = strings.get(message.key) or fallback[message.key]
    return template.format(**{name: _value(value, strings, fallback) for name, value in message.params.items()})


def _value(value, strings, fallback) -> str:
    if isinstance(value, (list, tuple)):
        items = [_value(item, strings, fallback) for item in value]
        if len(items) < 2:
            return "".join(items)
        comma = strings.get("part.list.comma") or fallback["part.list.comma"]
        last = strings.get("part.list.and") or fallback["part.list.and"]
        return comma.join(items[:-1]) + last + items[-1]
    return render(value, strings, fallback)


class Said(Exception):
    """An exception whose text is a Message: `error.message` is it, `str(error)` its English sentence. Mixed into
    the core's error classes (`class DataError(Said, ValueError)`); a plain string still works (no message)."""

    def __init__(self, message=None, *args):
        self.message = message if isinstance(message, Message) else None
        super().__init__(str(message) if message is not None else "", *args)

    def __reduce__(self):  # pickled with its Message, not only its English
        return type(self), (self.message if self.message is not None else str(self),)


class UserError(Said, ValueError):
    """A setting or an input the user can fix; one sentence says how."""


def message_of(error) -> Message | str:
    """What to show for `error` (an exception, or already a Message): its Message where it carries one, else its
    text as it is."""
    if isinstance(error, Message):
        return error
    message = getattr(error, "message", None)
    return message if isinstance(message, Message) else ("" if error is None else str(error))
