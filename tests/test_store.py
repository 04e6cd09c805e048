"""The schema the migrations build is the one the models describe, on both databases."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from pipeline.store.db import _alembic_config, make_engine, upgrade
from pipeline.store.models import Base


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
