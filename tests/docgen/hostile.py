"""Files and names that must end quarantined or in review with a reason, never crash a batch."""

from __future__ import annotations

import io
import zlib
from email.message import EmailMessage
from email.policy import SMTP

from reportlab.lib.pagesizes import A4
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.pdfgen import canvas

from tests.docgen.messages import make_email, make_forward


def not_a_pdf() -> bytes:
    """A home-banking error page saved as `contabile.pdf`: the classic customer mistake."""
    return (
        '<!DOCTYPE html>\n<html lang="it"><head><meta charset="utf-8">'
        "<title>Sessione scaduta</title></head>\n<body><h1>La sessione è scaduta</h1>\n"
        "<p>Per motivi di sicurezza la sessione è stata chiusa. Effettua di nuovo l'accesso "
        "per scaricare la contabile del bonifico.</p>\n"
        "<p>Assistenza clienti 800.303.303</p></body></html>\n"
    ).encode()


def zero_byte() -> bytes:
    return b""


def truncated_pdf(pdf_bytes: bytes) -> bytes:
    """The first half of a real PDF: the header is right, the xref and trailer are gone."""
    return pdf_bytes[: max(len(pdf_bytes) // 2, 16)]


def encrypted_pdf(password: str = "segreta") -> bytes:  # noqa: S107 - a test fixture
    """A receipt whose text needs a user password (RC4/AES by reportlab's StandardEncryption)."""
    buffer = io.BytesIO()
    encryption = StandardEncryption(password, ownerPassword="proprietario-" + password)
    pdf = canvas.Canvas(buffer, pagesize=A4, encrypt=encryption, invariant=True)
    for n, line in enumerate(
        [
            "Contabile bonifico SEPA",
            "Beneficiario: Visura S.p.A.",
            "Importo: € 24,40",
            "Causale: Pagamento ordine LM3454898",
        ]
    ):
        pdf.drawString(72, 760 - 18 * n, line)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def executable_as_pdf() -> bytes:
    """An ELF executable header followed by junk, sent as `ricevuta.pdf`."""
    header = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + bytes(40)
    return header + b"\x90" * 448 + b"\xcc" * 64


def huge_pdf(n_pages: int = 200) -> bytes:
    """A real PDF of many pages, each with text, to test page limits and time budgets."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    for number in range(n_pages):
        pdf.setFont("Helvetica", 10)
        pdf.drawString(72, 780, f"Estratto conto - pagina {number + 1} di {n_pages}")
        for row in range(40):
            pdf.drawString(72, 750 - 17 * row, f"{row + 1:02d}/11/2026  Movimento {row}  € 1,00")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def many_pages_pdf(pages: int) -> bytes:
    """Kept for existing tests: one short line per page."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, invariant=True)
    for number in range(pages):
        pdf.drawString(72, 720, f"Pagina {number + 1}")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def junk_before_header_pdf(pdf_bytes: bytes) -> bytes:
    """Some producers write bytes before `%PDF-`; readers accept it within the first KiB."""
    return b"\r\n\xef\xbb\xbfcontabile\r\n" + pdf_bytes


def hostile_filenames() -> list[str]:
    """Attachment names a sender controls: none may become a path or reach a terminal raw."""
    return [
        "../../etc/passwd.pdf",
        "..\\..\\Windows\\System32\\contabile.pdf",
        "/etc/shadow.pdf",
        "C:\\Users\\Public\\contabile.pdf",
        "con\x00trol\r\n.pdf",
        "ricevuta\x1b[31m rossa\x1b[0m.pdf",
        "contabile\u202efdp.exe",  # right-to-left override: shows as contabile.exe.pdf
        "a" * 300 + ".pdf",
        "=?utf-8?b?Li4vLi4vcmljZXZ1dGEucGRm?=",  # RFC 2047: ../../ricevuta.pdf
        "=?iso-8859-1?q?contabile_bonifico_perch=E9.pdf?=",
        ".pdf",
        "   ",
        "CON.pdf",
        "contabile.pdf.",
    ]


def deep_multipart(levels: int = 60) -> bytes:
    """Multiparts nested far beyond any sane message, a PDF-named leaf at the bottom."""
    leaf = EmailMessage(policy=SMTP)
    leaf.set_content("fondo", subtype="plain")
    part = leaf
    for _ in range(levels):
        outer = EmailMessage(policy=SMTP)
        outer.make_mixed()
        outer.attach(part)
        part = outer
    part["From"] = "x@example.it"
    part["To"] = "amministrazione@visura.it"
    part["Subject"] = "Pagamento LM3454898"
    part["Message-ID"] = f"<deep-{levels}@example.it>"
    return part.as_bytes()


def forward_chain(depth: int = 6) -> bytes:
    """A message forwarded inside itself `depth` times (message/rfc822 in message/rfc822)."""
    message = make_email(
        sender="mario.rossi@example.it",
        subject="Pagamento LM3454898",
        body="In allegato la contabile.",
        message_id="<chain-0@example.it>",
    )
    for n in range(1, depth + 1):
        message = make_forward(
            message, sender=f"collega{n}@visura.it", message_id=f"<chain-{n}@visura.it>"
        )
    return message


def _hand_written_pdf(content: bytes, resources: bytes, objects: list[bytes]) -> bytes:
    """One A4 page that draws `content` with `resources`, then `objects`, numbered from 5:
    written by hand, for what reportlab never writes."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << %s >> >>" % resources,
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        *objects,
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def slow_shading_pdf(operations: int = 10_000) -> bytes:
    """A 1 KB PDF whose page is one shading computed pixel by pixel by a PostScript function of
    `operations` steps: minutes of drawing at screen resolution, in little memory."""
    program = zlib.compress(b"{ add 2 div" + b" dup mul sqrt" * operations + b" dup dup }", 9)
    return _hand_written_pdf(
        b"q 595 0 0 842 0 0 cm /S sh Q",
        b"/Shading << /S 5 0 R >>",
        [
            b"<< /ShadingType 1 /ColorSpace /DeviceRGB /Domain [0 1 0 1] /Function 6 0 R >>",
            b"<< /FunctionType 4 /Domain [0 1 0 1] /Range [0 1 0 1 0 1] /Filter /FlateDecode "
            b"/Length %d >>\nstream\n%s\nendstream" % (len(program), program),
        ],
    )


def self_drawing_form_pdf() -> bytes:
    """A 900-byte PDF whose page draws a form with no resources of its own, which draws /F ten
    times: /F is found in the page's resources, and is the form itself. PDFium follows it
    until it runs out of memory and aborts the process."""
    draw = b" ".join(b"q 1 0 0 1 %d %d cm /F Do Q" % (3 * i, 5 * i) for i in range(10))
    return _hand_written_pdf(
        b"q 0.001 0 0 0.001 50 50 cm /F Do Q",
        b"/XObject << /F 5 0 R >>",
        [
            b"<< /Type /XObject /Subtype /Form /BBox [0 0 100000 100000] /Length %d >>\n"
            b"stream\n%s\nendstream" % (len(draw), draw)
        ],
    )
