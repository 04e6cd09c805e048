"""What an order's papers (contract, identity documents) call for, applied: the one place that
does it, whether the matcher or ops filed the document, so that both have the same effects."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from pipeline.fulfilment import mark_ready
from pipeline.orders import Actor, change_state, listed
from pipeline.outbox import enqueue
from pipeline.rules.order_documents import (
    CONTRACT,
    IDENTITY,
    Paper,
    documents_step,
    expired_identity,
    missing_papers,
)
from pipeline.rules.states import OrderState
from pipeline.rules.statuses import DocumentStatus, OrderType
from pipeline.store.models import Document, Message, Order


def papers_on_file(session: Session, order_ids: list[int]) -> dict[int, list[Paper]]:
    """The contracts and identity documents read and filed for each order (an empty list for
    none), however many orders."""
    found: dict[int, list[Paper]] = {oid: [] for oid in order_ids}
    rows = session.execute(
        select(Document.order_id, Document.kind, Document.facts, Message.received_at)
        .join(Message, Document.message_id == Message.id)
        .where(
            Document.order_id.in_(listed(order_ids)),
            Document.status == DocumentStatus.READ,
            Document.kind.in_([CONTRACT, IDENTITY]),
        )
    )
    for oid, kind, facts, arrived in rows:
        expired = date.fromisoformat(facts["expired_on"]) if "expired_on" in facts else None
        found[oid].append(Paper(kind, expired, arrived))
    return found


def apply_papers(
    session: Session,
    settings: Settings,
    order: Order,
    actor: Actor,
    now: datetime,
    *,
    cause: str,
    message_id: int | None,
) -> None:
    """Suspend, resume or make ready the order as its papers on file call for, and tell the
    customer; run it once all of a message's documents are filed, so that the move and the
    e-mail name the whole of what arrived. `cause` keys the e-mail: one per message, payment
    or ops decision."""
    session.flush()
    papers = papers_on_file(session, [order.id])[order.id]
    step = documents_step(OrderState(order.state), papers)
    if step is not None:
        change_state(session, order, step[0], step[1], actor, now, message_id=message_id)
    if order.order_type != OrderType.NEW_MAILBOX:
        return
    state, missing = OrderState(order.state), missing_papers(papers)
    if state is OrderState.PROCESSING and not missing:
        mark_ready(session, settings, order, actor, now, cause)
        return
    if state is OrderState.SUSPENDED and step is not None:
        kind = "documents_missing"
    elif state is OrderState.PROCESSING and _filed_by(session, order, message_id):
        kind = "documents_received"
    else:
        return
    enqueue(
        session,
        settings,
        key=f"{kind}:{order.id}:{cause}",
        kind=kind,
        order=order,
        now=now,
        batch_id=actor.batch_id,
        context={"missing": missing, "expired_on": expired_identity(papers), "due_by": None},
    )


def _filed_by(session: Session, order: Order, message_id: int | None) -> bool:
    """Whether this message brought the order a contract or an identity document."""
    if message_id is None:
        return False
    return (
        session.scalar(
            select(Document.id)
            .where(
                Document.message_id == message_id,
                Document.order_id == order.id,
                Document.kind.in_([CONTRACT, IDENTITY]),
            )
            .limit(1)
        )
        is not None
    )
