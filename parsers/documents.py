"""Text from one attachment, or the reason there is none; checks come before any parser runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parsers.mime import Attachment
from parsers.ocr import OcrText, ocr_image, ocr_pdf
from parsers.pdf_text import extract_pdf_text
from parsers.sandbox import Limits, Rejected, run_limited

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
    max_bytes: int
    max_pages: int
    sandbox: Limits


@dataclass(frozen=True)
class DocumentReading:
    status: str
    reason: str | None = None
    text: str | None = None
    method: str = "none"
    confidence: float | None = None
    pages: int | None = None


def _claims_pdf(attachment: Attachment) -> bool:
    name = (attachment.filename or "").lower()
    return name.endswith(".pdf") or attachment.declared_type == "application/pdf"


def read_attachment(attachment: Attachment, limits: ParseLimits) -> DocumentReading:
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
            pdf = run_limited(extract_pdf_text, (attachment.data, limits.max_pages), limits.sandbox)
        except Rejected as exc:
            return DocumentReading(QUARANTINED, exc.reason)
        if pdf.text.strip():
            return DocumentReading(
                READ, text=pdf.text, method="pdf_text", confidence=1.0, pages=pdf.pages
            )
        return _ocr(ocr_pdf, (attachment.data, limits.max_pages), limits)
    if media.startswith("image/"):
        return _ocr(ocr_image, (attachment.data,), limits)
    if media in _NOT_DOCUMENTS or attachment.declared_type in _NOT_DOCUMENTS:
        return DocumentReading(SKIPPED, "not a document (signature or contact card)")
    if media.startswith("text/"):
        text = attachment.data.decode("utf-8", errors="replace")
        return DocumentReading(READ, text=text, method="plain", confidence=1.0)
    return DocumentReading(QUARANTINED, f"unsupported content ({media})")


def _ocr(
    reader: Callable[..., OcrText], args: tuple[Any, ...], limits: ParseLimits
) -> DocumentReading:
    """OCR in the sandbox; each Tesseract call has the parse timeout, the whole a few of them."""
    timeout = limits.sandbox.timeout_seconds
    sandbox = Limits(timeout * OCR_CALLS, limits.sandbox.memory_bytes)
    try:
        ocr = run_limited(reader, (*args, timeout), sandbox)
    except Rejected as exc:
        return DocumentReading(QUARANTINED, exc.reason)
    if not ocr.text.strip() or ocr.confidence < OCR_MIN_CONFIDENCE:
        return DocumentReading(
            UNREADABLE,
            f"OCR could not read it reliably (confidence {ocr.confidence:.0%})",
            text=ocr.text or None,
            method="ocr",
            confidence=ocr.confidence,
            pages=ocr.pages,
        )
    return DocumentReading(READ, text=ocr.text, method="ocr", confidence=ocr.confidence,
                           pages=ocr.pages)  # fmt: skip
