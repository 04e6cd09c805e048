"""Incidents: a run of bad polls (IMAP unreachable, many failed items) is one incident, and
ops get one e-mail for it when it crosses its threshold, not one per poll. It closes at the
first good poll; the next bad one opens a new incident."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from pipeline.outbox import enqueue_ops
from pipeline.store.models import Incident

log = logging.getLogger(__name__)

IMAP_UNREACHABLE, FAILING_BATCHES = "imap_unreachable", "failing_batches"
TITLES = {
    IMAP_UNREACHABLE: "la casella IMAP non risponde",
    FAILING_BATCHES: "molti elementi falliti nei lotti",
}


@dataclass(frozen=True)
class Observation:
    kind: str
    bad: bool
    detail: str
    batch_id: int | None = None


def should_alert(count: int, threshold: int, alerted: bool) -> bool:
    """Pure: the one moment an incident is worth an e-mail."""
    return not alerted and count >= threshold


def threshold(settings: Settings, kind: str) -> int:
    if kind == IMAP_UNREACHABLE:
        return settings.alerts.imap_unreachable_polls
    return 1  # a batch is already bad only past alerts.batch_failures failed items


def observe(session: Session, settings: Settings, seen: Observation, now: datetime) -> None:
    """Record one poll's observation; open, count, alert or close the kind's incident."""
    incident = session.scalar(
        select(Incident)
        .where(Incident.kind == seen.kind, Incident.closed_at.is_(None))
        .with_for_update()
    )
    if not seen.bad:
        if incident is not None:
            incident.closed_at = now
            log.info("incident %s (%s) is over", incident.id, seen.kind)
        return
    if incident is None:
        incident = Incident(kind=seen.kind, opened_at=now, count=0)
        session.add(incident)
    incident.count += 1
    incident.last_seen_at, incident.detail = now, seen.detail[:2000]
    session.flush()
    if not should_alert(incident.count, threshold(settings, seen.kind), bool(incident.alerted_at)):
        return
    incident.alerted_at = now
    row = enqueue_ops(
        session,
        settings,
        key=f"alert:incident:{incident.id}",
        kind="incident_alert",
        context={
            "incident": incident,
            "title": TITLES[seen.kind],
            "opened_at": incident.opened_at.astimezone(settings.zone),
            "batch_id": seen.batch_id,
        },
        now=now,
        batch_id=seen.batch_id,
    )
    if row is None:
        log.warning("incident %s: %s; mail.ops_address is empty", incident.id, seen.kind)
