"""Writing orders: imports and state changes, each change with its event in one transaction."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import BindParameter, bindparam, select, update
from sqlalchemy.orm import Session

from pipeline.rules.states import RANK, OrderState, initial_state, transition
from pipeline.store.bulk import insert_rows
from pipeline.store.models import Order, OrderEvent

# The export's rules (their e-mail and tax code checkers) load with an import, not with
# every change of state.
if TYPE_CHECKING:
    from pipeline.rules.orders_import import OrderRecord, Outcome, Stored, Unchanged


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


def unchanged(record: OrderRecord, stored: str | None) -> bool:
    """The one rule for an unchanged record: the order is stored with its fingerprint."""
    return stored == record.fingerprint


def marked_unchanged(outcomes: list[Outcome], stored: Mapping[int, Stored]) -> list[Outcome]:
    """The outcomes with each record whose order `stored` (read when the import began) shows
    unchanged replaced by an Unchanged marker, small where a record is large (workers send
    back little for a re-import), with the row's hash when the stored one differs. An order
    another import changed since then is left as that import wrote it, as if this one had
    come first."""
    from pipeline.rules.orders_import import OrderRecord, Unchanged

    marked: list[Outcome] = []
    for outcome in outcomes:
        known = stored.get(outcome.order_id) if isinstance(outcome, OrderRecord) else None
        if isinstance(outcome, OrderRecord) and known and unchanged(outcome, known.fingerprint):
            new_hash = outcome.row_hash if outcome.row_hash != known.row_hash else None
            marked.append(Unchanged(outcome.row, outcome.order_id, new_hash))
        else:
            marked.append(outcome)
    return marked


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
    stored = stored_exports(session, ids)
    changed = [
        r.order_id
        for r in records
        if r.order_id in stored and not unchanged(r, stored[r.order_id].fingerprint)
    ]
    orders: dict[int, Order] = {}
    for part in _slices(changed):
        locked = select(Order).where(Order.id.in_(listed(part))).with_for_update()
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
    # Rows of the same keys in bulk, no ORM bookkeeping.
    insert_rows(session, Order.metadata.tables[Order.__tablename__], new_orders)
    insert_rows(session, OrderEvent.metadata.tables[OrderEvent.__tablename__], new_events)
    return outcomes


def stored_exports(session: Session, ids: Sequence[int]) -> dict[int, Stored]:
    """What each of these orders that exists keeps of its export row."""
    from pipeline.rules.orders_import import Stored

    stored: dict[int, Stored] = {}
    columns = (Order.id, Order.export_fingerprint, Order.export_row_hash)
    for part in _slices(list(ids)):
        query = select(*columns).where(Order.id.in_(listed(part)))
        stored.update((oid, Stored(fp, row_hash)) for oid, fp, row_hash in session.execute(query))
    return stored


def record_row_hashes(session: Session, markers: Sequence[Unchanged]) -> None:
    """Keep the row hash of orders found unchanged in a row that hashes otherwise (the same
    order saved another way, or imported before pecflow kept row hashes)."""
    given = [{"key": m.order_id, "row_hash": m.row_hash} for m in markers if m.row_hash]
    if given:
        table = Order.metadata.tables[Order.__tablename__]
        statement = (
            update(table)
            .where(table.c.id == bindparam("key"))
            .values(export_row_hash=bindparam("row_hash"))
        )
        session.execute(statement, given)


def _slices(ids: list[int], size: int = 1000) -> Iterator[list[int]]:
    """Ids a thousand at a time: well within any database's limit of parameters."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def listed(ids: list[int]) -> BindParameter[list[int]]:
    """Integers written into the SQL, not sent as a thousand parameters: PostgreSQL would
    prepare a statement repeated with a thousand parameters and may then keep a generic plan
    that scans the table once for every statement (right after a large import its statistics
    still say the table is empty); and no count of them meets a driver's limit of parameters
    (65,535 for psycopg), where the planner still reads each by its index."""
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
        export_row_hash=record.row_hash or None,
        imported_at=now,
        updated_at=now,
    )
    return order, events


def _refresh(
    session: Session, order: Order, record: OrderRecord, actor: Actor, now: datetime
) -> ImportOutcome:
    """A newer export of a known order: the portal's fields change, a payment once seen is
    never unseen, and the state only moves forward."""
    if unchanged(record, order.export_fingerprint):
        return ImportOutcome.UNCHANGED
    fields = {k: v for k, v in record.fields.items() if k != "order_id"}
    if order.payment_status == "paid":
        fields["payment_status"] = "paid"  # a payment once seen is never unseen
    for key, value in fields.items():
        setattr(order, key, value)
    order.export_fingerprint = record.fingerprint
    order.export_row_hash = record.row_hash or None
    order.updated_at = now
    target = initial_state(fields["payment_status"])
    if RANK[target] > RANK[OrderState(order.state)]:
        change_state(session, order, target, PAID_CAUSE, actor, now)
    return ImportOutcome.UPDATED
