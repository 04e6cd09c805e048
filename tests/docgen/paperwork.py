"""The signed contract and the applicant's identity documents (specimens), as PDFs with a text
layer; scans and photos of them come from tests.docgen.scans."""

from __future__ import annotations

import io
from datetime import date

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

IDENTITY_KINDS = ("carta_identita", "patente", "passaporto")


def _pdf(lines: list[str], qr: str | None = None) -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    y = A4[1] - 70
    for line in lines:
        page.setFont("Helvetica-Bold" if line.isupper() else "Helvetica", 10)
        page.drawString(60, y, line)
        y -= 16
    if qr:
        widget = QrCodeWidget(qr)
        left, bottom, right, top = widget.getBounds()
        size = 80
        drawing = Drawing(
            size, size, transform=[size / (right - left), 0, 0, size / (top - bottom), 0, 0]
        )
        drawing.add(widget)
        renderPDF.draw(drawing, page, A4[0] - 60 - size, A4[1] - 60 - size)
    page.showPage()
    page.save()
    return buffer.getvalue()


def contract_pdf(code: str | None, applicant: str, mailbox: str, *, qr: str | None = None) -> bytes:
    """The contract as the portal prints it, signed by hand. `code` is printed when given;
    `qr` is the content of a QR code in the top right corner."""
    return _pdf(
        [
            "CONTRATTO PER LA FORNITURA DEL SERVIZIO DI POSTA ELETTRONICA CERTIFICATA",
            f"Ordine {code}" if code else "Ordine n. ____________",
            f"Il richiedente {applicant} chiede l'attivazione della casella {mailbox}",
            "e accetta le condizioni generali di contratto riportate di seguito.",
            "Allega copia fronte e retro di un documento d'identità in corso di validità",
            "(carta d'identità, patente di guida o passaporto).",
            "Art. 1 - Oggetto del contratto ... Art. 2 - Durata biennale ...",
            "Luogo e data: Roma, 21/11/2026",
            f"Firma del richiedente: {applicant} (firmato)",
        ],
        qr,
    )


def identity_pdf(
    last_name: str,
    first_name: str,
    expires: date = date(2031, 5, 14),
    kind: str = "carta_identita",
) -> bytes:
    """A specimen identity document, front and back on one page: a carta d'identità, a patente
    di guida or a passaporto, each with its own labels and date styles."""
    issued = expires.replace(year=expires.year - 10)
    last, first = last_name.upper(), first_name.upper()
    pages = {
        "carta_identita": [
            "REPUBBLICA ITALIANA",
            "MINISTERO DELL'INTERNO",
            "CARTA DI IDENTITÀ / IDENTITY CARD",
            "COMUNE DI / MUNICIPALITY: ROMA",
            f"COGNOME / SURNAME: {last}",
            f"NOME / NAME: {first}",
            "LUOGO E DATA DI NASCITA / PLACE AND DATE OF BIRTH: ROMA (RM) 01.01.1980",
            "SESSO / SEX: M   STATURA / HEIGHT: 175   CITTADINANZA / NATIONALITY: ITA",
            f"EMISSIONE / ISSUING: {issued:%d.%m.%Y}   SCADENZA / EXPIRY: {expires:%d.%m.%Y}",
            "SPECIMEN - DOCUMENTO DI PROVA",
            f"C<ITACA00000AA4<<<<<<<<<<<<<<< {last}<<{first}",
        ],
        "patente": [
            "PATENTE DI GUIDA",
            "REPUBBLICA ITALIANA",
            f"1. {last}",
            f"2. {first}",
            "3. 01/01/80 ROMA (RM)",
            f"4a. {issued:%d/%m/%Y}   4c. MIT-UCO",
            f"4b. {expires:%d/%m/%Y}",
            "5. U1X2Y3Z4A5   9. AM/B1/B",
            "SPECIMEN",
        ],
        "passaporto": [
            "REPUBBLICA ITALIANA",
            "PASSAPORTO / PASSPORT",
            f"Cognome / Surname: {last}",
            f"Nome / Given names: {first}",
            "Data di nascita / Date of birth: 01 GEN/JAN 1980",
            f"Data di rilascio / Date of issue: {_worded(issued)}",
            f"Data di scadenza / Date of expiry: {_worded(expires)}",
            "SPECIMEN",
            f"P<ITA{last}<<{first}<<<<<<<<<<<<<<<<<<<<<",
        ],
    }
    return _pdf(pages[kind])


_MONTHS = ("GEN/JAN", "FEB", "MAR", "APR", "MAG/MAY", "GIU/JUN", "LUG/JUL", "AGO/AUG", "SET/SEP",
           "OTT/OCT", "NOV", "DIC/DEC")  # fmt: skip


def _worded(day: date) -> str:
    return f"{day:%d} {_MONTHS[day.month - 1]} {day:%Y}"
