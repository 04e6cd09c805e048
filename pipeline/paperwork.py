"""What an order's papers (contract, identity documents) call for, applied: the one place that
does it, whether the matcher or ops filed the document, so that both have the same effects."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from parsers.documents import READ
from pipeline.order_documents import CONTRACT, IDENTITY, Paper, documents_step
from pipeline.orders import Actor, change_state
from pipeline.states import OrderState
from pipeline.store.models import Document, Message, Order


def papers_on_file(session: Session, order_ids: list[int]) -> dict[int, list[Paper]]:
    """The contracts and identity documents read and filed for each order."""
    found: dict[int, list[Paper]] = {oid: [] for oid in order_ids}
    rows = session.execute(
        select(Document.order_id, Document.kind, Document.facts, Message.received_at)
        .join(Message, Document.message_id == Message.id)
        .where(
            Document.order_id.in_(order_ids),
            Document.status == READ,
            Document.kind.in_([CONTRACT, IDENTITY]),
        )
    )
    for oid, kind, facts, arrived in rows:
        expired = date.fromisoformat(facts["expired_on"]) if "expired_on" in facts else None
        found[oid].append(Paper(kind, expired, arrived))
    return found


def apply_papers(
    session: Session, order: Order, actor: Actor, now: datetime, message_id: int | None
) -> None:
    """Suspend or resume the order as its papers on file call for; run it once all of a
    message's documents are filed, so that the move names the whole of what arrived."""
    session.flush()
    step = documents_step(OrderState(order.state), papers_on_file(session, [order.id])[order.id])
    if step is not None:
        change_state(session, order, step[0], step[1], actor, now, message_id=message_id)
