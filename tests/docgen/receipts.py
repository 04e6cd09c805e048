"""Bank and postal receipts (contabili) as one-page PDFs with a text layer, in several layouts.

Each layout places labels its own way, as different banks do, and carries the distractors a
real receipt has: CRO, TRN, IBANs, phone numbers, fees, dates.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

RESELLER_IBAN = "IT60X0542811101000000123456"


def _italian(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def _english(value: Decimal) -> str:
    return f"{value:,.2f}"


@dataclass
class ReceiptSpec:
    amount: Decimal
    causale: str
    payer: str = "Mario Rossi"
    payer_iban: str = "IT02L1234512345123456789012"
    beneficiary: str = "Visura S.p.A."
    beneficiary_iban: str = RESELLER_IBAN
    execution_date: date = date(2026, 11, 20)
    value_date: date = date(2026, 11, 20)
    cro: str = "12345678901"
    bank: str = "Banca Esempio S.p.A."
    fee: Decimal | None = None
    extra_lines: list[str] = field(default_factory=list)

    @property
    def trn(self) -> str:
        return f"03069{self.cro}48000000001IT"[:30].ljust(30, "0")


def default_spec(order_codes: list[str], amount: Decimal, **overrides: Any) -> ReceiptSpec:
    """A receipt paying the codes; its CRO follows from them, so two receipts differ."""
    causale = "Pagamento ordine " + " ".join(order_codes) if order_codes else "Pagamento PEC"
    digest = hashlib.sha256(f"{causale}|{amount}|{sorted(overrides.items())}".encode()).digest()
    cro = str(int.from_bytes(digest[:8], "big"))[-11:].rjust(11, "1")
    return replace(ReceiptSpec(amount=amount, causale=causale, cro=cro), **overrides)


Lines = list[tuple[float, str]]  # (x offset in points, text), one per printed line


def _intesa(s: ReceiptSpec) -> Lines:
    lines: Lines = [
        (0, "Intesa Sanpaolo - Contabile bonifico SEPA"),
        (0, ""),
        (0, f"Data esecuzione: {s.execution_date:%d/%m/%Y}"),
        (0, f"Data valuta beneficiario: {s.value_date:%d/%m/%Y}"),
        (0, f"Ordinante: {s.payer}"),
        (0, f"IBAN ordinante: {s.payer_iban}"),
        (0, f"Beneficiario: {s.beneficiary}"),
        (0, f"IBAN beneficiario: {s.beneficiary_iban}"),
        (0, f"Importo: € {_italian(s.amount)}"),
    ]
    if s.fee is not None:
        lines.append((0, f"Commissioni: € {_italian(s.fee)}"))
    lines += [
        (0, f"Causale: {s.causale}"),
        (0, f"CRO: {s.cro}"),
        (0, f"TRN: {s.trn}"),
        (0, "Servizio clienti 800.303.303"),
    ]
    return lines


def _unicredit(s: ReceiptSpec) -> Lines:
    return [
        (0, "UniCredit - Ricevuta di bonifico"),
        (0, ""),
        (0, "Ordinante"),
        (20, s.payer),
        (0, "Beneficiario"),
        (20, s.beneficiary),
        (0, "Coordinate beneficiario"),
        (20, s.beneficiary_iban),
        (0, "Importo"),
        (20, f"{_italian(s.amount)} EUR"),
        (0, "Descrizione"),
        (20, s.causale),
        (0, "Data di esecuzione"),
        (20, f"{s.execution_date:%d.%m.%Y}"),
        (0, f"Riferimento operazione (TRN) {s.trn}"),
        (0, "Numero verde 800.32.32.85"),
    ]


def _poste_bonifico(s: ReceiptSpec) -> Lines:
    lines: Lines = [
        (0, "Poste Italiane - BancoPosta"),
        (0, "Esito operazione: bonifico eseguito"),
        (0, f"Eseguito da: {s.payer}"),
        (0, f"A favore di: {s.beneficiary}"),
        (0, f"IBAN: {s.beneficiary_iban}"),
        (0, f"Importo bonifico {_italian(s.amount)} euro".replace(" euro", " €")),
    ]
    if s.fee is not None:
        lines.append((0, f"Costo operazione € {_italian(s.fee)}"))
        lines.append((0, f"Totale addebitato € {_italian(s.amount + s.fee)}"))
    lines += [
        (0, f"Causale: {s.causale}"),
        (0, f"Data operazione {s.execution_date:%d/%m/%Y}"),
        (0, f"Codice operazione CRO {s.cro}"),
    ]
    return lines


def _bpm(s: ReceiptSpec) -> Lines:
    return [
        (0, "Banco BPM - YouWeb"),
        (0, "Disposizione di bonifico - contabile"),
        (0, f"Ordinante  {s.payer}   Conto {s.payer_iban}"),
        (0, f"Beneficiario  {s.beneficiary}"),
        (0, f"IBAN  {s.beneficiary_iban}"),
        (0, f"Importo  EUR {_italian(s.amount)}"),
        (0, f"Causale  {s.causale}"),
        (0, f"Data esecuzione  {s.execution_date:%d/%m/%Y}"),
        (0, f"Data valuta  {s.value_date:%d/%m/%Y}"),
        (0, f"CRO  {s.cro}"),
    ]


def _fineco(s: ReceiptSpec) -> Lines:
    lines: Lines = [
        (0, "FinecoBank - Bonifico SEPA Italia"),
        (0, f"Stato: eseguito il {s.execution_date:%d/%m/%Y}"),
        (0, f"Beneficiario {s.beneficiary} - {s.beneficiary_iban}"),
        (0, f"Causale {s.causale}"),
        (0, f"Importo {_italian(s.amount)}"),
    ]
    if s.fee is not None:
        lines.append((0, f"Commissione {_italian(s.fee)}"))
    lines += [(0, f"Ordinante {s.payer}"), (0, f"TRN {s.trn}")]
    return lines


def _english_layout(s: ReceiptSpec) -> Lines:
    return [
        (0, "SEPA Credit Transfer - Payment confirmation"),
        (0, f"Payer: {s.payer} ({s.payer_iban})"),
        (0, f"Beneficiary: {s.beneficiary}"),
        (0, f"Beneficiary IBAN: {s.beneficiary_iban}"),
        (0, f"Amount: EUR {_english(s.amount)}"),
        (0, f"Remittance information: {s.causale}"),
        (0, f"Execution date: {s.execution_date:%Y-%m-%d}"),
        (0, "End-to-end id NOTPROVIDED"),
        (0, f"TRN {s.trn}"),
    ]


def _bollettino(s: ReceiptSpec) -> Lines:
    return [
        (0, "Poste Italiane - Ricevuta di versamento"),
        (0, "Bollettino postale TD 123"),
        (0, "Sul C/C n. 000012345678 intestato a"),
        (20, s.beneficiary),
        (0, f"Importo euro {_italian(s.amount)}".replace("euro ", "€ ")),
        (0, f"Eseguito da: {s.payer}"),
        (0, f"Causale: {s.causale}"),
        (0, f"Data accettazione {s.execution_date:%d/%m/%Y}"),
        (0, f"VCY/CRO 7601{s.cro}"),
    ]


LAYOUT_BUILDERS: dict[str, Callable[[ReceiptSpec], Lines]] = {
    "intesa": _intesa,
    "unicredit": _unicredit,
    "poste_bonifico": _poste_bonifico,
    "bpm": _bpm,
    "fineco": _fineco,
    "english": _english_layout,
    "bollettino": _bollettino,
}
LAYOUTS = tuple(LAYOUT_BUILDERS)


def make_receipt_pdf(spec: ReceiptSpec, layout: str) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    pdf.setTitle("Contabile")
    y = A4[1] - 72
    for x, text in LAYOUT_BUILDERS[layout](spec):
        pdf.setFont("Helvetica", 10)
        pdf.drawString(60 + x, y, text)
        y -= 16
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
