"""Source -> archive -> message row: the first step, after which nothing can be lost.

Two halves, so that a batch can take many messages with one commit: `archived` writes the
bytes (not yet synced: `Archive.sync` makes a group durable before its rows are committed),
`store_row` adds the message's row in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from typing import BinaryIO

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pipeline.archive import Archive
from pipeline.batches import record_item
from pipeline.rules.statuses import MessageOutcome
from pipeline.sources import Ingested
from pipeline.store.models import Message

HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Arrival:
    """A message's bytes in the archive, and what its row will say of where it came from."""

    sha256: str
    size: int
    message_id: str | None  # the Message-ID header
    source: str
    source_id: str
    raw_format: str
    received_at: datetime
    filename: str | None = None  # a bare file's name, the only name it has


def _message_id_header(head: bytes) -> str | None:
    value = str(BytesHeaderParser().parsebytes(head).get("Message-ID") or "").strip()
    return value[:998] or None


def archived(
    archive: Archive,
    stream: BinaryIO,
    *,
    source: str,
    source_id: str,
    raw_format: str,
    received_at: datetime,
    filename: str | None = None,
) -> Arrival:
    """Write the bytes to the archive (streamed, never held whole), not yet synced."""
    sha, size = archive.put_stream(stream, sync=False)
    message_id = (
        _message_id_header(archive.head(sha, HEADER_BYTES)) if raw_format == "rfc822" else None
    )
    return Arrival(sha, size, message_id, source, source_id, raw_format, received_at, filename)


def store_row(session: Session, arrival: Arrival, *, batch_id: int, now: datetime) -> Ingested:
    """The message's row, in the caller's transaction. A message seen before (the same
    bytes, or the same Message-ID) adds nothing but a `duplicate` item in the batch."""
    same = Message.sha256 == arrival.sha256
    mid = arrival.message_id
    earlier = session.scalar(
        select(Message)
        .where(or_(same, Message.message_id_header == mid) if mid else same)
        .order_by(Message.id)
        .limit(1)
    )
    if earlier is not None:
        record_item(
            session,
            batch_id,
            "message",
            arrival.source_id,
            "duplicate",
            now,
            detail=f"same message as {earlier.id}",
            message_id=earlier.id,
        )
        return Ingested(earlier.id, True, earlier.outcome)
    # A bare file has no message around it: its name (the admin's) is all there is to show.
    message = Message(
        source=arrival.source,
        source_id=arrival.source_id,
        sha256=arrival.sha256,
        size=arrival.size,
        raw_format=arrival.raw_format,
        message_id_header=mid,
        received_at=arrival.received_at,
        ingested_at=now,
        outcome=MessageOutcome.RECEIVED,
        facts={"filename": arrival.filename} if arrival.filename else {},
    )
    session.add(message)
    session.flush()
    return Ingested(message.id, False, message.outcome)
