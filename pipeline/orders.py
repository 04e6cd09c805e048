"""Writing orders: imports and state changes, each change with its event in one transaction."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BindParameter, bindparam, insert, select
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


IMPORTED_CAUSE = "imported from the portal export"
PAID_CAUSE = "the portal export says paid"


def import_records(
    session: Session, records: Sequence[OrderRecord], actor: Actor, now: datetime
) -> list[ImportOutcome]:
    """Create or refresh orders from the export, in the session's transaction; pecflow's own
    state never goes back. One outcome per record, in order; one record per order.

    Built for thousands of rows at a time: one query finds which orders exist and their
    fingerprints; only the changed ones are read whole (and locked); the new ones are
    inserted in bulk with their events."""
    ids = [record.order_id for record in records]
    if len(set(ids)) != len(ids):
        raise ValueError("one record per order in a call")
    stored = stored_fingerprints(session, ids)
    changed = [
        r.order_id for r in records if stored.get(r.order_id, r.fingerprint) != r.fingerprint
    ]
    orders: dict[int, Order] = {}
    for part in _slices(changed):
        locked = select(Order).where(Order.id.in_(_listed(part))).with_for_update()
        orders.update((order.id, order) for order in session.scalars(locked))
    new_orders: list[dict[str, Any]] = []
    new_events: list[dict[str, Any]] = []
    outcomes: list[ImportOutcome] = []
    for record in records:
        if record.order_id not in stored:
            order, events = _new_order(record, actor, now)
            new_orders.append(order)
            new_events.extend(events)
            outcomes.append(ImportOutcome.CREATED)
        elif record.order_id in orders:
            outcomes.append(_refresh(session, orders[record.order_id], record, actor, now))
        else:
            outcomes.append(ImportOutcome.UNCHANGED)
    if new_orders:
        # Core inserts, one executemany each: rows of the same keys, no ORM bookkeeping.
        session.execute(insert(Order.metadata.tables[Order.__tablename__]), new_orders)
        session.execute(insert(OrderEvent.metadata.tables[OrderEvent.__tablename__]), new_events)
    return outcomes


def stored_fingerprints(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """The export fingerprint of each of these orders that exists."""
    stored: dict[int, str] = {}
    for part in _slices(list(ids)):
        query = select(Order.id, Order.export_fingerprint).where(Order.id.in_(_listed(part)))
        stored.update((oid, fingerprint) for oid, fingerprint in session.execute(query))
    return stored


def _slices(ids: list[int], size: int = 1000) -> Iterator[list[int]]:
    """Ids a thousand at a time: well within any database's limit of parameters."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _listed(ids: list[int]) -> BindParameter[list[int]]:
    """Integers written into the SQL, not sent as a thousand parameters: PostgreSQL would
    prepare a statement repeated with a thousand parameters and may then keep a generic plan
    that scans the table once for every statement (right after a large import its statistics
    still say the table is empty)."""
    return bindparam("ids", ids, expanding=True, literal_execute=True)


def _new_order(
    record: OrderRecord, actor: Actor, now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A new order's row and its events: it starts awaiting payment and, when the export says
    it is paid, moves on at once (each step checked by `transition` and written as an event)."""
    state = OrderState.AWAITING_PAYMENT
    event = {
        "order_id": record.order_id,
        "at": now,
        "actor": actor.name,
        "batch_id": actor.batch_id,
    }
    events = [{**event, "from_state": None, "to_state": state.value, "cause": IMPORTED_CAUSE}]
    target = initial_state(record.fields["payment_status"])
    if target is not state:
        step = transition(state, target, PAID_CAUSE)
        events.append(
            {
                **event,
                "from_state": step.from_state.value,
                "to_state": step.to_state.value,
                "cause": PAID_CAUSE,
            }
        )
        state = step.to_state
    order = dict(record.fields)
    del order["order_id"]
    order.update(
        id=record.order_id,
        state=state.value,
        state_changed_at=now,
        export_fingerprint=record.fingerprint,
        imported_at=now,
        updated_at=now,
    )
    return order, events


def _refresh(
    session: Session, order: Order, record: OrderRecord, actor: Actor, now: datetime
) -> ImportOutcome:
    """A newer export of a known order: the portal's fields change, a payment once seen is
    never unseen, and the state only moves forward."""
    if order.export_fingerprint == record.fingerprint:
        return ImportOutcome.UNCHANGED
    fields = {k: v for k, v in record.fields.items() if k != "order_id"}
    if order.payment_status == "paid":
        fields["payment_status"] = "paid"  # a payment once seen is never unseen
    for key, value in fields.items():
        setattr(order, key, value)
    order.export_fingerprint = record.fingerprint
    order.updated_at = now
    target = initial_state(fields["payment_status"])
    if RANK[target] > RANK[OrderState(order.state)]:
        change_state(session, order, target, PAID_CAUSE, actor, now)
    return ImportOutcome.UPDATED
