"""The drop folder where admins put files by hand: `.eml` messages or bare documents.

A file is taken only when complete: hidden names (`.name`) and `*.part`/`*.tmp` are left
alone, so copy in under such a name and rename. A file leaves the folder only after its
archive copy and message row are committed.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from pathlib import Path

INCOMPLETE_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload")
HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class DroppedFile:
    path: Path
    raw_format: str  # rfc822 or file
    received_at: datetime

    @property
    def source_id(self) -> str:
        return f"{self.path.name}@{self.path.stat().st_mtime_ns}"


def _server_received(path: Path) -> datetime | None:
    """The time in the topmost Received header: the receiving server's clock, not the sender's."""
    with path.open("rb") as handle:
        headers = BytesHeaderParser().parsebytes(handle.read(HEADER_BYTES))
    received = headers.get_all("Received") or []
    if not received:
        return None
    try:
        when = parsedate_to_datetime(str(received[0]).rpartition(";")[2].strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else None


def list_drop_folder(folder: Path, now: datetime) -> list[DroppedFile]:
    """Complete regular files, oldest name first; a received time never later than now."""
    if not folder.is_dir():
        return []
    found: list[DroppedFile] = []
    for path in sorted(folder.iterdir()):
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or path.name.startswith("."):
            continue
        if path.name.lower().endswith(INCOMPLETE_SUFFIXES):
            continue
        raw_format = "rfc822" if path.suffix.lower() == ".eml" else "file"
        mtime = datetime.fromtimestamp(info.st_mtime, UTC)
        stamp = (_server_received(path) if raw_format == "rfc822" else None) or mtime
        found.append(DroppedFile(path, raw_format, min(stamp, now)))
    return found
