"""Retention: raw messages and attachments leave the archive once they are old enough and
finished with; what was read from them, and every decision, stays in the database. Identity
documents are personal data the reseller should not keep longer than it must."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from pipeline.archive import Archive
from pipeline.rules.statuses import UNREAD, ReviewStatus
from pipeline.store.models import Document, Message, ReviewItem

PER_RUN = 1000  # messages per run: a first purge of years of mail spreads over nights


def purge(
    session: Session, archive: Archive, settings: Settings, now: datetime
) -> Iterator[tuple[str, str, str | None]]:
    """Purge what retention allows; yields (what, outcome, detail) for the batch's items."""
    days = settings.retention.archive_days
    if days:
        yield from _purge_messages(session, archive, now - timedelta(days=days), now)
    days = settings.retention.reports_days
    if days:
        yield from _purge_reports(settings, now.astimezone(settings.zone).date(), days)


def _purge_messages(
    session: Session, archive: Archive, before: datetime, now: datetime
) -> Iterator[tuple[str, str, str | None]]:
    old = session.scalars(
        select(Message)
        .where(
            Message.received_at < before,
            Message.archive_purged_at.is_(None),
            Message.outcome.not_in(UNREAD),
            Message.id.not_in(
                select(ReviewItem.message_id).where(
                    ReviewItem.status == ReviewStatus.OPEN, ReviewItem.message_id.is_not(None)
                )
            ),  # a human may still need to look at it
        )
        .order_by(Message.id)
        .limit(PER_RUN)
    ).all()
    if not old:
        return
    ids = [m.id for m in old]
    shas = {m.sha256 for m in old} | set(
        session.scalars(select(Document.sha256).where(Document.message_id.in_(ids)))
    )
    # The archive is content-addressed: bytes a message that stays also holds stay too.
    kept_messages = select(Message.id).where(
        Message.id.not_in(ids), Message.archive_purged_at.is_(None)
    )
    still_used = set(
        session.scalars(
            select(Message.sha256).where(Message.sha256.in_(shas), Message.id.in_(kept_messages))
        )
    ) | set(
        session.scalars(
            select(Document.sha256).where(
                Document.sha256.in_(shas), Document.message_id.in_(kept_messages)
            )
        )
    )
    for sha in shas - still_used:
        archive.remove(sha)
    for message in old:
        message.archive_purged_at = now
        yield f"message {message.id}", "purged", f"received {message.received_at:%Y-%m-%d}"


def _purge_reports(
    settings: Settings, today: date, days: int
) -> Iterator[tuple[str, str, str | None]]:
    """Report files are named by their day (2026-11-22.html, .csv)."""
    folder = settings.reports_dir
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        try:
            day = date.fromisoformat(path.name.partition(".")[0])
        except ValueError:
            continue  # not a report: not ours to delete
        if (today - day).days > days:
            path.unlink(missing_ok=True)
            yield path.name, "purged", None
