"""Euro amounts written the Italian or the English way; an ambiguous one is refused, not guessed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

_NUMBER = r"\d{1,3}(?:[.,'’ ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_CURRENCY = r"(?:€|EUR|EURO|Euro|euro)"
_MENTION = re.compile(
    rf"(?:{_CURRENCY}\s*(?P<a>{_NUMBER})(?![\d.,])|(?<![\d.,])(?P<b>{_NUMBER})\s*{_CURRENCY}(?![A-Za-z]))"
)
_LABELLED = re.compile(
    rf"(?P<label>importo|totale|ammontare|somma|amount|total)[^\d\n€]{{0,40}}?"
    rf"(?:{_CURRENCY}\s*)?(?P<n>{_NUMBER})(?![\d.,]|\s*%)",
    re.IGNORECASE,
)
_FEE_WORDS = ("commission", "spese", "fee", "costo", "charge", "bollo", "iva", "imposta",
              "tassa")  # fmt: skip
# Money a receipt states that is not the payment: the bank's capital, the amount in words.
_NOT_PAYMENT_WORDS = ("capitale", "capital", "patrimonio", "lettere")
_COLUMN_WORDS = re.compile(r"importo|commission\w*|spese|totale|total|amount|charges|costo|tassa")
_PRIMARY = ("importo", "amount", "ammontare", "somma")


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


def _line_amounts(line: str) -> list[tuple[int, Decimal]]:
    """(position, value) of each amount on a line, labelled ones first found."""
    found: list[tuple[int, Decimal]] = []
    spans: set[tuple[int, int]] = set()
    for match in _LABELLED.finditer(line):
        value = parse_amount(match.group("n"))
        if value is not None:
            spans.add(match.span("n"))
            found.append((match.start("n"), value))
    for match in _MENTION.finditer(line):
        group = "a" if match.group("a") else "b"
        value = parse_amount(match.group(group))
        if value is not None and match.span(group) not in spans:
            found.append((match.start(group), value))
    return sorted(found)


def _column_labels(header: str, count: int) -> list[str] | None:
    """A table row's labels from the header line above it, when one money word fits each."""
    words = [m.group(0) for m in _COLUMN_WORDS.finditer(header.lower())]
    return words if len(words) == count else None


def find_amounts(text: str) -> list[AmountMention]:
    """Every readable money amount with the words that label it.

    The label is the text before the amount on its line; for a table row of several bare
    amounts it is the matching column heading on the line above.
    """
    found: list[AmountMention] = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        amounts = _line_amounts(line)
        labels = [line[:position].lower() for position, _ in amounts]
        if len(amounts) > 1 and number and not re.search(r"[a-z]{3}", labels[0]):
            labels = _column_labels(lines[number - 1], len(amounts)) or labels
        found += [AmountMention(value, label, number)
                  for (_, value), label in zip(amounts, labels, strict=True)]  # fmt: skip
    return found


def _is_fee(label: str) -> bool:
    return any(word in label for word in _FEE_WORDS)


def receipt_amount(text: str) -> tuple[Decimal | None, list[Decimal]]:
    """The amount paid, or None when the receipt does not say it unambiguously.

    Labelled amounts (importo, amount) win over totals, which win over bare currency
    amounts; fees never count. Within the first group that has any, all must agree.
    """
    mentions = [
        m
        for m in find_amounts(text)
        if m.value > 0
        and not _is_fee(m.label)
        and not any(word in m.label for word in _NOT_PAYMENT_WORDS)
    ]
    groups = (
        [m for m in mentions if any(w in m.label for w in _PRIMARY)],
        [m for m in mentions if "total" in m.label],
        mentions,
    )
    candidates = sorted({m.value for m in mentions})
    for group in groups:
        values = {m.value for m in group}
        if len(values) == 1:
            return values.pop(), candidates
        if len(values) > 1:
            return None, candidates
    return None, candidates
