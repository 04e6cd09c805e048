"""Receipt facts across bank layouts: the code and the amount, whatever the layout."""

from __future__ import annotations

import io
from decimal import Decimal

import pdfplumber
import pytest

from config.settings import ResellerSettings
from parsers.classify import DocumentKind, classify_text
from parsers.facts import extract_payment_facts
from pipeline.matching import pays_reseller
from tests.docgen.receipts import (
    LAYOUTS,
    RESELLER_IBAN,
    TRICKY_LAYOUTS,
    default_spec,
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
    assert classify_text(text) is DocumentKind.PAYMENT_RECEIPT
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
