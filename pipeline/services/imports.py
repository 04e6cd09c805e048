"""`pecflow orders import`: the file read whole first (refused whole, before any batch, when it
cannot be read as an export), the fingerprints of the orders it names read once, then its rows
checked a chunk at a time (in worker processes for a large file, which send back only a marker
for a row unchanged) and written a few chunks to a transaction, one batch for the file. The batch is
never left `running`: whatever stops the import (a worker process killed too) finishes it as
failed, with the error, and what the transactions before committed stays."""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import BrokenExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pebble import ProcessExpired, ProcessFuture, ProcessPool
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pipeline.batches import finish_batch, start_batch
from pipeline.orders import (
    Actor,
    ImportOutcome,
    import_records,
    marked_unchanged,
    record_row_hashes,
    stored_exports,
)
from pipeline.rules.orders_import import (
    CHUNK_ROWS,
    Export,
    OrderRecord,
    Outcome,
    RowError,
    Stored,
    Unchanged,
    check_chunk,
    read_export,
)
from pipeline.store.bulk import insert_rows, refresh_statistics
from pipeline.store.db import Store
from pipeline.store.models import BatchItem, Order

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # stage, done, total
STAGE = "import"
REJECTED = "rejected"
# From this many rows, worker processes check the rows (two; none on a single core); below it,
# starting them costs more than they save.
PARALLEL_FROM_ROWS = 5_000
WORKERS = min(2, os.cpu_count() or 1)
# A chunk takes a worker about a tenth of a second: when the next one to write has not come
# back after this long, the workers are in trouble and the import stops.
CHUNK_SECONDS = 60.0
# Rows written in one transaction: each commit waits for the disk (SQLite's WAL, PostgreSQL's),
# and a larger one holds the write lock longer (about half a second on SQLite for 5,000).
COMMIT_ROWS = 5_000
# From this many orders created, the database's planner is told of them at the end.
STATISTICS_FROM_ROWS = 1_000


