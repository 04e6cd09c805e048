"""Order codes and amounts: the two facts a wrong match would come from."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.amounts import parse_amount, receipt_amount
from parsers.codes import find_order_codes, normalise


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("Pagamento ordine LM3454898", ["LM3454898"]),
        ("causale: LM_3454898", ["LM3454898"]),
        ("LM 345 4898 saldo", ["LM3454898"]),
        ("rif. lm-3454898", ["LM3454898"]),
        ("Ordine n. LM3454898 e LM3454899", ["LM3454898", "LM3454899"]),
        ("codice LM345\n4898 fine", ["LM3454898"]),
        ("ＬＭ３４５４８９８", ["LM3454898"]),  # full-width, as some PDFs encode it
        ("Causale LM34S4B98", ["LM3454898"]),  # OCR: S for 5, B for 8
        ("ordine LM 3454O9l", ["LM3454091"]),  # O for 0, l for 1
        ("LMI234567", ["LM1234567"]),
    ],
)
def test_codes_written_every_way_are_found(text: str, codes: list[str]) -> None:
    assert find_order_codes(text) == codes


@pytest.mark.parametrize(
    "text",
    [
        "CRO 12345678901",
        "TRN 0306912345678901LM1234567IT0000",  # inside a TRN
        "tel LM12345678",  # eight digits: not an order code
        "IBAN IT60X0542811101000000123456",
        "XLM3454898",  # part of a longer word
        "LM345489",  # six digits
        "LMBOSSI srl",  # a word of look-alike letters
        "LM3OSSIBO",  # seven look-alikes but one real digit: not a code
        "LM34S4B98x",  # glued to a word
    ],
)
def test_other_numbers_are_never_codes(text: str) -> None:
    assert find_order_codes(text) == []


LOOKALIKES = str.maketrans("OoIlSB", "001158")


@given(st.text(max_size=300) | st.text(alphabet="LM0123456789OIlSB -_.\n", max_size=60))
def test_codes_always_come_from_the_normalised_text(text: str) -> None:
    squeezed = "".join(normalise(text).translate(LOOKALIKES).upper().split())
    for code in find_order_codes(text):
        assert code[2:] in squeezed.replace("_", "").replace("-", "").replace(".", "")


@given(st.integers(min_value=0, max_value=9_999_999), st.text(alphabet=" .,;:\n", max_size=3))
def test_a_written_code_is_found(number: int, around: str) -> None:
    assert find_order_codes(f"{around}LM{number:07d}{around}") == [f"LM{number:07d}"]


@pytest.mark.parametrize(
    ("token", "value"),
    [
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("24,40", "24.40"),
        ("24.40", "24.40"),
        ("24", "24"),
        ("1.234", None),  # thousands or three decimals: refused, not guessed
        ("1,234", None),
        ("2,4,0", None),
    ],
)
def test_amount_notations(token: str, value: str | None) -> None:
    assert parse_amount(token) == (Decimal(value) if value else None)


def _italian(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999.99"), places=2))
def test_amounts_round_trip_in_both_notations(value: Decimal) -> None:
    assert parse_amount(_italian(value)) == value
    assert parse_amount(f"{value:,.2f}") == value
    assert receipt_amount(f"Importo: € {_italian(value)}")[0] == value
    assert receipt_amount(f"Amount EUR {value:,.2f}")[0] == value


def test_a_fee_is_not_the_amount_paid() -> None:
    text = "Importo € 24,40\nCommissioni € 0,50\nTotale addebitato € 24,90"
    assert receipt_amount(text)[0] == Decimal("24.40")


def test_two_different_amounts_are_ambiguous() -> None:
    amount, seen = receipt_amount("Importo € 24,40\nImporto € 30,00")
    assert amount is None
    assert seen == [Decimal("24.40"), Decimal("30.00")]


@pytest.mark.parametrize(
    "text",
    [
        "Importo: € 2440\nTotale addebitato € 24,90",  # OCR lost the comma of 24,40
        "Amount EUR 24",
        "Importo € 24,40\nImporto € 2440",
    ],
)
def test_an_amount_without_its_cents_is_refused_not_guessed(text: str) -> None:
    assert receipt_amount(text)[0] is None
