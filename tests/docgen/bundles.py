"""Several documents in one PDF, as customers send them: merged with a PDF tool (text pages kept)
or fed through an office scanner's document feeder (one image-only PDF, a page a sheet).

Typical bundles: the signed contract (two pages) with the identity document; the receipt with
the contract; receipt, contract and identity document together. `BundleFacts` says what each
page is, so a reader can be judged on splitting and classifying them.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pypdfium2 as pdfium
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from tests.docgen import scans
from tests.docgen.ids import IdentityFacts, identity_document, identity_spec_for
from tests.docgen.orders import OrderSpec
from tests.docgen.paperwork import contract_pdf
from tests.docgen.receipts import (
    LEFT,
    _digits,
    _Page,
    default_spec,
    it_amount,
    make_receipt_pdf,
)

BUNDLE_KINDS: tuple[str, ...] = ("contract_id", "receipt_contract", "receipt_contract_id")
_ID = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*\]")
_DATE = re.compile(rb"/(CreationDate|ModDate)\s*\((D:[^)]*)\)")


@dataclass(frozen=True)
class BundleFacts:
    """What each page of the bundle is, in order, and what the parts say."""

    pages: tuple[str, ...]  # "receipt", "contract", "identity"
    code: str
    amount: str  # the receipt's amount as Italian banks print it, "" without a receipt
    identity: IdentityFacts | None


def _stable(pdf: bytes) -> bytes:
    """PDFium stamps each save with the clock and a random /ID: both made content-derived, at
    the same length so the cross-reference offsets still hold."""
    body = _DATE.sub(b"", _ID.sub(b"", pdf))
    digest = hashlib.sha256(body).hexdigest().upper().encode() * 4

    def fixed_id(match: re.Match[bytes]) -> bytes:
        first, second = match.group(1), match.group(2)
        text = match.group(0)
        text = text.replace(first, digest[: len(first)], 1)
        return text.replace(second, digest[: len(second)], 1)

    def fixed_date(match: re.Match[bytes]) -> bytes:
        value = match.group(2)
        stamp = (b"D:20000101000000+00'00'" + b" " * len(value))[: len(value)]
        return match.group(0).replace(value, stamp)

    return _ID.sub(fixed_id, _DATE.sub(fixed_date, pdf))


def _save(document: pdfium.PdfDocument) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return _stable(buffer.getvalue())


def _image_page(data: bytes) -> bytes:
    """A photo or scan as one A4 page, fitted inside the margins, as PDF tools place images."""
    image = Image.open(io.BytesIO(data))
    # a JPEG goes in as it is (DCTDecode), as PDF tools embed photos; others are re-encoded
    source = ImageReader(io.BytesIO(data)) if image.format == "JPEG" else ImageReader(image)
    width, height = A4
    room_w, room_h = width - 72, height - 72
    ratio = min(room_w / image.width, room_h / image.height)
    w, h = image.width * ratio, image.height * ratio
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    page.drawImage(source, (width - w) / 2, height - 36 - h, width=w, height=h)
    page.showPage()
    page.save()
    return buffer.getvalue()


def _as_pdf(part: bytes) -> bytes:
    return part if part.startswith(b"%PDF") else _image_page(part)


def bundle_pdf(parts: list[bytes]) -> bytes:
    """The pages of every part in order, one PDF; text layers kept. Parts are PDFs, or PNG and
    JPEG images (each becomes an A4 page)."""
    if not parts:
        raise ValueError("a bundle needs at least one part")
    merged = pdfium.PdfDocument.new()
    for part in parts:
        merged.import_pages(pdfium.PdfDocument(_as_pdf(part)))
    return _save(merged)


def _pages(part: bytes) -> list[tuple[bytes, tuple[float, float]]]:
    """Each page of a part as a one-page PDF, with its size in points."""
    pdf = _as_pdf(part)
    document = pdfium.PdfDocument(pdf)
    if len(document) == 1:
        return [(pdf, document[0].get_size())]
    pages = []
    for index in range(len(document)):
        single = pdfium.PdfDocument.new()
        single.import_pages(document, [index])
        buffer = io.BytesIO()
        single.save(buffer)
        pages.append((buffer.getvalue(), document[index].get_size()))
    return pages


def scanned_bundle_pdf(
    parts: list[bytes],
    seed: int = 1,
    *,
    dpi: int = 200,
    upside_down: tuple[int, ...] = (),
) -> bytes:
    """The same sheets through a document feeder: every page rendered, greyed and speckled
    (`scans.scan`), some a degree askew, the pages listed in `upside_down` (0-based) fed the
    wrong way round; one image-only PDF of JPEG pages, each the size of its sheet."""
    if not parts:
        raise ValueError("a bundle needs at least one part")
    buffer = io.BytesIO()
    out = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    out.setCreator("docgen scanner")
    number = 0
    for part in parts:
        for page, size in _pages(part):
            tilt = (seed + number) % 3 - 1
            turn = 180 + tilt if number in upside_down else tilt
            image = scans.scan(page, dpi=dpi, rotate=turn, noise=0.0008, seed=seed + number)
            out.setPageSize(size)
            jpeg = io.BytesIO()  # scanners store pages as JPEG (DCTDecode) inside the PDF
            image.save(jpeg, "JPEG", quality=75)
            jpeg.seek(0)
            out.drawImage(ImageReader(jpeg), 0, 0, width=size[0], height=size[1])
            out.showPage()
            number += 1
    out.save()
    return buffer.getvalue()


# --- the parts customers bundle -------------------------------------------------------------


def _conditions_page(order: OrderSpec, signed_on: datetime) -> bytes:
    """The contract's second page: the clauses approved specifically (artt. 1341-1342 c.c.),
    the privacy notice and the second signature."""
    applicant = f"{order.first_name} {order.last_name}".strip() or order.mailbox_description
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    page = _Page(pdf)
    page.text(
        LEFT,
        50,
        f"Ordine {order.code} - Contratto di fornitura del servizio Legalmail",
        size=8,
        grey=True,
    )
    page.right(539, 50, "Pagina 2 di 2", size=8)
    y = 90.0
    clauses = [
        "Art. 3 - Obblighi del Cliente. Il Cliente si impegna a custodire con diligenza le "
        "credenziali di accesso alla casella e a comunicare tempestivamente ogni variazione "
        "dei propri dati.",
        "Art. 5 - Limitazioni di responsabilità. Il Fornitore non risponde dei ritardi o "
        "delle mancate consegne imputabili al gestore del destinatario.",
        "Art. 8 - Recesso. Ciascuna parte può recedere con preavviso scritto di 30 giorni; "
        "il canone già versato non è rimborsabile.",
        "Art. 10 - Foro competente. Per ogni controversia è competente in via esclusiva il "
        "Foro di Roma, salvo quanto previsto dal Codice del Consumo.",
    ]
    for clause in clauses:
        y = page.wrapped(LEFT, y, clause, width=95, step=13) + 8
    y += 10
    page.text(LEFT, y, "APPROVAZIONE SPECIFICA DELLE CLAUSOLE", bold=True)
    y = page.wrapped(
        LEFT,
        y + 16,
        "Ai sensi e per gli effetti degli artt. 1341 e 1342 c.c. il "
        "Cliente dichiara di aver letto e di approvare specificamente le clausole "
        "di cui agli artt. 3, 5, 8 e 10 delle condizioni generali.",
        width=95,
        step=13,
    )
    page.text(LEFT, y + 24, f"Luogo e data: Roma, {signed_on:%d/%m/%Y}")
    page.text(LEFT + 260, y + 24, "Firma del Cliente")
    pdf.setStrokeColorRGB(0.1, 0.15, 0.45)
    pdf.setLineWidth(1.1)
    base = A4[1] - (y + 50)
    path = pdf.beginPath()
    path.moveTo(LEFT + 262, base)
    for n in range(5):
        path.curveTo(
            LEFT + 270 + n * 24,
            base + 16,
            LEFT + 280 + n * 24,
            base - 10,
            LEFT + 290 + n * 24,
            base + 4,
        )
    pdf.drawPath(path, stroke=1, fill=0)
    page.rule(y + 58, x0=LEFT + 260, x1=LEFT + 460)
    page.text(LEFT + 260, y + 70, f"({applicant})", size=8, grey=True)
    page.text(LEFT, y + 110, "INFORMATIVA PRIVACY", bold=True)
    page.wrapped(
        LEFT,
        y + 126,
        "I dati personali sono trattati da Visura S.p.A. ai sensi del "
        "Regolamento (UE) 2016/679 per la sola esecuzione del contratto. L'informativa "
        "completa è disponibile sul portale.",
        width=95,
        step=13,
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def signed_contract_pdf(order: OrderSpec) -> bytes:
    """The contract as printed, signed and sent back: the portal's first page
    (`paperwork.contract_pdf`) and the page of specifically approved clauses."""
    applicant = f"{order.first_name} {order.last_name}".strip() or order.mailbox_description
    signed_on = datetime.fromisoformat(order.created_at) + timedelta(days=1)
    first = contract_pdf(order.code, applicant, order.mailbox)
    return bundle_pdf([first, _conditions_page(order, signed_on)])


def typical_bundle(
    order: OrderSpec,
    kind: str = "receipt_contract_id",
    *,
    receipt_layout: str = "intesa",
    id_kind: str = "cie",
    id_form: str = "pdf",
) -> tuple[list[bytes], BundleFacts]:
    """The parts of one of BUNDLE_KINDS for the order, and what a reader should find.

    The receipt pays the order's total with its code (a `receipts` layout); the identity
    document is the applicant's (`id_form` "pdf", "scan" or "photo", both sides)."""
    if kind not in BUNDLE_KINDS:
        raise ValueError(f"unknown bundle {kind!r} (known: {', '.join(BUNDLE_KINDS)})")
    parts: list[bytes] = []
    pages: list[str] = []
    amount = ""
    identity = None
    if kind.startswith("receipt"):
        payer = f"{order.first_name} {order.last_name}".strip() or "Mario Rossi"
        spec = default_spec([order.code], order.total, payer=payer)
        parts.append(make_receipt_pdf(spec, receipt_layout))
        pages.append("receipt")
        amount = it_amount(order.total)
    parts.append(signed_contract_pdf(order))
    pages += ["contract", "contract"]
    if kind.endswith("_id"):
        document, identity = identity_document(
            identity_spec_for(order, id_kind),
            form=id_form,
            seed=int(_digits(order.code + "bundle", 6)),
        )
        parts.append(document)
        pages.append("identity")
    return parts, BundleFacts(tuple(pages), order.code, amount, identity)
