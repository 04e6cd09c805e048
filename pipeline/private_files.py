"""The service's own files are for the service user alone, whatever the umask a command was
started with and whatever modes an older install, a restore or a copy left behind.

New files are private because the command line sets umask 077 for the process (SQLite's
database and its -wal/-shm, reports, everything). `make_private` covers what already exists:
it creates the SQLite database's folder 0700 when missing and takes group and other access
away from the service's folders (data folder, archive, reports; not the folder of a database
kept elsewhere, which may be shared) and files (the database and its companions, the
scheduler's lock, the seal key, the reports), saying so in one warning. Once tightened, the
next command finds nothing to say.

The drop folder is shared with the admins who drop files in it: it is never changed here, and
neither is a folder that holds it (nor a sticky folder such as /tmp). The archive's own files
are 0400 and its subfolders 0700 from the start (pipeline/archive.py); the archive is not walked.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config import Settings

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
SHOWN = 5  # tightened paths named in the warning; the rest are counted
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal", ".scheduler.lock")


@dataclass(frozen=True)
class Tightened:
    path: Path
    before: int
    after: int

    def __str__(self) -> str:
        return f"{self.path} ({self.before:04o} -> {self.after:04o})"


def private_draft(path: Path, data: bytes) -> Path:
    """`data` in a new file beside `path`, readable by the service only from its first byte
    and synced: the caller links it into place (first writer wins) or renames it over the old
    (a reader sees the old file or the new, never half of one), then drops the draft."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        draft.unlink(missing_ok=True)
        raise
    return draft


def sqlite_path(settings: Settings) -> Path | None:
    """The SQLite database file of the settings; None for another database or :memory:."""
    from sqlalchemy.engine import make_url  # here: each start reads PRIVATE_UMASK, not this

    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).absolute()


def private_folders(settings: Settings) -> list[Path]:
    """The folders that hold only the service's files."""
    # A SQLite database kept elsewhere is made private itself, its folder (maybe shared, such
    # as /opt/pecflow) is left as it is.
    return [settings.paths.data_dir, settings.archive_dir, settings.reports_dir]


def private_files(settings: Settings) -> list[Path]:
    """The service's files outside the archive that may exist: the database and its
    companions, the seal key, the report files."""
    files: list[Path] = []
    database = sqlite_path(settings)
    if database is not None:
        files += [database, *(Path(f"{database}{end}") for end in SQLITE_COMPANIONS)]
    files.append(settings.fulfilment.seal_key_file)
    with contextlib.suppress(FileNotFoundError):
        files += sorted(p for p in settings.reports_dir.iterdir() if p.is_file())
    return files


def make_private(settings: Settings) -> list[Tightened]:
    """Create the SQLite database's folder (0700) when missing; take group and other access
    away from the service's folders and files where they have it, in one warning naming each
    path and its old mode. Returns what was tightened. A folder that cannot be created raises
    (OSError); a mode that cannot be changed (another user's file) is a warning, not a stop."""
    database = sqlite_path(settings)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    shared = settings.paths.drop_folder
    done: list[Tightened] = []
    refused: list[str] = []
    for path in [*private_folders(settings), *private_files(settings)]:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if not mode & 0o077:
            continue
        if path.is_dir() and (mode & stat.S_ISVTX or shared.is_relative_to(path)):
            continue  # shared on purpose: the drop folder's, or a sticky folder like /tmp
        try:
            os.chmod(path, mode & ~0o077)
        except OSError as exc:
            refused.append(f"{path} ({mode:04o}): {exc.strerror}")
            continue
        done.append(Tightened(path, mode, mode & ~0o077))
    if done:
        named = ", ".join(str(t) for t in done[:SHOWN])
        more = f" and {len(done) - SHOWN} more" if len(done) > SHOWN else ""
        log.warning("file modes: made private what group or others could read: %s%s", named, more)
    if refused:
        log.warning("file modes: cannot make private: %s", "; ".join(refused))
    return done
