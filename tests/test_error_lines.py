"""When the database or a data folder is wrong, the command stops with one line saying what
(exit 2): never a traceback, never "internal error", never the database password. Tried for
real: a PostgreSQL port nobody listens on, a database and a role that do not exist, a data
folder on a read-only file system, folders and files the command may not use (root without
its power over permissions), a full disk (tmpfs mounts of a few kilobytes)."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from config import Settings, load_settings
from pipeline.archive import Archive
from pipeline.services.error_lines import error_line
from tests.conftest import PG_URL, _empty_tables, free_port, run_pecflow

pytestmark = pytest.mark.integration  # `pecflow` subprocesses, PostgreSQL, tmpfs mounts

PASSWORD = "Segreto-Db-42"
PG = make_url(PG_URL)
PG_AT = f"{PG.host}:{PG.port or 5432}"
FULL = "0 MB free"


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one line of a command that could not do its work, without its 'pecflow: '."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("pecflow: ")
    return line.removeprefix("pecflow: ")


def _install(root: Path, data: Path, database_url: str = "") -> dict[str, str]:
    config = root / "pecflow.toml"
    config.write_text(f'[paths]\ndata_dir = "{data}"\n', encoding="utf-8")
    env = {"PECFLOW_CONFIG": str(config)}
    if database_url:
        env["PECFLOW_DATABASE__URL"] = database_url
    return env


def _postgres(user: str, database: str, port: int | None = None) -> str:
    url = PG.set(username=user, password=PASSWORD, database=database, port=port or PG.port)
    return url.render_as_string(hide_password=False)


# --- PostgreSQL -----------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("orders", "list"), ("db", "upgrade")])
def test_a_postgresql_nobody_listens_on(tmp_path: Path, command: tuple[str, ...]) -> None:
    port = free_port()
    env = _install(tmp_path, tmp_path / "data", _postgres("pecflow", "pecflow", port))
    assert _one_line(run_pecflow(*command, env=env)) == (
        f"database: cannot reach postgresql server at {PG.host}:{port} "
        "(database pecflow, user pecflow): connection refused"
    )


@pytest.mark.parametrize("command", [("orders", "list"), ("db", "upgrade")])
def test_a_database_that_does_not_exist(tmp_path: Path, command: tuple[str, ...]) -> None:
    name = f"pecflow_missing_{uuid.uuid4().hex[:8]}"
    env = _install(tmp_path, tmp_path / "data", _postgres(PG.username or "postgres", name))
    assert _one_line(run_pecflow(*command, env=env)) == (
        f"database: database {name} does not exist on {PG_AT}: create it, or fix database.url"
    )


def test_a_role_the_server_does_not_know_is_refused_authentication(tmp_path: Path) -> None:
    """The test server trusts every login, so a wrong password cannot be had from it; a role
    it does not have is refused at authentication just the same."""
    role = f"pecflow_nobody_{uuid.uuid4().hex[:8]}"
    env = _install(tmp_path, tmp_path / "data", _postgres(role, PG.database or "postgres"))
    assert _one_line(run_pecflow("orders", "list", env=env)) == (
        f"database: authentication refused by postgresql server at {PG_AT} for user {role} "
        f"(database {PG.database}): no such role"
    )


def _refused(message: str, url: str) -> str | None:
    """What the line is for libpq's words, as psycopg raises them through SQLAlchemy."""
    cause = psycopg.OperationalError(message)
    wrapped = OperationalError("SELECT 1", {}, cause)
    wrapped.__cause__ = cause
    return error_line(wrapped, Settings(database={"url": url}), connecting=True)


def test_a_wrong_password_and_unknown_words_are_told_without_the_password() -> None:
    url = f"postgresql+psycopg://pecflow:{PASSWORD}@db.example:6432/pecflow"
    at = 'connection failed: connection to server at "10.0.0.5", port 6432 failed: FATAL:  '
    assert _refused(at + 'password authentication failed for user "pecflow"', url) == (
        "database: authentication refused by postgresql server at db.example:6432 for user "
        "pecflow (database pecflow): wrong password"
    )
    assert _refused(at + "no pg_hba.conf entry for host", url) == (
        "database: authentication refused by postgresql server at db.example:6432 for user "
        "pecflow (database pecflow): no pg_hba.conf entry for this host, user and database"
    )
    # Words pecflow does not know are shown past libpq's preamble, any password masked.
    odd = _refused(at + f"something new about {PASSWORD}", url)
    assert odd == (
        "database: cannot connect to postgresql server at db.example:6432 (database pecflow, "
        "user pecflow): something new about ***"
    )
    assert error_line(OperationalError("SELECT 1", {}, psycopg.OperationalError("x")), None) is (
        None
    )


