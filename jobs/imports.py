"""`pecflow orders import`: the file read whole first (refused whole, before any batch, when it
cannot be read as an export), then its rows checked a chunk at a time (in worker processes for
a large file) and written a few chunks to a transaction, one batch for the file. The batch is
never left `running`: whatever stops the import finishes it as failed, with the error, and
what the transactions before committed stays."""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from pipeline.batches import finish_batch, start_batch
from pipeline.orders import Actor, ImportOutcome, import_records, stored_fingerprints
from pipeline.orders_import import (
    CHUNK_ROWS,
    Chunk,
    Export,
    OrderRecord,
    Outcome,
    Packed,
    RowError,
    Unchanged,
    check_chunk,
    flag_duplicates,
    pack,
    piece,
    read_export,
    unpack,
)
from pipeline.store.db import Store
from pipeline.store.models import BatchItem

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # stage, done, total
Checked = Outcome | Unchanged
STAGE = "import"
REJECTED = "rejected"
# From this many rows, worker processes (one per core) check rows too; below it, starting
# them costs more than they save.
PARALLEL_FROM_ROWS = 5_000
# Rows written in one transaction: each commit waits for the disk (SQLite's WAL, PostgreSQL's),
# and a larger one holds the write lock longer (about half a second on SQLite for 5,000).
COMMIT_ROWS = 5_000


@dataclass
class ImportReport:
    batch_id: int
    counts: dict[str, int]
    errors: list[RowError] = field(default_factory=list)


def import_orders(
    store: Store,
    data: bytes,
    filename: str,
    now: datetime,
    actor: str = "import",
    *,
    progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
    commit_rows: int = COMMIT_ROWS,
    workers: int | None = None,
) -> ImportReport:
    """Import an export. Raises ExportUnreadable, before any batch is started, when the file
    cannot be read as an export at all (not UTF-8, no header, not CSV).

    Rows are checked `chunk_rows` at a time (by `workers` processes for a large file) and
    written about `commit_rows` to a transaction."""

    def fingerprints(ids: Sequence[int]) -> dict[int, str]:
        with store.unit() as session:
            return stored_fingerprints(session, ids)

    with Checker(workers, fingerprints) as checker:
        export = read_export(data, filename, chunk_rows, checker.found)
        with store.unit() as session:
            batch_id = start_batch(session, "import", actor, now).id
        counts: Counter[str] = Counter()
        try:
            errors = _write(
                store, batch_id, export, checker, now, actor, commit_rows, counts, progress
            )
            with store.unit() as session:
                batch = finish_batch(session, batch_id, now, counts=counts)
                report = ImportReport(batch_id, dict(batch.counts), errors)
        except BaseException as exc:  # a crash, an interrupt: the batch ends failed, not running
            _finish_failed(store, batch_id, now, exc, counts)
            raise
    return report


def _write(
    store: Store,
    batch_id: int,
    export: Export,
    checker: Checker,
    now: datetime,
    actor: str,
    commit_rows: int,
    counts: Counter[str],
    progress: Progress | None,
) -> list[RowError]:
    """Every row checked and written, about `commit_rows` to a transaction; `counts` holds
    what the committed transactions did."""
    tell = progress or _silent
    who = Actor(actor, batch_id)
    errors: list[RowError] = []
    done = 0
    tell(STAGE, 0, export.rows)
    for outcomes in _together(checker.outcomes(export), commit_rows):
        with store.unit() as session:
            tally = write_chunk(session, batch_id, outcomes, who, now)
        counts.update(tally)
        errors.extend(o for o in outcomes if isinstance(o, RowError))
        done += len(outcomes)
        tell(STAGE, done, export.rows)
    return errors


def _together(chunks: Iterator[list[Checked]], rows: int) -> Iterator[list[Checked]]:
    """Chunks joined up to about `rows` rows: one transaction (one fsync) for each."""
    pending: list[Checked] = []
    for outcomes in chunks:
        pending.extend(outcomes)
        if len(pending) >= rows:
            yield pending
            pending = []
    if pending:
        yield pending


