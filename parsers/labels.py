"""Values found by the label in front of them, and the dates people write."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

_NUMERIC = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b|\b(\d{4})-(\d{2})-(\d{2})\b")
# Passports and some cards: `14 MAG 2031`, `14 MAG/MAY 2031`; online banks: `12 Mar 2027`,
# `20 November 2026`; Italian letters: `20 novembre 2026`. A month's first three letters name
# it in both languages.
_MONTH_NAMES = "gen/jan feb mar apr mag/may giu/jun lug/jul ago/aug set/sep ott/oct nov dic/dec"
_MONTHS = {
    name: number
    for number, names in enumerate(_MONTH_NAMES.split(), start=1)
    for name in names.split("/")
}
_FULL_MONTHS = {
    *("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto"),
    *("settembre", "ottobre", "novembre", "dicembre", "january", "february", "march", "april"),
    *("may", "june", "july", "august", "september", "sept", "october", "november", "december"),
}
_WORDED = re.compile(r"\b(\d{1,2})\s+([a-z]{3,9})\.?(?:/[a-z]{3})?,?\s+(\d{4})\b", re.IGNORECASE)


def labelled_value(
    lines: list[str], labels: tuple[str, ...], accept: Callable[[str], bool] = bool
) -> str | None:
    """The text after a label on its line, else the next line (a label above its value, a speck
    line between allowed); the first that `accept` takes."""
    for index, line in enumerate(lines):
        lowered = line.lower()
        for label in labels:
            position = lowered.find(label)
            if position < 0:
                continue
            rest = line[position + len(label) :].lstrip(" :.-\t").strip()
            below = _next_line(lines, index)
            for value in (rest, below):
                if value and accept(value):
                    return value
    return None


SPECK = 3  # a line this short under a label is OCR's speck or a stray mark, not the value


def _next_line(lines: list[str], index: int) -> str:
    """The line under a label, over one speck line in between."""
    for below in lines[index + 1 : index + 3]:
        if len(below.strip()) > SPECK:
            return below.strip()
    return ""


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def dates_in(text: str | None) -> list[date]:
    """Every real calendar date written in the text, in order: 14/05/2031, 14.05.2031,
    2031-05-14, 14 MAG 2031."""
    found: list[tuple[int, date | None]] = []
    for match in _NUMERIC.finditer(text or ""):
        day, month, year = (match.group(1), match.group(2), match.group(3))
        if year:
            found.append((match.start(), _valid(int(year), int(month), int(day))))
        else:
            parts = (match.group(4), match.group(5), match.group(6))
            found.append((match.start(), _valid(*(int(p) for p in parts))))
    for match in _WORDED.finditer(text or ""):
        word = match.group(2).lower()
        month_number = _MONTHS.get(word[:3]) if word in _MONTHS or word in _FULL_MONTHS else None
        if month_number:
            found.append(
                (match.start(), _valid(int(match.group(3)), month_number, int(match.group(1))))
            )
    return [value for _, value in sorted(found, key=lambda f: f[0]) if value is not None]


def first_date(text: str | None) -> date | None:
    dates = dates_in(text)
    return dates[0] if dates else None


def has_date(text: str) -> bool:
    return bool(dates_in(text))
