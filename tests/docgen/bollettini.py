"""Paper bollettini (postal payment slips TD 123 and TD 451), filled in by hand.

The slip is pre-printed in Poste's ink: the c/c and the amount go in boxes, one digit a box
(the c/c with or without its leading zeros, the euros right-aligned, the cents after a comma),
then "IMPORTO IN LETTERE", "INTESTATO A", "CAUSALE", "ESEGUITO DA" and the address. The payer's
handwriting is a slanted blue with a little jitter. A paid slip comes back from the counter as
the torn-off receipt stub with the office's printed validation (date, office, VCY reference
7601..., the amount again between asterisks, the fee) and a round ink stamp; a slip that was
filled in and never paid has none of that, and says everything else (an adversarial case).
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from tests.docgen.orders import OrderSpec
from tests.docgen.receipts import (
    RESELLER_NAME,
    RESELLER_POSTAL_ACCOUNT,
    _digits,
    it_amount,
    italian_words,
)

FORMS: tuple[str, ...] = ("123", "451")
_INK = (0.0, 0.36, 0.52)  # Poste's pre-printed labels and boxes
_PEN = (0.1, 0.14, 0.45)  # the payer's ballpoint
_STAMP = (0.42, 0.2, 0.58)  # the office's violet stamp pad
_STUB_W, _SLIP_W, _SLIP_H = 92.0, 240.0, 102.0  # mm
_BOX = 4.2  # mm, one digit box


@dataclass(frozen=True)
class PaperBollettino:
    """What the payer wrote and where they paid; `reference` is what the office prints."""

    amount: Decimal
    causale: str
    payer: str
    street: str = "Via Appia Nuova 112"
    cap: str = "00183"
    locality: str = "Roma"
    postal_account: str = RESELLER_POSTAL_ACCOUNT
    beneficiary: str = RESELLER_NAME
    form: str = "123"
    leading_zeros: bool = False
    paid_at: datetime = datetime(2026, 11, 20, 10, 42)
    office: str = "UP ROMA 58"
    office_code: str = "55/123"
    fee: Decimal = field(default=Decimal("2.20"))

    @property
    def reference(self) -> str:
        """Poste's 15-digit operation number (7601 + 11 digits), printed as VCY on the stub."""
        return "7601" + _digits(f"{self.causale}|{self.amount}|{self.paid_at}", 11)

    @property
    def account_as_written(self) -> str:
        """The c/c as the boxes show it: all 12 digits, or without the leading zeros."""
        return self.postal_account if self.leading_zeros else self.postal_account.lstrip("0")


def bollettino_for(order: OrderSpec, **overrides: object) -> PaperBollettino:
    """The slip the order's applicant fills in: its total, the code in the causale."""
    ordered = datetime.fromisoformat(order.created_at).replace(tzinfo=None)
    values: dict[str, object] = {
        "amount": order.total,
        "causale": f"ORDINE {order.code}",
        "payer": f"{order.first_name} {order.last_name}".strip() or "Mario Rossi",
        "paid_at": ordered.replace(hour=11, minute=int(order.order_id[-2:]) % 60),
        "leading_zeros": int(order.order_id) % 2 == 0,
    }
    values.update(overrides)
    return PaperBollettino(**values)  # type: ignore[arg-type]


