"""One scheduler per database: two would poll the same mailbox and race for the same rows.
PostgreSQL: a session advisory lock, released by the server if the process dies. SQLite: an
exclusive lock on a file beside the database, released by the kernel likewise."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

LOCK_KEY = 0x70656366  # "pecf": the advisory lock's key, the same for every pecflow


class AlreadyRunning(Exception):
    """Another scheduler holds the lock; the message says where."""


@contextmanager
def only_instance(engine: Engine) -> Iterator[Callable[[], bool]]:
    """Hold the lock for the block; yields a check that it is still held (a PostgreSQL lock
    dies with its connection: a restarted server, a dropped link)."""
    url = make_url(str(engine.url))
    if url.get_backend_name() == "postgresql":
        with engine.connect() as conn:
            if not conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}):
                holder = conn.scalar(
                    text(
                        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = :key "
                        "AND granted LIMIT 1"
                    ),
                    {"key": LOCK_KEY},
                )
                raise AlreadyRunning(
                    f"another pecflow scheduler is running on database {url.database!r} "
                    f"(PostgreSQL advisory lock {LOCK_KEY} held by backend pid {holder})"
                )
            conn.commit()

            def held() -> bool:
                try:
                    mine = conn.scalar(
                        text(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                            "AND objid = :key AND granted AND pid = pg_backend_pid()"
                        ),
                        {"key": LOCK_KEY},
                    )
                    conn.commit()
                except SQLAlchemyError:
                    return False
                return bool(mine)

            try:
                yield held
            finally:
                with suppress(SQLAlchemyError):  # a dead connection has released it already
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                    conn.commit()
        return
    path = Path(f"{url.database or 'pecflow'}.scheduler.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise AlreadyRunning(
                f"another pecflow scheduler is running on {url.database} (lock file {path} "
                f"held by pid {holder})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield lambda: True  # a file lock lasts as long as the process
    finally:
        os.close(fd)
