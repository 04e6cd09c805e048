"""The movements of an account statement ("lista movimenti", "estratto conto", an app's list),
read from the layout text, where each word stands at its column.

A movement starts at a line that opens with its date (or, in an app's list without dates on the
rows, at a line carrying a signed amount) and runs over the lines of its description below. Its
amount is the signed one on that first line; where amounts print no sign, the money column they
stand under (Dare/Uscite or Avere/Entrate) gives it. Balances and totals are never movements,
nor an amount under a running balance's column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from parsers.amounts import COLUMN_REACH, gap, parse_amount
from parsers.vocabulary import phrases, vocabulary

# Money on a statement always shows its cents; a sign sticks to it or stands one space before;
# OCR may put a space after the thousands separator (`-1. 220,00`), a speck after the sign
# (`-.73,20`), or read the minus as a tilde.
_MONEY = re.compile(
    r"(?<![\w.,/:*])(?P<sign>[-+−–~](?:[ .·']{0,2}))?"
    r"(?P<n>\d{1,3}(?:\. ?\d{3})+,\d{2}|\d+,\d{2}|\d{1,3}(?:, ?\d{3})+\.\d{2}|\d+\.\d{2})"
    r"(?P<trail>-)?(?![\d.,]*\d|\w)"
)
# A movement's date opens its line: `23/11/2026`, `23.11.26`, or `23/11` where the year is the
# statement's.
_OPENS_WITH_DATE = re.compile(r"^\s*\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?(?=\s)")


@dataclass(frozen=True)
class Movement:
    lines: tuple[str, ...]  # as printed, the description's lines included
    amount: Decimal | None  # negative: money out of the account; None: no amount read

    @property
    def text(self) -> str:
        return " ".join(" ".join(line.split()) for line in self.lines)


@dataclass(frozen=True)
class _Money:
    span: tuple[int, int]
    value: Decimal
    signed: bool


def _money(line: str) -> list[_Money]:
    found = []
    for match in _MONEY.finditer(line):
        value = parse_amount(match.group("n"))
        if value is None:
            continue
        sign = (match.group("sign") or "").strip() or (match.group("trail") or "")
        negative = bool(sign) and sign != "+"
        found.append(_Money(match.span("n"), -value if negative else value, bool(sign)))
    return found


@dataclass(frozen=True)
class _Columns:
    """Where a table's money headings stand on its heading line."""

    debit: tuple[int, int] | None = None
    credit: tuple[int, int] | None = None
    balance: tuple[int, int] | None = None  # a running balance: never the movement's amount


def _span(line: str, key: str) -> tuple[int, int] | None:
    words = vocabulary().statement[key]
    found = re.search(rf"(?<!\w)(?:{phrases(words).pattern})(?!\w)", line.lower())
    return found.span() if found else None


def _columns(line: str) -> _Columns:
    return _Columns(_span(line, "debit"), _span(line, "credit"), _span(line, "balance_column"))


def statement_heading(line: str) -> bool:
    """A table's heading line: money column headings and no money on it."""
    columns = _columns(line)
    return bool((columns.debit and columns.credit) or _span(line, "amount")) and not _money(line)


def _amount(money: list[_Money], columns: _Columns) -> Decimal | None:
    """The movement's amount on its first line: the last signed one (not under the balance
    column); else the one under a money column; else none (no sign known)."""
    balance = columns.balance
    if balance is not None:
        money = [m for m in money if gap(m.span, balance) > COLUMN_REACH]
    signed = [m for m in money if m.signed]
    if signed:
        return signed[-1].value
    if columns.debit is None or columns.credit is None:
        return None
    debit, credit = columns.debit, columns.credit
    near = [m for m in money if min(gap(m.span, debit), gap(m.span, credit)) <= COLUMN_REACH]
    if len(near) != 1:
        return None
    out = gap(near[0].span, debit) <= gap(near[0].span, credit)
    return -near[0].value if out else near[0].value


def _opens(line: str, money: list[_Money], dated: bool) -> bool:
    """A movement's first line: its date first (or, in a list without dates on its rows, a
    signed amount), and money on it."""
    return bool(money) and (
        bool(_OPENS_WITH_DATE.match(line)) if dated else any(m.signed for m in money)
    )


def _lines(layout: str) -> tuple[list[str], bool]:
    lines = [line for line in layout.splitlines() if line.strip()]
    return lines, any(_OPENS_WITH_DATE.match(line) for line in lines)


def preamble(layout: str) -> str:
    """What a statement prints above its table and its first movement: whose account it is."""
    lines, dated = _lines(layout)
    kept = []
    for line in lines:
        if statement_heading(line) or _opens(line, _money(line), dated):
            break
        kept.append(" ".join(line.split()))
    return "\n".join(kept)


def movements(layout: str) -> list[Movement]:
    """Every movement of the statement, in the order printed."""
    lines, dated = _lines(layout)
    balance = phrases(vocabulary().statement["balance"])
    found: list[Movement] = []
    current: list[str] = []
    columns = _Columns()
    amount: Decimal | None = None

    def close() -> None:
        if current:
            found.append(Movement(tuple(current), amount))

    for line in lines:
        money = _money(line)
        if statement_heading(line):
            close()
            current, columns = [], _columns(line)
            continue
        is_balance = bool(money) and balance.search(line.lower()) is not None
        if _opens(line, money, dated) or is_balance:
            close()
            current = [] if is_balance else [line]
            amount = _amount(money, columns)
        elif current:
            current.append(line)
    close()
    return found