class _Slip:
    """Drawing in millimetres from the slip's top-left corner, placed on a landscape A4 page."""

    def __init__(self, pdf: canvas.Canvas, seed: str) -> None:
        self.pdf = pdf
        self.ox, self.oy = 12 * mm, landscape(A4)[1] - 14 * mm
        self.chance = random.Random(int(_digits(seed, 12)))

    def _xy(self, x: float, y: float) -> tuple[float, float]:
        return self.ox + x * mm, self.oy - y * mm

    def label(self, x: float, y: float, text: str, size: float = 5.5, bold: bool = False) -> None:
        self.pdf.setFillColorRGB(*_INK)
        self.pdf.setFont("Helvetica-Bold" if bold else "Helvetica", size)
        self.pdf.drawString(*self._xy(x, y), text)

    def line(self, x0: float, y0: float, x1: float, y1: float, width: float = 0.4) -> None:
        self.pdf.setStrokeColorRGB(*_INK)
        self.pdf.setLineWidth(width)
        self.pdf.line(*self._xy(x0, y0), *self._xy(x1, y1))

    def frame(self, x: float, y: float, w: float, h: float, width: float = 0.6) -> None:
        self.pdf.setStrokeColorRGB(*_INK)
        self.pdf.setLineWidth(width)
        left, top = self._xy(x, y)
        self.pdf.rect(left, top - h * mm, w * mm, h * mm, stroke=1, fill=0)

    def boxes(self, x: float, y: float, count: int) -> None:
        """`count` digit boxes side by side, top-left at (x, y)."""
        for n in range(count):
            self.frame(x + n * _BOX, y, _BOX, 5.2, width=0.35)

    def hand(self, x: float, y: float, text: str, size: float = 9.0) -> None:
        """The payer's writing: slanted, blue, each word a little off the line."""
        self.pdf.setFillColorRGB(*_PEN)
        for word in text.split(" "):
            dx, dy = self.chance.uniform(-0.3, 0.3), self.chance.uniform(-0.5, 0.5)
            self.pdf.setFont("Helvetica-Oblique", size + self.chance.uniform(-0.6, 0.6))
            self.pdf.drawString(*self._xy(x + dx, y + dy), word)
            x += self.pdf.stringWidth(word + " ", "Helvetica-Oblique", size) / mm + 0.8
        self.pdf.setFillGray(0)

    def in_boxes(self, x: float, count: int, y: float, digits: str, printed: bool = False) -> None:
        """Digits right-aligned in a row of `count` boxes, one a box."""
        start = count - len(digits)
        for n, digit in enumerate(digits):
            cx = x + (start + n + 0.5) * _BOX
            if printed:
                self.pdf.setFillGray(0)
                self.pdf.setFont("Courier-Bold", 10)
                self.pdf.drawCentredString(*self._xy(cx, y + 4.2), digit)
                continue
            self.pdf.setFillColorRGB(*_PEN)
            self.pdf.setFont("Helvetica-Oblique", 10 + self.chance.uniform(-0.8, 0.8))
            jx, jy = self.chance.uniform(-0.35, 0.35), self.chance.uniform(-0.4, 0.4)
            self.pdf.drawCentredString(*self._xy(cx + jx, y + 4.2 + jy), digit)

    def typed(
        self, x: float, y: float, text: str, size: float = 7.5, font: str = "Courier"
    ) -> None:
        self.pdf.setFillGray(0.08)
        self.pdf.setFont(font, size)
        self.pdf.drawString(*self._xy(x, y), text)


def _bollo_box(stub: bool, width: float) -> tuple[float, float, float, float]:
    """Where the office's validation goes: (x, y, w, h) within the part."""
    return (width - 47, 72, 44, 25) if stub else (width - 47, 61, 44, 21)


