"""Customer e-mails enter the outbox in the transaction of the change that causes them.

The idempotency key (order, kind, cause) makes a second enqueue of the same e-mail a no-op,
so reruns and re-deliveries never write a customer twice.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from mailer.render import render
from pipeline.money import to_cents
from pipeline.store.models import Order, OutboxMessage

PRODUCT_LABELS = {
    "standard": "PEC Standard",
    "standard_plus": "PEC Standard Plus",
    "standard_pro": "PEC Standard Pro",
    "bronze": "PEC Bronze",
    "silver": "PEC Silver",
    "gold": "PEC Gold",
}


def order_context(order: Order) -> dict[str, Any]:
    name = " ".join(filter(None, (order.first_name, order.last_name))) or "Cliente"
    return {
        "code": order.code,
        "customer_name": name,
        "product_label": PRODUCT_LABELS.get(order.product, order.product),
        "mailbox": order.mailbox,
        "net_amount": order.net_amount,
        "vat_rate": order.vat_rate,
        "vat_amount": to_cents(order.net_amount * order.vat_rate / Decimal(100)),
        "total_amount": order.total_amount,
        "needs_documents": order.order_type == "acquisto",
    }


def message_id_for(key: str, from_address: str) -> str:
    """A Message-ID fixed by the key, so a resend after a crash is recognisable as the same."""
    domain = from_address.rpartition("@")[2] or "pecflow.invalid"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}.pecflow@{domain}>"


def enqueue(
    session: Session,
    settings: Settings,
    *,
    key: str,
    kind: str,
    order: Order,
    now: datetime,
    batch_id: int | None,
) -> OutboxMessage:
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
    if existing is not None:
        return existing
    email = render(
        kind,
        {
            "order": order_context(order),
            "footer": settings.mail.company_footer,
            "office_address": settings.mail.from_address,
        },
    )
    row = OutboxMessage(
        idempotency_key=key,
        kind=kind,
        order_id=order.id,
        to_address=order.email,
        subject=email.subject,
        body_text=email.text,
        body_html=email.html,
        message_id_header=message_id_for(key, settings.mail.from_address),
        status="pending",
        attempts=0,
        created_at=now,
        batch_id=batch_id,
    )
    session.add(row)
    session.flush()
    return row


def requeue(row: OutboxMessage) -> bool:
    """Make an unsent e-mail due now (ops' decision); a failed or unsure one starts afresh."""
    if row.status in ("sent", "sending"):
        return False
    if row.status in ("failed", "unsure"):
        row.attempts = 0
    row.status, row.next_attempt_at = "pending", None
    return True
