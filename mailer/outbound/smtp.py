"""Sending the outbox over SMTP: one connection per batch, each row marked as it goes.

A row is marked `sending` (committed) before the SMTP transaction and `sent` after it (in the
next row's commit: one commit an e-mail). A row
found still `sending` after a crash may or may not have reached the server: it becomes
`unsure` and is never resent by itself, so no customer gets an e-mail twice; ops check the
server's log for its Message-ID (fixed at enqueue time) and resend with `pecflow outbox retry`.
The same holds for a connection lost inside DATA, when the server may already have the message.

A row is charged an attempt only for what its own SMTP transaction met: a server that cannot be
reached or refuses the login says nothing about the e-mails, so they stay pending (the reason in
`last_error`) however long it lasts, and a connection lost mid-batch ends the pass, the rows not
yet tried waiting untouched for the next one.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from mailer.oauth2 import OAuth2Error, sasl_responder, token_source
from pipeline.outbox import due_emails
from pipeline.rules.statuses import OutboxStatus, outbox_transition
from pipeline.seal import WIPED, SealError, unseal
from pipeline.sources import SendResult
from pipeline.store.db import Store
from pipeline.store.models import OutboxMessage

if TYPE_CHECKING:
    from _typeshed import SizedBuffer

log = logging.getLogger(__name__)
Refused = dict[str, tuple[int, bytes]]  # the recipients a server refused: code and reply


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
    text, html = row.body_text, row.body_html
    if row.sealed:
        key_file = settings.fulfilment.seal_key_file
        text, html = unseal(text, key_file), unseal(html, key_file) if html else None
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    for attachment in row.attachments:
        maintype, _, subtype = attachment.media_type.partition("/")
        part = message.get_body(("related", "html")) if html else None
        if attachment.content_id and isinstance(part, EmailMessage):
            part.add_related(
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


class OutcomeUnknown(smtplib.SMTPException):
    """The connection broke inside DATA: the server may already have taken the message."""


class _Transaction(smtplib.SMTP):
    """smtplib's sendmail spelled out, with its replies and exceptions, so that a connection
    lost inside DATA (the message may be the server's by then) is told from one lost before
    it (nothing was sent: safe to retry). send_message still makes the envelope and bytes."""

    def sendmail(
        self,
        from_addr: str,
        to_addrs: str | Sequence[str],
        msg: SizedBuffer | str,
        mail_options: Sequence[str] = (),
        rcpt_options: Sequence[str] = (),
    ) -> Refused:
        self.ehlo_or_helo_if_needed()
        size = [f"size={len(msg)}"] if self.has_extn("size") else []
        code, reply = self.mail(from_addr, [*size, *mail_options] if self.does_esmtp else [])
        if code != 250:
            self._abandon(code)
            raise smtplib.SMTPSenderRefused(code, reply, from_addr)
        recipients = [to_addrs] if isinstance(to_addrs, str) else list(to_addrs)
        refused = self._recipients(recipients, rcpt_options)
        self._data(msg)
        return refused

    def _recipients(self, to_addrs: list[str], options: Sequence[str]) -> Refused:
        refused: Refused = {}
        for address in to_addrs:
            code, reply = self.rcpt(address, options)
            if code not in (250, 251):
                refused[address] = (code, reply)
            if code == 421:
                self.close()
                raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(to_addrs):
            self._abandon(0)
            raise smtplib.SMTPRecipientsRefused(refused)
        return refused

    def _data(self, msg: SizedBuffer | str) -> None:
        try:
            code, reply = self.data(msg)
        except smtplib.SMTPDataError as exc:  # DATA itself refused: no byte of the body sent
            self._abandon(exc.smtp_code)
            raise
        except OSError as exc:  # SMTPServerDisconnected, a timeout: the body may be there
            raise OutcomeUnknown(f"{type(exc).__name__}: {exc}") from exc
        if code != 250:
            self._abandon(code)
            raise smtplib.SMTPDataError(code, reply)

    def _abandon(self, code: int) -> None:
        """End a refused transaction as sendmail does: on a 421 the server is closing the
        connection; otherwise RSET leaves it clean for the next e-mail (unlike sendmail, also
        after a refused DATA command, lest the next MAIL meet a 503)."""
        if code == 421:
            self.close()
            return
        with suppress(smtplib.SMTPServerDisconnected):
            self.rset()


class _TlsTransaction(_Transaction, smtplib.SMTP_SSL):
    """The same transaction over implicit TLS."""


def connect(settings: Settings) -> smtplib.SMTP:
    """A connection ready for its first MAIL (TLS, login and EHLO done), so that whatever
    goes wrong here is known to be the server's or the configuration's, never an e-mail's."""
    smtp = settings.smtp
    context = ssl.create_default_context(cafile=str(smtp.ca_file) if smtp.ca_file else None)
    client: smtplib.SMTP
    if smtp.security == "tls":
        client = _TlsTransaction(
            smtp.host, smtp.port, timeout=smtp.timeout_seconds, context=context
        )
    else:
        client = _Transaction(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
    try:
        if smtp.security == "starttls":
            client.starttls(context=context)
        if smtp.auth == "oauth2":
            client.ehlo_or_helo_if_needed()
            token = token_source(smtp.oauth2, smtp.username).token()
            client.auth("XOAUTH2", sasl_responder("XOAUTH2", smtp.username, token))
        elif smtp.username:
            client.login(smtp.username, smtp.secret_password())
        client.ehlo_or_helo_if_needed()
    except BaseException:
        client.close()
        raise
    return client


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def _is_permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def send_pending(
    store: Store,
    settings: Settings,
    now: datetime,
    connector: Callable[[Settings], smtplib.SMTP] = connect,
) -> list[SendResult]:
    """Send every due row once over one connection; a temporary failure of a row is retried
    later with backoff, a failure to connect is charged to no row (see the module's doc)."""
    results = _settle_interrupted(store, settings, now)
    with store.unit() as session:
        due = list(session.scalars(due_emails(now).order_by(OutboxMessage.id)).all())
    if not due:
        return results
    try:
        client = connector(settings)
    except (OSError, smtplib.SMTPException, OAuth2Error) as exc:
        return results + _unreachable(store, settings, due, exc)
    try:
        return results + _send_batch(store, settings, client, due, now)
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


def _unreachable(
    store: Store, settings: Settings, due: list[int], exc: Exception
) -> list[SendResult]:
    """No row is to blame for a server that cannot be reached, whose certificate does not
    verify or that refuses the login, nor for a token that cannot be had: none is charged an
    attempt, so an outage longer than max_attempts passes fails nothing; each shows why it
    waits and is reported a retry."""
    if isinstance(exc, OAuth2Error):
        reason = f"no OAuth2 token for the SMTP login: {exc}"
        log.error("outbox: %s", reason)
    elif isinstance(exc, smtplib.SMTPAuthenticationError):  # only ops can fix it: an error
        check = (
            "smtp.username and the [oauth2] app's SMTP permission"
            if settings.smtp.auth == "oauth2"
            else "smtp.username and its password"
        )
        reason = f"the SMTP server refused the login (check {check}): {exc}"
        log.error("outbox: %s", reason)
    else:
        reason = f"cannot reach the SMTP server: {type(exc).__name__}: {exc}"
        log.warning("outbox: %s", reason)
    with store.unit() as session:
        for row in session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.id.in_(due), OutboxMessage.status == OutboxStatus.PENDING
            )
        ):
            row.last_error = reason[:1000]
    return [SendResult(row_id, "retry", reason) for row_id in due]