def _part(s: _Slip, b: PaperBollettino, x: float, width: float, stub: bool) -> None:
    """One part of the slip: the receipt stub (left) or the part Poste keeps (right)."""
    s.frame(x, 0, width, _SLIP_H, width=0.8)
    title = "Ricevuta di Versamento" if stub else "Ricevuta di Accredito"
    s.label(x + 3, 5, "BancoPosta", size=8, bold=True)
    s.label(x + 24, 5, f"CONTI CORRENTI POSTALI - {title}", size=6, bold=True)
    if not stub:
        s.label(x + width - 14, 5, f"TD {b.form}", size=7, bold=True)
    # the c/c: 12 boxes, pre-printed on a TD 451, handwritten on a TD 123
    s.label(x + 3, 13, "€ sul C/C n.", size=6.5, bold=True)
    cc_x = x + 20
    s.boxes(cc_x, 9, 12)
    s.in_boxes(cc_x, 12, 9, b.account_as_written, printed=b.form == "451")
    # the amount: 8 boxes for euros, a comma, 2 for cents
    euros, cents = divmod(int(b.amount * 100), 100)
    amount_x, amount_y = (cc_x, 17.0) if stub else (cc_x + 12 * _BOX + 15, 9.0)
    s.label(amount_x - (16 if stub else 11), amount_y + 4, "di Euro", size=6.5, bold=True)
    s.boxes(amount_x, amount_y, 8)
    s.label(amount_x + 8 * _BOX + 0.6, amount_y + 5, ",", size=10, bold=True)
    s.boxes(amount_x + 8 * _BOX + 2.2, amount_y, 2)
    s.label(amount_x + 2, amount_y - 0.8, "EURO", size=4)
    s.label(amount_x + 8 * _BOX + 2.6, amount_y - 0.8, "CENT", size=4)
    s.in_boxes(amount_x, 8, amount_y, str(euros))
    s.in_boxes(amount_x + 8 * _BOX + 2.2, 2, amount_y, f"{cents:02d}")
    # the lines to write on
    y, step = (30.0, 7.6) if stub else (24.0, 8.0)
    rows = [
        ("IMPORTO IN LETTERE", f"{italian_words(euros).upper()}/{cents:02d}"),
        ("INTESTATO A", b.beneficiary.upper()),
        ("CAUSALE", b.causale.upper()),
        ("ESEGUITO DA", b.payer.upper()),
        ("VIA - PIAZZA", b.street.upper()),
    ]
    for label, value in rows:
        s.label(x + 3, y, label, size=5.5, bold=True)
        s.line(x + 3, y + 1.2, x + width - 3, y + 1.2)
        at = x + 5 + s.pdf.stringWidth(label, "Helvetica-Bold", 5.5) / mm
        if label == "INTESTATO A" and b.form == "451":
            s.typed(at, y - 0.3, value, size=8, font="Helvetica-Bold")
        else:
            s.hand(at, y - 0.4, value, size=8.5 if len(value) < 30 else 7.2)
        y += step
    box_x, box_y, box_w, box_h = _bollo_box(stub, width)
    s.label(x + 3, y, "CAP", size=5.5, bold=True)
    s.boxes(x + 10, y - 4.4, 5)
    s.in_boxes(x + 10, 5, y - 4.4, b.cap)
    s.label(x + 34, y, "LOCALITA'", size=5.5, bold=True)
    s.line(x + 45, y + 1.2, x + (width - 3 if stub else box_x - 3), y + 1.2)
    s.hand(x + 46, y - 0.4, b.locality.upper(), size=8.5)
    s.frame(x + box_x, box_y, box_w, box_h, width=0.4)
    s.label(x + box_x + 1, box_y - 1.2, "BOLLO DELL'UFFICIO POSTALE", size=4.8, bold=True)
    if stub:
        s.label(x + 3, _SLIP_H - 4, "La ricevuta non è valida se non porta il bollo", size=4.5)
        s.label(x + 3, _SLIP_H - 1.8, "dell'ufficio postale accettante", size=4.5)
        return
    if b.form == "451":
        s.label(x + 3, 78, "AUT. DB/SISB/E 27631 DEL 18/02/2019", size=4.5)
    s.line(x, 86, x + width, 86, width=0.3)
    s.label(x + 3, 85, "IMPORTANTE: NON SCRIVERE NELLA ZONA SOTTOSTANTE", size=5.5, bold=True)
    s.typed(x + 40, 96, f"{b.postal_account}<  {b.form}>", size=10, font="Courier")


