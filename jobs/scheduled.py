"""What each scheduled job does, one batch per job that had something to do. The clock is
passed in, so the jobs run the same under `pecflow scheduler`, cron, and a test's clock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, or_, select

from config import Settings
from jobs.report import make_report
from jobs.run import Runner, RunReport, run_once
from pipeline.batches import record_item
from pipeline.outbox import enqueue_ops
from pipeline.payments import SCHEDULED
from pipeline.retention import purge
from pipeline.sla import LATE, sla_items
from pipeline.store.db import Store
from pipeline.store.models import OutboxMessage, Payment

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def _never() -> bool:
    return False


class Jobs:
    def __init__(
        self, store: Store, settings: Settings, clock: Clock, stopping: Callable[[], bool] = _never
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.stopping = stopping

    def _runner(self) -> Runner:
        return Runner(self.store, self.settings, self.clock(), "scheduler", stopping=self.stopping)

    def poll(self) -> RunReport:
        """The sources, then everything `run --once` does."""
        return run_once(self._runner())

    def _any(self, query: Select[Any]) -> bool:
        with self.store.unit() as session:
            return bool(session.scalar(select(exists(query))))

    def confirm(self) -> RunReport | None:
        """Payments held until the office opened: confirmed, and their e-mails sent."""
        now = self.clock()
        due = select(Payment.id).where(Payment.status == SCHEDULED, Payment.not_before <= now)
        if not self._any(due):
            return None
        runner = self._runner()
        runner.start("confirm")
        runner.confirm_due()
        runner.send()
        return runner.finish()

    def send(self) -> RunReport | None:
        """The outbox, when an e-mail is due (its retry backoff has passed)."""
        now = self.clock()
        due = select(OutboxMessage.id).where(
            OutboxMessage.status.in_(["pending", "sending"]),
            or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
        )
        if not self._any(due):
            return None
        runner = self._runner()
        runner.start("send")
        runner.send()
        return runner.finish()

    def watchdog(self) -> list[str]:
        """One alert to ops per late item, ever: the outbox key is the item's."""
        now = self.clock()
        alerted = []
        with self.store.unit() as session:
            for item in sla_items(session, self.settings, now):
                key = f"alert:sla:{item.key}"
                known = select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)
                if item.status != LATE or session.scalar(select(exists(known))):
                    continue
                row = enqueue_ops(
                    session,
                    self.settings,
                    key=key,
                    kind="sla_alert",
                    context={"item": item, "due_by": item.due_by.astimezone(self.settings.zone)},
                    now=now,
                    batch_id=None,
                )
                if row is None:
                    log.warning("SLA: %s is late; mail.ops_address is empty", item.ref)
                    continue
                alerted.append(item.key)
        if alerted:
            log.warning("SLA: %d item(s) newly late: %s", len(alerted), ", ".join(alerted))
            self.send()
        return alerted

    def report(self) -> None:
        """The nightly report of the day before (in the office's time zone)."""
        now = self.clock()
        day = now.astimezone(self.settings.zone).date() - timedelta(days=1)
        make_report(self.store, self.settings, day, now)
        self.send()

    def purge(self) -> None:
        now = self.clock()
        runner = self._runner()
        runner.start("purge")
        with self.store.unit() as session:
            for ref, outcome, detail in purge(session, runner.archive, self.settings, now):
                record_item(session, runner.batch_id, "archive", ref, outcome, now, detail=detail)
        runner.finish()
