"""What is late against the reseller's promises, or about to be: the watchdog's, `sla late`'s
and the nightly report's one reading of them.

Payments: a receipt is processed by its due_by (pipeline.rules.business_calendar); one still
scheduled, in review or not even read after that is late. Documents: an order with a signed
contract and a valid identity document is fulfilled within the working hours promised from
when the papers were complete; a suspended order waits on the customer and is nobody's delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CompoundSelect, func, select, union
from sqlalchemy.orm import Session

from config import Settings
from parsers.codes import order_code
from pipeline.orders import listed
from pipeline.paperwork import papers_on_file
from pipeline.rules.business_calendar import BusinessCalendar, business_calendar
from pipeline.rules.order_documents import complete_since
from pipeline.rules.promises import payment_standing, standing
from pipeline.rules.states import OrderState
from pipeline.rules.statuses import UNREAD, OrderType, PaymentStatus
from pipeline.store.models import Document, Message, Order, OrderEvent, Payment, PaymentOrder

OPEN_PAYMENTS = (PaymentStatus.SCHEDULED, PaymentStatus.REVIEW)


@dataclass(frozen=True)
class SlaItem:
    kind: str  # payment or documents
    key: str  # stable: the watchdog alerts once per key
    ref: str
    due_by: datetime
    status: str  # late or at_risk
    detail: str


@dataclass(frozen=True)
class DocumentsClock:
    order_id: int
    complete_at: datetime
    due_by: datetime
    warn_from: datetime
    fulfilled_at: datetime | None


def documents_clocks(
    session: Session,
    calendar: BusinessCalendar,
    settings: Settings,
    *,
    due_from: datetime | None = None,
) -> list[DocumentsClock]:
    """Paid new-mailbox orders whose papers are complete, with when fulfilment is due; the
    clock starts when both were true (papers may arrive before the payment). The orders still
    in work; with `due_from` (the report's look back), those fulfilled too, of the orders whose
    fulfilment may be due from then on: those paid or sent papers since `started_before`, not
    the whole history."""
    hours = settings.calendar
    query = select(Order.id, Order.imported_at).where(Order.order_type == OrderType.NEW_MAILBOX)
    if due_from is None:
        query = query.where(Order.state == OrderState.PROCESSING.value)
    else:
        since = calendar.started_before(due_from, hours.documents_hours)
        query = query.where(
            Order.state.in_([OrderState.PROCESSING.value, OrderState.FULFILLED.value]),
            Order.id.in_(listed(list(session.scalars(_clock_may_start(since))))),
        )
    orders = session.execute(query.order_by(Order.id)).all()
    ids = [oid for oid, _ in orders]
    papers = papers_on_file(session, ids)
    events = session.execute(
        select(OrderEvent.order_id, OrderEvent.to_state, func.min(OrderEvent.at))
        .where(
            OrderEvent.order_id.in_(listed(ids)),
            OrderEvent.to_state.in_([OrderState.PROCESSING.value, OrderState.FULFILLED.value]),
        )
        .group_by(OrderEvent.order_id, OrderEvent.to_state)
    ).all()
    first = {(oid, state): at for oid, state, at in events}
    clocks = []
    for oid, imported in orders:
        complete = complete_since(papers[oid])
        if complete is None:
            continue
        # Imported already paid: no event says when, the import does.
        paid = first.get((oid, OrderState.PROCESSING.value), imported)
        start = max(complete, paid)
        due = calendar.after_working_hours(start, hours.documents_hours)
        warn = calendar.after_working_hours(start, hours.documents_warning_hours)
        fulfilled = first.get((oid, OrderState.FULFILLED.value))
        clocks.append(DocumentsClock(oid, start, due, warn, fulfilled))
    return clocks


def _clock_may_start(since: datetime) -> CompoundSelect:
    """The orders whose documents clock may have started since `since`, as its start is
    reckoned above: paid since (or imported since, the fallback), or a paper arrived since.
    More than that, never fewer: each reads an index of moments."""
    return union(
        select(OrderEvent.order_id).where(
            OrderEvent.at >= since, OrderEvent.to_state == OrderState.PROCESSING.value
        ),
        select(Order.id).where(Order.imported_at >= since),
        select(Document.order_id)
        .join(Message, Message.id == Document.message_id)
        .where(Message.received_at >= since, Document.order_id.is_not(None)),
    )


def sla_items(session: Session, settings: Settings, now: datetime) -> list[SlaItem]:
    """Everything late or at risk at `now`, most overdue first."""
    calendar = business_calendar(settings)
    items: list[SlaItem] = []
    payments = session.execute(
        select(Payment.id, Payment.status, Payment.due_by, Payment.not_before).where(
            Payment.status.in_(OPEN_PAYMENTS), Payment.due_by.is_not(None)
        )
    ).all()
    codes = _codes(session, [p.id for p in payments])
    for p in payments:
        status = payment_standing(settings, now, p.due_by)
        if status:
            scheduled = p.status == PaymentStatus.SCHEDULED
            what = "confirmation scheduled" if scheduled else "waiting for review"
            orders = f" for {codes[p.id]}" if codes.get(p.id) else ""
            items.append(
                SlaItem(
                    "payment",
                    f"payment:{p.id}",
                    f"payment {p.id}",
                    p.due_by,
                    status,
                    f"{what}{orders}",
                )
            )
    for m in session.execute(
        select(Message.id, Message.received_at, Message.outcome).where(Message.outcome.in_(UNREAD))
    ):
        due = calendar.payment_window(m.received_at).due_by
        status = payment_standing(settings, now, due)
        if status:
            items.append(
                SlaItem(
                    "payment",
                    f"message:{m.id}",
                    f"message {m.id}",
                    due,
                    status,
                    f"not processed yet ({m.outcome})",
                )
            )
    for clock in documents_clocks(session, calendar, settings):
        status = None if clock.fulfilled_at else standing(now, clock.due_by, clock.warn_from)
        if status:
            code = order_code(clock.order_id)
            since = clock.complete_at.astimezone(calendar.zone)
            items.append(
                SlaItem(
                    "documents",
                    f"documents:{clock.order_id}",
                    code,
                    clock.due_by,
                    status,
                    f"documents complete since {since:%d/%m/%Y %H:%M}, not fulfilled",
                )
            )
    return sorted(items, key=lambda i: (i.due_by, i.key))


def _codes(session: Session, payment_ids: list[int]) -> dict[int, str]:
    found: dict[int, list[str]] = {}
    for pid, oid in session.execute(
        select(PaymentOrder.payment_id, PaymentOrder.order_id).where(
            PaymentOrder.payment_id.in_(payment_ids)
        )
    ):
        found.setdefault(pid, []).append(order_code(oid))
    return {pid: ", ".join(sorted(c)) for pid, c in found.items()}
