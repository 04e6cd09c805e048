"""What stops a command, in one line ops can act on: the database unreachable, refusing the
login or missing; a data folder read-only, missing or not ours to use; a full disk.

`error_line(exc, settings)` recognises these among an exception and its causes and says what
is wrong; anything else is None and stays an internal error (its traceback under -v). A line
names hosts, ports, users, databases and paths, never a password: a PostgreSQL error is told in
pecflow's words from the settings' URL, and the server's own words, where shown, are masked.
"""

from __future__ import annotations

import errno
import getpass
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from config import Settings
from pipeline.private_files import SQLITE_COMPANIONS, sqlite_path

MB = 1024 * 1024
NEARLY_FULL = MB  # SQLite says "disk I/O error" when the -shm cannot grow on a full disk
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
NOT_OURS = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR)

# PostgreSQL's (libpq's) words -> (what went wrong, pecflow's words for the reason).
_POSTGRES: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(p, re.IGNORECASE), kind, reason)
    for p, kind, reason in (
        (r"connection refused", "unreachable", "connection refused"),
        (r"timeout expired|timed out", "unreachable", "timed out"),
        (
            r"could not translate host name|failed to resolve host|name or service not known"
            r"|no address associated|nodename nor servname",
            "unreachable",
            "unknown host name",
        ),
        (r"no route to host", "unreachable", "no route to host"),
        (r"network is unreachable", "unreachable", "network is unreachable"),
        (r"socket \".*\" failed: no such file or directory", "unreachable", "no server socket"),
        (r"database \".*\" does not exist", "missing", ""),
        (r"password authentication failed", "auth", "wrong password"),
        (r"role \".*\" does not exist", "auth", "no such role"),
        (r"no password supplied", "auth", "the server wants a password and none was given"),
        (r"no pg_hba\.conf entry", "auth", "no pg_hba.conf entry for this host, user and database"),
        (r"(peer|ident|gss|sspi|ldap|radius|cert) authentication failed", "auth", ""),
        (r"authentication failed", "auth", "authentication failed"),
        (r"permission denied for database", "auth", "no CONNECT privilege on the database"),
        (r"too many clients|remaining connection slots", "busy", "too many clients"),
        (
            r"the database system is (starting up|shutting down|in recovery mode"
            r"|not yet accepting connections|not accepting connections)",
            "busy",
            "",
        ),
        (
            r"server closed the connection unexpectedly|terminating connection"
            r"|connection is (closed|lost)|consuming input failed|connection has been closed",
            "lost",
            "the server closed the connection",
        ),
    )
]


def error_line(
    exc: BaseException, settings: Settings | None, *, connecting: bool = False
) -> str | None:
    """One line saying what is wrong, or None when this is not a known kind of trouble.
    `connecting`: the exception came from opening the database, so any database error is
    one (the server's reason shown, masked) rather than an internal error."""
    try:
        for cause in _causes(exc):
            line: str | None = None
            if isinstance(cause, OSError):
                line = _os_error(cause, settings)
            elif isinstance(cause, DBAPIError) and settings is not None:
                line = _database_error(cause.orig, settings, connecting)
            elif isinstance(cause, ArgumentError) and connecting:  # a dialect or URL it can't use
                line = "database: database.url is not a database URL pecflow can use"
            if line is not None:
                return line
    except Exception:  # explaining must never hide the error it explains
        return None
    return None


def stops_the_run(exc: BaseException) -> bool:
    """Trouble of the machine, not of the message or file in hand: a full or read-only disk,
    the database gone or refusing. A run meeting it stops with its one line instead of
    blaming item after item (and quarantining them for it)."""
    for cause in _causes(exc):
        if isinstance(cause, OSError) and cause.errno in (*DISK_FULL, errno.EROFS):
            return True
        if isinstance(cause, DBAPIError) and (
            cause.connection_invalidated or isinstance(cause, OperationalError)
        ):
            return True
    return False


def disk_full(path: Path, quota: bool = False) -> str:
    """'disk full: cannot write PATH (N MB free on MOUNTPOINT)'."""
    where = _existing(path)
    free = shutil.disk_usage(where).free // MB
    what = "disk quota exceeded" if quota else "disk full"
    return f"{what}: cannot write {path} ({free} MB free on {_mount_point(where)})"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 10:
        seen.add(id(current))
        yield current
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )


# --- files --------------------------------------------------------------------------------


def _os_error(exc: OSError, settings: Settings | None) -> str | None:
    named = exc.filename if isinstance(exc.filename, str | bytes | os.PathLike) else None
    path = Path(os.fsdecode(named)).absolute() if named is not None else None
    if exc.errno in DISK_FULL:
        if path is None:
            path = settings.paths.data_dir if settings is not None else Path.cwd()
        return disk_full(path, quota=exc.errno == errno.EDQUOT)
    if exc.errno not in NOT_OURS or path is None or settings is None:
        return None
    label = _whose(path, settings)
    if label is None:
        return None  # not pecflow's own path: not for this function to explain
    reason = _reason(exc)
    if label == "database":
        verb = "cannot open"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM) and not os.path.lexists(path):
        verb = "cannot create"
    elif exc.errno in (errno.ENOENT, errno.ENOTDIR):
        verb = "cannot find"
    elif exc.errno == errno.EROFS:
        verb = "cannot write"
    else:
        verb = "cannot access"
    return f"{label}: {verb} {path}: {reason}"


