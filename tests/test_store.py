"""The schema the migrations build is the one the models describe, on both databases, and
its CHECK constraints hold."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, Engine, inspect, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipeline.rules.states import OrderState
from pipeline.rules.statuses import (
    BatchStatus,
    MessageOutcome,
    OrderType,
    OutboxStatus,
    PaymentStatus,
    ReviewStatus,
)
from pipeline.store.db import _alembic_config, make_engine, upgrade
from pipeline.store.models import (
    Base,
    Batch,
    Message,
    Order,
    OutboxMessage,
    Payment,
    ReviewItem,
)


def test_the_migrations_build_the_schema_the_models_describe(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert differences == []


def test_the_revision_every_command_checks_is_the_newest_migration(db_url: str) -> None:
    """Commands check the schema against HEAD_REVISION without loading Alembic: it must be
    the head of the migrations (a new migration bumps it), and what a database upgraded to
    head records, as pecflow reads it without Alembic."""
    from pipeline.store.db import HEAD_REVISION, check_schema, current_revision, head_revision

    assert head_revision() == HEAD_REVISION
    engine = make_engine(db_url)
    assert current_revision(engine) == HEAD_REVISION
    check_schema(engine)
    engine.dispose()


def _one_row_each(engine: Engine) -> None:
    """A valid row in each table that has a status column."""
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        session.add(
            Order(
                id=3454898,
                order_type=OrderType.NEW_MAILBOX,
                product="standard",
                created_at=now,
                email="mario.rossi@example.it",
                mailbox="mario.rossi@legalmail.it",
                payment_method="bonifico",
                net_amount=Decimal("20.00"),
                vat_rate=Decimal("22.00"),
                total_amount=Decimal("24.40"),
                payment_status="pending",
                state=OrderState.AWAITING_PAYMENT,
                state_changed_at=now,
                export_fingerprint="f",
                imported_at=now,
                updated_at=now,
            )
        )
        session.add(Batch(kind="run", status=BatchStatus.RUNNING, started_at=now, actor="test"))
        message = Message(
            source="drop",
            source_id="a.eml",
            sha256="0" * 64,
            size=1,
            raw_format="rfc822",
            received_at=now,
            ingested_at=now,
            outcome=MessageOutcome.RECEIVED,
        )
        session.add(message)
        session.flush()
        session.add(
            Payment(
                message_id=message.id,
                fingerprint="f",
                status=PaymentStatus.REVIEW,
                received_at=now,
            )
        )
        session.add(
            ReviewItem(reason="no_code", detail="d", status=ReviewStatus.OPEN, created_at=now)
        )
        session.add(
            OutboxMessage(
                idempotency_key="k",
                kind="payment_received",
                to_address="mario.rossi@example.it",
                subject="s",
                body_text="t",
                message_id_header="<m@example.it>",
                status=OutboxStatus.PENDING,
                created_at=now,
            )
        )


@pytest.mark.parametrize(
    ("model", "column"),
    [
        (Order, "order_type"),
        (Batch, "status"),
        (Message, "outcome"),
        (Payment, "status"),
        (ReviewItem, "status"),
        (OutboxMessage, "status"),
    ],
)
def test_the_database_refuses_a_status_outside_its_enum(
    db_url: str, model: type[Base], column: str
) -> None:
    engine = make_engine(db_url)
    _one_row_each(engine)
    with engine.begin() as conn, pytest.raises(IntegrityError, match=f"ck_\\w+_{column}"):
        conn.execute(update(model).values({column: "bogus"}))
    engine.dispose()


def _listed(sqltext: str) -> set[str]:
    """The values a CHECK constraint lists, however the database wrote it back (PostgreSQL
    rewrites the IN as `= ANY (ARRAY[...])`)."""
    return set(re.findall(r"'([^']*)'", sqltext))


def test_the_migrations_add_the_checks_the_models_declare(db_url: str) -> None:
    """compare_metadata does not look at CHECK constraints: compared here, values included."""
    engine = make_engine(db_url)
    inspector = inspect(engine)
    tables = Base.metadata.sorted_tables
    migrated = {
        check["name"]: _listed(check["sqltext"])
        for table in tables
        for check in inspector.get_check_constraints(table.name)
    }
    engine.dispose()
    declared = {
        check.name: _listed(str(check.sqltext))
        for table in tables
        for check in table.constraints
        if isinstance(check, CheckConstraint)
    }
    assert migrated == declared
    assert len(declared) == 7  # 0010's six (the statuses, the order type), 0011's user role


def test_a_sqlite_database_with_rows_is_migrated(tmp_path: Path) -> None:
    """Batch mode copies a table and drops the old one, which SQLite refuses while rows of
    other tables refer to it (documents in 0006; messages, payments... since), unless the
    migrations run with foreign keys off; they are on again after."""
    engine = make_engine(f"sqlite:///{tmp_path / 'pecflow.db'}")
    command.upgrade(_alembic_config(engine), "0005")
    with engine.begin() as conn:
        for statement in (
            "INSERT INTO messages (id, source, source_id, sha256, size, raw_format, received_at,"
            " ingested_at, outcome, facts) VALUES (1, 'drop', 'a.eml', 's', 1, 'rfc822',"
            " '2026-11-27 09:00:00', '2026-11-27 09:00:00', 'review', '{}')",
            "INSERT INTO documents (id, message_id, part_index, media_type, size, sha256, kind,"
            " status, facts, text_method) VALUES (1, 1, 0, 'application/pdf', 1, 's',"
            " 'payment_receipt', 'read', '{}', 'pdf_text')",
            "INSERT INTO payments (id, message_id, document_id, fingerprint, currency, codes,"
            " status, received_at) VALUES (1, 1, 1, 'f', 'EUR', '[]', 'duplicate',"
            " '2026-11-27 09:00:00')",
            "INSERT INTO review_items (reason, detail, status, message_id, document_id,"
            " payment_id, created_at) VALUES ('duplicate', 'd', 'open', 1, 1, 1,"
            " '2026-11-27 09:00:00')",
        ):
            conn.execute(text(statement))
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM review_items WHERE payment_id = 1")) == 1
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        assert conn.scalar(text("PRAGMA foreign_keys")) == 1
    engine.dispose()
