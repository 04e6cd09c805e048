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
    # One per page (a file may hold several documents), each word where it stands on its line,
    # so that a statement's columns can be told apart.
    layouts: tuple[str, ...]

    @property
    def page_texts(self) -> tuple[str, ...]:
        return tuple(plain(layout) for layout in self.layouts)

    @property
    def text(self) -> str:
        return "\n".join(self.page_texts)

    @property
    def pages(self) -> int:
        return len(self.layouts)


def plain(layout: str) -> str:
    """The words of each line one space apart, without empty lines: pdfplumber's plain text."""
    lines = (" ".join(line.split()) for line in layout.splitlines())
    return "\n".join(line for line in lines if line)


def extract_pdf_text(data: bytes, max_pages: int) -> PdfText:
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pages = len(pdf.pages)
            if pages > max_pages:
                raise Rejected(f"too many pages ({pages}, the limit is {max_pages})")
            layouts = tuple(page.extract_text(layout=True) or "" for page in pdf.pages)
    except PdfminerException as exc:
        raise Rejected(_pdf_reason(exc.args[0] if exc.args else exc)) from None
    except (PDFSyntaxError, PDFPasswordIncorrect, PDFEncryptionError) as exc:
        raise Rejected(_pdf_reason(exc)) from None
    return PdfText(layouts)


def _pdf_reason(exc: object) -> str:
    if isinstance(exc, PDFPasswordIncorrect | PDFEncryptionError):
        return "encrypted PDF: it cannot be read without its password"
    if isinstance(exc, PDFSyntaxError):
        return f"corrupt PDF ({exc})"
    return f"unreadable PDF ({type(exc).__name__}: {exc})"
