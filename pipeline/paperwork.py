"""What an order's papers (contract, identity documents) call for, applied: the one place that
does it, whether the matcher or ops filed the document, so that both have the same effects."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from parsers.documents import READ
from pipeline.order_documents import Paper, documents_step
from pipeline.orders import Actor, change_state
from pipeline.states import OrderState
from pipeline.store.models import Document, Order


def apply_papers(
    session: Session, order: Order, actor: Actor, now: datetime, message_id: int | None
) -> None:
    """Suspend or resume the order as its papers on file call for; run it once all of a
    message's documents are filed, so that the move names the whole of what arrived."""
    session.flush()
    papers = [
        Paper(kind, date.fromisoformat(facts["expired_on"]) if "expired_on" in facts else None)
        for kind, facts in session.execute(
            select(Document.kind, Document.facts).where(
                Document.order_id == order.id, Document.status == READ
            )
        )
    ]
    step = documents_step(OrderState(order.state), papers)
    if step is not None:
        change_state(session, order, step[0], step[1], actor, now, message_id=message_id)
