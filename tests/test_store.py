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