def _validation(s: _Slip, b: PaperBollettino, x: float, width: float, stub: bool) -> None:
    """The office printer's validation in the stamp box and, beside it, the round stamp."""
    at = b.paid_at
    box_x, box_y, _, _ = _bollo_box(stub, width)
    lines = [
        f"{at:%d/%m/%Y} {at:%H:%M} {b.office}",
        f"{b.office_code} SPORT.03 OP.{_digits(b.reference, 4)}",
        f"VCY {b.reference}",
        f"IMPORTO EUR {'*' * (10 - len(it_amount(b.amount)))}{it_amount(b.amount)}",
        f"TASSA   EUR {'*' * (10 - len(it_amount(b.fee)))}{it_amount(b.fee)}",
    ]
    for n, text in enumerate(lines):
        s.typed(x + box_x + 1.5, box_y + 3.8 + n * 3.3, text, size=6.2)
    if not stub:
        return
    # the round stamp, a little crooked, left of the box and just touching it
    cx, cy = s._xy(x + box_x - 9, box_y + 11)
    s.pdf.saveState()
    s.pdf.setStrokeColorRGB(*_STAMP)
    s.pdf.setFillColorRGB(*_STAMP)
    s.pdf.setFillAlpha(0.75)
    s.pdf.setStrokeAlpha(0.75)
    s.pdf.setLineWidth(0.8)
    s.pdf.circle(cx, cy, 10 * mm, stroke=1, fill=0)
    s.pdf.circle(cx, cy, 7 * mm, stroke=1, fill=0)
    ring = f"POSTE ITALIANE * {b.office.removeprefix('UP ')} *"
    turn = s.chance.uniform(-20, 20)
    for n, char in enumerate(ring):
        angle = math.radians(turn + 90 - n * 360 / len(ring))
        s.pdf.saveState()
        s.pdf.translate(cx + 8.1 * mm * math.cos(angle), cy + 8.1 * mm * math.sin(angle))
        s.pdf.rotate(math.degrees(angle) - 90)
        s.pdf.setFont("Helvetica-Bold", 5.5)
        s.pdf.drawCentredString(0, 0, char)
        s.pdf.restoreState()
    s.pdf.translate(cx, cy)
    s.pdf.rotate(turn / 2)
    s.pdf.setFont("Helvetica-Bold", 7)
    s.pdf.drawCentredString(0, 1.2 * mm, f"{at:%d.%m.%y}")
    s.pdf.setFont("Helvetica", 5)
    s.pdf.drawCentredString(0, -2.6 * mm, b.office_code)
    s.pdf.restoreState()


def paper_bollettino_pdf(
    spec: PaperBollettino, stamped: bool = True, stub_only: bool | None = None
) -> bytes:
    """The slip on a landscape A4 page as a flatbed scanner sees it.

    `stamped`: paid at the counter (validation and stamp on the receipt stub); otherwise the
    same slip filled in and never paid. `stub_only` (default: as `stamped`) keeps only the
    torn-off receipt stub, which is what the counter hands back.
    """
    if spec.form not in FORMS:
        raise ValueError(f"form is 123 or 451, got {spec.form!r}")
    stub_only = stamped if stub_only is None else stub_only
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=landscape(A4), invariant=True, pageCompression=1)
    pdf.setTitle("Scansione")
    pdf.setCreator("docgen")
    slip = _Slip(pdf, f"{spec.causale}|{spec.payer}|{spec.amount}")
    _part(slip, spec, 0, _STUB_W, stub=True)
    if not stub_only:
        slip.pdf.setDash(2, 2)
        slip.line(_STUB_W, -2, _STUB_W, _SLIP_H + 2, width=0.3)
        slip.pdf.setDash()
        _part(slip, spec, _STUB_W, _SLIP_W - _STUB_W, stub=False)
    if stamped:
        _validation(slip, spec, 0, _STUB_W, stub=True)
        if not stub_only:
            _validation(slip, spec, _STUB_W, _SLIP_W - _STUB_W, stub=False)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