def _whose(path: Path, settings: Settings) -> str | None:
    """Which of pecflow's things a path is, for the line's first word; None: not pecflow's."""
    real = _real(path)
    database = sqlite_path(settings)
    if database is not None:
        base = _real(database)
        if real in (base, *(Path(f"{base}{end}") for end in SQLITE_COMPANIONS)):
            return "database"
    if real == _real(settings.fulfilment.seal_key_file):
        return "seal key"
    for folder, label in ((settings.archive_dir, "archive"), (settings.reports_dir, "reports")):
        if real.is_relative_to(_real(folder)):
            return label
    data = _real(settings.paths.data_dir)
    if real.is_relative_to(data) or data.is_relative_to(real):
        return "data folder"  # in it, it, or a folder above it that had to be created
    if database is not None and _real(database.parent).is_relative_to(real):
        return "database folder"
    return None


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if os.path.exists(candidate):  # False, not an error, where it may not look
            return candidate
    return Path("/")


def _mount_point(path: Path) -> Path:
    current = _real(path)
    while not os.path.ismount(current) and current != current.parent:
        current = current.parent
    return current


# --- databases ----------------------------------------------------------------------------


def _database_error(orig: object, settings: Settings, connecting: bool) -> str | None:
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        return None
    if isinstance(orig, sqlite3.Error):
        database = sqlite_path(settings)
        return None if database is None else _sqlite_error(orig, database, connecting)
    if url.get_backend_name() == "postgresql" and isinstance(orig, Exception):
        return _postgres_error(orig, url, connecting)
    if connecting:
        return f"database: cannot connect ({type(orig).__name__})"
    return None


def _sqlite_error(exc: sqlite3.Error, database: Path, connecting: bool) -> str | None:
    message = str(exc).lower()
    if "database or disk is full" in message:
        return disk_full(database)
    if "disk i/o error" in message:
        if shutil.disk_usage(_existing(database)).free < NEARLY_FULL:
            return disk_full(database)
        why = _why_not_writable(database)
        return f"database: cannot write {database}: {_reason(why) if why else 'disk I/O error'}"
    if "unable to open database file" in message or "readonly database" in message:
        why = _why_not_writable(database)
        if why is not None and why.errno in DISK_FULL:
            return disk_full(database, quota=why.errno == errno.EDQUOT)
        return f"database: cannot open {database}: {_reason(why) if why else exc}"
    if "database is locked" in message:
        return f"database: {database} is locked by another process (waited 30 s)"
    if "file is not a database" in message or "malformed" in message:
        return f"database: {database} is not a SQLite database, or is damaged: {exc}"
    if connecting:
        return f"database: cannot open {database}: {exc}"
    return None


def _why_not_writable(database: Path) -> OSError | None:
    """The operating system's reason SQLite does not give: try what it tried (open the file
    for writing, create a file beside it for the journal) and keep the error."""
    try:
        if database.exists():
            os.close(os.open(database, os.O_RDWR))
        handle, probe = tempfile.mkstemp(dir=database.parent, prefix=".pecflow-probe-")
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        return exc
    return None


def _reason(exc: OSError) -> str:
    return exc.strerror or os.strerror(exc.errno or 0)


def _postgres_error(exc: Exception, url: URL, connecting: bool) -> str | None:
    text = str(exc)
    host = url.host or str(url.query.get("host") or "") or os.environ.get("PGHOST")
    port = url.port or url.query.get("port") or os.environ.get("PGPORT") or 5432
    where = f"{host}:{port}" if host else f"the local socket (port {port})"
    user = url.username or os.environ.get("PGUSER") or getpass.getuser()
    database = url.database or user
    for pattern, kind, reason in _POSTGRES:
        found = pattern.search(text)
        if found is None:
            continue
        reason = reason or found.group(0)  # the server's words, where they say it best
        if kind == "unreachable":
            return (
                f"database: cannot reach postgresql server at {where} "
                f"(database {database}, user {user}): {reason}"
            )
        if kind == "missing":
            return (
                f"database: database {database} does not exist on {where}: create it, or fix "
                "database.url"
            )
        if kind == "auth":
            return (
                f"database: authentication refused by postgresql server at {where} for user "
                f"{user} (database {database}): {reason}"
            )
        if kind == "busy":
            return f"database: postgresql server at {where} is not taking connections: {reason}"
        return f"database: lost the connection to postgresql server at {where}: {reason}"
    if not connecting:
        return None
    return (
        f"database: cannot connect to postgresql server at {where} (database {database}, "
        f"user {user}): {_masked(text, url)}"
    )


def _masked(text: str, url: URL) -> str:
    """The server's reason, its first line, past libpq's 'connection to server … failed:',
    with the password (should it ever appear) replaced."""
    line = text.strip().splitlines()[0] if text.strip() else "no reason given"
    line = line.rsplit("failed: ", 1)[-1].replace("FATAL:  ", "").strip()
    if url.password:
        line = line.replace(str(url.password), "***")
    return line
