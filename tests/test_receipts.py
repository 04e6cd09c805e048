"""Receipt facts across bank layouts: the code and the amount, whatever the layout."""

from __future__ import annotations

import io
from decimal import Decimal

import pdfplumber
import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.settings import ResellerSettings
from parsers.classify import Classification, DocumentKind, classify_text
from parsers.facts import extract_payment_facts, valid_ibans
from pipeline.rules.matching import pays_reseller
from tests.docgen.receipts import (
    LAYOUTS,
    RESELLER_IBAN,
    TRICKY_LAYOUTS,
    default_spec,
    group_iban,
    italian_iban,
    make_iban,
    make_receipt_pdf,
)


def _text(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return "\n".join(page.extract_text() or "" for page in document.pages)


@pytest.mark.parametrize("layout", LAYOUTS + TRICKY_LAYOUTS)
@pytest.mark.parametrize("amount", ["24.40", "1234.56"])
def test_every_layout_yields_code_amount_beneficiary_and_kind(layout: str, amount: str) -> None:
    """The tricky ones: a fee beside the amount in one table row, the amount in words, a BIC
    after the IBAN, the bank's share capital in euros."""
    spec = default_spec(["LM3454898"], Decimal(amount), fee=Decimal("0.50"))
    text = _text(make_receipt_pdf(spec, layout))
    facts = extract_payment_facts(text)
    reseller = ResellerSettings()
    subtype = "bollettino" if "bollettino" in layout else "bonifico"
    assert classify_text(text) == Classification(DocumentKind.PAYMENT_RECEIPT, subtype)
    assert facts.codes == ["LM3454898"]
    assert facts.amount == Decimal(amount)
    assert pays_reseller(
        facts.ibans, facts.postal_accounts, reseller.ibans, reseller.postal_account
    )


@pytest.mark.parametrize("layout", [lay for lay in LAYOUTS if lay != "bollettino"])
def test_bank_references_are_read_and_never_taken_for_codes(layout: str) -> None:
    spec = default_spec(["LM3454898"], Decimal("24.40"))
    facts = extract_payment_facts(_text(make_receipt_pdf(spec, layout)))
    assert facts.cro == spec.cro or facts.trn == spec.trn
    assert RESELLER_IBAN in facts.ibans
    assert facts.codes == ["LM3454898"]


def test_one_transfer_paying_two_orders_names_both() -> None:
    spec = default_spec(["LM3454898", "LM3454899"], Decimal("61.00"))
    facts = extract_payment_facts(_text(make_receipt_pdf(spec, "intesa")))
    assert facts.codes == ["LM3454898", "LM3454899"]
    assert facts.amount == Decimal("61.00")


@given(
    st.text(alphabet="0123456789", min_size=22, max_size=22),
    st.lists(st.sampled_from([" ", " ", ".", ":", "-"]), min_size=6, max_size=6),
)
def test_an_iban_is_found_whatever_specks_ocr_reads_between_its_groups(
    digits: str, separators: list[str]
) -> None:
    """Check digits decide: a printed IBAN with a dot or a colon between groups is still it,
    and a one-digit misreading is never taken for it."""
    number = italian_iban(digits[:5], digits[5:10], digits[10:])
    groups = group_iban(number).split(" ")
    between = zip(separators, groups[1:], strict=True)
    printed = groups[0] + "".join(sep + group for sep, group in between)
    assert valid_ibans(f"IBAN beneficiario: {printed} BIC BPMOIT22") == [number]
    wrong = printed[:-1] + str((int(printed[-1]) + 1) % 10)
    assert number not in valid_ibans(f"IBAN: {wrong}")


@pytest.mark.parametrize("misread", ["1T", "lT", "|T", "{T", "[T"])
def test_an_ocr_misread_italian_country_code_still_names_the_iban(misread: str) -> None:
    printed = f"Visura S.p.A. - {misread}{RESELLER_IBAN[2:]}"
    assert valid_ibans(printed) == [RESELLER_IBAN]
    lithuanian = make_iban("LT", "1000011101001000")
    assert valid_ibans(f"IBAN {lithuanian}") == [lithuanian]  # a real LT IBAN stays itself
