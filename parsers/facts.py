"""Payment facts from a receipt's text, by labels and shapes rather than per-bank templates."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from stdnum import iban as iban_check

from parsers.amounts import receipt_amount
from parsers.codes import find_order_codes, normalise
from parsers.labels import first_date, has_date, labelled_value
from parsers.vocabulary import vocabulary

# Groups of an IBAN are split by spaces, and on a noisy scan OCR may read a speck between them
# as a dot or a colon; the check digits decide what is an IBAN.
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?:[ .:·'-]?[A-Z0-9]){11,30})\b")
_IBAN_SEPARATORS = re.compile(r"[ .:·'-]")
# OCR reads the I of an Italian IBAN as 1, l, | or {: such a start is also tried as IT.
_OCR_IT = re.compile(r"(?<![A-Z0-9])[1L|{!\[\]](?=T\d{2})")
_CRO = re.compile(r"\bC\.?R\.?O\.?\b[^\d\n]{0,20}(\d{11}|7601\d{11})\b", re.IGNORECASE)
_TRN = re.compile(r"\bT\.?R\.?N\.?\b[^A-Z0-9\n]{0,20}([A-Z0-9]{30})\b", re.IGNORECASE)
_POSTAL = re.compile(r"(?:\bC/C\b|\bc\.c\.|conto corrente)[^\d\n]{0,25}(\d{6,12})\b", re.I)


@dataclass(frozen=True)
class PaymentFacts:
    amount: Decimal | None
    amount_candidates: list[Decimal] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    ibans: list[str] = field(default_factory=list)
    postal_accounts: list[str] = field(default_factory=list)
    cro: str | None = None
    trn: str | None = None
    payer: str | None = None
    beneficiary: str | None = None
    causale: str | None = None
    execution_date: date | None = None
    value_date: date | None = None


def valid_ibans(text: str) -> list[str]:
    """IBANs whose check digits hold; the pattern may run into a next word (`… BIC`), so the
    longest valid prefix of what it took is the IBAN. The check digits cover the country code
    too, so reading `{T60…` as `IT60…` finds only a real IBAN."""
    found: dict[str, None] = {}
    upper = text.upper()
    candidates = [*_IBAN.finditer(upper), *_IBAN.finditer(_OCR_IT.sub("I", upper))]
    for match in candidates:
        compact = _IBAN_SEPARATORS.sub("", match.group(1))
        for length in range(len(compact), 14, -1):
            if iban_check.is_valid(compact[:length]):
                found.setdefault(compact[:length], None)
                break
    return list(found)


def extract_payment_facts(text: str) -> PaymentFacts:
    text = normalise(text)
    lines = text.splitlines()
    lowered = text.lower()

    def labels(field: str) -> tuple[str, ...]:
        return vocabulary().labels_for(field, lowered)

    amount, candidates = receipt_amount(text)
    cro = _CRO.search(text)
    trn = _TRN.search(text)
    return PaymentFacts(
        amount=amount,
        amount_candidates=candidates,
        codes=find_order_codes(text),
        ibans=valid_ibans(text),
        postal_accounts=list(dict.fromkeys(m.group(1) for m in _POSTAL.finditer(text))),
        cro=cro.group(1) if cro else None,
        trn=trn.group(1).upper() if trn else None,
        payer=labelled_value(lines, labels("payer")),
        beneficiary=labelled_value(lines, labels("beneficiary")),
        causale=labelled_value(lines, labels("causale")),
        execution_date=first_date(labelled_value(lines, labels("execution_date"), has_date)),
        value_date=first_date(labelled_value(lines, labels("value_date"), has_date)),
    )