# --- SQLite and the data folder -------------------------------------------------------------


@contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(mode=0o700)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _read_only(mount: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)


def _fill(mount: Path) -> None:
    with (mount / "filler").open("wb", buffering=0) as filler, pytest.raises(OSError) as full:
        while True:
            filler.write(b"\0" * 4096)
    assert full.value.errno == errno.ENOSPC
    (mount / "filler").chmod(0o600)


def test_sqlite_in_a_read_only_data_folder(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "mnt", "1m") as mount:
        data = mount / "data"
        data.mkdir(mode=0o700)
        _read_only(mount)
        env = _install(tmp_path, data)
        for command in (("orders", "list"), ("db", "upgrade"), ("init", str(tmp_path))):
            assert _one_line(run_pecflow(*command, env=env, cwd=tmp_path)) == (
                f"database: cannot open {data}/pecflow.db: Read-only file system"
            ), command
        # A data folder that is missing, on a file system where it cannot be made.
        missing = _install(tmp_path, mount / "gone" / "data")
        assert _one_line(run_pecflow("orders", "list", env=missing)) == (
            f"data folder: cannot create {mount}/gone: Read-only file system"
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def outside_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A current database outside the data folder, so that the folder alone is wrong."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("pg_database")
        _empty_tables(url)
        return url
    url = f"sqlite:///{tmp_path / 'db' / 'pecflow.db'}"
    env = _install(tmp_path, tmp_path / "unused", url)
    assert run_pecflow("db", "upgrade", env=env).returncode == 0
    return url


def test_reports_in_a_read_only_data_folder(tmp_path: Path, outside_url: str) -> None:
    with _tmpfs(tmp_path / "mnt", "1m") as mount:
        data = mount / "data"
        data.mkdir(mode=0o700)
        _read_only(mount)
        env = _install(tmp_path, data, outside_url)
        assert _one_line(run_pecflow("report", "--date", "2026-11-19", env=env)) == (
            f"reports: cannot create {data}/reports: Read-only file system"
        )
        # The archive the same, in the words a command stopped by it would print.
        with pytest.raises(OSError) as refused:
            Archive(data / "archive").put(b"a message")
        assert error_line(refused.value, load_settings(tmp_path / "pecflow.toml")) == (
            f"archive: cannot create {data}/archive: Read-only file system"
        )


def _powerless(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """pecflow as root without the power to ignore permissions: as an ordinary user whose
    folders and files are not its own."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("no setpriv (util-linux) here")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PECFLOW_")}
    return subprocess.run(
        [setpriv, "--bounding-set=-dac_override,-dac_read_search",
         str(Path(sys.executable).with_name("pecflow")), *args],
        capture_output=True, text=True, timeout=120, check=False, env={**clean, **env},
    )  # fmt: skip


def test_a_data_folder_and_a_database_the_command_may_not_use(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root, to take its powers away")
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)  # nobody's
    env = _install(tmp_path, theirs / "data")
    assert _one_line(_powerless("orders", "list", env=env)) == (
        f"data folder: cannot create {theirs}/data: Permission denied"
    )
    ours = _install(tmp_path, tmp_path / "data")
    assert run_pecflow("db", "upgrade", env=ours).returncode == 0
    os.chown(tmp_path / "data" / "pecflow.db", 65534, 65534)
    for command in (("orders", "list"), ("db", "upgrade")):
        assert _one_line(_powerless(*command, env=ours)) == (
            f"database: cannot open {tmp_path}/data/pecflow.db: Permission denied"
        )


# --- a full disk ----------------------------------------------------------------------------


def test_sqlite_on_a_full_disk(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "mnt", "1m") as mount:
        env = _install(tmp_path, mount / "data")
        assert run_pecflow("db", "upgrade", env=env).returncode == 0
        _fill(mount)
        for command in (("orders", "list"), ("db", "upgrade")):
            assert _one_line(run_pecflow(*command, env=env)) == (
                f"disk full: cannot write {mount}/data/pecflow.db ({FULL} on {mount})"
            )


def test_reports_on_a_full_disk(tmp_path: Path, outside_url: str) -> None:
    reports = tmp_path / "data" / "reports"
    reports.parent.mkdir(mode=0o700)
    with _tmpfs(reports, "8k"):
        _fill(reports)
        env = _install(tmp_path, tmp_path / "data", outside_url)
        assert _one_line(run_pecflow("report", "--date", "2026-11-19", env=env)) == (
            f"disk full: cannot write {reports}/2026-11-19.png ({FULL} on {reports})"
        )


def test_the_archive_on_a_full_disk(tmp_path: Path) -> None:
    (tmp_path / "pecflow.toml").write_text('[paths]\ndata_dir = "data"\n', encoding="utf-8")
    settings = load_settings(tmp_path / "pecflow.toml")
    with _tmpfs(tmp_path / "data", "64k") as data:
        with pytest.raises(OSError) as full:
            Archive(settings.archive_dir).put(os.urandom(200_000))
        assert error_line(full.value, settings) == (
            f"disk full: cannot write {data}/archive ({FULL} on {data})"
        )


def test_a_full_disk_that_names_no_file_is_told_against_the_data_folder(tmp_path: Path) -> None:
    """/dev/full fails every write with ENOSPC, and a failed write() names no file."""
    (tmp_path / "pecflow.toml").write_text('[paths]\ndata_dir = "data"\n', encoding="utf-8")
    settings = load_settings(tmp_path / "pecflow.toml")
    with open("/dev/full", "wb", buffering=0) as device, pytest.raises(OSError) as full:
        device.write(b"x")
    assert full.value.errno == errno.ENOSPC and full.value.filename is None
    line = error_line(full.value, settings)
    assert line is not None
    assert re.fullmatch(rf"disk full: cannot write {tmp_path}/data \(\d+ MB free on /.*\)", line)


def test_what_is_not_known_stays_an_internal_error(tmp_path: Path) -> None:
    (tmp_path / "pecflow.toml").write_text('[paths]\ndata_dir = "data"\n', encoding="utf-8")
    settings = load_settings(tmp_path / "pecflow.toml")
    assert error_line(RuntimeError("a bug"), settings) is None
    assert error_line(KeyError("x"), settings) is None
    # A file that is not pecflow's: not for this to explain.
    assert error_line(PermissionError(errno.EACCES, "Permission denied", "/etc/x"), settings) is (
        None
    )
    assert error_line(PermissionError(errno.EACCES, "Permission denied", "/etc/x"), None) is None
    gone = FileNotFoundError(errno.ENOENT, "No such file or directory", str(tmp_path / "data/x"))
    assert error_line(gone, settings) == (
        f"data folder: cannot find {tmp_path}/data/x: No such file or directory"
    )


def test_a_run_whose_archive_fills_the_disk_stops_with_one_line(tmp_path: Path) -> None:
    """A full disk is the machine's trouble, not the dropped file's: the run closes its batch
    as failed with the line, stops (exit 2), and the file waits in the drop folder."""
    env = _install(tmp_path, tmp_path / "data")
    (tmp_path / "drop").mkdir()
    with (tmp_path / "pecflow.toml").open("a", encoding="utf-8") as config:
        config.write(f'drop_folder = "{tmp_path / "drop"}"\n')
    assert run_pecflow("db", "upgrade", env=env).returncode == 0
    with _tmpfs(tmp_path / "data" / "archive", "64k") as archive:
        (tmp_path / "drop" / "contabile.pdf").write_bytes(os.urandom(200_000))
        done = run_pecflow("run", "--once", env=env)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        *_, last = done.stderr.splitlines()  # the run's log lines, then the one line
        line = f"disk full: cannot write {archive} ({FULL} on {archive})"
        assert last == f"pecflow: {line}"
        assert "internal error" not in done.stderr
    assert (tmp_path / "drop" / "contabile.pdf").exists(), "nothing is lost"
    batches = run_pecflow("batches", "list", "--json", env=env)
    [run] = [b for b in json.loads(batches.stdout) if b["kind"] == "run"]
    assert (run["status"], run["error"]) == ("failed", line)
