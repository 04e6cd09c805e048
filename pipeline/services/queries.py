"""What ops look at: rows as plain dicts, the same for tables and --json."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, load_only

from parsers.codes import order_code, order_id
from parsers.identity import LATEST_DATE
from pipeline.rules.business_calendar import business_calendar
from pipeline.rules.promises import payment_standing
from pipeline.rules.states import OrderState
from pipeline.rules.statuses import ReviewStatus
from pipeline.store.models import (
    Batch,
    BatchItem,
    BatchItemOrder,
    Document,
    Message,
    Order,
    OrderEvent,
    OutboxMessage,
    Payment,
    PaymentOrder,
    ReviewItem,
)

if TYPE_CHECKING:
    from config import Settings
    from pipeline.store.db import Store

Row = dict[str, Any]
SEALED = "(sealed: this e-mail carries a password and is never shown)"
P = ParamSpec("P")
T = TypeVar("T")


def read(
    store: Store, query: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Answer one of these queries in a unit of work of its own: how entry points read."""
    with store.unit() as session:
        return query(session, *args, **kwargs)


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def order_row(order: Order) -> Row:
    return {
        "code": order.code,
        "type": order.order_type,
        "product": order.product,
        "customer": " ".join(filter(None, (order.last_name, order.first_name))) or order.email,
        "payment_method": order.payment_method,
        "total": str(order.total_amount),
        "payment_status": order.payment_status,
        "state": order.state,
        "label": OrderState(order.state).label,
        "updated_at": _iso(order.updated_at),
    }


SEARCH_LIMIT = 50


def search_orders(session: Session, text: str, limit: int = SEARCH_LIMIT) -> list[Row]:
    """Orders by code (LM1234567 or its digits), name, tax code or e-mail, newest first."""
    text = text.strip()
    if not text:
        return []
    query = select(Order).order_by(Order.id.desc()).limit(limit)
    with contextlib.suppress(ValueError):  # a code: that order alone
        return [order_row(o) for o in session.scalars(query.where(Order.id == order_id(text)))]
    like = f"%{text.lower().replace('%', '').replace('_', '')}%"
    found = or_(
        # "Rossi Mario": last and first name as one, which also finds either alone
        func.lower(
            func.coalesce(Order.last_name, "") + " " + func.coalesce(Order.first_name, "")
        ).like(like),
        func.lower(Order.email).like(like),
        func.upper(Order.tax_code) == text.upper(),
        func.lower(Order.mailbox).like(like),
    )
    return [order_row(o) for o in session.scalars(query.where(found))]


ORDERS_PAGE = 50


