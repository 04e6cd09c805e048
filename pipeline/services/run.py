"""`pecflow run --once`: poll the sources, process what arrived, send the outbox, as one batch."""

from __future__ import annotations

import io
import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config import Settings
from parsers.codes import order_code
from parsers.documents import ParseLimits
from parsers.reading import MessageReading, read_message
from parsers.sandbox import Sandbox, default_workers
from pipeline.archive import Archive, DryRunArchive
from pipeline.batches import FAILED, finish_batch, record_item, said_before, start_batch
from pipeline.fulfilment import fulfil_due
from pipeline.incidents import FAILING_BATCHES, IMAP_UNREACHABLE, Observation, observe
from pipeline.ingest import ingest
from pipeline.orders import Actor
from pipeline.outbox import requeue
from pipeline.payments import confirm_due
from pipeline.process import parse_limits, process_message
from pipeline.rules.statuses import UNREAD, MessageOutcome
from pipeline.services.error_lines import error_line, stops_the_run
from pipeline.sources import (
    OUTCOME_FOLDER,
    DroppedFile,
    DropProblem,
    FolderStatus,
    MailEdges,
    SourceError,
)
from pipeline.store.db import Store
from pipeline.store.models import Batch, BatchItem, MailboxState, Message, OutboxMessage

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]  # stage, done, total
RETRYABLE = UNREAD
POISONED = MessageOutcome.QUARANTINED  # a message failed on too many runs in a row
K = TypeVar("K")
V = TypeVar("V")


@dataclass
class RunReport:
    batch_id: int
    status: str
    counts: dict[str, int]
    message_ids: list[int] = field(default_factory=list)
    dry_run: bool = False


