"""Source -> archive -> message row: the first step, after which nothing can be lost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from pipeline.archive import Archive
from pipeline.batches import record_item
from pipeline.store.db import Store
from pipeline.store.models import Message


@dataclass(frozen=True)
class Ingested:
    message_id: int
    duplicate: bool


def ingest_file(
    store: Store,
    archive: Archive,
    *,
    source: str,
    source_id: str,
    path: Path,
    raw_format: str,
    received_at: datetime,
    batch_id: int,
    now: datetime,
) -> Ingested:
    """Archive the bytes, then commit the row; a message seen before adds nothing."""
    with path.open("rb") as stream:
        sha, size = archive.put_stream(stream)
    # A bare file has no message around it: its name (the admin's) is all there is to show.
    facts = {"filename": path.name} if raw_format == "file" else {}
    with store.unit() as session:
        earlier = session.scalar(select(Message).where(Message.sha256 == sha))
        if earlier is not None:
            record_item(
                session,
                batch_id,
                "message",
                source_id,
                "duplicate",
                now,
                detail=f"same bytes as message {earlier.id}",
                message_id=earlier.id,
            )
            return Ingested(earlier.id, duplicate=True)
        message = Message(
            source=source,
            source_id=source_id,
            sha256=sha,
            size=size,
            raw_format=raw_format,
            received_at=received_at,
            ingested_at=now,
            outcome="received",
            facts=facts,
        )
        session.add(message)
        session.flush()
        return Ingested(message.id, duplicate=False)