def list_orders(
    session: Session,
    state: str | None = None,
    *,
    ready: bool = False,
    ids: list[int] | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> list[Row]:
    """Orders in code order: with `limit`, a page of them after the order `after` (a cursor,
    which stays put while new orders come, and reads only its page, along the primary key or
    a state's index)."""
    query = select(Order).order_by(Order.id).limit(limit)
    if after is not None:
        query = query.where(Order.id > after)
    if state:
        query = query.where(Order.state == state)
    if ready:  # waiting for ops to activate them
        query = query.where(Order.state == OrderState.PROCESSING.value, Order.ready_at.is_not(None))
    if ids is not None:
        query = query.where(Order.id.in_(ids))
    return [order_row(o) for o in session.scalars(query)]


def touched_orders(session: Session, batch_id: int) -> list[int]:
    """The orders a batch's items name: the one an e-mail or a row is about, and those a
    message, a payment or a fulfilment touched."""
    about = select(BatchItem.order_id).where(
        BatchItem.batch_id == batch_id, BatchItem.order_id.is_not(None)
    )
    touched = (
        select(BatchItemOrder.order_id)
        .join(BatchItem, BatchItem.id == BatchItemOrder.batch_item_id)
        .where(BatchItem.batch_id == batch_id)
    )
    named = {oid for oid in session.scalars(about) if oid is not None}
    return sorted(named | set(session.scalars(touched)))


def order_story(session: Session, order: Order) -> Row:
    """The order and everything that happened to it, in time order."""
    story: list[Row] = []
    # Each query in id order: rows at the same instant keep the order they were written in.
    for event in session.scalars(
        select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)
    ):
        story.append(
            {
                "at": _iso(event.at),
                "what": "state",
                "detail": f"{event.from_state or '-'} -> {event.to_state}: {event.cause}",
                "actor": event.actor,
                "batch": event.batch_id,
            }
        )
    # Only the columns shown: an e-mail's body, a document's text are the bulk of their rows.
    for payment in session.execute(
        select(Payment.id, Payment.amount, Payment.status, Payment.decided_at, Payment.received_at)
        .join(PaymentOrder)
        .where(PaymentOrder.order_id == order.id)
        .order_by(Payment.id)
    ):
        story.append(
            {
                "at": _iso(payment.decided_at or payment.received_at),
                "what": "payment",
                "detail": f"payment {payment.id}: {payment.amount} EUR, {payment.status}",
                "actor": "system",
                "batch": None,
            }
        )
    for document, arrived in session.execute(
        select(Document, Message.received_at)
        .join(Message, Message.id == Document.message_id)
        .where(Document.order_id == order.id)
        .options(load_only(*SUMMARISED, raiseload=True))
        .order_by(Document.id)
    ):
        story.append(
            {
                "at": _iso(arrived),
                "what": "document",
                "detail": document_summary(document),
                "document": document.id,
                "actor": "system",
                "batch": None,
            }
        )
    for mail in session.execute(
        select(
            OutboxMessage.kind,
            OutboxMessage.to_address,
            OutboxMessage.status,
            OutboxMessage.sent_at,
            OutboxMessage.created_at,
            OutboxMessage.batch_id,
        )
        .where(OutboxMessage.order_id == order.id)
        .order_by(OutboxMessage.id)
    ):
        story.append(
            {
                "at": _iso(mail.sent_at or mail.created_at),
                "what": "e-mail",
                "detail": f"{mail.kind} to {mail.to_address}: {mail.status}",
                "actor": "system",
                "batch": mail.batch_id,
            }
        )
    if order.ready_at is not None:
        story.append(
            {
                "at": _iso(order.ready_at),
                "what": "ready",
                "detail": "paid, signed contract and valid identity document: ready for activation",
                "actor": "system",
                "batch": None,
            }
        )
    # At the same instant a document arrives before it is paid, paid before the order moves.
    rank = {"document": 0, "payment": 1, "state": 2, "ready": 3, "e-mail": 4}
    story.sort(key=lambda row: (row["at"] or "", rank[row["what"]]))
    facts = {
        "mailbox": order.mailbox,
        "email": order.email,
        "user_id": order.user_id,
        "expires_on": _iso(order.expires_on),
    }
    return {**order_row(order), **facts, "story": story}


def batch_row(batch: Batch) -> Row:
    return {
        "id": batch.id,
        "kind": batch.kind,
        "status": batch.status,
        "started_at": _iso(batch.started_at),
        "ended_at": _iso(batch.ended_at),
        "parent": batch.parent_id,
        "counts": batch.counts,
        "error": batch.error,
    }


def list_batches(session: Session, limit: int = 50) -> list[Row]:
    query = select(Batch).order_by(Batch.id.desc()).limit(limit)
    return [batch_row(b) for b in session.scalars(query)]


def batch_detail(
    session: Session, batch_id: int, limit: int | None = None, offset: int = 0
) -> Row | None:
    """A batch with its items (the orders each touched), `limit` of them from `offset`, or
    None. `items_total` counts them all."""
    batch = session.get(Batch, batch_id)
    if batch is None:
        return None
    reruns = session.scalar(select(func.count()).where(Batch.parent_id == batch_id))
    total = session.scalar(select(func.count()).where(BatchItem.batch_id == batch_id))
    items = batch_items(session, batch_id, limit, offset)
    return {**batch_row(batch), "reruns": reruns, "items_total": total, "items": items}


def run_rows(session: Session, batch_id: int, message_ids: list[int]) -> Row:
    """What a run's report prints: its messages, its items, the orders it touched."""
    return {
        "messages": message_rows(session, message_ids),
        "items": batch_items(session, batch_id),
        "orders": list_orders(session, ids=touched_orders(session, batch_id)),
    }


