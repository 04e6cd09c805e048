"""Engine, sessions and the schema check that runs before any command touches data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from pipeline.rendering import RENDERER

if TYPE_CHECKING:
    from alembic.config import Config

    from pipeline.rendering import Renderer

MIGRATIONS = Path(__file__).with_name("migrations")
# The schema revision this pecflow needs, the newest migration's: every command checks it
# without loading Alembic (a third of a second of each start); a test keeps the two equal.
HEAD_REVISION = "0013"


class SchemaOutOfDate(Exception):
    """The database is not at the schema this pecflow needs."""


def make_engine(url: str) -> Engine:
    """`hide_parameters`: a failed statement's text, kept in a batch's error or a log, never
    carries the row's values (names, tax codes)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # SQLAlchemy's recipe: let it emit BEGIN itself, so savepoints (dry runs) work on SQLite.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE: take the write lock up front, waiting (timeout) for it. A deferred BEGIN that
    # reads and then writes fails at once with "database is locked" when another connection
    # (the scheduler's job store, a second worker) wrote in between.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the schema to head; returns the revisions before and after."""
    from alembic import command

    before = current_revision(engine)
    command.upgrade(_alembic_config(engine), "head")
    return before, current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    """The revision Alembic recorded (its `alembic_version` table), None on an empty database."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.scalar(text("SELECT version_num FROM alembic_version"))


def head_revision() -> str | None:
    """The newest migration's revision, as Alembic reads the scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def check_schema(engine: Engine) -> None:
    current, head = current_revision(engine), HEAD_REVISION
    if current != head:
        state = "empty" if current is None else f"at revision {current}"
        raise SchemaOutOfDate(
            f"the database schema is {state}, this pecflow needs {head}: run `pecflow db upgrade`"
        )


class Store:
    """Units of work over one database; a dry store rolls every unit back at the end. Each
    unit's session carries the renderer the shell handed in (pipeline.rendering)."""

    def __init__(
        self, engine: Engine, *, dry_run: bool = False, renderer: Renderer | None = None
    ) -> None:
        self.engine = engine
        self.dry_run = dry_run
        info = {RENDERER: renderer} if renderer is not None else {}
        self._factory = sessionmaker(engine, expire_on_commit=False, info=info)
        self._dry_session: Session | None = None

    @contextmanager
    def unit(self) -> Iterator[Session]:
        """One unit of work: committed whole or not at all (in a dry run, a savepoint)."""
        if not self.dry_run:
            with self._factory() as session, session.begin():
                yield session
            return
        if self._dry_session is None:
            self._dry_session = self._factory()
            self._dry_session.begin()
        with self._dry_session.begin_nested():
            yield self._dry_session

    def close(self) -> None:
        if self._dry_session is not None:
            self._dry_session.rollback()
            self._dry_session.close()
            self._dry_session = None


def open_store(url: str, *, dry_run: bool = False, renderer: Renderer | None = None) -> Store:
    """A store on a database whose schema is current; raises SchemaOutOfDate otherwise."""
    engine = make_engine(url)
    check_schema(engine)
    return Store(engine, dry_run=dry_run, renderer=renderer)
