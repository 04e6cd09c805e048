"""A database of a bench's own for one run: SQLite in its folder, or a PostgreSQL database
created on the server given and dropped after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url


@contextmanager
def scratch_database(server: str | None, folder: Path) -> Iterator[str]:
    """SQLite in the folder, or a PostgreSQL database of the bench's own on the server."""
    if server is None:
        yield f"sqlite:///{folder / 'data' / 'pecflow.db'}"
        return
    name = f"pecflow_bench_{uuid.uuid4().hex[:10]}"
    admin = make_url(server)
    with psycopg.connect(host=admin.host, port=admin.port or 5432, user=admin.username,
                         dbname=admin.database, autocommit=True) as conn:  # fmt: skip
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(host=admin.host, port=admin.port or 5432, user=admin.username,
                             dbname=admin.database, autocommit=True) as conn:  # fmt: skip
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