def write_chunk(
    session: Session, batch_id: int, outcomes: list[Checked], actor: Actor, now: datetime
) -> Counter[str]:
    """Write one chunk's rows and their batch items; returns the outcomes counted. A row
    imported unchanged is counted, not itemised: a re-import of 50,000 rows would otherwise
    record 50,000 items saying nothing happened."""
    records = [o for o in outcomes if isinstance(o, OrderRecord)]
    results = iter(import_records(session, records, actor, now))
    tally: Counter[str] = Counter()
    items: list[dict[str, Any]] = []
    for outcome in outcomes:
        if isinstance(outcome, Unchanged):  # a worker compared it already
            tally[ImportOutcome.UNCHANGED.value] += 1
            continue
        item = {"batch_id": batch_id, "item_type": "row", "item_ref": f"row {outcome.row}"}
        if isinstance(outcome, RowError):
            tally[REJECTED] += 1
            items.append({**item, "outcome": REJECTED, "detail": str(outcome), "order_id": None})
            continue
        result = next(results)
        tally[result.value] += 1
        if result is not ImportOutcome.UNCHANGED:
            items.append(
                {**item, "outcome": result.value, "detail": None, "order_id": outcome.order_id}
            )
    if items:
        table = BatchItem.metadata.tables[BatchItem.__tablename__]
        session.execute(insert(table), [{**item, "at": now} for item in items])
    return tally


class Checker:
    """Checks an export's chunks, in the file's order: in this process for a small file; for
    a large one also in worker processes (one per core), which start on the first chunks while
    the first pass still reads the rest and keep a few chunks ahead of the writer. When the
    next chunk's outcomes are not back yet, this process checks a chunk itself rather than
    wait. Pass `found` to read_export; close it (or use it as a context manager) to end the
    workers."""

    def __init__(
        self, workers: int | None = None, stored: Callable[[Sequence[int]], Any] | None = None
    ) -> None:
        """`stored`: the fingerprints the database holds for some order ids, given to the
        workers so that they send back only a word for the rows that are unchanged."""
        self.workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        self._stored = stored
        self._seen = 0
        self._pool: Any = None
        self._slots: deque[_Slot] = deque()  # every chunk not yet given out, in order
        self._in_flight = 0

    @property
    def parallel(self) -> bool:
        return self._pool is not None

    def found(self, layout: Export, chunk: Chunk) -> None:
        """read_export's hook: a chunk read (the duplicates are not known yet)."""
        self._seen += chunk.rows
        self._slots.append(_Slot(layout, chunk))
        if (
            self._pool is None
            and self.workers >= 2
            and self._seen >= PARALLEL_FROM_ROWS
            and "fork" in multiprocessing.get_all_start_methods()
        ):
            self._pool = multiprocessing.get_context("fork").Pool(self.workers)
        self._submit()

    def outcomes(self, export: Export) -> Iterator[list[Checked]]:
        """Each chunk's outcomes, duplicates refused, in the file's order."""
        if self._pool is None:
            for chunk in export.chunks:
                yield _here(export, chunk)
            return
        while self._slots:
            self._submit()
            head = self._slots[0]
            while head.sent is not None and not head.sent.ready() and self._check_one(export):
                pass
            slot = self._slots.popleft()
            if slot.sent is not None:
                self._in_flight -= 1
                slot.done = flag_duplicates(unpack(slot.sent.get()), export.duplicates)
            self._submit()
            yield slot.done if slot.done is not None else _here(export, slot.chunk)

    def _check_one(self, export: Export) -> bool:
        """Check here the first chunk nobody checks yet; False when there is none."""
        for slot in self._slots:
            if slot.sent is None and slot.done is None:
                slot.done = _here(export, slot.chunk)
                return True
        return False

    def _submit(self) -> None:
        if self._pool is None:
            return
        for slot in self._slots:
            if self._in_flight >= 2 * self.workers:
                return
            if slot.sent is None and slot.done is None:
                known = self._stored(slot.chunk.ids) if self._stored and slot.chunk.ids else {}
                alone, chunk = piece(slot.layout, slot.chunk)
                slot.sent = self._pool.apply_async(_check_piece, (alone, chunk, known))
                self._in_flight += 1

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> Checker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class _Slot:
    """A chunk on its way: waiting, sent to a worker, or checked here."""

    def __init__(self, layout: Export, chunk: Chunk) -> None:
        self.layout = layout
        self.chunk = chunk
        self.sent: Any = None  # the worker's AsyncResult
        self.done: list[Checked] | None = None


def _here(export: Export, chunk: Chunk) -> list[Checked]:
    """One chunk's outcomes, checked in this process."""
    return list[Checked](check_chunk(export, chunk))


def _check_piece(export: Export, chunk: Chunk, stored: Mapping[int, str]) -> Packed:
    """In a worker process: one chunk's outcomes, packed to travel back."""
    return pack(check_chunk(export, chunk), stored)


def _finish_failed(
    store: Store, batch_id: int, now: datetime, exc: BaseException, counts: Counter[str]
) -> None:
    error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    try:
        with store.unit() as session:
            finish_batch(session, batch_id, now, error, counts=counts)
    except Exception:
        log.exception(
            "import batch %s stopped (%s) and could not be marked failed", batch_id, error
        )


def _silent(_stage: str, _done: int, _total: int) -> None:
    return None
