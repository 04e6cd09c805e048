"""Real parts for the tests: SQLite and PostgreSQL databases, an SMTP server on loopback; and
the two tiers the tests fall into (see "The tiers" below)."""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from parsers import tesseract
from pipeline.store.db import make_engine, upgrade
from pipeline.store.models import Base

PG_URL = os.environ.get(
    "PECFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


# The tiers. `pytest -m unit` runs the fast tier: pure rules, parsers on bytes in memory,
# templates, the docgen generators; every other test is marked `integration` (`-m "not unit"`).
# A test is integration when it uses one of OUTSIDE_FIXTURES, directly or through another
# fixture (`workspace`, `mailbox`, `imap_ws` ...), or is marked `@pytest.mark.integration`
# (Tesseract, a `pecflow` subprocess, a server of its own) or `@pytest.mark.slow` (pure, but a
# second or more); any other test is unit.
OUTSIDE_FIXTURES = frozenset({"db_url", "pg_database", "smtp_server", "dovecot"})


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        outside = sorted(OUTSIDE_FIXTURES.intersection(getattr(item, "fixturenames", ())))
        marked = [m for m in ("integration", "slow") if item.get_closest_marker(m)]
        if (outside or marked) and item.get_closest_marker("unit"):
            why = ", ".join([*outside, *(f"@pytest.mark.{m}" for m in marked)])
            raise pytest.UsageError(f"{item.nodeid} is marked unit but has {why}")
        item.add_marker(pytest.mark.integration if outside or marked else pytest.mark.unit)


class OutsideCalled(AssertionError):
    """A unit test reached past the process: it belongs in the integration tier."""


@pytest.fixture(autouse=True)
def _unit_tests_stay_inside(request: pytest.FixtureRequest) -> Iterator[None]:
    """A unit test may not open a network connection, a database (SQLite included), a
    program (`pecflow`) or Tesseract (its library, in the process): each raises
    OutsideCalled naming it. The sandbox's own forked workers and their pipes are the
    process's own and stay allowed."""
    if request.node.get_closest_marker("unit") is None:
        yield
        return

    def refused(what: str) -> Any:
        def refuse(*_args: Any, **_kwargs: Any) -> Any:
            raise OutsideCalled(f"a unit test used {what}: mark it integration")

        return refuse

    connect = socket.socket.connect

    def local_only(sock: socket.socket, address: Any) -> Any:
        if sock.family == socket.AF_UNIX:
            return connect(sock, address)
        raise OutsideCalled(f"a unit test connected to {address!r}: mark it integration")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", local_only)
        patch.setattr(socket.socket, "connect_ex", local_only)
        patch.setattr(sqlite3, "connect", refused("SQLite"))
        patch.setattr(subprocess, "Popen", refused("a program (subprocess)"))
        patch.setattr(tesseract, "_engine", refused("Tesseract"))
        yield


def _pg_admin(url: str) -> psycopg.Connection[Any]:
    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        dbname=parsed.database,
        autocommit=True,
        connect_timeout=5,
    )


@pytest.fixture(autouse=True)
def _umask_kept() -> Iterator[None]:
    """A command run in this process sets umask 077 for itself (jobs/cli.py); the tests after
    it keep the umask they started with."""
    umask = os.umask(0o077)
    os.umask(umask)
    yield
    os.umask(umask)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A migrated database of its own on the test PostgreSQL, dropped at the end."""
    name = f"pecflow_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = _pg_admin(PG_URL)
    except psycopg.OperationalError as exc:
        pytest.fail(f"no PostgreSQL at {PG_URL} ({exc}); run the tests with scripts/test.sh")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with _pg_admin(PG_URL) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_tables(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        conn.execute(text("DROP TABLE IF EXISTS apscheduler_jobs"))  # the scheduler's own
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'pecflow.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        return url
    url: str = request.getfixturevalue("pg_database")
    _empty_tables(url)
    return url


@dataclass
class Mailbox:
    """What the loopback SMTP server received."""

    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server (aiosmtpd) on a loopback port, recording what it accepts."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@dataclass
class Workspace:
    """A pecflow installation in a temporary folder, driven through its command line."""

    root: Path
    config: Path
    drop: Path
    env: dict[str, str]

    def cli(self, *args: str, stdin: str | None = None) -> Any:
        from jobs.cli import UserError, app

        runner = CliRunner()
        umask = os.umask(0o077)  # the command sets 077 for itself; the tests keep their own
        try:
            result = runner.invoke(
                app, ["--config", str(self.config), *args], env=self.env, input=stdin
            )
        finally:
            os.umask(umask)
        logging.getLogger().handlers.clear()  # they wrote to the runner's stream, now closed
        if isinstance(result.exception, UserError):
            result.exit_code = 2
        elif result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result


@pytest.fixture
def workspace(tmp_path: Path, db_url: str, smtp_server: tuple[Mailbox, int]) -> Workspace:
    _, port = smtp_server
    config = tmp_path / "pecflow.toml"
    config.write_text(
        f'[paths]\ndata_dir = "data"\ndrop_folder = "drop"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\ntimeout_seconds = 5\n',
        encoding="utf-8",
    )
    (tmp_path / "drop").mkdir()
    return Workspace(tmp_path, config, tmp_path / "drop", {"PECFLOW_DATABASE__URL": db_url})


@pytest.fixture
def mailbox(smtp_server: tuple[Mailbox, int]) -> Mailbox:
    return smtp_server[0]


@pytest.fixture
def ws_mail(workspace: Workspace, mailbox: Mailbox) -> tuple[Workspace, Mailbox]:
    return workspace, mailbox


def run_pecflow(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, umask: int = -1
) -> subprocess.CompletedProcess[str]:
    """The installed console script, as an operator runs it; no PECFLOW_* leaks in from outside.
    `umask`: the one it starts with (-1: this process's)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PECFLOW_")}
    return subprocess.run(
        [str(Path(sys.executable).with_name("pecflow")), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env={**clean, **(env or {})},
        umask=umask,
    )


@pytest.fixture
def dovecot() -> Iterator[Any]:
    """A real Dovecot on a loopback port, with an empty mail store, for one test."""
    from tests.dovecot import Dovecot

    server = Dovecot().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def imap_ws(workspace: Workspace, dovecot: Any, mailbox: Mailbox) -> tuple[Workspace, Any, Mailbox]:
    """A workspace reading the Dovecot mailbox."""
    workspace.env.update(dovecot.pecflow_env(), PECFLOW_IMAP__TIMEOUT_SECONDS="5")
    return workspace, dovecot, mailbox


class Killed(BaseException):
    """A crash: not an Exception, so nothing in pecflow catches it."""
