"""Alembic environment: runs on the engine pecflow hands over, never on a URL of its own.

On SQLite, batch mode changes a table by copying it and dropping the old one, which SQLite
refuses while rows of other tables refer to it: foreign keys are off while the migrations run
(a pragma SQLite ignores inside a transaction, so it is set before), and checked before they
commit.
"""

from alembic import context

from pipeline.store.models import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    raw = connection.connection.driver_connection
    if sqlite:
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            context.run_migrations()
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all() if sqlite else []
            if broken:
                raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
    finally:
        if sqlite:
            raw.execute("PRAGMA foreign_keys=ON")
