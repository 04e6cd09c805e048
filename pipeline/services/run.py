"""`pecflow run --once`: poll the sources, process what arrived, send the outbox, as one batch."""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config import Settings
from parsers.codes import order_code
from pipeline.archive import Archive, DryRunArchive
from pipeline.batches import (
    FAILED,
    finish_batch,
    forget_if_empty,
    record_item,
    said_before,
    start_batch,
)
from pipeline.fulfilment import fulfil_due
from pipeline.incidents import FAILING_BATCHES, IMAP_UNREACHABLE, Observation, observe
from pipeline.ingest import Arrival, archived, store_row
from pipeline.orders import Actor
from pipeline.outbox import requeue
from pipeline.payments import confirm_due
from pipeline.rules.statuses import UNREAD, MessageOutcome
from pipeline.services.error_lines import error_line, stops_the_run
from pipeline.sources import (
    OUTCOME_FOLDER,
    FolderStatus,
    MailEdges,
    Mark,
    Offered,
    Problem,
    Source,
    SourceError,
    Unfiled,
)
from pipeline.store.db import Store
from pipeline.store.models import Batch, BatchItem, MailboxState, Message, OutboxMessage

if TYPE_CHECKING:
    from parsers.documents import ParseLimits
    from parsers.reading import MessageReading
    from parsers.sandbox import Sandbox

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]  # stage, done, total
RETRYABLE = UNREAD
POISONED = MessageOutcome.QUARANTINED  # a message failed on too many runs in a row
TAKE_GROUP = 100  # messages committed together as a source is taken
TAKE_SECONDS = 2.0  # or what was taken in this long, so that a slow source commits as it goes
PROCESS_GROUP = 50  # messages decided in one transaction, each in its own savepoint
PROCESS_SECONDS = 2.0  # or those decided in this long
READ_AHEAD_BYTES = 32 * 1024 * 1024  # the mail read ahead of the decisions, at most
K = TypeVar("K")
V = TypeVar("V")


@dataclass
class RunReport:
    batch_id: int
    status: str
    counts: dict[str, int]
    message_ids: list[int] = field(default_factory=list)
    dry_run: bool = False
    kept: bool = True  # False: it recorded nothing and its row was deleted (Runner.keep_empty)


def no_progress(_stage: str, _done: int, _total: int) -> None:
    return None