def _send_batch(
    store: Store, settings: Settings, client: smtplib.SMTP, due: list[int], now: datetime
) -> list[SendResult]:
    """The rows in order until the connection is lost: trying the rest on a dead connection
    would charge each an attempt for nothing, so they wait untouched for the next pass.
    One commit an e-mail: a row's `sent` mark rides with the next row's `sending` one (a
    crash in between leaves it `sending`, as a crash right after its DATA always did)."""
    results: list[SendResult] = []
    sent: int | None = None  # the row sent last, not yet marked
    try:
        for done, row_id in enumerate(due, start=1):
            with store.unit() as session:
                if sent is not None:
                    _mark_sent(session, sent, now)
                    sent = None
                prepared = _prepare(session, settings, row_id, now)
            if isinstance(prepared, SendResult):
                results.append(prepared)
                continue
            try:
                client.send_message(prepared)
            except OutcomeUnknown as exc:
                results.append(_record_unsure(store, row_id, exc))
            except (OSError, smtplib.SMTPException) as exc:
                reason = f"{type(exc).__name__}: {exc}"
                results.append(_record_failure(store, settings, row_id, exc, reason, now))
            else:
                sent = row_id
                results.append(SendResult(row_id, "sent"))
            if client.sock is None:  # smtplib closes a broken connection, _Transaction a 421
                log.warning(
                    "outbox: connection lost, %d e-mail(s) left for the next pass",
                    len(due) - done,
                )
                reason = "not tried: the connection to the SMTP server was lost earlier in the pass"
                return results + [SendResult(left, "retry", reason) for left in due[done:]]
        return results
    finally:
        if sent is not None:
            with store.unit() as session:
                _mark_sent(session, sent, now)


