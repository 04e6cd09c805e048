"""Confirming a payment: the one place that pays orders, whether the matcher or ops decided."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from config import Settings
from pipeline.orders import Actor, change_state
from pipeline.outbox import enqueue
from pipeline.states import OrderState
from pipeline.store.models import Order, Payment, PaymentOrder

log = logging.getLogger(__name__)


def confirm_payment(
    session: Session,
    settings: Settings,
    payment: Payment,
    allocations: dict[int, Decimal],
    orders: dict[int, Order],
    actor: Actor,
    now: datetime,
    cause: str,
) -> None:
    """Pay the orders, move each to processing and queue its e-mail, in the caller's transaction."""
    payment.status = "confirmed"
    payment.decided_at = now
    for oid, amount in allocations.items():
        order = orders[oid]
        session.add(PaymentOrder(payment_id=payment.id, order_id=oid, amount=amount))
        order.payment_status = "paid"
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
        )
        log.info("order LM%07d: payment %s confirmed (%s)", oid, payment.id, actor.name)
