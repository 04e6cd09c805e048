"""The schema the migrations build is the one the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pipeline.store.db import make_engine
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
