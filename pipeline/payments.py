"""Confirming a payment: the one place that pays orders, whether the matcher or ops decided."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from pipeline.fulfilment import renew
from pipeline.orders import Actor, change_state
from pipeline.outbox import Attachment, enqueue, order_context
from pipeline.paperwork import apply_papers
from pipeline.rendering import renderer_of
from pipeline.review_items import open_review
from pipeline.rules.matching import ReviewReason
from pipeline.rules.states import OrderState
from pipeline.rules.statuses import OrderType, PaymentStatus, payment_transition
from pipeline.store.models import Order, Payment, PaymentOrder

log = logging.getLogger(__name__)
SCHEDULED = PaymentStatus.SCHEDULED  # the name jobs/ imports


def confirm_payment(
    session: Session,
    settings: Settings,
    payment: Payment,
    allocations: dict[int, Decimal],
    orders: dict[int, Order],
    actor: Actor,
    now: datetime,
    cause: str,
    *,
    papers_later: bool = False,
) -> None:
    """Pay the orders, in the caller's transaction: a renewal is done at once; a new mailbox
    moves to processing with its e-mail and what its papers on file call for (unless the
    caller is still filing this message's papers: `papers_later`)."""
    payment.status = payment_transition(payment.status, PaymentStatus.CONFIRMED)
    payment.decided_at = now
    scheduled = {a.order_id for a in payment.allocations}
    for oid, amount in allocations.items():
        order = orders[oid]
        if oid not in scheduled:
            session.add(PaymentOrder(payment_id=payment.id, order_id=oid, amount=amount))
        order.payment_status = "paid"
        log.info("order %s: payment %s confirmed (%s)", order.code, payment.id, actor.name)
        if order.order_type == OrderType.RENEWAL:
            renew(session, settings, order, actor, now, cause, payment.id)
            continue
        change_state(
            session,
            order,
            OrderState.PROCESSING,
            cause,
            actor,
            now,
            payment_id=payment.id,
            message_id=payment.message_id,
        )
        enqueue(
            session,
            settings,
            key=f"payment_received:{oid}",
            kind="payment_received",
            order=order,
            now=now,
            batch_id=actor.batch_id,
            attachments=_contract(session, order, settings, now),
        )
        if not papers_later:
            apply_papers(
                session,
                settings,
                order,
                actor,
                now,
                cause=f"p{payment.id}",
                message_id=payment.message_id,
            )


def _contract(
    session: Session, order: Order, settings: Settings, now: datetime
) -> list[Attachment]:
    """The signed contract is needed: it travels pre-filled with the e-mail."""
    day = now.astimezone(settings.zone).date()
    pdf = renderer_of(session).contract(order, order_context(order), day)
    return [Attachment(f"contratto-{order.code}.pdf", "application/pdf", pdf)]


def schedule_payment(
    session: Session, payment: Payment, allocations: dict[int, Decimal], now: datetime
) -> None:
    """Hold a matched payment until the office opens (payment.not_before): the match is kept,
    and the orders are paid, the customer written to, only by `confirm_due` from then on."""
    payment.status = payment_transition(payment.status, PaymentStatus.SCHEDULED)
    payment.decided_at = now
    for oid, amount in allocations.items():
        session.add(PaymentOrder(payment_id=payment.id, order_id=oid, amount=amount))
    session.flush()


@dataclass(frozen=True)
class DueOutcome:
    payment: Payment
    outcome: PaymentStatus  # confirmed or review
    order_ids: list[int]  # the orders it was matched to


def confirm_due(
    session: Session, settings: Settings, actor: Actor, now: datetime
) -> list[DueOutcome]:
    """Confirm every scheduled payment whose time has come; one whose orders were settled
    meanwhile (by ops, an import, another receipt) goes to review instead."""
    due = session.scalars(
        select(Payment)
        .where(Payment.status == PaymentStatus.SCHEDULED, Payment.not_before <= now)
        .order_by(Payment.not_before, Payment.id)
        .with_for_update(skip_locked=True)
    ).all()
    done: list[DueOutcome] = []
    for payment in due:
        allocations = {a.order_id: a.amount for a in payment.allocations}
        orders = {
            o.id: o
            for o in session.scalars(
                select(Order).where(Order.id.in_(allocations)).order_by(Order.id).with_for_update()
            )
        }
        settled = [o for o in orders.values() if o.state != OrderState.AWAITING_PAYMENT.value]
        if settled:
            for allocation in list(payment.allocations):
                session.delete(allocation)
            payment.status = payment_transition(payment.status, PaymentStatus.REVIEW)
            open_review(
                session,
                ReviewReason.ALREADY_PAID,
                f"{settled[0].code} became {settled[0].state} before payment "
                f"{payment.id} was due to be confirmed",
                now=now,
                batch_id=actor.batch_id,
                message_id=payment.message_id,
                document_id=payment.document_id,
                payment_id=payment.id,
                proposed_order_id=settled[0].id,
            )
            done.append(DueOutcome(payment, PaymentStatus.REVIEW, sorted(allocations)))
            continue
        confirm_payment(
            session,
            settings,
            payment,
            allocations,
            orders,
            actor,
            now,
            f"payment {payment.id} of {payment.amount} EUR matched, confirmed at opening",
        )
        done.append(DueOutcome(payment, PaymentStatus.CONFIRMED, sorted(allocations)))
    return done
