"""The machine readable zone (MRZ) of an identity card or passport, read from OCR text.

A phone photo of a carta d'identità elettronica may read poorly everywhere but its MRZ, whose
check digits (ICAO 9303, computed by the `mrz` package) tell a right reading from a wrong one:
an expiry date taken from there is known to be the printed one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from mrz.base.functions import hash_is_ok

# Layouts by line length: TD1 (cards: 3 x 30), TD2 (2 x 36), TD3 (passports: 2 x 44): how many
# lines, which holds the expiry date, where the date and its check digit stand on it.
_LAYOUTS = {30: (3, 1, 8, 14), 36: (2, 1, 21, 27), 44: (2, 1, 21, 27)}
SLACK = 2  # characters OCR may add or drop on a line
# What OCR makes of the filler `<` and of digits in a field that holds only digits.
_FILLER = str.maketrans({"«": "<<", "‹": "<", "(": "<", "{": "<", "[": "<", "£": "<", "€": "<"})
_DIGITS = str.maketrans("OQDIJLZSBGT", "00011125867")
_LINE = re.compile(r"^[A-Z0-9<]+$")


@dataclass(frozen=True)
class Mrz:
    kind: str  # carta_identita, passaporto, or identity_document for another card
    expires: date


def _candidates(text: str) -> list[str]:
    """Lines that may be MRZ lines: spaces out, look-alikes of the filler made fillers."""
    lines = []
    for raw in text.upper().splitlines():
        line = re.sub(r"\s+", "", raw.translate(_FILLER))
        line = re.sub(r"(?<=<)[KC](?=<)", "<", line)  # `<K<`: a filler read as a letter
        lines.append(line if _LINE.match(line) and line.count("<") >= 2 else "")
    return lines


def _fit(line: str, length: int) -> str | None:
    """The line at its layout's length: fillers trimmed or added at its end."""
    if abs(len(line) - length) > SLACK:
        return None
    return line[:length].ljust(length, "<")


def _expiry(digits: str, check: str) -> date | None:
    """YYMMDD, when its check digit holds; expiry dates are this century's."""
    digits, check = digits.translate(_DIGITS), check.translate(_DIGITS)
    if not (digits.isdigit() and hash_is_ok(digits, check)):
        return None
    try:
        return date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:]))
    except ValueError:
        return None


def _kind(first: str) -> str:
    if first.startswith("P"):
        return "passaporto"
    if first.startswith(("C", "I")):
        return "carta_identita"
    return "identity_document"


def find_mrz(text: str) -> Mrz | None:
    """The first MRZ whose expiry date passes its check digit."""
    lines = _candidates(text)
    for index, line in enumerate(lines):
        for length, (count, date_line, start, check) in _LAYOUTS.items():
            block = [_fit(candidate, length) for candidate in lines[index : index + count]]
            if len(block) < count or any(b is None for b in block):
                continue
            dated = block[date_line] or ""
            expires = _expiry(dated[start:check], dated[check])
            if expires is not None:
                return Mrz(_kind(line), expires)
    return None
