"""Payment facts from a receipt's text, by labels and shapes rather than per-bank templates."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from stdnum import iban as iban_check

from parsers.amounts import receipt_amount
from parsers.boxes import boxed_number, collapse_boxes
from parsers.codes import find_order_codes, normalise
from parsers.labels import first_date, has_date, labelled_value
from parsers.proof import Proof, ProofReading, payment_proof
from parsers.statements import movements
from parsers.vocabulary import vocabulary

# Groups of an IBAN are split by spaces, and on a noisy scan OCR may read a speck between them
# as a dot or a colon (`0000. 0123`); the check digits decide what is an IBAN.
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?:[ .:·'-]{0,2}[A-Z0-9]){11,30})\b")
_IBAN_SEPARATORS = re.compile(r"[ .:·'-]")
# OCR reads the I of an Italian IBAN as 1, l, | or {: such a start is also tried as IT.
_OCR_IT = re.compile(r"(?<![A-Z0-9])[1L|{!\[\]](?=T\d{2})")
# Poste prints its CRO after `VCY` on a bollettino's receipt; its 15 digits from 7601 are Poste's
# reference wherever they stand (OCR garbles the short label of a counter's printout).
_CRO = re.compile(
    r"\b(?:C\.?R\.?O\.?|VCY)\b[^\d\n]{0,20}(\d{11}|7601\d{11})\b|(?<!\d)(7601\d{11})(?!\d)",
    re.IGNORECASE,
)
_TRN = re.compile(r"\bT\.?R\.?N\.?\b[^A-Z0-9\n]{0,20}([A-Z0-9]{30})\b", re.IGNORECASE)
_REFERENCE = re.compile(r"^[A-Z0-9][A-Z0-9/-]{5,}", re.IGNORECASE)
# The postal account follows its label, on a paper slip one digit a box (parsers.boxes).
# OCR reads the slash of `C/C` as I, l or 1.
_POSTAL = re.compile(r"(?:\bC[/Il1|]C\b|\bc\.c\.|conto corrente)[^\d\n]{0,25}(?=\d)", re.I)
POSTAL_DIGITS = range(6, 13)


@dataclass(frozen=True)
class PaymentFacts:
    amount: Decimal | None
    proof: ProofReading  # whether it shows that money moved
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
    # A statement's row that names the reseller by name and prints no IBAN (apps do so).
    names_reseller: bool = False


@dataclass(frozen=True)
class Reseller:
    """Who a valid payment pays, from the settings: a statement's row is found by it."""

    ibans: tuple[str, ...]
    name: str

    def named_in(self, text: str) -> bool:
        """The name as a run of letters and digits (VISURA S.P.A. is Visura S.p.A.)."""
        squash = _squash(self.name)
        return bool(squash) and squash in _squash(text)


def _squash(text: str) -> str:
    return re.sub(r"[\W_]", "", text.casefold())


def _cro(text: str) -> str | None:
    found = _CRO.search(text)
    return (found.group(1) or found.group(2)) if found else None


def _postal_accounts(text: str) -> list[str]:
    """The number after each postal account label, however boxed."""
    found = []
    for match in _POSTAL.finditer(text):
        digits = boxed_number(text[match.end() :].split("\n", 1)[0])
        if len(digits) in POSTAL_DIGITS:
            found.append(digits)
    return list(dict.fromkeys(found))


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


def extract_payment_facts(text: str, layout: str | None = None) -> PaymentFacts:
    """`layout`: the same text with each word where it stands, for a table's columns."""
    text = normalise(text)
    lines = text.splitlines()
    lowered = text.lower()

    def labels(field: str) -> tuple[str, ...]:
        return vocabulary().labels_for(field, lowered)

    unboxed = "\n".join(collapse_boxes(line) for line in lines)
    placed = (
        "\n".join(collapse_boxes(line) for line in normalise(layout).splitlines())
        if layout
        else None
    )
    amount, candidates = receipt_amount(unboxed, placed)
    cro = _cro(text)
    trn = _TRN.search(text)
    reference = labelled_value(lines, labels("reference"), lambda v: bool(_REFERENCE.match(v)))
    executed = first_date(labelled_value(lines, labels("execution_date"), has_date))
    return PaymentFacts(
        amount=amount,
        proof=payment_proof(
            text, reference=bool(cro or trn or reference), execution_date=executed is not None
        ),
        amount_candidates=candidates,
        codes=find_order_codes(text),
        ibans=valid_ibans(text),
        postal_accounts=_postal_accounts(text),
        cro=cro,
        trn=trn.group(1).upper() if trn else None,
        payer=labelled_value(lines, labels("payer")),
        beneficiary=labelled_value(lines, labels("beneficiary")),
        causale=labelled_value(lines, labels("causale")),
        execution_date=executed,
        value_date=first_date(labelled_value(lines, labels("value_date"), has_date)),
    )


def extract_statement_facts(
    text: str, layout: str, reseller: Reseller, wanted: list[str]
) -> PaymentFacts:
    """The payment on an account statement: the one movement out of the account that names the
    reseller (IBAN or name) or an order code. Where several do, those naming a `wanted` code
    (the message's) are kept; more than one left is no amount. Every other row, the balances and
    the totals are never the amount."""
    text, layout = normalise(text), normalise(layout)
    ours = set(reseller.ibans)
    rows = [
        (-m.amount, m)
        for m in movements(layout)
        if m.amount is not None
        and m.amount < 0
        and (
            ours & set(valid_ibans(m.text)) or reseller.named_in(m.text) or find_order_codes(m.text)
        )
    ]
    if len(rows) > 1 and wanted:
        rows = [r for r in rows if set(find_order_codes(r[1].text)) & set(wanted)] or rows
    candidates = sorted({amount for amount, _ in rows})
    if len(rows) != 1:
        # No movement names us: nothing shows a payment; several: a person picks one.
        proof = ProofReading(Proof.EXECUTED if rows else Proof.NONE)
        return PaymentFacts(amount=None, proof=proof, amount_candidates=candidates)
    amount, row = rows[0]
    ibans = valid_ibans(row.text)
    trn = _TRN.search(row.text)
    cro = _cro(row.text)
    return PaymentFacts(
        amount=amount,
        # A movement on a statement has been executed; its own words may still say otherwise.
        proof=payment_proof(row.text, reference=True, execution_date=True),
        amount_candidates=candidates,
        codes=find_order_codes(row.text),
        ibans=ibans,
        cro=cro,
        trn=trn.group(1).upper() if trn else None,
        payer=labelled_value(text.splitlines(), vocabulary().labels_for("payer", text.lower())),
        beneficiary=reseller.name if reseller.named_in(row.text) else None,
        causale=row.text[:500],
        execution_date=first_date(row.lines[0]),
        names_reseller=not ibans and reseller.named_in(row.text),
    )
