"""Sending the outbox over SMTP: one connection per batch, each row marked as it goes.

A row is marked `sending` (committed) before the SMTP transaction and `sent` after it. A row
found still `sending` after a crash may or may not have reached the server: it becomes
`unsure` and is never resent by itself, so no customer gets an e-mail twice; ops check the
server's log for its Message-ID (fixed at enqueue time) and resend with `pecflow outbox retry`.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import Select, or_, select

from config import Settings
from pipeline.store.db import Store
from pipeline.store.models import OutboxMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    outbox_id: int
    outcome: str  # sent, retry, failed
    detail: str | None = None


def build_email(row: OutboxMessage, settings: Settings, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail.from_address
    message["To"] = row.to_address
    if settings.mail.reply_to:
        message["Reply-To"] = settings.mail.reply_to
    message["Subject"] = row.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = row.message_id_header
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    for attachment in row.attachments:
        maintype, _, subtype = attachment.media_type.partition("/")
        html = message.get_body(("related", "html")) if row.body_html else None
        if attachment.content_id and isinstance(html, EmailMessage):
            html.add_related(
                attachment.data,
                maintype,
                subtype,
                cid=f"<{attachment.content_id}>",
                filename=attachment.filename,
                disposition="inline",
            )
        else:
            message.add_attachment(attachment.data, maintype, subtype, filename=attachment.filename)
    return message


def connect(settings: Settings) -> smtplib.SMTP:
    smtp = settings.smtp
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if smtp.security == "tls":
        client = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=smtp.timeout_seconds, context=context
        )
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
        if smtp.security == "starttls":
            client.starttls(context=context)
    if smtp.username:
        client.login(smtp.username, smtp.secret_password())
    return client


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def _is_permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def due_emails(now: datetime) -> Select[tuple[int]]:
    """The e-mails to send now: pending, their retry backoff (if any) passed."""
    return select(OutboxMessage.id).where(
        OutboxMessage.status == "pending",
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
    )


def send_pending(
    store: Store,
    settings: Settings,
    now: datetime,
    connector: Callable[[Settings], smtplib.SMTP] = connect,
) -> list[SendResult]:
    """Send every due row once; a temporary failure is retried later with backoff."""
    results = _settle_interrupted(store, settings, now)
    with store.unit() as session:
        due = session.scalars(due_emails(now).order_by(OutboxMessage.id)).all()
    if not due:
        return results
    try:
        client = connector(settings)
    except (OSError, smtplib.SMTPException) as exc:
        reason = f"cannot reach the SMTP server: {type(exc).__name__}: {exc}"
        log.warning("outbox: %s", reason)
        return results + [
            _record_failure(store, settings, row_id, exc, reason, now) for row_id in due
        ]
    try:
        for row_id in due:
            results.append(_send_one(store, settings, client, row_id, now))
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    return results


def _send_one(
    store: Store, settings: Settings, client: smtplib.SMTP, row_id: int, now: datetime
) -> SendResult:
    with store.unit() as session:
        row = session.get_one(OutboxMessage, row_id, with_for_update=True)
        if row.status != "pending":
            return SendResult(row_id, "skipped", f"already {row.status}")
        row.status, row.attempted_at = "sending", now
        message = build_email(row, settings, now)
    try:
        client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        return _record_failure(store, settings, row_id, exc, f"{type(exc).__name__}: {exc}", now)
    with store.unit() as session:
        row = session.get_one(OutboxMessage, row_id)
        row.status = "sent"
        row.sent_at = now
        row.attempts += 1
        row.last_error = None
    log.info("outbox: sent e-mail %s (%s)", row_id, row.kind)
    return SendResult(row_id, "sent")


def _record_failure(
    store: Store, settings: Settings, row_id: int, exc: Exception, reason: str, now: datetime
) -> SendResult:
    with store.unit() as session:
        row = session.get_one(OutboxMessage, row_id)
        row.attempts += 1
        row.last_error = reason[:1000]
        if _is_permanent(exc) or row.attempts >= settings.smtp.max_attempts:
            row.status = "failed"
            row.next_attempt_at = None
            return SendResult(row_id, "failed", reason)
        row.status = "pending"
        row.next_attempt_at = now + _backoff(row.attempts)
        return SendResult(row_id, "retry", reason)


def _settle_interrupted(store: Store, settings: Settings, now: datetime) -> list[SendResult]:
    """Rows left `sending` by a crash (older than any send can take) become `unsure`."""
    cutoff = now - timedelta(seconds=4 * settings.smtp.timeout_seconds)
    results = []
    with store.unit() as session:
        for row in session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.status == "sending", OutboxMessage.attempted_at <= cutoff
            )
        ):
            row.status = "unsure"
            row.last_error = (
                "the process stopped during the SMTP transaction: look for Message-ID "
                f"{row.message_id_header} in the SMTP server's log before `pecflow outbox retry`"
            )
            log.error("outbox: e-mail %s may or may not have been sent", row.id)
            results.append(SendResult(row.id, "unsure", row.last_error))
    return results
