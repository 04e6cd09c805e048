"""Files that must be quarantined with a reason, never crash a batch."""

from __future__ import annotations

import io

from reportlab.pdfgen import canvas


def not_a_pdf() -> bytes:
    return b"Gentile cliente, questo file non e' un PDF.\n" * 20


def zero_byte() -> bytes:
    return b""


def truncated_pdf(pdf: bytes) -> bytes:
    return pdf[: len(pdf) // 3]


def encrypted_pdf() -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, encrypt="segreta")
    pdf.drawString(72, 720, "Importo € 24,40 Causale LM3454898")
    pdf.save()
    return buffer.getvalue()


def executable_as_pdf() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + bytes(56) + b"\x90" * 512


def many_pages_pdf(pages: int) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for number in range(pages):
        pdf.drawString(72, 720, f"Pagina {number + 1}")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def hostile_filenames() -> list[str]:
    return [
        "../../etc/passwd.pdf",
        "/etc/shadow.pdf",
        "con\x00trol\r\n.pdf",
        "a" * 400 + ".pdf",
        "=?utf-8?b?Li4vLi4vcmljZXZ1dGEucGRm?=",
    ]
