"""From a paid order to a working mailbox: ready, activated, renewed; each with its e-mails in
the transaction of the change, so that a crash or a rerun never writes the customer twice."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config import Settings
from pipeline.orders import Actor, change_state
from pipeline.outbox import enqueue, enqueue_ops, order_context
from pipeline.provisioning import Provisioner, ProvisioningError, provisioner_for
from pipeline.rules.business_calendar import business_calendar
from pipeline.rules.mailbox_term import paid_until, years_after
from pipeline.rules.states import OrderState
from pipeline.rules.statuses import OrderType
from pipeline.store.models import Order

log = logging.getLogger(__name__)


class CannotActivate(Exception):
    """An activation the order's state does not allow; nothing was written."""


def mark_ready(
    session: Session, settings: Settings, order: Order, actor: Actor, now: datetime, cause: str
) -> None:
    """Paid, signed contract and valid identity document: tell the customer when to expect the
    mailbox and, when ops activate by hand, tell ops."""
    if order.ready_at is not None:
        return
    order.ready_at = order.updated_at = now
    hours = settings.calendar.documents_hours
    due = business_calendar(settings).after_working_hours(now, hours)
    enqueue(
        session,
        settings,
        key=f"documents_received:{order.id}:{cause}",
        kind="documents_received",
        order=order,
        now=now,
        batch_id=actor.batch_id,
        context={"missing": [], "expired_on": None, "due_by": due.astimezone(settings.zone)},
    )
    if provisioner_for(settings) is None:
        enqueue_ops(
            session,
            settings,
            key=f"ready:{order.id}",
            kind="ready_for_activation",
            context={"order": order_context(order), "due_by": due.astimezone(settings.zone)},
            now=now,
            batch_id=actor.batch_id,
        )
    log.info("order %s: ready for activation", order.code)


def activate(
    session: Session,
    settings: Settings,
    order: Order,
    provisioner: Provisioner,
    actor: Actor,
    now: datetime,
) -> str:
    """Create the mailbox and send its credentials: the activation e-mail, and the password in
    a second one (or in the same, as `fulfilment.password_delivery` says), sealed."""
    if order.order_type != OrderType.NEW_MAILBOX:
        raise CannotActivate(f"{order.code} is a {order.order_type}: only new mailboxes activate")
    if order.state == OrderState.FULFILLED.value:
        raise CannotActivate(f"{order.code} is already activated (user-id {order.user_id})")
    if order.state != OrderState.PROCESSING.value or order.ready_at is None:
        raise CannotActivate(
            f"{order.code} is not ready for activation (state {order.state}; it needs payment, "
            "the signed contract and a valid identity document)"
        )
    credentials = provisioner.create(session, order, now)
    order.user_id = credentials.user_id
    order.expires_on = years_after(
        now.astimezone(settings.zone).date(), settings.fulfilment.term_years
    )
    change_state(
        session,
        order,
        OrderState.FULFILLED,
        f"mailbox {order.mailbox} activated, user-id {credentials.user_id}",
        actor,
        now,
    )
    password = credentials.password
    for kind, context in _credentials_mails(settings.fulfilment.password_delivery, password):
        enqueue(
            session,
            settings,
            key=f"{kind}:{order.id}",
            kind=kind,
            order=order,
            now=now,
            batch_id=actor.batch_id,
            context=context,
            sealed=context["password"] is not None,
        )
    log.info("order %s: activated (%s)", order.code, actor.name)
    return credentials.user_id


def _credentials_mails(delivery: str, password: str | None) -> list[tuple[str, dict[str, Any]]]:
    """The activation e-mail, and the password's own when it travels apart; without a
    password (the provider sends it), the activation e-mail says so."""
    if password is None:
        return [("activation", {"delivery": "provider", "password": None})]
    if delivery == "same":
        return [("activation", {"delivery": "same", "password": password})]
    return [
        ("activation", {"delivery": "separate", "password": None}),
        ("activation_password", {"delivery": "separate", "password": password}),
    ]


def renew(
    session: Session,
    settings: Settings,
    order: Order,
    actor: Actor,
    now: datetime,
    cause: str,
    payment_id: int | None = None,
) -> None:
    """A paid renewal needs no documents: the mailbox is paid `term_years` more, from its
    current expiry if pecflow knows one still running."""
    current = session.scalar(
        select(func.max(Order.expires_on)).where(
            func.lower(Order.mailbox) == order.mailbox.lower(),
            Order.id != order.id,
            Order.state == OrderState.FULFILLED.value,
        )
    )
    today = now.astimezone(settings.zone).date()
    order.expires_on = paid_until(today, current, settings.fulfilment.term_years)
    change_state(
        session,
        order,
        OrderState.FULFILLED,
        f"{cause}; mailbox {order.mailbox} renewed until {order.expires_on:%d/%m/%Y}",
        actor,
        now,
        payment_id=payment_id,
    )
    enqueue(
        session,
        settings,
        key=f"renewal_done:{order.id}",
        kind="renewal_done",
        order=order,
        now=now,
        batch_id=actor.batch_id,
    )
    log.info("order %s: renewed (%s)", order.code, actor.name)


def fulfil_due(session: Session, settings: Settings, actor: Actor, now: datetime) -> list[int]:
    """What needs no person: renewals imported already paid, and, with the local provisioner,
    every order ready for activation. The orders fulfilled."""
    renewals = session.scalars(
        select(Order)
        .where(Order.order_type == OrderType.RENEWAL, Order.state == OrderState.PROCESSING.value)
        .order_by(Order.id)
        .with_for_update(skip_locked=True)
    ).all()
    for order in renewals:
        renew(session, settings, order, actor, now, "renewal paid at the portal")
    done = [o.id for o in renewals]
    provisioner = provisioner_for(settings)
    if provisioner is None:
        return done
    ready = session.scalars(
        select(Order)
        .where(
            Order.order_type == OrderType.NEW_MAILBOX,
            Order.state == OrderState.PROCESSING.value,
            Order.ready_at.is_not(None),
        )
        .order_by(Order.ready_at, Order.id)
        .with_for_update(skip_locked=True)
    ).all()
    for order in ready:
        try:
            with session.begin_nested():
                activate(session, settings, order, provisioner, actor, now)
        except ProvisioningError as exc:
            log.warning("order %s: cannot activate: %s", order.code, exc)
            continue
        done.append(order.id)
    return done
