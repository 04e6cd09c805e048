"""`pecflow orders import`: the file read whole first (refused whole, before any batch, when it
cannot be read as an export), then its rows checked a chunk at a time (in worker processes for
a large file) and written a few chunks to a transaction, one batch for the file. The batch is
never left `running`: whatever stops the import (a worker process killed too) finishes it as
failed, with the error, and what the transactions before committed stays."""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import BrokenExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pebble import ProcessExpired, ProcessFuture, ProcessPool
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from pipeline.batches import finish_batch, start_batch
from pipeline.orders import Actor, ImportOutcome, import_records
from pipeline.orders_import import (
    CHUNK_ROWS,
    Chunk,
    Export,
    OrderRecord,
    Outcome,
    RowError,
    check_chunk,
    piece,
    read_export,
)
from pipeline.store.db import Store
from pipeline.store.models import BatchItem

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
        ahead = max(1, commit_rows // chunk_rows)
        with checked_chunks(export, workers, ahead, store.engine) as checked:
            errors = _write(
                store, batch_id, export, checked, now, actor, commit_rows, counts, progress
            )
        with store.unit() as session:
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
    session: Session, batch_id: int, outcomes: list[Outcome], actor: Actor, now: datetime
) -> Counter[str]:
    """Write one chunk's rows and their batch items; returns the outcomes counted. A row
    imported unchanged is counted, not itemised: a re-import of 50,000 rows would otherwise
    record 50,000 items saying nothing happened."""
    records = [o for o in outcomes if isinstance(o, OrderRecord)]
    results = iter(import_records(session, records, actor, now))
    tally: Counter[str] = Counter()
    items: list[dict[str, Any]] = []
    for outcome in outcomes:
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


@contextmanager
def checked_chunks(
    export: Export, workers: int, ahead: int, engine: Engine
) -> Iterator[Iterator[list[Outcome]]]:
    """Each chunk's outcomes, in the file's order: checked in this process for a small file,
    in `workers` processes for a large one (see _in_order). The workers are forked now, when
    the first pass has found the duplicates, with no database connection open (`engine`'s
    are closed first), and stopped on leaving."""
    if (
        workers < 2
        or export.rows < PARALLEL_FROM_ROWS
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        yield (check_chunk(export, chunk) for chunk in export.chunks)
        return
    engine.dispose()
    pool = ProcessPool(
        workers, initializer=_worker_start, context=multiprocessing.get_context("fork")
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
    try:
        for start in range(0, len(export.chunks), ahead):
            given = _give(pool, export, export.chunks[start : start + ahead])
            yield from (future.result(CHUNK_SECONDS) for future in taken)
            taken = given
        yield from (future.result(CHUNK_SECONDS) for future in taken)
    except (ProcessExpired, BrokenExecutor, TimeoutError) as exc:
        raise _lost(exc) from exc


def _give(
    pool: ProcessPool, export: Export, chunks: Sequence[Chunk]
) -> list[ProcessFuture[list[Outcome]]]:
    try:
        return [pool.schedule(_check_piece, (piece(export, chunk),)) for chunk in chunks]
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


def _worker_start() -> None:
    """A worker process, just forked, leaves alone the standard streams it shares with this
    one (it ignores Ctrl-C already: that is this process's to handle): a lock on them that
    this process's progress-bar thread held at the fork would stop it for good when it
    flushes them at its end."""
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (for the process's life)


def _check_piece(part: tuple[Export, Chunk]) -> list[Outcome]:
    """In a worker process: one chunk's outcomes."""
    return check_chunk(*part)


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
