"""Source -> archive -> message row: the first step, after which nothing can be lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.parser import BytesHeaderParser
from typing import BinaryIO

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pipeline.archive import Archive
from pipeline.batches import record_item
from pipeline.rules.statuses import MessageOutcome
from pipeline.sources import Ingested
from pipeline.store.db import Store
from pipeline.store.models import Message

HEADER_BYTES = 64 * 1024


def _message_id_header(head: bytes) -> str | None:
    value = str(BytesHeaderParser().parsebytes(head).get("Message-ID") or "").strip()
    return value[:998] or None


def ingest(
    store: Store,
    archive: Archive,
    stream: BinaryIO,
    *,
    source: str,
    source_id: str,
    raw_format: str,
    received_at: datetime,
    batch_id: int,
    now: datetime,
    filename: str | None = None,
    also: Callable[[Session], None] | None = None,
) -> Ingested:
    """Archive the bytes, then commit the row (and `also`, e.g. a mailbox cursor, with it).

    A message seen before (the same bytes, or the same Message-ID) adds nothing but a
    `duplicate` item in the batch.
    """
    sha, size = archive.put_stream(stream)
    message_id = (
        _message_id_header(archive.head(sha, HEADER_BYTES)) if raw_format == "rfc822" else None
    )
    with store.unit() as session:
        same = Message.sha256 == sha
        earlier = session.scalar(
            select(Message)
            .where(or_(same, Message.message_id_header == message_id) if message_id else same)
            .order_by(Message.id)
            .limit(1)
        )
        if also is not None:
            also(session)
        if earlier is not None:
            record_item(
                session,
                batch_id,
                "message",
                source_id,
                "duplicate",
                now,
                detail=f"same message as {earlier.id}",
                message_id=earlier.id,
            )
            return Ingested(earlier.id, True, earlier.outcome)
        # A bare file has no message around it: its name (the admin's) is all there is to show.
        message = Message(
            source=source,
            source_id=source_id,
            sha256=sha,
            size=size,
            raw_format=raw_format,
            message_id_header=message_id,
            received_at=received_at,
            ingested_at=now,
            outcome=MessageOutcome.RECEIVED,
            facts={"filename": filename} if filename else {},
        )
        session.add(message)
        session.flush()
        return Ingested(message.id, False, message.outcome)
