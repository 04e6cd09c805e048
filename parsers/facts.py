"""Payment facts from a receipt's text, by labels and shapes rather than per-bank templates."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from stdnum import iban as iban_check

from parsers.amounts import receipt_amount
from parsers.boxes import boxed_number, collapse_boxes, only_boxes
from parsers.codes import find_order_codes, normalise
from parsers.labels import first_date, has_date, labelled_value
from parsers.proof import Proof, ProofReading, payment_proof
from parsers.statements import Movement, movements, preamble
from parsers.vocabulary import phrases, vocabulary

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
# The bank's reference: one token of six or more with a digit in it (`#610056791`, a UUID).
_REFERENCE = re.compile(r"^#?(?=[A-Z0-9/-]*\d)[A-Z0-9/-]{6,}(?![^\s,;])", re.IGNORECASE)
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
    # A statement of the reseller's own account (its bank's, to the office): pays nobody.
    reseller_account: bool = False


@dataclass(frozen=True)
class Reseller:
    """Who a valid payment pays, from the settings: a statement's row is found by it."""

    ibans: tuple[str, ...]  # compact, upper case
    name: str

    @classmethod
    def of(cls, ibans: list[str], name: str) -> Reseller:
        return cls(tuple(i.replace(" ", "").upper() for i in ibans), name)

    def named_in(self, text: str) -> bool:
        """The name's words stand as words in the text, dots aside: VISURA S.P.A. is Visura
        S.p.A., Revisura is not."""
        words = _words(self.name)
        pattern = r"(?<!\w)" + r"\W*".join(re.escape(w) for w in words) + r"(?!\w)"
        return bool(words) and re.search(pattern, " ".join(_words(text))) is not None

    def paid_in(self, text: str) -> bool:
        """One of the reseller's IBANs is in the text."""
        return bool(set(self.ibans) & set(valid_ibans(text)))


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold().replace(".", ""))


def _references(text: str) -> tuple[str | None, str | None]:
    """The CRO (or Poste's reference) and the TRN."""
    cro = _CRO.search(text)
    trn = _TRN.search(text)
    return (cro.group(1) or cro.group(2)) if cro else None, trn.group(1).upper() if trn else None


def _postal_accounts(text: str) -> list[str]:
    """The number after each postal account label, however boxed. Handwritten digits drift:
    OCR may put the boxes' second half on a line of its own beside the label's."""
    lines = text.splitlines()
    found = []
    for index, line in enumerate(lines):
        for match in _POSTAL.finditer(line):
            digits = boxed_number(line[match.end() :])
            beside = [lines[i] for i in (index + 1, index - 1) if 0 <= i < len(lines)]
            for other in beside if len(digits) not in POSTAL_DIGITS else ():
                if only_boxes(other) and len(digits + boxed_number(other)) in POSTAL_DIGITS:
                    digits += boxed_number(other)
                    break
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
    cro, trn = _references(text)
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
        trn=trn,
        payer=labelled_value(lines, labels("payer")),
        beneficiary=labelled_value(lines, labels("beneficiary")),
        causale=labelled_value(lines, labels("causale")),
        execution_date=executed,
        value_date=first_date(labelled_value(lines, labels("value_date"), has_date)),
    )


def _opening(movement: Movement) -> str:
    """A movement's first line up to its causale: where a bank prints the beneficiary (a name
    in the causale is the customer's word)."""
    first = movement.lines[0].lower() if movement.lines else ""
    found = phrases(vocabulary().statement["causale"]).search(first)
    return first[: found.start()] if found else first


def extract_statement_facts(
    text: str, layout: str, reseller: Reseller, wanted: list[str]
) -> PaymentFacts:
    """The payment on an account statement: the one movement out of the account that names the
    reseller (one of its IBANs, or its name where the bank prints the beneficiary) or an order
    code. Where several do, those naming a `wanted` code (the message's) are kept; more than
    one left is no amount. Every other row, the balances and the totals are never the amount.
    A statement of the reseller's own account (its bank's, to the office) pays nobody."""
    text, layout = normalise(text), normalise(layout)
    header = preamble(layout)
    if reseller.paid_in(header) or reseller.named_in(header):
        return PaymentFacts(amount=None, proof=ProofReading(Proof.NONE), reseller_account=True)
    rows = [
        (-m.amount, m)
        for m in movements(layout)
        if m.amount is not None
        and m.amount < 0
        and (reseller.paid_in(m.text) or reseller.named_in(_opening(m)) or find_order_codes(m.text))
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
    cro, trn = _references(row.text)
    named = reseller.named_in(_opening(row))
    return PaymentFacts(
        amount=amount,
        # A movement on a statement has been executed; its own words may still say otherwise.
        proof=payment_proof(row.text, reference=True, execution_date=True),
        amount_candidates=candidates,
        codes=find_order_codes(row.text),
        ibans=ibans,
        cro=cro,
        trn=trn,
        payer=labelled_value(text.splitlines(), vocabulary().labels_for("payer", text.lower())),
        beneficiary=reseller.name if named else None,
        causale=row.text[:500],
        execution_date=first_date(row.lines[0]),
        names_reseller=not ibans and named,
    )
