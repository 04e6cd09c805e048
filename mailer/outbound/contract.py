"""The order's contract, pre-filled, sent with the "payment processed" e-mail. The order code is
printed on every page and carried by a QR code, so that the signed scan that comes back finds
its order even when OCR reads the page poorly (parsers.barcodes reads the code)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import segno
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


def _qr_runs(code: str) -> tuple[int, list[tuple[int, int, int]]]:
    """The QR code's side in modules (quiet zone included) and its dark runs (row, first
    column, length): a few hundred rectangles in one path, drawn in well under a millisecond.
    The mask is fixed, as the standard allows: choosing the best of eight cost 3 ms a code,
    and the tests decode what is drawn."""
    matrix = segno.make_qr(code, error="m", mask=0).matrix
    side, quiet = len(matrix) + 8, 4
    runs: list[tuple[int, int, int]] = []
    for row, modules in enumerate(matrix):
        column = 0
        while column < len(modules):
            if modules[column]:
                start = column
                while column < len(modules) and modules[column]:
                    column += 1
                runs.append((row + quiet, start + quiet, column - start))
            else:
                column += 1
    return side, runs


def _qr(page: Canvas, qr: tuple[int, list[tuple[int, int, int]]], x: float, y: float) -> None:
    side, runs = qr
    module = QR_SIZE / side
    path = page.beginPath()
    for row, column, length in runs:
        path.rect(x + column * module, y + QR_SIZE - (row + 1) * module, length * module, module)
    page.drawPath(path, stroke=0, fill=1)


def _frame(
    page: Canvas, code: str, qr: tuple[int, list[tuple[int, int, int]]], number: int
) -> None:
    """What every page carries: the code as text and as a QR code, and the page number."""
    width, height = A4
    _qr(page, qr, width - 20 * mm - QR_SIZE, height - 15 * mm - QR_SIZE)
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
    qr = _qr_runs(order.code)
    _frame(page, order.code, qr, 1)
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
    _frame(page, order.code, qr, 2)
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
