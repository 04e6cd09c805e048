"""Text from one attachment, or the reason there is none; checks come before any parser runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parsers.mime import Attachment
from parsers.ocr import OcrText, ocr_image, ocr_pdf
from parsers.pdf_text import extract_pdf_text
from parsers.sandbox import Rejected, Sandbox

READ, UNREADABLE, QUARANTINED, SKIPPED = "read", "unreadable", "quarantined", "skipped"
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


@dataclass(frozen=True)
class ParseLimits:
    max_message_bytes: int
    max_bytes: int
    max_pages: int
    timeout_seconds: float


@dataclass(frozen=True)
class DocumentReading:
    status: str
    reason: str | None = None
    text: str | None = None
    method: str = "none"
    confidence: float | None = None
    pages: int | None = None
    barcodes: tuple[str, ...] = ()


def _claims_pdf(attachment: Attachment) -> bool:
    name = (attachment.filename or "").lower()
    return name.endswith(".pdf") or attachment.declared_type == "application/pdf"


def read_attachment(
    attachment: Attachment, limits: ParseLimits, sandbox: Sandbox
) -> DocumentReading:
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
        if pdf.text.strip():
            return DocumentReading(
                READ, text=pdf.text, method="pdf_text", confidence=1.0, pages=pdf.pages
            )
        return _ocr(ocr_pdf, (attachment.data, limits.max_pages), limits, sandbox)
    if media.startswith("image/"):
        return _ocr(ocr_image, (attachment.data, limits.max_pages), limits, sandbox)
    if media in _NOT_DOCUMENTS or attachment.declared_type in _NOT_DOCUMENTS:
        return DocumentReading(SKIPPED, "not a document (signature or contact card)")
    if media.startswith("text/"):
        text = attachment.data.decode("utf-8", errors="replace")
        return DocumentReading(READ, text=text, method="plain", confidence=1.0)
    return DocumentReading(QUARANTINED, f"unsupported content ({media})")


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
    readable = bool(ocr.text.strip()) and ocr.confidence >= OCR_MIN_CONFIDENCE
    return DocumentReading(
        READ if readable else UNREADABLE,
        None if readable else f"OCR could not read it reliably (confidence {ocr.confidence:.0%})",
        text=ocr.text or None,
        method="ocr",
        confidence=ocr.confidence,
        pages=ocr.pages,
        barcodes=ocr.barcodes,
    )
