"""Text from one attachment, or the reason there is none; checks come before any parser runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from parsers.classify import DocumentKind, classify_text
from parsers.mime import Attachment
from parsers.ocr import OcrText, ocr_image, ocr_pdf
from parsers.pdf_text import extract_pdf_text
from parsers.sandbox import Rejected, Sandbox
from parsers.signed import Signature, open_signed, pdf_signatures
from parsers.sniff import SIGNED_ENVELOPE, XML, sniff
from pipeline.rules.statuses import DocumentStatus

READ, UNREADABLE = DocumentStatus.READ, DocumentStatus.UNREADABLE
QUARANTINED, SKIPPED = DocumentStatus.QUARANTINED, DocumentStatus.SKIPPED
# Below this mean word confidence OCR text goes to a human instead of the matcher.
OCR_MIN_CONFIDENCE = 0.6
OCR_CALLS = 4  # the sandbox allows this many Tesseract timeouts for one document
_NOT_DOCUMENTS = {
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "text/x-vcard",
    "text/vcard",
    "text/calendar",
}
_DANGEROUS = {"application/x-executable", "application/x-msdownload"}
SIGNED_PDF = b"/ByteRange"  # every PDF signature dictionary has one: worth a check


@dataclass(frozen=True)
class ParseLimits:
    max_message_bytes: int
    max_bytes: int
    max_pages: int
    timeout_seconds: float
    # Not a limit but the one other thing reading needs: the certificates (PEM) that digital
    # signatures are checked against; empty: signatures are checked for integrity only.
    trust_roots: bytes = b""


@dataclass(frozen=True)
class PageText:
    """One page's text: a file may hold several documents, told apart page by page."""

    text: str
    confidence: float = 1.0
    barcodes: tuple[str, ...] = ()
    layout: str = ""  # each word where it stands on its line: a statement's columns


@dataclass(frozen=True)
class DocumentReading:
    status: str
    reason: str | None = None
    page_texts: tuple[PageText, ...] = ()
    method: str = "none"
    confidence: float | None = None
    # Digital signatures: of a .p7m envelope opened to the document inside, or of a signed PDF.
    signatures: tuple[Signature, ...] = ()

    @property
    def text(self) -> str | None:
        return "\n".join(page.text for page in self.page_texts) if self.page_texts else None

    @property
    def pages(self) -> int | None:
        return len(self.page_texts) if self.page_texts else None

    @property
    def barcodes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(code for page in self.page_texts for code in page.barcodes))


def _claims_pdf(attachment: Attachment) -> bool:
    name = (attachment.filename or "").lower()
    return name.endswith(".pdf") or attachment.declared_type == "application/pdf"


def read_attachment(
    attachment: Attachment,
    limits: ParseLimits,
    sandbox: Sandbox,
    received_at: datetime | None = None,
) -> DocumentReading:
    """`received_at`: when the file arrived, the moment its signatures are checked for."""
    size, media = len(attachment.data), attachment.media_type
    if size == 0:
        return DocumentReading(QUARANTINED, "empty file (0 bytes)")
    if size > limits.max_bytes:
        return DocumentReading(
            QUARANTINED, f"too large ({size} bytes, the limit is {limits.max_bytes})"
        )
    if media in _DANGEROUS:
        return DocumentReading(QUARANTINED, f"executable content ({media})")
    if media == "application/ms-tnef":
        return DocumentReading(QUARANTINED, "winmail.dat (TNEF) is not supported: ask for a PDF")
    if _claims_pdf(attachment) and media != "application/pdf":
        return DocumentReading(QUARANTINED, f"named or declared a PDF, but the content is {media}")
    if media == "application/pdf":
        try:
            pdf = sandbox.run(
                extract_pdf_text, (attachment.data, limits.max_pages), limits.timeout_seconds
            )
        except Rejected as exc:
            return DocumentReading(QUARANTINED, exc.reason)
        signatures: tuple[Signature, ...] = ()
        if SIGNED_PDF in attachment.data:
            try:
                signatures = tuple(
                    sandbox.run(
                        pdf_signatures,
                        (attachment.data, limits.trust_roots, received_at),
                        limits.timeout_seconds,
                    )
                )
            except Rejected as exc:
                signatures = (Signature(None, False, f"the signature cannot be checked: {exc}"),)
        if pdf.text.strip():
            pages = tuple(
                PageText(text, layout=layout)
                for text, layout in zip(pdf.page_texts, pdf.layouts, strict=True)
            )
            return DocumentReading(
                READ, page_texts=pages, method="pdf_text", confidence=1.0, signatures=signatures
            )
        scanned = _ocr(ocr_pdf, (attachment.data, limits.max_pages), limits, sandbox)
        return replace(scanned, signatures=signatures)
    if media.startswith("image/"):
        return _ocr(ocr_image, (attachment.data, limits.max_pages), limits, sandbox)
    if media in _NOT_DOCUMENTS or attachment.declared_type in _NOT_DOCUMENTS:
        return DocumentReading(SKIPPED, "not a document (signature or contact card)")
    if media == SIGNED_ENVELOPE:
        return _signed(attachment, limits, sandbox, received_at)
    if media.startswith("text/") or media == XML:
        text = attachment.data.decode("utf-8", errors="replace")
        return DocumentReading(READ, page_texts=(PageText(text),), method="plain", confidence=1.0)
    return DocumentReading(QUARANTINED, f"unsupported content ({media})")


def _signed(
    attachment: Attachment, limits: ParseLimits, sandbox: Sandbox, received_at: datetime | None
) -> DocumentReading:
    """A .p7m: the document inside is read like any attachment, its signatures kept with it."""
    try:
        inner, signatures = sandbox.run(
            open_signed, (attachment.data, limits.trust_roots, received_at), limits.timeout_seconds
        )
    except Rejected as exc:
        return DocumentReading(QUARANTINED, exc.reason)
    name = attachment.filename
    while name and name.lower().endswith(".p7m"):
        name = name[:-4]
    content = Attachment(attachment.index, name, "application/octet-stream", sniff(inner), inner)
    reading = read_attachment(content, limits, sandbox, received_at)
    return replace(reading, signatures=(*signatures, *reading.signatures))


def _ocr(
    reader: Callable[..., OcrText],
    args: tuple[Any, ...],
    limits: ParseLimits,
    sandbox: Sandbox,
) -> DocumentReading:
    """OCR in the sandbox; each Tesseract call has the parse timeout, the whole a few of them."""
    timeout = limits.timeout_seconds
    try:
        ocr = sandbox.run(reader, (*args, timeout), timeout * OCR_CALLS)
    except Rejected as exc:
        return DocumentReading(QUARANTINED, exc.reason)
    # An identity document is recognised by its layout or its MRZ even in a poor photo (its
    # expiry then read from the MRZ's checked digits, its label, or its latest date). Nothing
    # else is read below the confidence bar.
    readable = bool(ocr.text.strip()) and (
        ocr.confidence >= OCR_MIN_CONFIDENCE
        or classify_text(ocr.text).kind is DocumentKind.IDENTITY_DOCUMENT
    )
    return DocumentReading(
        READ if readable else UNREADABLE,
        None if readable else f"OCR could not read it reliably (confidence {ocr.confidence:.0%})",
        page_texts=tuple(
            PageText(p.text, p.confidence, p.barcodes, p.layout) for p in ocr.page_texts
        ),
        method="ocr",
        confidence=ocr.confidence,
    )
