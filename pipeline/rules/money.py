"""Euro amounts as the portal computes them."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
CARD_FEE_RATE = Decimal("0.018")


def to_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def expected_total(net: Decimal, vat_rate: Decimal, payment_method: str) -> Decimal:
    """Net plus VAT, rounded to the cent; card payments add the 1.80 % fee on top."""
    total = to_cents(net * (1 + vat_rate / 100))
    if payment_method == "carta":
        total = to_cents(total * (1 + CARD_FEE_RATE))
    return total


def format_eur(value: Decimal) -> str:
    """Italian notation for customer e-mails: 1.234,56."""
    text = f"{to_cents(value):,.2f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def format_percent(rate: Decimal) -> str:
    """22.00 -> 22, 4.50 -> 4,5: rates as Italians write them."""
    text = format(rate.normalize(), "f")
    return text.replace(".", ",")
