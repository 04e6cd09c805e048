"""The signed contract and the applicant's identity document, as PDFs with a text layer."""

from __future__ import annotations

import io
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas


def _pdf(lines: list[str]) -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    y = A4[1] - 70
    for line in lines:
        page.setFont("Helvetica-Bold" if line.isupper() else "Helvetica", 10)
        page.drawString(60, y, line)
        y -= 16
    page.showPage()
    page.save()
    return buffer.getvalue()


def contract_pdf(code: str | None, applicant: str, mailbox: str) -> bytes:
    """The contract as the portal prints it, signed by hand; the code is on it when given."""
    return _pdf(
        [
            "CONTRATTO PER LA FORNITURA DEL SERVIZIO DI POSTA ELETTRONICA CERTIFICATA",
            f"Ordine {code}" if code else "Ordine n. ____________",
            f"Il richiedente {applicant} chiede l'attivazione della casella {mailbox}",
            "e accetta le condizioni generali di contratto riportate di seguito.",
            "Art. 1 - Oggetto del contratto ... Art. 2 - Durata biennale ...",
            "Luogo e data: Roma, 21/11/2026",
            f"Firma del richiedente: {applicant} (firmato)",
        ]
    )


def identity_pdf(last_name: str, first_name: str, expires: date = date(2031, 5, 14)) -> bytes:
    """A specimen carta d'identità, front and back on one page."""
    return _pdf(
        [
            "REPUBBLICA ITALIANA",
            "CARTA D'IDENTITÀ / IDENTITY CARD",
            "COMUNE DI ROMA",
            f"COGNOME / SURNAME: {last_name.upper()}",
            f"NOME / NAME: {first_name.upper()}",
            "LUOGO E DATA DI NASCITA: ROMA 01.01.1980",
            f"SCADENZA / EXPIRY: {expires:%d.%m.%Y}",
            "SPECIMEN - DOCUMENTO DI PROVA",
        ]
    )
