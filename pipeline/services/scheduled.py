"""What each scheduled job does, one batch per job that had something to do. The clock is
passed in, so the jobs run the same under `pecflow scheduler`, cron, and a test's clock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, select

from config import Settings
from pipeline.batches import record_item
from pipeline.outbox import due_emails, enqueue_ops
from pipeline.payments import SCHEDULED
from pipeline.retention import purge
from pipeline.rules.promises import LATE
from pipeline.services.report import make_report, yesterday
from pipeline.services.run import Runner, RunReport, closing, run_once
from pipeline.sla import sla_items
from pipeline.sources import MailEdges
from pipeline.store.db import Store
from pipeline.store.models import OutboxMessage, Payment

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def _never() -> bool:
    return False


class Jobs:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Clock,
        edges: MailEdges,
        stopping: Callable[[], bool] = _never,
    ) -> None:
        self.store = store
        self.edges = edges
        self.settings = settings
        self.clock = clock
        self.stopping = stopping

    def _runner(self, *, keep_empty: bool = True) -> Runner:
        return Runner(
            self.store,
            self.settings,
            self.clock(),
            edges=self.edges,
            actor="scheduler",
            stopping=self.stopping,
            keep_empty=keep_empty,
        )

    def poll(self) -> RunReport | None:
        """The sources, then everything `run --once` does. Whether it had anything to do is
        known only at the end: a poll that recorded nothing, no item and no error, leaves no
        batch (its row is deleted as it closes), so that ops' list is not buried under idle
        polls."""
        report = run_once(self._runner(keep_empty=False))
        return report if report.kept else None

    def _any(self, query: Select[Any]) -> bool:
        with self.store.unit() as session:
            return bool(session.scalar(select(exists(query))))

    def _batch(self, kind: str, *steps: Callable[[Runner], None]) -> RunReport:
        """One batch of the steps; one that raises still closes the batch, as failed."""
        runner = self._runner()
        runner.start(kind)

        def all_steps() -> None:
            for step in steps:
                step(runner)

        return closing(runner, all_steps)

    def confirm(self) -> RunReport | None:
        """Payments held until the office opened: confirmed, and their e-mails sent."""
        now = self.clock()
        due = select(Payment.id).where(Payment.status == SCHEDULED, Payment.not_before <= now)
        if not self._any(due):
            return None
        return self._batch("confirm", Runner.confirm_due, Runner.send)

    def send(self) -> RunReport | None:
        """The outbox, when an e-mail is due (its retry backoff has passed)."""
        if not self._any(due_emails(self.clock())):
            return None
        return self._batch("send", Runner.send)

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
        make_report(self.store, self.settings, yesterday(self.settings, now), now)
        self.send()

    def purge(self) -> RunReport:
        return self._batch("purge", _purge)


def _purge(runner: Runner) -> None:
    with runner.store.unit() as session:
        for ref, outcome, detail in purge(session, runner.archive, runner.settings, runner.now):
            record_item(
                session, runner.batch_id, "archive", ref, outcome, runner.now, detail=detail
            )
