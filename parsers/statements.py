"""The movements of an account statement ("lista movimenti", "estratto conto", an app's list),
read from the layout text, where each word stands at its column.

A movement starts at a line that opens with its date (or, in an app's list without dates on the
rows, at a line carrying a signed amount) and runs over the lines of its description below. Its
amount is the signed one on that first line; where amounts print no sign, the money column they
stand under (Dare/Uscite or Avere/Entrate) gives it. Balances and totals are never movements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from parsers.amounts import parse_amount
from parsers.vocabulary import phrases, vocabulary

# Money on a statement always shows its cents; a sign sticks to it or stands one space before;
# OCR may put a space after the thousands separator (`-1. 220,00`), a speck after the sign
# (`-.73,20`), or read the minus as a tilde.
_MONEY = re.compile(
    r"(?<![\w.,/:*])(?P<sign>[-+−–~](?:[ .·']{0,2}))?"
    r"(?P<n>\d{1,3}(?:\. ?\d{3})+,\d{2}|\d+,\d{2}|\d{1,3}(?:, ?\d{3})+\.\d{2}|\d+\.\d{2})"
    r"(?P<trail>-)?(?![\d.,]*\d|\w)"
)
_OPENS_WITH_DATE = re.compile(r"^\s*\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b")
COLUMN_REACH = 3  # characters between a money column's heading and an amount under it


@dataclass(frozen=True)
class Movement:
    lines: tuple[str, ...]  # as printed, the description's lines included
    amount: Decimal | None  # negative: money out of the account; None: no amount read

    @property
    def text(self) -> str:
        return " ".join(" ".join(line.split()) for line in self.lines)


@dataclass(frozen=True)
class _Money:
    start: int
    end: int
    value: Decimal
    signed: bool


def _money(line: str) -> list[_Money]:
    found = []
    for match in _MONEY.finditer(line):
        value = parse_amount(match.group("n"))
        if value is None:
            continue
        sign = (match.group("sign") or "").strip() or (match.group("trail") or "")
        found.append(
            _Money(
                match.start("n"),
                match.end("n"),
                -value if sign and sign != "+" else value,
                bool(sign),
            )
        )
    return found


@dataclass(frozen=True)
class _Columns:
    debit: tuple[int, int] | None
    credit: tuple[int, int] | None


def _columns(line: str) -> _Columns | None:
    """The spans of the debit and credit headings on a table's heading line, if it has both."""
    words = vocabulary().statement
    lowered = line.lower()

    def span(key: str) -> tuple[int, int] | None:
        match = re.search(rf"(?<!\w)(?:{phrases(words[key]).pattern})(?!\w)", lowered)
        return (match.start(), match.end()) if match else None

    debit, credit = span("debit"), span("credit")
    return _Columns(debit, credit) if debit and credit else None


def _distance(money: _Money, span: tuple[int, int]) -> int:
    return max(span[0] - money.end, money.start - span[1], 0)


def _amount(line: str, columns: _Columns | None) -> Decimal | None:
    """The movement's amount on its first line: the last signed one; else the one under a money
    column; else, with a single amount and no columns, that one with no sign known (None)."""
    money = _money(line)
    signed = [m for m in money if m.signed]
    if signed:
        return signed[-1].value
    if columns is not None and columns.debit and columns.credit:
        placed = [
            (min(_distance(m, columns.debit), _distance(m, columns.credit)), m) for m in money
        ]
        near = [m for distance, m in placed if distance <= COLUMN_REACH]
        if len(near) == 1:
            out = _distance(near[0], columns.debit) <= _distance(near[0], columns.credit)
            return -near[0].value if out else near[0].value
    return None


def movements(layout: str) -> list[Movement]:
    """Every movement of the statement, in the order printed."""
    lines = layout.splitlines()
    balance = phrases(vocabulary().statement["balance"])
    dated = any(_OPENS_WITH_DATE.match(line) for line in lines)
    found: list[Movement] = []
    current: list[str] = []
    columns: _Columns | None = None
    opener: str | None = None

    def close() -> None:
        if current and opener is not None:
            found.append(Movement(tuple(current), _amount(opener, columns)))

    for line in lines:
        if not line.strip():
            continue
        heading = _columns(line)
        if heading is not None and not _money(line):
            close()
            current, opener, columns = [], None, heading
            continue
        starts = (
            bool(_OPENS_WITH_DATE.match(line) and _money(line))
            if dated
            else any(m.signed for m in _money(line))
        )
        if starts:
            close()
            current, opener = [line], line
            if balance.search(line.lower()):  # a balance dated like a movement
                current, opener = [], None
        elif opener is not None:
            if balance.search(line.lower()) and _money(line):
                close()
                current, opener = [], None
            else:
                current.append(line)
    close()
    return found
