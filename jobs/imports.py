"""`pecflow orders import`: each row validated, good rows imported, one batch for the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pipeline.batches import finish_batch, record_item, start_batch
from pipeline.orders import Actor, import_record
from pipeline.orders_import import RowError, read_rows, validate_row
from pipeline.store.db import Store


@dataclass
class ImportReport:
    batch_id: int
    counts: dict[str, int]
    errors: list[RowError] = field(default_factory=list)


def import_orders(
    store: Store, data: bytes, filename: str, now: datetime, actor: str = "import"
) -> ImportReport:
    with store.unit() as session:
        batch_id = start_batch(session, "import", actor, now).id
    errors: list[RowError] = []
    for number, raw in read_rows(data, filename):
        result = validate_row(number, raw)
        with store.unit() as session:
            if isinstance(result, RowError):
                errors.append(result)
                record_item(
                    session, batch_id, "row", f"row {number}", "rejected", now, detail=str(result)
                )
                continue
            outcome = import_record(session, result, Actor(actor, batch_id), now)
            record_item(
                session,
                batch_id,
                "row",
                f"row {number}",
                outcome.value,
                now,
                order_id=result.order_id,
            )
    with store.unit() as session:
        batch = finish_batch(session, batch_id, now)
        return ImportReport(batch_id, dict(batch.counts), errors)
