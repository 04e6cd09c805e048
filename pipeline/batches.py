"""Batches: every run recorded with what it did to each item, so ops can see and rerun it."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.liveness import gone, this_process
from pipeline.rules.statuses import BatchStatus
from pipeline.store.models import Batch, BatchItem, BatchItemOrder

log = logging.getLogger(__name__)
# A failed batch's status, and the outcome of a failed item or message alike (jobs/ writes it
# as all three): a plain str to the type checker.
FAILED: str = BatchStatus.FAILED


def start_batch(
    session: Session, kind: str, actor: str, now: datetime, parent_id: int | None = None
) -> Batch:
    abandon_dead(session, now)
    batch = Batch(
        kind=kind,
        status=BatchStatus.RUNNING,
        started_at=now,
        actor=actor,
        parent_id=parent_id,
        counts={},
        owner=this_process(),
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
    touched: Iterable[int] = (),
) -> None:
    """`order_id`: the one order an e-mail or an import row is about; `touched`: the orders a
    message, a payment or a fulfilment changed (each once)."""
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
            touched=[BatchItemOrder(order_id=oid) for oid in dict.fromkeys(touched)],
        )
    )


def said_before(session: Session, item_type: str, item_ref: str, detail: str) -> bool:
    """Whether an earlier batch already reported this item with this detail."""
    query = select(BatchItem.id).where(
        BatchItem.item_type == item_type,
        BatchItem.item_ref == item_ref[:500],
        BatchItem.detail == detail,
    )
    return session.scalar(query.limit(1)) is not None


def finish_batch(
    session: Session,
    batch_id: int,
    now: datetime,
    error: str | None = None,
    *,
    counts: Mapping[str, int] | None = None,
) -> Batch:
    """Close a batch: it failed when it stopped early or any item failed. `counts`, when
    given, are the outcomes the caller tallied itself (an import counts its unchanged rows
    without an item each), instead of counting the items."""
    batch = session.get_one(Batch, batch_id)
    outcomes = _tally(batch) if counts is None else Counter({o: n for o, n in counts.items() if n})
    batch.counts = dict(sorted(outcomes.items()))
    batch.ended_at = now
    batch.error = error
    batch.status = BatchStatus.FAILED if error or outcomes[FAILED] else BatchStatus.SUCCEEDED
    return batch


def forget_if_empty(session: Session, batch: Batch) -> bool:
    """Delete a finished batch that recorded nothing, no item and no error (an idle poll's,
    one of thousands a week that would bury the batches ops look at); whether it did."""
    if batch.items or batch.error:
        return False
    session.delete(batch)
    return True


def abandon_dead(session: Session, now: datetime) -> list[Batch]:
    """Mark `abandoned` the running batches whose process has died (killed, or the machine
    restarted), with when and why; what their items did stays recorded."""
    dead = [
        batch
        for batch in session.scalars(select(Batch).where(Batch.status == BatchStatus.RUNNING))
        if gone(batch.owner)
    ]
    for batch in dead:
        batch.counts = dict(sorted(_tally(batch).items()))
        batch.status, batch.ended_at = BatchStatus.ABANDONED, now
        batch.error = (
            f"the process that ran it ({_owner_shown(batch.owner)}) ended before it finished; "
            f"marked abandoned at {now.isoformat(timespec='seconds')}"
        )
        log.warning("batch %s marked abandoned: %s", batch.id, batch.error)
    return dead


def _tally(batch: Batch) -> Counter[str]:
    return Counter(item.outcome for item in batch.items)


def _owner_shown(owner: str | None) -> str:
    if not owner:
        return "unknown"
    host, _, pid, _ = owner.rsplit(":", 3)
    return f"pid {pid} on {host}"
