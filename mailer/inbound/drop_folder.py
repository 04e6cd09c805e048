"""The drop folder where admins put files by hand: `.eml` messages or bare documents.

A file is taken only when complete: hidden names (`.name`) and `*.part`/`*.tmp` are left
alone, so copy in under such a name and rename. A file leaves the folder only after its
archive copy and message row are committed.

Nothing in the folder can stop a run: whatever cannot be taken (a name that is not UTF-8, a
file the service may not read, a directory, a symlink, a pipe) becomes a problem that names it,
escaped for display, and the reason. Directories and links are never followed.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO, cast

from pipeline.sources import DroppedFile, DropProblem

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


def list_drop_folder(folder: Path) -> list[DroppedFile | DropProblem]:
    """What the folder holds, by name; nothing is opened here."""
    if not folder.is_dir():
        return []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: os.fsencode(e.name))
    except OSError as exc:  # an unmounted share, a folder the service may not list
        reason = f"the drop folder cannot be listed: {(exc.strerror or str(exc)).lower()}"
        return [DropProblem(shown_name(str(folder)), reason)]
    found: list[DroppedFile | DropProblem] = []
    for entry in entries:
        name = entry.name
        if name.startswith(".") or name.lower().endswith(INCOMPLETE_SUFFIXES):
            continue
        shown = shown_name(name)
        try:
            info = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            found.append(DropProblem(shown, "vanished before it was read", vanished=True))
            continue
        except OSError as exc:
            found.append(DropProblem(shown, f"cannot be examined: {exc.strerror}"))
            continue
        kind = next((why for test, why in _NOT_REGULAR if test(info.st_mode)), None)
        if kind is not None:
            found.append(DropProblem(shown, kind, lasting=True))
            continue
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            found.append(
                DropProblem(shown, "the file name is not valid UTF-8: rename it to be taken")
            )
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
