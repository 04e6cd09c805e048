"""Payment facts from a receipt's text, by labels and shapes rather than per-bank templates."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from stdnum import iban as iban_check

from parsers.amounts import receipt_amount
from parsers.codes import find_order_codes, normalise

_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30})\b")
_CRO = re.compile(r"\bC\.?R\.?O\.?\b[^\d\n]{0,20}(\d{11}|7601\d{11})\b", re.IGNORECASE)
_TRN = re.compile(r"\bT\.?R\.?N\.?\b[^A-Z0-9\n]{0,20}([A-Z0-9]{30})\b", re.IGNORECASE)
_POSTAL = re.compile(r"(?:\bC/C\b|\bc\.c\.|conto corrente)[^\d\n]{0,25}(\d{6,12})\b", re.I)
_DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b|\b(\d{4})-(\d{2})-(\d{2})\b")
_LABELS = {
    "payer": ("ordinante", "eseguito da", "payer", "debitore", "intestatario conto"),
    "beneficiary": ("beneficiario", "intestato a", "beneficiary", "a favore di", "creditore"),
    "causale": ("causale", "descrizione", "remittance information", "reason for payment"),
    "execution_date": (
        "data esecuzione",
        "data di esecuzione",
        "data operazione",
        "data pagamento",
        "execution date",
        "data accettazione",
    ),
    "value_date": ("data valuta", "valuta beneficiario", "value date"),
}


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


def _labelled_value(lines: list[str], labels: tuple[str, ...]) -> str | None:
    """The text after a label on its line, or the next line when the label stands alone."""
    for index, line in enumerate(lines):
        lowered = line.lower()
        for label in labels:
            position = lowered.find(label)
            if position < 0:
                continue
            rest = line[position + len(label) :].lstrip(" :.-\t")
            if rest:
                return rest.strip()
            if index + 1 < len(lines) and lines[index + 1].strip():
                return lines[index + 1].strip()
    return None


def _to_date(text: str | None) -> date | None:
    match = _DATE.search(text or "")
    if not match:
        return None
    try:
        if match.group(3):
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        return date(int(match.group(4)), int(match.group(5)), int(match.group(6)))
    except ValueError:
        return None


def valid_ibans(text: str) -> list[str]:
    """IBANs whose check digits hold; the pattern may run into a next word (`… BIC`), so the
    longest valid prefix of what it took is the IBAN."""
    found: dict[str, None] = {}
    for match in _IBAN.finditer(text.upper()):
        compact = match.group(1).replace(" ", "")
        for length in range(len(compact), 14, -1):
            if iban_check.is_valid(compact[:length]):
                found.setdefault(compact[:length], None)
                break
    return list(found)


def extract_payment_facts(text: str) -> PaymentFacts:
    text = normalise(text)
    lines = text.splitlines()
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
        payer=_labelled_value(lines, _LABELS["payer"]),
        beneficiary=_labelled_value(lines, _LABELS["beneficiary"]),
        causale=_labelled_value(lines, _LABELS["causale"]),
        execution_date=_to_date(_labelled_value(lines, _LABELS["execution_date"])),
        value_date=_to_date(_labelled_value(lines, _LABELS["value_date"])),
    )
