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

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from config import Settings
from pipeline.rendering import renderer_of
from pipeline.rules.money import to_cents
from pipeline.rules.statuses import OutboxStatus, outbox_transition
from pipeline.seal import seal
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


@dataclass(frozen=True)
class Mail:
    key: str  # the idempotency key: (order or message, kind, cause)
    kind: str  # the template
    to: str
    context: dict[str, Any]


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
        "user_id": order.user_id,
        "expires_on": order.expires_on,
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
    context: dict[str, Any] | None = None,
    sealed: bool = False,
) -> OutboxMessage:
    """A customer e-mail about an order; `sealed` when it carries a password."""
    mail = Mail(key, kind, order.email, {"order": order_context(order), **(context or {})})
    return _write(session, settings, mail, now, batch_id, order.id, attachments, sealed)


def enqueue_to(
    session: Session,
    settings: Settings,
    mail: Mail,
    *,
    now: datetime,
    batch_id: int | None,
    attachments: Sequence[Attachment] = (),
    order_id: int | None = None,
) -> OutboxMessage:
    """An e-mail to an address that is not an order's (a sender, ops); `order_id` files it
    in an order's story."""
    return _write(session, settings, mail, now, batch_id, order_id, attachments)


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
    mail = Mail(key, kind, settings.mail.ops_address, context)
    return enqueue_to(session, settings, mail, now=now, batch_id=batch_id, attachments=attachments)


def _write(
    session: Session,
    settings: Settings,
    mail: Mail,
    now: datetime,
    batch_id: int | None,
    order_id: int | None,
    attachments: Sequence[Attachment] = (),
    sealed: bool = False,
) -> OutboxMessage:
    existing = session.scalar(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == mail.key)
    )
    if existing is not None:
        return existing
    email = renderer_of(session).email(
        mail.kind,
        {
            **mail.context,
            "footer": settings.mail.company_footer,
            "office_address": settings.mail.from_address,
            "guide_url": settings.fulfilment.guide_url,
        },
    )
    key_file = settings.fulfilment.seal_key_file
    row = OutboxMessage(
        idempotency_key=mail.key,
        kind=mail.kind,
        order_id=order_id,
        to_address=mail.to,
        subject=email.subject,
        body_text=seal(email.text, key_file) if sealed else email.text,
        body_html=seal(email.html, key_file) if sealed else email.html,
        message_id_header=message_id_for(mail.key, settings.mail.from_address),
        status=OutboxStatus.PENDING,
        attempts=0,
        created_at=now,
        batch_id=batch_id,
        sealed=sealed,
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
    """Make an unsent e-mail due now (ops' decision); a failed or unsure one starts afresh.
    Never one being sent: the sender alone moves it on."""
    if row.status in (OutboxStatus.SENT, OutboxStatus.SENDING):
        return False
    if row.status in (OutboxStatus.FAILED, OutboxStatus.UNSURE):
        row.attempts = 0
    row.status = outbox_transition(row.status, OutboxStatus.PENDING)
    row.next_attempt_at = None
    return True


def due_emails(now: datetime) -> Select[tuple[int]]:
    """The e-mails to send now: pending, their retry backoff (if any) passed."""
    return select(OutboxMessage.id).where(
        OutboxMessage.status == OutboxStatus.PENDING,
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
    )
