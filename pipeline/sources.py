"""The mail edges as a batch sees them, so that the use cases never import `mailer/`: what the
sources give (a mailbox on an IMAP server, the drop folder), what filing a message means, and
how the outbox is sent. `mailer/` implements them; the shell (jobs/) hands them to a run.

A source's contract with the batch loop: each message it gives is ingested (archived and
recorded, committed) before the source forgets it: the mailbox's cursor moves in the same
transaction, a dropped file is removed only after. A source that cannot be used raises
`SourceError` with its reason in one line; a single file that cannot be taken is a
`DropProblem`, never an exception, so that the rest goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from pipeline.rules.statuses import MessageOutcome

if TYPE_CHECKING:
    from config import Settings
    from config.settings import ImapSettings
    from pipeline.store.db import Store
    from pipeline.store.models import OutboxMessage

# Where each final outcome is filed on the mail server; the rest stay put.
OUTCOME_FOLDER: dict[str, str] = {
    MessageOutcome.PROCESSED: "processed_folder",
    MessageOutcome.IGNORED: "ignored_folder",
    MessageOutcome.REVIEW: "review_folder",
    MessageOutcome.QUARANTINED: "quarantine_folder",
}


class SourceError(Exception):
    """The source could not be used; the message is the reason in one line."""


@dataclass(frozen=True)
class FolderStatus:
    folder: str
    uidvalidity: int
    exists: int
    uidnext: int


@dataclass(frozen=True)
class Fetched:
    uid: int
    raw: bytes
    internaldate: datetime


class Mailbox(Protocol):
    """One session with the mailbox's folder (a context manager: connected on entry)."""

    def __enter__(self) -> Mailbox: ...

    def __exit__(self, *exc: object) -> None: ...

    def select(self) -> FolderStatus: ...

    def uids_after(self, last_uid: int) -> list[int]: ...

    def fetch(self, uids: list[int]) -> Iterator[Fetched]: ...

    def file(self, uids: list[int], outcome: str) -> None:
        """Move (or flag) these messages as OUTCOME_FOLDER says for `outcome`."""
        ...


@dataclass(frozen=True)
class DroppedFile:
    path: Path
    shown: str  # the name as logs, batches and the database may hold it
    raw_format: str  # rfc822 or file
    mtime_ns: int

    @property
    def source_id(self) -> str:
        return f"{self.shown}@{self.mtime_ns}"


@dataclass(frozen=True)
class DropProblem:
    """Something in the folder that is not taken. `lasting`: it is not a file and never will
    be (a directory, a link): said once, not on every run."""

    shown: str
    reason: str
    lasting: bool = False
    vanished: bool = False


@dataclass(frozen=True)
class SendResult:
    outbox_id: int
    outcome: str  # sent, retry, failed, unsure, skipped
    detail: str | None = None


@dataclass(frozen=True)
class MailEdges:
    """What a run is handed: how to open the mailbox, list and open the drop folder's files,
    send the outbox's due e-mails, and build one as it would be sent."""

    mailbox: Callable[[ImapSettings], Mailbox]
    list_drop_folder: Callable[[Path], list[DroppedFile | DropProblem]]
    open_dropped: Callable[
        [DroppedFile, datetime], AbstractContextManager[tuple[BinaryIO, datetime]]
    ]
    send_pending: Callable[[Store, Settings, datetime], Iterable[SendResult]]
    build_email: Callable[[OutboxMessage, Settings, datetime], EmailMessage]
