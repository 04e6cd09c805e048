"""The order's contract, pre-filled, sent with the "payment processed" e-mail. The order code is
printed on every page and carried by a QR code, so that the signed scan that comes back finds
its order even when OCR reads the page poorly (parsers.barcodes reads the code)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from pipeline.store.models import Order

QR_SIZE = 32 * mm  # large enough to survive a phone photo of a printout
CONDITIONS = (
    "Art. 1 - Oggetto. Il fornitore mette a disposizione del richiedente una casella di posta "
    "elettronica certificata (PEC) Legalmail con le caratteristiche del prodotto indicato.",
    "Art. 2 - Durata. Il servizio ha durata biennale dalla data di attivazione e si rinnova "
    "su richiesta del titolare.",
    "Art. 3 - Identificazione. Il richiedente allega copia fronte e retro di un documento "
    "d'identità in corso di validità (carta d'identità, patente di guida o passaporto).",
    "Art. 4 - Credenziali. Le credenziali di accesso sono comunicate al richiedente "
    "all'indirizzo di posta indicato nell'ordine.",
)


def _qr(page: Canvas, code: str, x: float, y: float) -> None:
    widget = QrCodeWidget(code, barLevel="M")
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(
        QR_SIZE,
        QR_SIZE,
        transform=[QR_SIZE / (right - left), 0, 0, QR_SIZE / (top - bottom), 0, 0],
    )
    drawing.add(widget)
    renderPDF.draw(drawing, page, x, y)


def _frame(page: Canvas, code: str, number: int) -> None:
    """What every page carries: the code as text and as a QR code, and the page number."""
    width, height = A4
    _qr(page, code, width - 20 * mm - QR_SIZE, height - 15 * mm - QR_SIZE)
    page.setFont("Helvetica-Bold", 12)
    page.drawString(20 * mm, height - 20 * mm, f"Ordine {code}")
    page.setFont("Helvetica", 8)
    page.drawString(20 * mm, 12 * mm, f"Ordine {code} - pagina {number} di 2")


def _lines(page: Canvas, lines: list[str], y: float, size: int = 10) -> float:
    page.setFont("Helvetica", size)
    for line in lines:
        page.drawString(20 * mm, y, line)
        y -= size * 1.6
    return y


def _wrap(text: str, width: int = 95) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


def contract_pdf(order: Order, context: dict[str, Any], today: date) -> bytes:
    """Two pages: the applicant's data and the product, then the conditions and the
    signature. `context` is the e-mail's order context (pipeline.outbox.order_context)."""
    buffer = io.BytesIO()
    page = Canvas(buffer, pagesize=A4, invariant=True)
    page.setTitle(f"Contratto PEC - ordine {order.code}")
    _frame(page, order.code, 1)
    page.setFont("Helvetica-Bold", 11)
    page.drawString(20 * mm, A4[1] - 60 * mm, "CONTRATTO PER LA FORNITURA DEL SERVIZIO DI")
    page.drawString(20 * mm, A4[1] - 66 * mm, "POSTA ELETTRONICA CERTIFICATA")
    born = order.birth_date.strftime("%d/%m/%Y") if order.birth_date else ""
    where = f"{order.birth_municipality or ''} ({order.birth_province or ''})".strip(" ()")
    _lines(
        page,
        [
            f"Richiedente: {order.last_name or ''} {order.first_name or ''}".rstrip(),
            f"Codice fiscale: {order.tax_code or ''}",
            f"Nato/a a: {where}   il: {born}",
            f"Indirizzo per le comunicazioni: {order.email}",
            "",
            f"Prodotto: {context['product_label']}",
            f"Casella richiesta: {order.mailbox}",
            f"Totale pagato: EUR {order.total_amount}",
        ],
        A4[1] - 82 * mm,
    )
    page.showPage()
    _frame(page, order.code, 2)
    y = A4[1] - 60 * mm
    for clause in CONDITIONS:
        y = _lines(page, _wrap(clause), y, 9) - 6
    _lines(
        page,
        [
            f"Luogo e data: ____________________, {today:%d/%m/%Y}",
            "",
            "Firma del richiedente: ______________________________",
        ],
        y - 20,
    )
    page.showPage()
    page.save()
    return buffer.getvalue()