def batch_items(
    session: Session, batch_id: int, limit: int | None = None, offset: int = 0
) -> list[Row]:
    query = select(BatchItem).where(BatchItem.batch_id == batch_id).order_by(BatchItem.id)
    query = query.offset(offset).limit(limit)
    return [
        {
            "type": i.item_type,
            "ref": i.item_ref,
            "outcome": i.outcome,
            "detail": i.detail,
            "message": i.message_id,
            "order": order_code(i.order_id) if i.order_id else None,
            "orders": [order_code(t.order_id) for t in i.touched],
        }
        for i in session.scalars(query)
    ]


def message_rows(session: Session, ids: list[int]) -> list[Row]:
    query = select(Message).where(Message.id.in_(ids)).order_by(Message.id)
    return [
        {
            "id": m.id,
            "source": m.source,
            "ref": m.source_id.rpartition("@")[0] or m.source_id,
            "received_at": _iso(m.received_at),
            "outcome": m.outcome,
            "reason": m.reason,
        }
        for m in session.scalars(query)
    ]


def document_pages(document: Document) -> int:
    """How many pages the document has (inside a file that may hold several)."""
    last = document.last_page or document.pages or 1
    return max(1, last - document.first_page + 1)


# What document_summary reads of a document.
SUMMARISED = (
    Document.kind,
    Document.subtype,
    Document.facts,
    Document.media_type,
    Document.text_method,
    Document.text_confidence,
    Document.first_page,
    Document.last_page,
    Document.message_id,
)


def document_summary(document: Document) -> str:
    """`identity_document: passaporto, expires 2034-07-02 (image/jpeg, ocr 94 %, message 7)`"""
    kind = f"{document.kind}: {document.subtype}" if document.subtype else document.kind
    facts = document.facts or {}
    if "expired_on" in facts:
        kind += f", expired on {facts['expired_on']}"
    elif "expires" in facts:
        kind += f", expires {facts['expires']}"
    if facts.get("expiry_read_from") == LATEST_DATE:
        kind += " (no expiry label read: the latest date on it)"
    if "signed_by" in facts:
        verdict = {True: "valid", False: "NOT valid", None: "not verified"}[
            facts.get("signature_valid")
        ]
        reason = f": {facts['signature_reason']}" if facts.get("signature_reason") else ""
        kind += f", digitally signed by {facts['signed_by']}, signature {verdict}{reason}"
    how = document.text_method
    if document.text_confidence is not None and how == "ocr":
        how += f" {document.text_confidence:.0%}"
    if document.last_page is not None:
        how += f", pages {document.first_page}-{document.last_page}"
    return f"{kind} ({document.media_type}, {how}, message {document.message_id})"


def review_row(item: ReviewItem) -> Row:
    return {
        "id": item.id,
        "reason": item.reason,
        "status": item.status,
        "detail": item.detail,
        "message": item.message_id,
        "document": item.document_id,
        "payment": item.payment_id,
        "proposed_order": order_code(item.proposed_order_id) if item.proposed_order_id else None,
        "created_at": _iso(item.created_at),
        "resolution": item.resolution,
        "resolved_by": item.resolved_by,
        "resolved_at": _iso(item.resolved_at),
    }


def list_reviews(session: Session, include_closed: bool = False) -> list[Row]:
    query = select(ReviewItem).order_by(ReviewItem.id)
    if not include_closed:
        query = query.where(ReviewItem.status == "open")
    return [review_row(i) for i in session.scalars(query)]


