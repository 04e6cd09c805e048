"""Ops' decisions on review items: the same effects an automatic match has, exactly once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from config import Settings
from parsers.codes import order_code
from pipeline.orders import Actor
from pipeline.paperwork import apply_papers
from pipeline.payments import confirm_payment
from pipeline.rules.states import OrderState
from pipeline.rules.statuses import (
    PAYMENT_ALLOWED,
    PaymentStatus,
    ReviewStatus,
    payment_transition,
)
from pipeline.store.models import Document, Order, Payment, ReviewItem


class CannotResolve(Exception):
    """The decision cannot be applied; nothing was written."""


def _open_item(session: Session, item_id: int) -> ReviewItem:
    item = session.get(ReviewItem, item_id, with_for_update=True)
    if item is None:
        raise CannotResolve(f"no review item {item_id}")
    if item.status != ReviewStatus.OPEN:
        raise CannotResolve(f"review item {item_id} is already {item.status}: {item.resolution}")
    return item


def _close(
    item: ReviewItem,
    status: ReviewStatus,
    resolution: str,
    actor: Actor,
    now: datetime,
    order_ids: list[int],
) -> None:
    item.status, item.resolution = status, resolution
    item.resolved_by, item.resolved_at = actor.name, now
    item.resolved_order_id = order_ids[0] if len(order_ids) == 1 else None


def resolve(
    session: Session,
    settings: Settings,
    item_id: int,
    order_ids: list[int],
    actor: Actor,
    now: datetime,
) -> str:
    """Apply ops' match: confirm the item's payment for the orders, or attach its document."""
    item = _open_item(session, item_id)
    orders = {oid: session.get(Order, oid, with_for_update=True) for oid in order_ids}
    missing = [order_code(oid) for oid, order in orders.items() if order is None]
    if missing or not orders:
        raise CannotResolve(f"no order {', '.join(missing)}" if missing else "name an order")
    found = {oid: order for oid, order in orders.items() if order is not None}
    codes = ", ".join(o.code for o in found.values())
    if item.payment_id is not None:
        payment = session.get_one(Payment, item.payment_id)
        if (payment.status, PaymentStatus.CONFIRMED) not in PAYMENT_ALLOWED:
            raise CannotResolve(f"payment {payment.id} is already {payment.status}")
        settled = [o.code for o in found.values() if o.state != OrderState.AWAITING_PAYMENT]
        if settled:
            raise CannotResolve(f"{', '.join(settled)} is not awaiting payment")
        allocations = (
            {oid: payment.amount for oid in found}
            if len(found) == 1 and payment.amount is not None
            else {oid: order.total_amount for oid, order in found.items()}
        )
        confirm_payment(
            session,
            settings,
            payment,
            allocations,
            found,
            actor,
            now,
            f"payment {payment.id} confirmed by {actor.name} (review item {item.id})",
        )
        outcome = f"payment {payment.id} confirmed for {codes}"
    elif item.document_id is not None:
        if len(found) != 1:
            raise CannotResolve("a document belongs to one order")
        order = next(iter(found.values()))
        session.get_one(Document, item.document_id).order_id = order.id
        apply_papers(
            session, settings, order, actor, now, cause=f"r{item.id}", message_id=item.message_id
        )
        outcome = f"document {item.document_id} attached to {codes}"
    else:
        outcome = f"matched to {codes}"
    _close(item, ReviewStatus.RESOLVED, outcome, actor, now, list(found))
    return outcome


def reject(session: Session, item_id: int, why: str, actor: Actor, now: datetime) -> str:
    """Close an item with no effect on any order, keeping ops' reason."""
    item = _open_item(session, item_id)
    if item.payment_id is not None:
        payment = session.get_one(Payment, item.payment_id)
        payment.status = payment_transition(payment.status, PaymentStatus.REJECTED)
        payment.decided_at = now
    _close(item, ReviewStatus.REJECTED, why, actor, now, [])
    return f"rejected: {why}"
