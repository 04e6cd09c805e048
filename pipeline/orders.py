"""Writing orders: imports and state changes, each change with its event in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from pipeline.orders_import import OrderRecord
from pipeline.states import RANK, OrderState, initial_state, transition
from pipeline.store.models import Order, OrderEvent


@dataclass(frozen=True)
class Actor:
    """Who caused a change, and in which batch."""

    name: str
    batch_id: int | None = None


def change_state(
    session: Session,
    order: Order,
    target: OrderState,
    cause: str,
    actor: Actor,
    now: datetime,
    *,
    payment_id: int | None = None,
    message_id: int | None = None,
) -> None:
    """Move an order; raises IllegalTransition before anything is written."""
    step = transition(OrderState(order.state), target, cause)
    order.state = step.to_state.value
    order.state_changed_at = now
    order.updated_at = now
    session.add(
        OrderEvent(
            order_id=order.id,
            at=now,
            from_state=step.from_state.value,
            to_state=step.to_state.value,
            cause=cause,
            actor=actor.name,
            batch_id=actor.batch_id,
            payment_id=payment_id,
            message_id=message_id,
        )
    )


class ImportOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def import_record(
    session: Session, record: OrderRecord, actor: Actor, now: datetime
) -> ImportOutcome:
    """Create or refresh an order from the export; pecflow's own state never goes back."""
    fields = {k: v for k, v in record.fields.items() if k != "order_id"}
    order = session.get(Order, record.order_id, with_for_update=True)
    if order is None:
        state = initial_state(fields["payment_status"])
        order = Order(
            id=record.order_id,
            state=OrderState.AWAITING_PAYMENT.value,
            state_changed_at=now,
            export_fingerprint=record.fingerprint,
            imported_at=now,
            updated_at=now,
            **fields,
        )
        session.add(order)
        session.add(
            OrderEvent(
                order_id=order.id,
                at=now,
                from_state=None,
                to_state=order.state,
                cause="imported from the portal export",
                actor=actor.name,
                batch_id=actor.batch_id,
            )
        )
        session.flush()
        if state is not OrderState.AWAITING_PAYMENT:
            change_state(session, order, state, "the portal export says paid", actor, now)
        return ImportOutcome.CREATED
    if order.export_fingerprint == record.fingerprint:
        return ImportOutcome.UNCHANGED
    if order.payment_status == "paid":
        fields["payment_status"] = "paid"  # a payment once seen is never unseen
    for key, value in fields.items():
        setattr(order, key, value)
    order.export_fingerprint = record.fingerprint
    order.updated_at = now
    target = initial_state(fields["payment_status"])
    if RANK[target] > RANK[OrderState(order.state)]:
        change_state(session, order, target, "the portal export says paid", actor, now)
    return ImportOutcome.UPDATED