def review_queue(
    session: Session, settings: Settings, now: datetime, include_closed: bool = False
) -> list[Row]:
    """Review items oldest first, with the message's sender and subject, how long each has
    waited and where it stands against the 30 working minutes a payment is promised."""
    calendar = business_calendar(settings)
    query = (
        select(ReviewItem, Message.sender, Message.subject, Message.received_at, Payment.due_by)
        .outerjoin(Message, Message.id == ReviewItem.message_id)
        .outerjoin(Payment, Payment.id == ReviewItem.payment_id)
        .order_by(ReviewItem.id)
    )
    if not include_closed:
        query = query.where(ReviewItem.status == ReviewStatus.OPEN.value)
    rows = []
    for item, sender, subject, received_at, due_by in session.execute(query):
        arrived = received_at or item.created_at
        due = due_by or calendar.payment_window(arrived).due_by
        waited = int((now - arrived).total_seconds() // 60)
        rows.append(
            {
                **review_row(item),
                "sender": sender,
                "subject": subject,
                "waited_minutes": waited,
                "due_by": _iso(due),
                "sla": payment_standing(settings, now, due) if item.status == "open" else None,
            }
        )
    return rows


def review_detail(session: Session, item: ReviewItem) -> Row:
    row = review_row(item)
    if item.message_id:
        message = session.get_one(Message, item.message_id)
        row["message_subject"] = message.subject
        row["message_sender"] = message.sender
        row["received_at"] = _iso(message.received_at)
    if item.payment_id:
        payment = session.get_one(Payment, item.payment_id)
        row["payment_facts"] = {
            "amount": str(payment.amount) if payment.amount else None,
            "codes": payment.codes,
            "payer": payment.payer,
            "iban": payment.iban,
            "cro": payment.cro,
            "trn": payment.trn,
            "causale": payment.causale,
        }
    if item.document_id:
        document = session.get_one(Document, item.document_id)
        row["document"] = {
            "id": document.id,
            "kind": document.kind,
            "subtype": document.subtype,
            "summary": document_summary(document),
            "pages": document_pages(document),
            "barcodes": (document.facts or {}).get("barcodes", []),
            "status": document.status,
            "media_type": document.media_type,
            "filename": document.filename,
            "sha256": document.sha256,
            "reason": document.reason,
        }
    return row


def review_candidates(session: Session, item: ReviewItem, limit: int = 8) -> list[Row]:
    """The orders an item may be about: the proposed one first, then those whose codes were
    read, then those still awaiting a payment of the amount read."""
    ids: list[int] = [item.proposed_order_id] if item.proposed_order_id else []
    payment = session.get(Payment, item.payment_id) if item.payment_id else None
    for code in payment.codes if payment else []:
        with contextlib.suppress(ValueError):
            ids.append(order_id(str(code)))
    if payment is not None and payment.amount is not None:
        ids.extend(
            session.scalars(
                select(Order.id)
                .where(
                    Order.total_amount == payment.amount,
                    Order.state == OrderState.AWAITING_PAYMENT.value,
                )
                .order_by(Order.id.desc())
                .limit(limit)
            )
        )
    ids = list(dict.fromkeys(ids))[:limit]
    orders = {o.id: o for o in session.scalars(select(Order).where(Order.id.in_(ids)))}
    return [
        {**order_row(orders[i]), "proposed": i == item.proposed_order_id}
        for i in ids
        if i in orders
    ]


def outbox_row(row: OutboxMessage) -> Row:
    return {
        "id": row.id,
        "kind": row.kind,
        "order": order_code(row.order_id) if row.order_id else None,
        "to": row.to_address,
        "status": row.status,
        "attempts": row.attempts,
        "created_at": _iso(row.created_at),
        "sent_at": _iso(row.sent_at),
        "last_error": row.last_error,
    }


def outbox_detail(row: OutboxMessage) -> Row:
    """One e-mail as ops check it before a retry: headers, attachments, the plain text."""
    return {
        **outbox_row(row),
        "key": row.idempotency_key,
        "subject": row.subject,
        "message_id": row.message_id_header,
        "next_attempt_at": _iso(row.next_attempt_at),
        "attachments": [
            {
                "filename": a.filename,
                "type": a.media_type,
                "bytes": len(a.data),
                "inline": a.content_id is not None,
            }
            for a in row.attachments
        ],
        "text": SEALED if row.sealed and row.status != "sent" else row.body_text,
    }


def list_outbox(
    session: Session, status: str | None = None, newest: int | None = None
) -> list[Row]:
    """E-mails in the order they were queued; with `newest`, only that many, newest first."""
    order = OutboxMessage.id if newest is None else OutboxMessage.id.desc()
    query = select(OutboxMessage).order_by(order).limit(newest)
    if status:
        query = query.where(OutboxMessage.status == status)
    return [outbox_row(r) for r in session.scalars(query)]
