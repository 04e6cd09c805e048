"""The words documents are read by, kept as data in vocabulary.toml so that a bank's new
wording is a line of data, not code."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@cache
def phrases(words: tuple[str, ...]) -> re.Pattern[str]:
    """Any of the words, each at the start of a word, longest first."""
    ordered = sorted(words, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in ordered) + ")")


@dataclass(frozen=True)
class Kind:
    name: str
    needed: int
    signals: tuple[str, ...]
    subtypes: dict[str, tuple[str, ...]]
    subtypes_needed: dict[str, int]


@dataclass(frozen=True)
class Layout:
    detect: tuple[str, ...]
    labels: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Vocabulary:
    kinds: tuple[Kind, ...]
    labels: dict[str, tuple[str, ...]]
    amounts: dict[str, tuple[str, ...]]
    proof: dict[str, tuple[str, ...]]
    statement: dict[str, tuple[str, ...]]
    noise: dict[str, tuple[str, ...]]
    layouts: dict[str, Layout]

    def labels_for(self, field: str, lowered_text: str) -> tuple[str, ...]:
        """A field's labels, with those of every layout the text shows."""
        extra = [
            label
            for layout in self.layouts.values()
            if any(word in lowered_text for word in layout.detect)
            for label in layout.labels.get(field, ())
        ]
        return (*self.labels[field], *extra)


def _words(table: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    return {key: tuple(w.lower() for w in words) for key, words in table.items()}


@cache
def vocabulary() -> Vocabulary:
    data = tomllib.loads(resources.files("parsers").joinpath("vocabulary.toml").read_text("utf-8"))
    return Vocabulary(
        kinds=tuple(
            Kind(
                name,
                spec["needed"],
                tuple(spec["signals"]),
                _words(spec.get("subtypes", {})),
                spec.get("subtypes_needed", {}),
            )
            for name, spec in data["kinds"].items()
        ),
        labels=_words(data["labels"]),
        amounts=_words(data["amounts"]),
        proof=_words(data["proof"]),
        statement=_words(data["statement"]),
        noise=_words(data["noise"]),
        layouts={
            name: Layout(tuple(spec["detect"]), _words(spec.get("labels", {})))
            for name, spec in data["layouts"].items()
        },
    )