class Runner:
    """One batch: ingest, process, send. Every item gets an outcome; none stops the others."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        now: datetime,
        *,
        edges: MailEdges,
        actor: str = "system",
        progress: Progress = no_progress,
        stopping: Callable[[], bool] = lambda: False,
        keep_empty: bool = True,
    ) -> None:
        self.store = store
        self.keep_empty = keep_empty  # False: a batch that recorded nothing leaves no row
        self.edges = edges  # the sources and the sender, handed in by the shell
        self.stopping = stopping  # asked to stop: finish the message in hand, start no other
        self.settings = settings
        self.now = now
        self.progress = progress
        self.archive: Archive = (DryRunArchive if store.dry_run else Archive)(settings.archive_dir)
        self.actor_name = actor
        self.batch_id = 0
        self.errors: list[str] = []
        self.sources = edges.sources(settings)
        self.failed_sources: set[str] = set()  # the kinds of the sources that could not be used

    def start(self, kind: str, parent_id: int | None = None) -> None:
        with self.store.unit() as session:
            self.batch_id = start_batch(session, kind, self.actor_name, self.now, parent_id).id

    @property
    def actor(self) -> Actor:
        return Actor(self.actor_name, self.batch_id)

    def take(self, source: Source) -> None:
        """Store what the source offers, each message committed (with the source's cursor)
        before the source forgets it; see `pipeline.sources` for what each side promises.
        Messages are committed in groups (TAKE_GROUP, or TAKE_SECONDS' worth), their files
        synced first: one wait on the disk a group, not two a message."""
        try:
            with source:
                offering = source.offered(_Cursors(self.store, self.now))
                group: list[tuple[Offered, Arrival]] = []
                started = time.monotonic()
                try:
                    for done, item in enumerate(offering.items):
                        if self.stopping():
                            break  # a cursor has moved only past what was stored
                        self.progress(source.kind, done, offering.total)
                        if isinstance(item, Problem):
                            self._problem(source, item)
                            continue
                        try:
                            group.append((item, self._archived(source, item)))
                        except Exception as exc:
                            self._trouble(source, item, exc)
                            continue
                        if len(group) >= TAKE_GROUP or time.monotonic() - started > TAKE_SECONDS:
                            full, group, started = group, [], time.monotonic()
                            self._commit(source, full)
                except Exception:
                    if group:  # what came before the trouble is stored all the same
                        with contextlib.suppress(Exception):
                            self._commit(source, group)
                    raise
                if group:
                    self._commit(source, group)
                self.progress(source.kind, offering.total, offering.total)
        except SourceError as exc:
            self.failed_sources.add(source.kind)
            self._failed(str(exc))

    def _archived(self, source: Source, item: Offered) -> Arrival:
        with item.open(self.now) as (stream, received_at):
            return archived(
                self.archive,
                stream,
                source=source.kind,
                source_id=item.source_id,
                raw_format=item.raw_format,
                received_at=received_at,
                filename=item.filename,
            )

    def _commit(self, source: Source, group: list[tuple[Offered, Arrival]]) -> None:
        """The group's rows and the last item's cursor in one transaction, then the source
        forgets them. A group that cannot be stored is stored one by one, so that only what
        cannot be stored is in trouble (and a cursor stops before it)."""
        self.archive.sync(arrival.sha256 for _, arrival in group)
        try:
            with self.store.unit() as session:
                taken = [
                    store_row(session, arrival, batch_id=self.batch_id, now=self.now)
                    for _, arrival in group
                ]
                mark = group[-1][0].mark
                if mark is not None:
                    _advance(mark, self.now, session)
        except Exception as exc:
            if len(group) == 1:
                self._trouble(source, group[0][0], exc)
            elif stops_the_run(exc):
                raise
            else:
                for one in group:
                    self._commit(source, [one])
            return
        if self.store.dry_run:
            return
        for (item, _), ingested in zip(group, taken, strict=True):
            problem = source.taken(item, ingested)
            if problem is not None:
                self._problem(source, problem)

    def _trouble(self, source: Source, item: Offered, exc: Exception) -> None:
        """What a message that cannot be taken becomes: a problem, or the run's end."""
        problem = None if stops_the_run(exc) else source.trouble(item, exc)
        if problem is None:
            raise exc
        self._problem(source, problem)

    def _problem(self, source: Source, problem: Problem) -> None:
        outcome = "skipped" if problem.vanished else FAILED
        with self.store.unit() as session:
            kind = source.item_type
            if problem.lasting and said_before(session, kind, problem.shown, problem.reason):
                return
            # Its name stays in the batch: an admin's file name may carry a codice fiscale.
            log.error("%s: a %s %s (batch %s)", source.kind, kind, problem.reason, self.batch_id)
            record_item(
                session,
                self.batch_id,
                kind,
                problem.shown,
                outcome,
                self.now,
                detail=problem.reason,
            )

    def file_back(self) -> None:
        """Tell each source's server the outcomes committed since, e.g. move IMAP messages."""
        if self.store.dry_run:
            return
        for source in self.sources:
            if source.kind in self.failed_sources:
                continue  # one failed login per run is enough: servers penalise repeated ones
            try:
                with source:
                    source.file(_Filing(self.store, source.kind, self.now))
            except SourceError as exc:
                self._failed(str(exc))

    def _failed(self, reason: str) -> None:
        log.error("%s", reason)
        self.errors.append(reason)

    def pending_messages(self) -> list[int]:
        """New messages, and those a run failed on: tried again until they have failed on
        `failed_runs_before_quarantine` runs in a row. (Failures from before that count was
        kept are left to ops' `batches rerun`, not retried months late.)"""
        limit = self.settings.limits.failed_runs_before_quarantine
        again = (Message.outcome == FAILED) & (Message.failed_runs < limit)
        with self.store.unit() as session:
            query = select(Message.id).where((Message.outcome == "received") | again)
            return list(session.scalars(query.order_by(Message.id)))

    def process(self, message_ids: Iterable[int], *, skip_final: bool = False) -> None:
        """Read messages a few ahead across the parser workers, decide them one at a time."""
        ids = list(message_ids)
        if not ids:
            return
        # The parsers load when there is mail to read (not on every run), before workers fork.
        from parsers.sandbox import Sandbox, default_workers
        from pipeline.process import parse_limits

        limits, done = self.settings.limits, 0
        with Sandbox(
            limits.parse_workers or default_workers(), limits.parse_memory_mb * 1024 * 1024
        ) as sandbox:
            read = partial(self._read, sandbox, parse_limits(self.settings))
            readings = read_ahead(
                self._to_read(ids), read, sandbox.workers, weight=lambda r: r.size
            )
            for group in _groups(readings, self.stopping):
                # Several messages share a commit, each in a savepoint of its own: what one
                # message did is kept or undone whole, and the disk is waited on once a group.
                with self.store.unit() as session:
                    for row, reading in group:
                        self.progress("process", done, len(ids))
                        self._decide(session, row.id, reading, skip_final)
                        done += 1
            if done < len(ids):
                log.info("stopping: %d message(s) left for the next run", len(ids) - done)
        self.progress("process", len(ids), len(ids))

    def _to_read(self, ids: list[int]) -> Iterator[Any]:
        """What reading needs of each message, fetched in chunks and in the given order."""
        columns = (Message.id, Message.size, Message.sha256, Message.raw_format, Message.facts,
                   Message.outcome, Message.received_at)  # fmt: skip
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            with self.store.unit() as session:
                rows = {r.id: r for r in session.execute(
                    select(*columns).where(Message.id.in_(chunk)))}  # fmt: skip
            yield from (rows[i] for i in chunk if i in rows)

    def _read(self, sandbox: Sandbox, limits: ParseLimits, row: Any) -> MessageReading | None:
        from parsers.reading import read_message

        if row.outcome not in RETRYABLE:
            return None  # final outcomes never become retryable: nothing to read
        return read_message(
            row.size,
            self.archive.readable(row.sha256),
            row.facts.get("filename"),
            limits,
            sandbox,
            bare=row.raw_format == "file",
            received_at=row.received_at,
        )

    def release(self, message_ids: list[int]) -> None:
        """Ops asked for another try: messages quarantined for failing are failed again, for
        one more run (a failure quarantines them again at once)."""
        with self.store.unit() as session:
            for message in session.scalars(
                select(Message).where(Message.id.in_(message_ids), Message.failed_runs > 0)
            ):
                if message.outcome == POISONED:
                    message.outcome = FAILED

    def _decide(
        self,
        session: Session,
        message_id: int,
        reading: Future[MessageReading | None],
        skip_final: bool,
    ) -> None:
        """One message in its savepoint; its failure is recorded instead, in the same
        transaction (another would wait for this one's lock)."""
        try:
            with session.begin_nested():
                self._process_one(session, message_id, reading.result(), skip_final)
        except Exception as exc:
            if stops_the_run(exc):
                raise  # the machine's trouble, not the message's: not counted against it
            self._fail(session, message_id, exc)

    def _fail(self, session: Session, message_id: int, exc: Exception) -> None:
        """A failed message is tried again by the next run, until it has failed on
        `failed_runs_before_quarantine` runs in a row: then it is quarantined with the cause."""
        log.error("message %s failed: %s", message_id, type(exc).__name__)
        cause = f"{type(exc).__name__}: {str(exc)[:500]}"
        limit = self.settings.limits.failed_runs_before_quarantine
        message = session.get_one(Message, message_id, with_for_update=True)
        message.failed_runs += 1
        outcome, detail = FAILED, cause
        if message.failed_runs >= limit:
            outcome = POISONED
            detail = f"failed on {message.failed_runs} runs in a row, last: {cause}"
            message.processed_at = self.now
            log.error("message %s quarantined after %d failed runs", message_id, limit)
        message.outcome, message.reason = outcome, detail
        record_item(
            session,
            self.batch_id,
            "message",
            message.source_id,
            outcome,
            self.now,
            detail=detail,
            message_id=message_id,
        )

    def _process_one(
        self, session: Session, message_id: int, reading: MessageReading | None, skip_final: bool
    ) -> None:
        from pipeline.process import process_message

        message = session.get_one(Message, message_id, with_for_update=True)
        if message.outcome not in RETRYABLE or reading is None:
            if skip_final:
                record_item(
                    session,
                    self.batch_id,
                    "message",
                    message.source_id,
                    "skipped",
                    self.now,
                    detail=f"already {message.outcome}",
                    message_id=message_id,
                )
            return
        result = process_message(
            session, message, reading, self.archive, self.settings, self.actor, self.now
        )
        detail = result.reason
        done = [
            f"{what} {', '.join(order_code(o) for o in dict.fromkeys(ids))}"
            for what, ids in (
                ("confirmed", result.orders),
                ("documents for", result.documents_for),
                ("scheduled", result.scheduled),
            )
            if ids
        ]
        detail = "; ".join([*done, *([detail] if detail else [])]) or None
        record_item(
            session,
            self.batch_id,
            "message",
            message.source_id,
            result.outcome,
            self.now,
            detail=detail,
            message_id=message_id,
            touched=[*result.orders, *result.documents_for, *result.scheduled],
        )
        log.info("message %s: %s", message_id, result.outcome)

    def confirm_due(self) -> None:
        """Confirm the payments held until the office opened, whose time has come."""
        with self.store.unit() as session:
            for due in confirm_due(session, self.settings, self.actor, self.now):
                codes = ", ".join(order_code(oid) for oid in due.order_ids)
                record_item(
                    session,
                    self.batch_id,
                    "payment",
                    f"payment {due.payment.id}",
                    due.outcome,
                    self.now,
                    detail=f"confirmed {codes}"
                    if due.outcome == "confirmed"
                    else f"{codes} settled meanwhile: to review",
                    message_id=due.payment.message_id,
                    touched=due.order_ids,
                )

    def fulfil(self) -> None:
        """Renewals paid at the portal; with the local provisioner, ready orders."""
        with self.store.unit() as session:
            for oid in fulfil_due(session, self.settings, self.actor, self.now):
                record_item(
                    session,
                    self.batch_id,
                    "order",
                    order_code(oid),
                    "fulfilled",
                    self.now,
                    touched=[oid],
                )

    def watch_health(self) -> None:
        """One ops e-mail per incident: IMAP unreachable poll after poll, or batches with many
        failed items; sent with this run's e-mails."""
        if self.store.dry_run:
            return
        seen = []
        if self.settings.imap.host:
            detail = "; ".join(self.errors) or "IMAP reachable"
            unreachable = "imap" in self.failed_sources
            seen.append(Observation(IMAP_UNREACHABLE, unreachable, detail, self.batch_id))
        with self.store.unit() as session:
            failed = session.execute(
                select(func.count()).where(
                    BatchItem.batch_id == self.batch_id, BatchItem.outcome == FAILED
                )
            ).scalar_one()
            limit = self.settings.alerts.batch_failures
            detail = f"batch {self.batch_id}: {failed} failed item(s) (alert at {limit})"
            seen.append(Observation(FAILING_BATCHES, failed >= limit, detail, self.batch_id))
            for observation in seen:
                observe(session, self.settings, observation, self.now)

    def send(self) -> None:
        if self.store.dry_run:
            with self.store.unit() as session:
                for email in session.scalars(
                    select(OutboxMessage).where(OutboxMessage.status == "pending")
                ):
                    record_item(
                        session,
                        self.batch_id,
                        "email",
                        email.idempotency_key,
                        "would_send",
                        self.now,
                        outbox_id=email.id,
                        order_id=email.order_id,
                    )
            return
        self.progress("send", 0, 1)
        results = list(self.edges.send_pending(self.store, self.settings, self.now))
        # Each row already says how it went; the batch's items are its report, one commit.
        for start in range(0, len(results), 500):
            chunk = results[start : start + 500]
            with self.store.unit() as session:
                sent = {
                    row.id: row
                    for row in session.execute(
                        select(OutboxMessage.id, OutboxMessage.idempotency_key,
                               OutboxMessage.order_id)
                        .where(OutboxMessage.id.in_([r.outbox_id for r in chunk]))
                    )
                }  # fmt: skip
                for result in chunk:
                    row = sent[result.outbox_id]
                    failed = result.outcome in ("failed", "retry", "unsure")
                    record_item(
                        session,
                        self.batch_id,
                        "email",
                        row.idempotency_key,
                        FAILED if failed else result.outcome,
                        self.now,
                        detail=result.detail,
                        outbox_id=row.id,
                        order_id=row.order_id,
                    )
        self.progress("send", 1, 1)

    def finish(self, error: str | None = None) -> RunReport:
        errors = "; ".join([*self.errors, *([error] if error else [])]) or None
        with self.store.unit() as session:
            batch = finish_batch(session, self.batch_id, self.now, errors)
            kept = self.keep_empty or not forget_if_empty(session, batch)
            ids = sorted({i.message_id for i in batch.items if i.message_id is not None})
            return RunReport(
                batch.id, batch.status, dict(batch.counts), ids, self.store.dry_run, kept
            )


def _advance(mark: Mark, now: datetime, session: Session) -> None:
    """Move the folder's cursor, in the transaction of the message it passes."""
    state = session.get(MailboxState, mark.folder)
    if state is None:
        state = MailboxState(folder=mark.folder)
        session.add(state)
    state.uidvalidity, state.last_uid, state.updated_at = mark.uidvalidity, mark.uid, now


class _Cursors:
    """The mailbox cursors as the database holds them."""

    def __init__(self, store: Store, now: datetime) -> None:
        self.store, self.now = store, now

    def last_uid(self, status: FolderStatus) -> int:
        with self.store.unit() as session:
            state = session.get(MailboxState, status.folder)
            if state is not None and state.uidvalidity == status.uidvalidity:
                return state.last_uid
            if state is not None:
                log.warning(
                    "IMAP %s: UIDVALIDITY changed (%s -> %s): reading it all again; "
                    "messages already ingested are recognised and not processed twice",
                    status.folder,
                    state.uidvalidity,
                    status.uidvalidity,
                )
            _advance(Mark(status.folder, status.uidvalidity, 0), self.now, session)
            return 0


class _Filing:
    """A source's committed outcomes not yet filed on its server, and their filing."""

    def __init__(self, store: Store, kind: str, now: datetime) -> None:
        self.store, self.kind, self.now = store, kind, now

    def unfiled(self, prefix: str) -> list[Unfiled]:
        with self.store.unit() as session:
            rows = session.execute(
                select(Message.id, Message.source_id, Message.outcome).where(
                    Message.source == self.kind,
                    Message.acked_at.is_(None),
                    Message.outcome.in_(OUTCOME_FOLDER),
                    Message.source_id.startswith(prefix),
                )
            )
            return [Unfiled(*row) for row in rows]

    def filed(self, message_ids: list[int]) -> None:
        with self.store.unit() as session:
            for message_id in message_ids:
                session.get_one(Message, message_id).acked_at = self.now


def read_ahead(
    items: Iterable[K],
    read: Callable[[K], V],
    workers: int,
    *,
    weight: Callable[[K], int] = lambda _item: 0,
    budget: int = READ_AHEAD_BYTES,
) -> Iterator[tuple[K, Future[V]]]:
    """Each item with the future of its reading, in order. `workers` threads read at once
    (each waiting on a sandbox worker) and at most twice that many readings wait in memory,
    fewer when they weigh more than `budget` bytes together (a reading of large mail holds
    its attachments). Left early, it drops what has not started; what runs ends with its
    sandbox."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="read")
    window: deque[tuple[K, Future[V]]] = deque()
    held = 0
    try:
        for item in items:
            window.append((item, pool.submit(read, item)))
            held += weight(item)
            while len(window) > 2 * workers or (held > budget and len(window) > 1):
                done = window.popleft()
                held -= weight(done[0])
                yield done
        while window:
            yield window.popleft()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _groups(
    readings: Iterator[tuple[K, Future[V]]], stopping: Callable[[], bool]
) -> Iterator[list[tuple[K, Future[V]]]]:
    """The readings in groups to decide in one transaction: up to PROCESS_GROUP, or what is
    ready within PROCESS_SECONDS. A group never waits for a reading (the transaction would
    hold its locks meanwhile): it ends, and the next starts with the awaited one. Asked to
    stop, no further group is handed out."""
    group: list[tuple[K, Future[V]]] = []
    started = time.monotonic()
    for item in readings:
        if stopping():
            return  # what is gathered is not decided: it waits for the next run
        waits = not item[1].done()
        if group and (
            waits or len(group) >= PROCESS_GROUP or time.monotonic() - started > PROCESS_SECONDS
        ):
            yield group
            group, started = [], time.monotonic()
        group.append(item)
    if group and not stopping():
        yield group


def run_once(runner: Runner) -> RunReport:
    runner.start("run")

    def steps() -> None:
        for source in runner.sources:
            runner.take(source)
        runner.process(runner.pending_messages())
        runner.confirm_due()
        runner.fulfil()
        runner.file_back()
        runner.watch_health()
        runner.send()

    return closing(runner, steps)


def rerun(runner: Runner, batch_id: int, *, failed_only: bool) -> RunReport:
    """Retry what a batch left failed (or unfinished) as a new batch linked to it."""
    with runner.store.unit() as session:
        old = session.get_one(Batch, batch_id)  # ops.rerun_batch says when there is none
        items = list(session.scalars(select(BatchItem).where(BatchItem.batch_id == batch_id)))
    runner.start(old.kind, parent_id=batch_id)

    def steps() -> None:
        message_ids = [
            i.message_id
            for i in items
            if i.item_type == "message"
            and i.message_id
            and (i.outcome in (FAILED, POISONED) or not failed_only)
        ]
        if failed_only:
            runner.release(message_ids)
        runner.process(dict.fromkeys(message_ids), skip_final=not failed_only)
        failed_types = {i.item_type for i in items if i.outcome == FAILED}
        again = [source for source in runner.sources if source.item_type in failed_types]
        if again:  # what a source could not give (a file in the drop folder): taken again
            for source in again:
                runner.take(source)
            tried = set(message_ids)  # once per rerun: a second failure is not a second run's
            runner.process(i for i in runner.pending_messages() if i not in tried)
        email_ids = [
            i.outbox_id
            for i in items
            if i.item_type == "email" and i.outbox_id and i.outcome == FAILED
        ]
        if email_ids:
            with runner.store.unit() as session:
                for row in session.scalars(
                    select(OutboxMessage).where(OutboxMessage.id.in_(email_ids))
                ):
                    requeue(row)
        runner.file_back()
        runner.send()

    return closing(runner, steps)


def closing(runner: Runner, steps: Callable[[], None]) -> RunReport:
    """Run the batch's steps and close it. A step that raises closes it as failed; when the
    trouble is the machine's (a full disk, the database gone), the command then stops with
    its one line, raised again after the batch is closed."""
    try:
        steps()
    except Exception as exc:
        line = error_line(exc, runner.settings)
        log.error("run stopped: %s", line or type(exc).__name__)
        report = runner.finish(line or f"{type(exc).__name__}: {exc}")
        if line is not None:
            raise
        return report
    return runner.finish()
