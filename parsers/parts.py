"""The documents inside one file: customers scan the contract and the identity document into one
PDF, or the receipt and the contract. Pages are classified one by one and runs of pages of one
kind become one document each. Pure: a reading in, parts out.
"""

from __future__ import annotations

from dataclasses import dataclass

from parsers.classify import Classification, DocumentKind, classify_text
from parsers.documents import DocumentReading, PageText


@dataclass(frozen=True)
class Part:
    first_page: int  # 1-based, inclusive
    last_page: int
    classification: Classification
    pages: tuple[PageText, ...]

    @property
    def text(self) -> str:
        return "\n".join(page.text for page in self.pages)

    @property
    def barcodes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(code for page in self.pages for code in page.barcodes))


def _part(pages: tuple[PageText, ...], first: int, last: int) -> Part:
    text = "\n".join(page.text for page in pages[first:last])
    kind = classify_text(text) if text.strip() else Classification(DocumentKind.OTHER)
    return Part(first + 1, max(last, 1), kind, pages[first:last])


def split_parts(reading: DocumentReading) -> list[Part]:
    """One part per run of pages of one kind. A page of no kind of its own (the back of a sheet,
    a page of general conditions) belongs to the run before it, or at the start to the first
    run after it. A file of one kind is one part, classified on its whole text."""
    pages = reading.page_texts
    starts: list[int] = []
    previous = None
    for index, page in enumerate(pages):
        kind = classify_text(page.text).kind
        if kind is not DocumentKind.OTHER and kind is not previous:
            starts.append(index)
            previous = kind
    if len(starts) < 2:
        return [_part(pages, 0, len(pages))]
    bounds = zip([0, *starts[1:]], [*starts[1:], len(pages)], strict=True)
    return [_part(pages, first, last) for first, last in bounds]
