"""The drop folder where admins put files by hand: `.eml` messages or bare documents.

A file is taken only when complete: hidden names (`.name`) and `*.part`/`*.tmp` are left
alone, so copy in under such a name and rename. A file leaves the folder only after its
archive copy and message row are committed.

Nothing in the folder can stop a run: whatever cannot be taken (a name that is not UTF-8, a
file the service may not read, a directory, a symlink, a pipe) becomes a problem that names it,
escaped for display, and the reason. Directories and links are never followed.

`DropFolderSource` is the folder as a batch's source (`pipeline.sources.Source`).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from functools import partial
from pathlib import Path
from typing import BinaryIO, cast

from pipeline.sources import Cursors, Filing, Ingested, Offered, Offering, Problem

INCOMPLETE_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload")
HEADER_BYTES = 64 * 1024
SHOWN_MAX = 200  # characters of a name shown: it and its mtime must fit a source id (500)
# Opened without following a link, and without blocking on a pipe put there meanwhile.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
_NOT_REGULAR = (
    (stat.S_ISDIR, "a directory: not entered (only files at the top of the folder are taken)"),
    (stat.S_ISLNK, "a symbolic link: not followed (copy the file itself into the folder)"),
    (stat.S_ISFIFO, "a named pipe (FIFO): not read"),
    (stat.S_ISSOCK, "a socket: not read"),
    (stat.S_ISCHR, "a device: not read"),
    (stat.S_ISBLK, "a device: not read"),
)


def shown_name(name: str) -> str:
    """A file name safe to print and store: bytes that are not UTF-8 and control characters
    written as escapes (`\\xe9`), the rest as it is; a long one cut to SHOWN_MAX."""
    raw = os.fsencode(name)
    text = raw.decode("utf-8", "backslashreplace")
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    if len(shown) <= SHOWN_MAX:
        return shown
    # Long names (255 control characters escape to 1,020) are cut, kept apart by their hash.
    return f"{shown[: SHOWN_MAX - 13]}…{hashlib.sha256(raw).hexdigest()[:12]}"


@dataclass(frozen=True)
class DroppedFile:
    path: Path
    shown: str  # the name as logs, batches and the database may hold it
    raw_format: str  # rfc822 or file
    mtime_ns: int

    @property
    def source_id(self) -> str:
        return f"{self.shown}@{self.mtime_ns}"


class DropFolderSource:
    """The drop folder as a batch's source: every complete file at its top, each removed once
    its message is committed. Nothing is kept open, so entering it does nothing."""

    kind = "drop"
    item_type = "file"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> DropFolderSource:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def offered(self, cursors: Cursors) -> Offering:
        entries = list_drop_folder(self.folder)
        return Offering(len(entries), (_offer(entry) for entry in entries))

    def taken(self, offered: Offered, ingested: Ingested) -> Problem | None:
        entry = cast(DroppedFile, offered.ref)
        try:
            entry.path.unlink(missing_ok=True)
        except OSError as exc:
            return Problem(
                entry.shown,
                f"taken as message {ingested.message_id} but cannot be removed from the "
                f"folder: {_os_reason(exc)}",
            )
        return None

    def trouble(self, offered: Offered, exc: Exception) -> Problem:
        """Why a file could not be taken; it stays in the folder for the next run."""
        entry = cast(DroppedFile, offered.ref)
        if not isinstance(exc, OSError):
            return Problem(entry.shown, f"cannot be taken: {type(exc).__name__}: {exc}"[:500])
        if exc.filename is not None and os.fsdecode(exc.filename) != os.fspath(entry.path):
            return Problem(entry.shown, f"cannot be archived: {_os_reason(exc)}: {exc.filename}")
        if isinstance(exc, FileNotFoundError):  # taken meanwhile by another worker or an admin
            return Problem(entry.shown, "vanished before it was read", vanished=True)
        return Problem(entry.shown, f"cannot be read: {_os_reason(exc)}")

    def file(self, filing: Filing) -> None:
        return None  # its files left the folder when they were taken


def _offer(entry: DroppedFile | Problem) -> Offered | Problem:
    if isinstance(entry, Problem):
        return entry
    return Offered(
        source_id=entry.source_id,
        shown=entry.shown,
        raw_format=entry.raw_format,
        open=partial(open_dropped, entry),
        ref=entry,
        filename=entry.shown if entry.raw_format == "file" else None,
    )


def _os_reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


def list_drop_folder(folder: Path) -> list[DroppedFile | Problem]:
    """What the folder holds, by name; nothing is opened here."""
    if not folder.is_dir():
        return []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: os.fsencode(e.name))
    except OSError as exc:  # an unmounted share, a folder the service may not list
        reason = f"the drop folder cannot be listed: {(exc.strerror or str(exc)).lower()}"
        return [Problem(shown_name(str(folder)), reason)]
    found: list[DroppedFile | Problem] = []
    for entry in entries:
        name = entry.name
        if name.startswith(".") or name.lower().endswith(INCOMPLETE_SUFFIXES):
            continue
        shown = shown_name(name)
        try:
            info = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            found.append(Problem(shown, "vanished before it was read", vanished=True))
            continue
        except OSError as exc:
            found.append(Problem(shown, f"cannot be examined: {exc.strerror}"))
            continue
        kind = next((why for test, why in _NOT_REGULAR if test(info.st_mode)), None)
        if kind is not None:
            found.append(Problem(shown, kind, lasting=True))
            continue
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            found.append(Problem(shown, "the file name is not valid UTF-8: rename it to be taken"))
            continue
        raw_format = "rfc822" if name.lower().endswith(".eml") else "file"
        found.append(DroppedFile(Path(entry.path), shown, raw_format, info.st_mtime_ns))
    return found


@contextmanager
def open_dropped(dropped: DroppedFile, now: datetime) -> Iterator[tuple[BinaryIO, datetime]]:
    """The file's bytes and its arrival: the time in an `.eml`'s topmost Received header (the
    receiving server's clock), else its modification time; never later than now. Raises
    OSError when it cannot be read, or is no longer a regular file."""
    fd = os.open(dropped.path, _OPEN_FLAGS)
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError(0, "no longer a regular file")
        stamp = datetime.fromtimestamp(info.st_mtime, UTC)
        source = _Named(stream, dropped.path)
        if dropped.raw_format == "rfc822":
            stamp = _server_received(source.read(HEADER_BYTES)) or stamp
            stream.seek(0)
        yield cast(BinaryIO, source), min(stamp, now)


class _Named:
    """The dropped file's stream, whose read errors name the file: told apart from the
    archive's own trouble when the bytes are copied there."""

    def __init__(self, stream: BinaryIO, path: Path) -> None:
        self._stream, self._path = stream, path

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except OSError as exc:
            if exc.filename is None:
                exc.filename = os.fspath(self._path)
            raise


def _server_received(head: bytes) -> datetime | None:
    """The time in the topmost Received header: the receiving server's clock, not the sender's."""
    received = BytesHeaderParser().parsebytes(head).get_all("Received") or []
    if not received:
        return None
    try:
        when = parsedate_to_datetime(str(received[0]).rpartition(";")[2].strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else None
