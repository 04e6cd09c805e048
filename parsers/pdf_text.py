"""The text layer of a PDF, read with pdfplumber; runs inside the sandbox."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfparser import PDFSyntaxError
from pdfplumber.utils.exceptions import PdfminerException

from parsers.sandbox import Rejected


@dataclass(frozen=True)
class PdfText:
    text: str
    pages: int


def extract_pdf_text(data: bytes, max_pages: int) -> PdfText:
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pages = len(pdf.pages)
            if pages > max_pages:
                raise Rejected(f"too many pages ({pages}, the limit is {max_pages})")
            text = "\n".join(page.extract_text() or "" for page in pdf.pages)
    except PdfminerException as exc:
        raise Rejected(_pdf_reason(exc.args[0] if exc.args else exc)) from None
    except (PDFSyntaxError, PDFPasswordIncorrect, PDFEncryptionError) as exc:
        raise Rejected(_pdf_reason(exc)) from None
    return PdfText(text=text, pages=pages)


def _pdf_reason(exc: object) -> str:
    if isinstance(exc, PDFPasswordIncorrect | PDFEncryptionError):
        return "encrypted PDF: it cannot be read without its password"
    if isinstance(exc, PDFSyntaxError):
        return f"corrupt PDF ({exc})"
    return f"unreadable PDF ({type(exc).__name__}: {exc})"