def _prepare(
    session: Session, settings: Settings, row_id: int, now: datetime
) -> EmailMessage | SendResult:
    """The row's e-mail, the row marked `sending`; or why it is not sent."""
    row = session.get_one(OutboxMessage, row_id, with_for_update=True)
    if row.status != OutboxStatus.PENDING:
        return SendResult(row_id, "skipped", f"already {row.status}")
    try:
        message = build_email(row, settings, now)
    except SealError as exc:
        row.status = outbox_transition(row.status, OutboxStatus.FAILED)
        row.last_error = str(exc)
        return SendResult(row_id, "failed", str(exc))
    row.status = outbox_transition(row.status, OutboxStatus.SENDING)
    row.attempted_at = now
    return message


def _mark_sent(session: Session, row_id: int, now: datetime) -> None:
    row = session.get_one(OutboxMessage, row_id)
    row.status = outbox_transition(row.status, OutboxStatus.SENT)
    row.sent_at = now
    row.attempts += 1
    row.last_error = None
    if row.sealed:  # the password has reached the customer: no copy stays behind
        row.body_text, row.body_html = WIPED, None
    log.info("outbox: sent e-mail %s (%s)", row_id, row.kind)


def _record_failure(
    store: Store, settings: Settings, row_id: int, exc: Exception, reason: str, now: datetime
) -> SendResult:
    with store.unit() as session:
        row = session.get_one(OutboxMessage, row_id)
        row.attempts += 1
        row.last_error = reason[:1000]
        if _is_permanent(exc) or row.attempts >= settings.smtp.max_attempts:
            row.status = outbox_transition(row.status, OutboxStatus.FAILED)
            row.next_attempt_at = None
            return SendResult(row_id, "failed", reason)
        row.status = outbox_transition(row.status, OutboxStatus.PENDING)
        row.next_attempt_at = now + _backoff(row.attempts)
        return SendResult(row_id, "retry", reason)


def _record_unsure(store: Store, row_id: int, exc: OutcomeUnknown) -> SendResult:
    """The server may have the message (the connection broke inside DATA): like a crash
    during the send, it is never sent again by itself, ops decide from the server's log."""
    with store.unit() as session:
        row = session.get_one(OutboxMessage, row_id)
        row.status = outbox_transition(row.status, OutboxStatus.UNSURE)
        row.attempts, row.next_attempt_at = row.attempts + 1, None
        row.last_error = (
            f"the connection broke while the SMTP server was taking the message ({exc}): look "
            f"for Message-ID {row.message_id_header} in the SMTP server's log before "
            "`pecflow outbox retry`"
        )
        reason = row.last_error
    log.error("outbox: e-mail %s may or may not have been sent", row_id)
    return SendResult(row_id, "unsure", reason)


def _settle_interrupted(store: Store, settings: Settings, now: datetime) -> list[SendResult]:
    """Rows left `sending` by a crash (older than any send can take) become `unsure`."""
    cutoff = now - timedelta(seconds=4 * settings.smtp.timeout_seconds)
    results = []
    with store.unit() as session:
        for row in session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.attempted_at <= cutoff
            )
        ):
            row.status = outbox_transition(row.status, OutboxStatus.UNSURE)
            row.last_error = (
                "the process stopped during the SMTP transaction: look for Message-ID "
                f"{row.message_id_header} in the SMTP server's log before `pecflow outbox retry`"
            )
            log.error("outbox: e-mail %s may or may not have been sent", row.id)
            results.append(SendResult(row.id, "unsure", row.last_error))
    return results