def _no_progress(_stage: str, _done: int, _total: int) -> None:
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
        progress: Progress = _no_progress,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.store = store
        self.edges = edges  # the sources and the sender, handed in by the shell
        self.stopping = stopping  # asked to stop: finish the message in hand, start no other
        self.settings = settings
        self.now = now
        self.progress = progress
        self.archive: Archive = (DryRunArchive if store.dry_run else Archive)(settings.archive_dir)
        self.actor_name = actor
        self.batch_id = 0
        self.errors: list[str] = []
        self.imap_failed = False

    def start(self, kind: str, parent_id: int | None = None) -> None:
        with self.store.unit() as session:
            self.batch_id = start_batch(session, kind, self.actor_name, self.now, parent_id).id

    @property
    def actor(self) -> Actor:
        return Actor(self.actor_name, self.batch_id)

    def poll_drop_folder(self) -> None:
        """Take every complete file; one that cannot be taken is an item naming it and why,
        and the rest of the folder and of the run go on."""
        entries = self.edges.list_drop_folder(self.settings.paths.drop_folder)
        for done, entry in enumerate(entries):
            self.progress("ingest", done, len(entries))
            if isinstance(entry, DropProblem):
                self._drop_problem(entry)
                continue
            try:
                with self.edges.open_dropped(entry, self.now) as (stream, received_at):
                    ingested = ingest(
                        self.store,
                        self.archive,
                        stream,
                        source="drop",
                        source_id=entry.source_id,
                        raw_format=entry.raw_format,
                        received_at=received_at,
                        batch_id=self.batch_id,
                        now=self.now,
                        filename=entry.shown if entry.raw_format == "file" else None,
                    )
            except Exception as exc:  # the file stays in the folder for the next run
                if stops_the_run(exc):
                    raise
                self._drop_problem(_problem(entry, exc))
                continue
            if self.store.dry_run:
                continue
            try:
                entry.path.unlink(missing_ok=True)
            except OSError as exc:
                self._drop_problem(
                    DropProblem(
                        entry.shown,
                        f"taken as message {ingested.message_id} but cannot be removed from the "
                        f"folder: {_os_reason(exc)}",
                    )
                )
        self.progress("ingest", len(entries), len(entries))

    def _drop_problem(self, problem: DropProblem) -> None:
        outcome = "skipped" if problem.vanished else FAILED
        with self.store.unit() as session:
            if problem.lasting and said_before(session, "file", problem.shown, problem.reason):
                return
            # Its name stays in the batch: an admin's file name may carry a codice fiscale.
            log.error("drop folder: a file %s (batch %s)", problem.reason, self.batch_id)
            record_item(
                session,
                self.batch_id,
                "file",
                problem.shown,
                outcome,
                self.now,
                detail=problem.reason,
            )

    def poll_imap(self) -> None:
        """Fetch UIDs above the cursor; each message and the cursor commit together."""
        settings = self.settings.imap
        if not settings.host:
            return
        try:
            with self.edges.mailbox(settings) as box:
                status = box.select()
                last_uid = self._cursor(status)
                uids = box.uids_after(last_uid)
                for done, fetched in enumerate(box.fetch(uids)):
                    if self.stopping():
                        break  # the cursor has moved only past what was ingested
                    self.progress("fetch", done, len(uids))
                    ingested = ingest(
                        self.store,
                        self.archive,
                        io.BytesIO(fetched.raw),
                        source="imap",
                        source_id=f"{status.folder}/{status.uidvalidity}/{fetched.uid}",
                        raw_format="rfc822",
                        received_at=min(fetched.internaldate, self.now),
                        batch_id=self.batch_id,
                        now=self.now,
                        also=partial(_advance, status, fetched.uid, self.now),
                    )
                    known = ingested.duplicate and ingested.outcome in OUTCOME_FOLDER
                    if known and not self.store.dry_run:
                        box.file([fetched.uid], ingested.outcome)
                self.progress("fetch", len(uids), len(uids))
        except SourceError as exc:
            self.imap_failed = True
            self._failed(str(exc))

    def _cursor(self, status: FolderStatus) -> int:
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
            _advance(status, 0, self.now, session)
            return 0

    def file_imap(self) -> None:
        """Move or flag on the server what has a final outcome, after it is committed."""
        settings = self.settings.imap
        if not settings.host or self.store.dry_run or self.imap_failed:
            return  # one failed login per run is enough: servers penalise repeated ones
        try:
            with self.edges.mailbox(settings) as box:
                status = box.select()
                prefix = f"{status.folder}/{status.uidvalidity}/"
                with self.store.unit() as session:
                    rows = session.execute(
                        select(Message.id, Message.source_id, Message.outcome).where(
                            Message.source == "imap",
                            Message.acked_at.is_(None),
                            Message.outcome.in_(OUTCOME_FOLDER),
                            Message.source_id.startswith(prefix),
                        )
                    ).all()
                for outcome in sorted({row.outcome for row in rows}):
                    batch = [row for row in rows if row.outcome == outcome]
                    box.file([int(row.source_id.rpartition("/")[2]) for row in batch], outcome)
                    with self.store.unit() as session:
                        for row in batch:
                            session.get_one(Message, row.id).acked_at = self.now
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
        limits = self.settings.limits
        with Sandbox(
            limits.parse_workers or default_workers(), limits.parse_memory_mb * 1024 * 1024
        ) as sandbox:
            read = partial(self._read, sandbox, parse_limits(self.settings))
            readings = read_ahead(self._to_read(ids), read, sandbox.workers)
            for done, (row, reading) in enumerate(readings):
                if self.stopping():
                    log.info("stopping: %d message(s) left for the next run", len(ids) - done)
                    break
                self.progress("process", done, len(ids))
                try:
                    self._process_one(row.id, reading.result(), skip_final)
                except Exception as exc:
                    if stops_the_run(exc):
                        raise  # the machine's trouble, not the message's: not counted against it
                    self._fail(row.id, exc)
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
        if row.outcome not in RETRYABLE:
            return None  # final outcomes never become retryable: nothing to read
        return read_message(
            row.size,
            partial(self.archive.get, row.sha256),
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

    def _fail(self, message_id: int, exc: Exception) -> None:
        """A failed message is tried again by the next run, until it has failed on
        `failed_runs_before_quarantine` runs in a row: then it is quarantined with the cause."""
        log.error("message %s failed: %s", message_id, type(exc).__name__)
        cause = f"{type(exc).__name__}: {str(exc)[:500]}"
        limit = self.settings.limits.failed_runs_before_quarantine
        with self.store.unit() as session:
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
        self, message_id: int, reading: MessageReading | None, skip_final: bool
    ) -> None:
        with self.store.unit() as session:
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
            seen.append(Observation(IMAP_UNREACHABLE, self.imap_failed, detail, self.batch_id))
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
                for row in session.scalars(
                    select(OutboxMessage).where(OutboxMessage.status == "pending")
                ):
                    record_item(
                        session,
                        self.batch_id,
                        "email",
                        row.idempotency_key,
                        "would_send",
                        self.now,
                        outbox_id=row.id,
                        order_id=row.order_id,
                    )
            return
        self.progress("send", 0, 1)
        for result in self.edges.send_pending(self.store, self.settings, self.now):
            outcome = FAILED if result.outcome in ("failed", "retry", "unsure") else result.outcome
            with self.store.unit() as session:
                row = session.get_one(OutboxMessage, result.outbox_id)
                record_item(
                    session,
                    self.batch_id,
                    "email",
                    row.idempotency_key,
                    outcome,
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
            ids = sorted({i.message_id for i in batch.items if i.message_id is not None})
            return RunReport(batch.id, batch.status, dict(batch.counts), ids, self.store.dry_run)


def _advance(status: FolderStatus, uid: int, now: datetime, session: Session) -> None:
    """Move the folder's cursor, in the transaction of the message it passes."""
    state = session.get(MailboxState, status.folder)
    if state is None:
        state = MailboxState(folder=status.folder)
        session.add(state)
    state.uidvalidity, state.last_uid, state.updated_at = status.uidvalidity, uid, now


def _os_reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


def _problem(entry: DroppedFile, exc: Exception) -> DropProblem:
    """Why a dropped file could not be taken, in the words of the item that names it."""
    if not isinstance(exc, OSError):
        return DropProblem(entry.shown, f"cannot be taken: {type(exc).__name__}: {exc}"[:500])
    if exc.filename is not None and os.fsdecode(exc.filename) != os.fspath(entry.path):
        return DropProblem(entry.shown, f"cannot be archived: {_os_reason(exc)}: {exc.filename}")
    if isinstance(exc, FileNotFoundError):  # taken meanwhile by another worker or an admin
        return DropProblem(entry.shown, "vanished before it was read", vanished=True)
    return DropProblem(entry.shown, f"cannot be read: {_os_reason(exc)}")


def read_ahead(
    items: Iterable[K], read: Callable[[K], V], workers: int
) -> Iterator[tuple[K, Future[V]]]:
    """Each item with the future of its reading, in order. `workers` threads read at once
    (each waiting on a sandbox worker) and at most twice that many readings wait in memory.
    Left early, it drops what has not started; what runs ends with its sandbox."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="read")
    window: deque[tuple[K, Future[V]]] = deque()
    try:
        for item in items:
            window.append((item, pool.submit(read, item)))
            if len(window) > 2 * workers:
                yield window.popleft()
        while window:
            yield window.popleft()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def run_once(runner: Runner) -> RunReport:
    runner.start("run")

    def steps() -> None:
        runner.poll_imap()
        runner.poll_drop_folder()
        runner.process(runner.pending_messages())
        runner.confirm_due()
        runner.fulfil()
        runner.file_imap()
        runner.watch_health()
        runner.send()

    return closing(runner, steps)


def rerun(runner: Runner, batch_id: int, *, failed_only: bool) -> RunReport:
    """Retry what a batch left failed (or unfinished) as a new batch linked to it."""
    with runner.store.unit() as session:
        old = session.get(Batch, batch_id)
        if old is None:
            raise LookupError(f"no batch {batch_id}")
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
        if any(i.item_type == "file" and i.outcome == FAILED for i in items):
            runner.poll_drop_folder()
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
        runner.file_imap()
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
