"""A stored document as ops look at it: its summary, its pages drawn as PNG images in the
sandbox (the browser never runs the sender's file), and the file itself as a download, typed by
its bytes, never by what the sender declared."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config import Settings
from parsers.pages import PageError, PageLimits, render_in
from parsers.sandbox import Sandbox
from parsers.sniff import sniff
from pipeline.archive import Archive
from pipeline.services import queries
from pipeline.services.errors import NotFound, Refused
from pipeline.store.db import Store
from pipeline.store.models import Document

EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png",
              "image/tiff": "tif", "image/webp": "webp", "image/gif": "gif",
              "application/pkcs7-mime": "p7m"}  # fmt: skip


@dataclass(frozen=True)
class StoredFile:
    data: bytes
    media_type: str
    name: str  # ours, never the sender's


def _stored(store: Store, document_id: int) -> tuple[Document, dict[str, Any]]:
    with store.unit() as session:
        document = session.get(Document, document_id)
        if document is None:
            raise NotFound(f"no document {document_id}")
        session.expunge(document)
        return document, {
            "id": document.id,
            "summary": queries.document_summary(document),
            "kind": document.kind,
            "status": document.status,
            "reason": document.reason,
            "message": document.message_id,
            "order": document.order_id,
            "pages": queries.document_pages(document),
            "media_type": document.media_type,
        }


def document_view(store: Store, document_id: int) -> dict[str, Any]:
    return _stored(store, document_id)[1]


def _bytes(settings: Settings, document: Document) -> bytes:
    try:
        return Archive(settings.archive_dir).get(document.sha256)
    except FileNotFoundError:
        raise Refused(f"document {document.id} is no longer in the archive (retention)") from None


def page_png(
    store: Store, settings: Settings, sandbox: Sandbox, document_id: int, page: int
) -> bytes:
    """Page `page` (1 = the document's first, inside a file that may hold several)."""
    document, shown = _stored(store, document_id)
    if not 1 <= page <= shown["pages"]:
        raise NotFound(f"document {document_id} has no page {page}")
    data = _bytes(settings, document)
    try:
        rendered = render_in(sandbox, data, document.first_page + page - 1, PageLimits())
    except PageError as exc:
        raise Refused(f"page {page} of document {document_id} cannot be shown: {exc}") from None
    return rendered.png


def document_file(store: Store, settings: Settings, document_id: int) -> StoredFile:
    document, _ = _stored(store, document_id)
    data = _bytes(settings, document)
    media_type = sniff(data)
    extension = EXTENSIONS.get(media_type, "bin")
    if extension == "bin":
        media_type = "application/octet-stream"
    return StoredFile(data, media_type, f"documento-{document_id}.{extension}")
