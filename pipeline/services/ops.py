"""What ops do by hand, as use cases: each opens its own units of work on the store, takes plain
values (an order code as ops type it, an id, who acts and when) and returns plain results, so
that the command line and the web console have the same effects. `NotFound` and `Refused`
(`errors.py`) carry the one line to show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from parsers.codes import order_id
from pipeline.batches import FAILED
from pipeline.fulfilment import CannotActivate, activate
from pipeline.orders import Actor
from pipeline.outbox import requeue
from pipeline.provisioning import (
    ManualProvisioner,
    Provisioner,
    ProvisioningError,
    provisioner_for,
)
from pipeline.review import CannotResolve, reject, resolve
from pipeline.rules.states import OrderState
from pipeline.services import queries
from pipeline.services.errors import NotFound, Refused
from pipeline.services.run import Progress, Runner, RunReport, no_progress, rerun, run_once
from pipeline.sources import MailEdges, SourceError
from pipeline.store.db import Store
from pipeline.store.models import Batch, MailboxState, Order, OutboxMessage, ReviewItem


def parsed_code(code: str) -> int:
    try:
        return order_id(code)
    except ValueError as exc:
        raise Refused(str(exc)) from None


def order_story(store: Store, code: str) -> dict[str, Any]:
    """One order and its whole story: events, payments, documents, e-mails."""
    with store.unit() as session:
        order = session.get(Order, parsed_code(code))
        if order is None:
            raise NotFound(f"no order {code}")
        return queries.order_story(session, order)


@dataclass(frozen=True)
class Activation:
    code: str
    user_id: str | None
    already: bool = False  # it was activated before, with this user-id
    mail_failed: bool = False  # the e-mails are queued, not sent


def activate_order(
    store: Store,
    settings: Settings,
    edges: MailEdges,
    code: str,
    provisioner: Provisioner,
    *,
    user_id: str | None,
    actor: str,
    now: datetime,
) -> Activation:
    """Activate a ready order in a batch of its own and send its e-mails at once."""
    oid = parsed_code(code)
    with store.unit() as session:
        order = session.get(Order, oid)
        if order is None:
            raise NotFound(f"no order {code}")
        if order.state == OrderState.FULFILLED.value and user_id in (None, order.user_id):
            return Activation(order.code, order.user_id, already=True)
    runner = Runner(store, settings, now, edges=edges, actor=actor)
    runner.start("activate")
    try:
        with store.unit() as session:
            order = session.get_one(Order, oid, with_for_update=True)
            made = activate(session, settings, order, provisioner, runner.actor, now)
    except (CannotActivate, ProvisioningError) as exc:
        runner.finish(str(exc))
        raise Refused(str(exc)) from None
    runner.send()
    report = runner.finish()
    return Activation(code.upper(), made, mail_failed=report.status == FAILED)


def activation_provisioner(
    settings: Settings, user_id: str | None, password: str | None
) -> Provisioner:
    """Who makes an activated mailbox's credentials: pecflow's local provisioner, or ops, who
    give the user-id the provider made (and its password, when pecflow is to send it)."""
    local = provisioner_for(settings)
    if local is not None:
        if user_id or password:
            raise Refused("the local provisioner makes the user-id and password itself")
        return local
    if not user_id or not user_id.strip():
        raise Refused("--user-id is required: the provider's user-id of the new mailbox")
    return ManualProvisioner(user_id.strip(), password or None)


def review_detail(store: Store, item_id: int) -> dict[str, Any]:
    """One review item with the message, payment facts and document behind it."""
    with store.unit() as session:
        item = session.get(ReviewItem, item_id)
        if item is None:
            raise NotFound(f"no review item {item_id}")
        return {
            **queries.review_detail(session, item),
            "candidates": queries.review_candidates(session, item),
        }


def decide_review(
    store: Store,
    settings: Settings,
    item_id: int,
    *,
    orders: list[str],
    reject_why: str | None,
    actor: str,
    now: datetime,
) -> str:
    """Confirm a review item's payment for these orders (or attach its document), or close it
    with no effect giving the reason; returns the outcome."""
    if bool(orders) == bool(reject_why):
        raise Refused("give either the orders (LM…) or the reason to reject")
    ids = [parsed_code(code) for code in orders]
    try:
        with store.unit() as session:
            if reject_why:
                return reject(session, item_id, reject_why, Actor(actor), now)
            return resolve(session, settings, item_id, ids, Actor(actor), now)
    except CannotResolve as exc:
        raise Refused(str(exc)) from None


def _outbox_row(session: Session, outbox_id: int) -> OutboxMessage:
    row = session.get(OutboxMessage, outbox_id)
    if row is None:
        raise NotFound(f"no e-mail {outbox_id} in the outbox")
    return row


def outbox_detail(store: Store, outbox_id: int) -> dict[str, Any]:
    """One e-mail: status, headers, attachments and its plain text (never a sealed one's)."""
    with store.unit() as session:
        return queries.outbox_detail(_outbox_row(session, outbox_id))


def outbox_message(
    store: Store, settings: Settings, edges: MailEdges, outbox_id: int, now: datetime
) -> EmailMessage:
    """The e-mail exactly as it would be sent; never one that carries a password."""
    with store.unit() as session:
        row = _outbox_row(session, outbox_id)
        if row.sealed:
            raise Refused(f"e-mail {outbox_id} carries a password: it is never shown")
        return edges.build_email(row, settings, now)


def outbox_preview(
    store: Store, settings: Settings, edges: MailEdges, outbox_id: int, now: datetime
) -> str | None:
    """The plain text of the e-mail as it would be sent; None for one carrying a password."""
    try:
        message = outbox_message(store, settings, edges, outbox_id, now)
    except Refused:
        return None
    body = message.get_body(("plain",))
    return str(body.get_content()) if body is not None else ""


def retry_email(store: Store, outbox_id: int) -> None:
    """Make an unsent (failed, unsure or waiting) e-mail due now; the next run sends it."""
    with store.unit() as session:
        row = _outbox_row(session, outbox_id)
        if not requeue(row):
            raise Refused(f"e-mail {outbox_id} is {row.status}: nothing to retry")


def run_now(
    store: Store,
    settings: Settings,
    edges: MailEdges,
    *,
    actor: str,
    now: datetime,
    progress: Progress = no_progress,
) -> RunReport:
    """One pass over the sources, as the scheduler makes: poll, process, send."""
    return run_once(Runner(store, settings, now, edges=edges, actor=actor, progress=progress))


def rerun_batch(
    store: Store,
    settings: Settings,
    edges: MailEdges,
    batch_id: int,
    *,
    failed_only: bool,
    actor: str,
    now: datetime,
    reruns_seen: int | None = None,
    progress: Progress = no_progress,
) -> RunReport:
    """Retry what a batch left failed (or unfinished) as a new batch linked to it. Given how
    many reruns the asker saw, a batch rerun since (a second click, a stale page) is refused."""
    with store.unit() as session:
        if session.get(Batch, batch_id) is None:
            raise NotFound(f"no batch {batch_id}")
        since = session.scalars(select(Batch.id).where(Batch.parent_id == batch_id)).all()
    if reruns_seen is not None and len(since) != reruns_seen:
        raise Refused(f"batch {batch_id} was rerun meanwhile (batch {max(since)})")
    runner = Runner(store, settings, now, edges=edges, actor=actor, progress=progress)
    return rerun(runner, batch_id, failed_only=failed_only)


def check_mailbox(store: Store, settings: Settings, edges: MailEdges) -> dict[str, Any]:
    """The mailbox's folder as the server and the stored cursor see it; how pecflow logs in,
    and the capabilities that matter, with what pecflow does without each one missing."""
    if not settings.imap.host:
        raise Refused("imap.host is empty: no IMAP mailbox is configured")
    try:
        with edges.mailbox(settings.imap) as box:
            status = box.select()
            with store.unit() as session:
                state = session.get(MailboxState, status.folder)
                known = (state.uidvalidity, state.last_uid) if state else None
            same = known is not None and known[0] == status.uidvalidity
            last_uid = known[1] if known and same else None
            new = len(box.uids_after(last_uid or 0))
            capabilities = box.capabilities()
    except SourceError as exc:
        raise Refused(str(exc)) from None
    return {
        "folder": status.folder,
        "uidvalidity": status.uidvalidity,
        "messages": status.exists,
        "new": new,
        "last_uid": last_uid,
        "resync": known is not None and not same,
        "login": box.login_method,
        "capabilities": [
            {"name": c.name, "offered": c.offered, "without": None if c.offered else c.without}
            for c in capabilities
        ],
    }
