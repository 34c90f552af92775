"""Label descriptions: one sentence per label that zero-shot matching and the descriptions warm start read,
written from the label's name and the dataset's task, and edited by the user as 'label: description' lines."""
from __future__ import annotations

from ..messages import UserError, say


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _describe(label: str, task: str) -> str:
    task = task.lower()
    if "sentiment" in task:
        return f"This text expresses {_article(label)} {label} opinion."
    if "question" in task:
        kind = label.split(": ")[-1]  # fine TREC labels read 'location: city'
        return f"This question asks for {_article(kind)} {kind}."
    if "spam" in task:
        return "This message is an ordinary message (ham)." if label == "ham" else f"This message is {label}."
    return f"This text is about {label}."


def default_descriptions(label_names: list[str], task: str = "") -> list[str]:
    """One natural-language description per label, for the user to edit."""
    return [_describe(label, task) for label in label_names]


def format_descriptions(label_names, descriptions) -> str:
    return "\n".join(f"{label}: {description}" for label, description in zip(label_names, descriptions))


def parse_descriptions(text: str, label_names: list[str], task: str = "") -> list[str]:
    """'label: description' lines in any order; labels left out keep their default description."""
    descriptions = dict(zip(label_names, default_descriptions(label_names, task)))
    by_length = sorted(label_names, key=len, reverse=True)  # labels may contain ':' themselves
    for line in filter(None, map(str.strip, text.splitlines())):
        label = next((name for name in by_length if line.startswith(f"{name}:")), None)
        if label is None:
            raise UserError(say("error.unknown_label", label=line.split(":")[0][:60], labels=", ".join(label_names)))
        description = line[len(label) + 1:].strip()
        if not description:
            raise UserError(say("error.empty_description", label=label))
        descriptions[label] = description
    return [descriptions[label] for label in label_names]