class WorkerLost(RuntimeError):
    """A worker process checking the rows died or stopped answering: the import stops."""


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
    workers: int = WORKERS,
) -> ImportReport:
    """Import an export. Raises ExportUnreadable, before any batch is started, when the file
    cannot be read as an export at all (not UTF-8, no header, not CSV).

    Rows are checked `chunk_rows` at a time (by `workers` processes for a large file) and
    written about `commit_rows` to a transaction."""
    export = read_export(data, filename, chunk_rows)
    with store.unit() as session:
        batch_id = start_batch(session, "import", actor, now).id
    counts: Counter[str] = Counter()
    try:
        with store.unit() as session:
            stored = stored_exports(session, export.order_ids())
        ahead = max(1, commit_rows // chunk_rows)
        with checked_chunks(export, stored, workers, ahead, store.engine) as checked:
            errors = _write(
                store, batch_id, export, checked, now, actor, commit_rows, counts, progress
            )
        with store.unit() as session:
            if counts[ImportOutcome.CREATED.value] >= STATISTICS_FROM_ROWS:
                refresh_statistics(session, Order.metadata.tables[Order.__tablename__])
            batch = finish_batch(session, batch_id, now, counts=counts)
            return ImportReport(batch_id, dict(batch.counts), errors)
    except BaseException as exc:  # a crash, an interrupt: the batch ends failed, not running
        _finish_failed(store, batch_id, now, exc, counts)
        raise


def _write(
    store: Store,
    batch_id: int,
    export: Export,
    checked: Iterator[list[Outcome]],
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
    for outcomes in _together(checked, commit_rows):
        with store.unit() as session:
            tally = write_chunk(session, batch_id, outcomes, who, now)
        counts.update(tally)
        errors.extend(o for o in outcomes if isinstance(o, RowError))
        done += len(outcomes)
        tell(STAGE, done, export.rows)
    return errors


def _together(chunks: Iterator[list[Outcome]], rows: int) -> Iterator[list[Outcome]]:
    """Chunks joined up to about `rows` rows: one transaction (one fsync) for each."""
    pending: list[Outcome] = []
    for outcomes in chunks:
        pending.extend(outcomes)
        if len(pending) >= rows:
            yield pending
            pending = []
    if pending:
        yield pending


def write_chunk(
    session: Session,
    batch_id: int,
    outcomes: list[Outcome],
    actor: Actor,
    now: datetime,
) -> Counter[str]:
    """Write one chunk's rows and their batch items; returns the outcomes counted. A row
    imported unchanged is counted, not itemised: a re-import of 50,000 rows would otherwise
    record 50,000 items saying nothing happened."""
    records = [o for o in outcomes if isinstance(o, OrderRecord)]
    results = iter(import_records(session, records, actor, now))
    record_row_hashes(session, [o for o in outcomes if isinstance(o, Unchanged)])
    tally: Counter[str] = Counter()
    items: list[dict[str, Any]] = []
    for outcome in outcomes:
        if isinstance(outcome, Unchanged):
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
    table = BatchItem.metadata.tables[BatchItem.__tablename__]
    insert_rows(session, table, [{**item, "at": now} for item in items])
    return tally


@contextmanager
def checked_chunks(
    export: Export, stored: Mapping[int, Stored], workers: int, ahead: int, engine: Engine
) -> Iterator[Iterator[list[Outcome]]]:
    """Each chunk's outcomes, in the file's order, a row `stored` shows unchanged as its
    marker: checked in this process for a small file, in `workers` processes for a large one
    (see _in_order). The workers are forked now, when the first pass has found the duplicates
    and `stored` is read: they have both from the fork and are sent only a chunk's number.
    No database connection is open in them (`engine`'s are closed first); they are stopped on
    leaving."""
    if (
        workers < 2
        or export.rows < PARALLEL_FROM_ROWS
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        yield (_checked(export, stored, number) for number in range(len(export.chunks)))
        return
    engine.dispose()
    pool = ProcessPool(
        workers,
        initializer=_worker_start,
        initargs=(export, stored),
        context=multiprocessing.get_context("fork"),
    )
    try:
        yield _in_order(pool, export, ahead)
    finally:
        pool.stop()
        pool.join()


def _in_order(pool: ProcessPool, export: Export, ahead: int) -> Iterator[list[Outcome]]:
    """The chunks given to the workers `ahead` at a time, the next ones while these are
    taken: the workers need not wait for the writer, and when it is the slower they hold the
    outcomes of at most twice `ahead` chunks, not the whole file's.

    A worker that dies (killed, out of memory) or stops answering raises WorkerLost: pebble
    notices a death whatever the pipes hold, where concurrent.futures waits for ever on the
    outcomes of a worker killed while it sends them, and no chunk is waited for longer than
    CHUNK_SECONDS."""
    taken: list[ProcessFuture[list[Outcome]]] = []
    count = len(export.chunks)
    try:
        for start in range(0, count, ahead):
            given = _give(pool, range(start, min(start + ahead, count)))
            yield from (future.result(CHUNK_SECONDS) for future in taken)
            taken = given
        yield from (future.result(CHUNK_SECONDS) for future in taken)
    except (ProcessExpired, BrokenExecutor, TimeoutError) as exc:
        raise _lost(exc) from exc


def _give(pool: ProcessPool, numbers: Sequence[int]) -> list[ProcessFuture[list[Outcome]]]:
    try:
        return [pool.schedule(_check_in_worker, (number,)) for number in numbers]
    except RuntimeError as exc:  # pebble's word for a pool broken (by a worker's death)
        raise _lost(exc) from exc


def _lost(exc: BaseException) -> WorkerLost:
    if isinstance(exc, ProcessExpired):
        why = f"stopped (exit code {exc.exitcode}: killed, or out of memory?)"
    elif isinstance(exc, TimeoutError):
        why = f"did not answer for {CHUNK_SECONDS:g} s"
    else:
        why = f"failed ({exc})"
    return WorkerLost(f"a worker process checking the rows {why}: import the file again")


# In a worker process: the export and what the orders it names keep of it, from the fork.
_given: tuple[Export, Mapping[int, Stored]] | None = None


def _worker_start(export: Export, stored: Mapping[int, Stored]) -> None:
    """A worker process, just forked, keeps what it was given and leaves alone the standard
    streams it shares with this one (it ignores Ctrl-C already: that is this process's to
    handle): a lock on them that this process's progress-bar thread held at the fork would
    stop it for good when it flushes them at its end."""
    global _given
    _given = (export, stored)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (for the process's life)


def _check_in_worker(number: int) -> list[Outcome]:
    assert _given is not None, "a worker process starts with _worker_start"
    return _checked(*_given, number)


def _checked(export: Export, stored: Mapping[int, Stored], number: int) -> list[Outcome]:
    """The outcomes of the export's chunk `number`: a row whose hash or fingerprint is the
    one stored, Unchanged."""
    return marked_unchanged(check_chunk(export, export.chunks[number], stored), stored)


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
