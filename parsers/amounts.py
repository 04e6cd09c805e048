"""Euro amounts written the Italian or the English way; an ambiguous one is refused, not guessed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from parsers.vocabulary import phrases, vocabulary

_NUMBER = r"\d{1,3}(?:[.,'’ ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_CURRENCY = r"(?:€|EUR|EURO|Euro|euro)"
_MENTION = re.compile(
    rf"(?:{_CURRENCY}\s*(?P<a>{_NUMBER})(?![\d.,:])|(?<![\d.,])(?P<b>{_NUMBER})\s*{_CURRENCY}(?![A-Za-z]))"
)
_WORDS = vocabulary().amounts  # primary, total, fees, not_payment
_LABELLED = re.compile(
    rf"(?P<label>{'|'.join(sorted(_WORDS['primary'] + _WORDS['total'], key=len, reverse=True))})"
    rf"[^\d\n€]{{0,40}}?"
    rf"(?:{_CURRENCY}\s*)?(?P<n>{_NUMBER})(?![\d.,:]|\s*%)",
    re.IGNORECASE,
)
# Words that head a column of money in a table; each labels the amount under it.
_COLUMN_WORDS = phrases(_WORDS["primary"] + _WORDS["total"] + _WORDS["fees"])


def parse_amount(token: str) -> Decimal | None:
    """`1.234,56`, `1,234.56`, `24,40`, `24.40` -> Decimal; `1.234` or `1,234` -> None."""
    token = token.strip().replace("’", "'").replace("'", "").replace(" ", "")
    if not token:
        return None
    if "," in token and "." in token:
        decimal_sep = "," if token.rfind(",") > token.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        whole, _, cents = token.rpartition(decimal_sep)
        if len(cents) != 2 or not re.fullmatch(rf"\d{{1,3}}(?:\{thousands}\d{{3}})*", whole):
            return None
        return Decimal(whole.replace(thousands, "") + "." + cents)
    for sep in (",", "."):
        if sep in token:
            parts = token.split(sep)
            if len(parts) == 2 and len(parts[1]) in (1, 2):
                return Decimal(parts[0] + "." + parts[1].ljust(2, "0"))
            if len(parts) > 2 and all(len(p) == 3 for p in parts[1:]) and len(parts[0]) <= 3:
                return Decimal("".join(parts))
            return None  # 1.234 or 1,234: thousands or three decimals, nobody can tell
    return Decimal(token) if token.isdigit() else None


@dataclass(frozen=True)
class AmountMention:
    value: Decimal
    label: str
    line: int
    cents: bool = True  # written with its cents: `24,40`, not `2440`


_CENTS = re.compile(r"[.,]\d{1,2}$")


def _line_amounts(line: str) -> list[tuple[int, int, Decimal, bool]]:
    """(start, end, value, written with cents) of each amount on a line, in order."""
    found: list[tuple[int, int, Decimal, bool]] = []
    spans: set[tuple[int, int]] = set()
    for match in _LABELLED.finditer(line):
        value = parse_amount(match.group("n"))
        if value is not None:
            spans.add(match.span("n"))
            found.append((*match.span("n"), value, bool(_CENTS.search(match.group("n")))))
    for match in _MENTION.finditer(line):
        group = "a" if match.group("a") else "b"
        value = parse_amount(match.group(group))
        if value is not None and match.span(group) not in spans:
            found.append((*match.span(group), value, bool(_CENTS.search(match.group(group)))))
    return sorted(found)


HEADER_REACH = 2  # lines above a table row where its header may be (OCR leaves specks between)


def _column_labels(above: list[str], count: int) -> list[str] | None:
    """A table row's labels from the nearest header line above it in which one money word fits
    each amount."""
    for header in reversed(above[-HEADER_REACH:]):
        words = [m.group(0) for m in _COLUMN_WORDS.finditer(header.lower())]
        if len(words) == count:
            return words
    return None


COLUMN_REACH = 4  # characters between a column heading and an amount standing under it


def gap(one: tuple[int, int], other: tuple[int, int]) -> int:
    """Characters between two spans of a layout line; 0 when they overlap."""
    return max(other[0] - one[1], one[0] - other[1], 0)


def _placed_labels(above: list[str], row: str, labels: list[str]) -> list[str]:
    """A table row's labels by where its amounts stand under the headings of the line above
    (layout text): for a header OCR read only in part, where the counts do not match."""
    spans = [(start, end) for start, end, _, _ in _line_amounts(row)]
    if len(spans) != len(labels):
        return labels
    for header in reversed(above[-HEADER_REACH:]):
        words = [(m.start(), m.end(), m.group(0)) for m in _COLUMN_WORDS.finditer(header.lower())]
        if not words:
            continue
        placed = []
        for span, label in zip(spans, labels, strict=True):
            distance, word = min((gap(span, (a, b)), w) for a, b, w in words)
            placed.append(word if distance <= COLUMN_REACH else label)
        return placed
    return labels


def find_amounts(text: str, layout: str | None = None) -> list[AmountMention]:
    """Every readable money amount with the words that label it.

    The label is the text before the amount on its line; for a table row of several bare
    amounts it is the matching column heading on the line above, found by count, or with the
    `layout` text (each word where it stands) by position.
    """
    found: list[AmountMention] = []
    lines = text.splitlines()
    placed = [line for line in (layout or "").splitlines() if line.strip()]
    aligned = len(placed) == len(lines)
    for number, line in enumerate(lines):
        amounts = _line_amounts(line)
        labels = [line[:start].lower() for start, _, _, _ in amounts]
        if len(amounts) > 1 and number and not re.search(r"[a-z]{3}", labels[0]):
            by_count = _column_labels(lines[:number], len(amounts))
            if by_count is not None:
                labels = by_count
            elif aligned:
                labels = _placed_labels(placed[:number], placed[number], labels)
        found += [AmountMention(value, label, number, cents)
                  for (_, _, value, cents), label in zip(amounts, labels, strict=True)]  # fmt: skip
    return found


def _is_fee(label: str) -> bool:
    return any(word in label for word in _WORDS["fees"])


def receipt_amount(text: str, layout: str | None = None) -> tuple[Decimal | None, list[Decimal]]:
    """The amount paid, or None when the receipt does not say it unambiguously.

    Labelled amounts (importo, amount) win over totals, which win over bare currency
    amounts; fees never count. Within the first group that has any, all must agree, and all
    must be written with their cents: receipts print them, so `€ 2440` is `€ 24,40` whose
    comma OCR lost, not two thousand euros.
    """
    mentions = [
        m
        for m in find_amounts(text, layout)
        if m.value > 0
        and not _is_fee(m.label)
        and not any(word in m.label for word in _WORDS["not_payment"])
    ]
    groups = (
        [m for m in mentions if any(w in m.label for w in _WORDS["primary"])],
        [m for m in mentions if any(w in m.label for w in _WORDS["total"])],
        mentions,
    )
    candidates = sorted({m.value for m in mentions})
    for group in groups:
        values = {m.value for m in group}
        if len(values) == 1 and all(m.cents for m in group):
            return values.pop(), candidates
        if values:
            return None, candidates
    return None, candidates
