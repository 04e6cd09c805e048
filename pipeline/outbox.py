"""Customer e-mails enter the outbox in the transaction of the change that causes them.

The idempotency key (order, kind, cause) makes a second enqueue of the same e-mail a no-op,
so reruns and re-deliveries never write a customer twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from mailer.render import render
from pipeline.money import to_cents
from pipeline.store.models import Order, OutboxAttachment, OutboxMessage

PRODUCT_LABELS = {
    "standard": "PEC Standard",
    "standard_plus": "PEC Standard Plus",
    "standard_pro": "PEC Standard Pro",
    "bronze": "PEC Bronze",
    "silver": "PEC Silver",
    "gold": "PEC Gold",
}


@dataclass(frozen=True)
class Attachment:
    filename: str
    media_type: str
    data: bytes
    content_id: str | None = None  # shown inside the HTML as cid:<content_id>


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
    attachments: Sequence[Attachment] = (),
) -> OutboxMessage:
    """A customer e-mail about an order."""
    context = {"order": order_context(order)}
    return _write(
        session, settings, key, kind, order.email, context, now, batch_id, order.id, attachments
    )


def enqueue_ops(
    session: Session,
    settings: Settings,
    *,
    key: str,
    kind: str,
    context: dict[str, Any],
    now: datetime,
    batch_id: int | None,
    attachments: Sequence[Attachment] = (),
) -> OutboxMessage | None:
    """An e-mail to the ops address, once per key; None when no ops address is set."""
    if not settings.mail.ops_address:
        return None
    to = settings.mail.ops_address
    return _write(session, settings, key, kind, to, context, now, batch_id, None, attachments)


def _write(
    session: Session,
    settings: Settings,
    key: str,
    kind: str,
    to: str,
    context: dict[str, Any],
    now: datetime,
    batch_id: int | None,
    order_id: int | None,
    attachments: Sequence[Attachment] = (),
) -> OutboxMessage:
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
    if existing is not None:
        return existing
    email = render(
        kind,
        {
            **context,
            "footer": settings.mail.company_footer,
            "office_address": settings.mail.from_address,
        },
    )
    row = OutboxMessage(
        idempotency_key=key,
        kind=kind,
        order_id=order_id,
        to_address=to,
        subject=email.subject,
        body_text=email.text,
        body_html=email.html,
        message_id_header=message_id_for(key, settings.mail.from_address),
        status="pending",
        attempts=0,
        created_at=now,
        batch_id=batch_id,
    )
    row.attachments = [
        OutboxAttachment(
            filename=a.filename, media_type=a.media_type, content_id=a.content_id, data=a.data
        )
        for a in attachments
    ]
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
