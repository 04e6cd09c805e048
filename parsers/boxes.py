"""Numbers written one digit a box, as on a paper bollettino: the postal account and the amount.

OCR reads the box edges as `|`, `]`, `}`, `/` or `)`, and in a photo as `l`, `I`, `i`, `j` or
`1` between two digits; a `0` may come out as `o`. A box holds one character, so a run of boxes
is a run of single characters between edges.
"""

from __future__ import annotations

import re

_EDGES = r"|\[\](){}/\\!"
_SPLIT = re.compile(rf"[\s{_EDGES}]+")
_AS_DIGIT = str.maketrans("oOD", "000")
_EDGE_LIKE = "1lIij|"
# Three or more single characters (a digit or the decimal comma) each between box edges.
_RUN = re.compile(rf"(?<![\w,.])[\d,](?:\s*[{_EDGES}]\s*[\d,]){{2,}}(?![\w.,])")


def _token_digits(token: str, boxed: bool) -> str | None:
    """A token's digits. Among box edges, `61718` is 6, 7 and 8 with the edges read as 1."""
    token = token.translate(_AS_DIGIT)
    if boxed and len(token) % 2 and all(c in _EDGE_LIKE for c in token[1::2]):
        kept = token[::2]
        return kept if kept.isdigit() else None
    return token if token.isdigit() else None


def boxed_number(segment: str) -> str:
    """The digits at the start of `segment`, however boxed; stops at the first word."""
    boxed = any(edge in segment for edge in _EDGES)
    digits = ""
    for token in _SPLIT.split(segment.strip()):
        if not token:
            continue
        found = _token_digits(token, boxed)
        if found is None:
            break
        digits += found
    return digits


_ONLY_BOXES = re.compile(rf"^[\s{_EDGES}]*\d[\d\s{_EDGES}]*$")


def only_boxes(line: str) -> bool:
    """A line of nothing but digits in boxes (with at least one box edge)."""
    return bool(_ONLY_BOXES.match(line)) and any(edge in line for edge in _EDGES)


def collapse_boxes(line: str) -> str:
    """`di Euro 2|4|,|4|0` -> `di Euro 24,40`: boxed amounts as the amount reader knows them."""
    return _RUN.sub(lambda m: re.sub(rf"[\s{_EDGES}]", "", m.group(0)), line)
