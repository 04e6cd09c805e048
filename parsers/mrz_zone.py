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

# The line of each layout that holds the dates, by its length: TD1 (cards, 3 x 30, the second
# line), TD2 (2 x 36) and TD3 (passports, 2 x 44, the second line each): where the birth date
# and the expiry date stand on it, each followed by its check digit; and the kind when the
# line above is unreadable.
_DATE_LINES: dict[int, tuple[tuple[int, int], tuple[int, int], str | None]] = {
    30: ((0, 6), (8, 14), "carta_identita"),
    36: ((13, 19), (21, 27), None),  # TD2: some cards and visas, no Italian document
    44: ((13, 19), (21, 27), "passaporto"),
}
SLACK = 2  # characters OCR may add or drop on a line
# What OCR makes of the filler `<` and of digits in a field that holds only digits.
_FILLER = str.maketrans({"«": "<<", "‹": "<", "(": "<", "{": "<", "[": "<", "£": "<", "€": "<"})
_DIGITS = str.maketrans("OQDIJLZSBGT", "00011125867")
_LINE = re.compile(r"^[A-Z0-9<]+$")


@dataclass(frozen=True)
class Mrz:
    kind: str | None  # carta_identita, passaporto, or None for another document
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


def _checked(line: str, start: int, end: int) -> date | None:
    """The YYMMDD date at line[start:end], when the check digit after it holds. Its century
    does not matter here for a birth date; an expiry is this century's."""
    digits, check = line[start:end].translate(_DIGITS), line[end].translate(_DIGITS)
    if not (digits.isdigit() and hash_is_ok(digits, check)):
        return None
    try:
        return date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:]))
    except ValueError:
        return None


def _kind(above: str, default: str | None) -> str | None:
    if above.startswith("P"):
        return "passaporto"
    if above.startswith(("C", "I")):
        return "carta_identita"
    return default


def find_mrz(text: str) -> Mrz | None:
    """The first MRZ date line whose birth and expiry dates both pass their check digits: two
    checks that a misread line does not pass by chance. The other lines, often garbled in a
    photo, are not needed."""
    lines = _candidates(text)
    for index, line in enumerate(lines):
        for length, (birth, expiry, default) in _DATE_LINES.items():
            dated = _fit(line, length)
            if dated is None or _checked(dated, *birth) is None:
                continue
            expires = _checked(dated, *expiry)
            if expires is not None:
                above = lines[index - 1] if index else ""
                return Mrz(_kind(above, default), expires)
    return None
