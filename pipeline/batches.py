"""Batches: every run recorded with what it did to each item, so ops can see and rerun it."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy.orm import Session

from pipeline.store.models import Batch, BatchItem

FAILED = "failed"


def start_batch(
    session: Session, kind: str, actor: str, now: datetime, parent_id: int | None = None
) -> Batch:
    batch = Batch(
        kind=kind, status="running", started_at=now, actor=actor, parent_id=parent_id, counts={}
    )
    session.add(batch)
    session.flush()
    return batch


def record_item(
    session: Session,
    batch_id: int,
    item_type: str,
    item_ref: str,
    outcome: str,
    now: datetime,
    *,
    detail: str | None = None,
    message_id: int | None = None,
    order_id: int | None = None,
    outbox_id: int | None = None,
) -> None:
    session.add(
        BatchItem(
            batch_id=batch_id,
            item_type=item_type,
            item_ref=item_ref[:500],
            outcome=outcome,
            detail=detail,
            message_id=message_id,
            order_id=order_id,
            outbox_id=outbox_id,
            at=now,
        )
    )


def finish_batch(session: Session, batch_id: int, now: datetime, error: str | None = None) -> Batch:
    """Close a batch: it failed when it stopped early or any item failed."""
    batch = session.get_one(Batch, batch_id)
    outcomes = Counter(item.outcome for item in batch.items)
    batch.counts = dict(sorted(outcomes.items()))
    batch.ended_at = now
    batch.error = error
    batch.status = "failed" if error or outcomes[FAILED] else "succeeded"
    return batch
