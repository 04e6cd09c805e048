"""The mail edges as a batch sees them, so that the use cases never import `mailer/`: the one
interface every place mail comes from implements (`Source`: the IMAP mailbox, the drop
folder), what filing a message on its server means, and how the outbox is sent. `mailer/`
implements them; the shell (jobs/) hands them to a run.

How the batch loop uses a source, and what each side promises:

1. `with source:` is a session with it, connected at once or when first needed (a
   SourceError, with its reason in one line, if it cannot be used: the batch records it and
   the run goes on without that source).
2. `source.offered(cursors)` lists what is new: each item an `Offered` message, or a `Problem`
   (something the source holds but cannot give, named and explained) that the batch records.
3. For each `Offered`, the loop archives its bytes and commits its message row, with the
   item's `mark` (the source's cursor) in the same transaction. Only then does it call
   `source.taken(...)`, so a source forgets nothing that is not safely stored.
   If taking it fails, `source.trouble(...)` says what that is: a `Problem` (the rest goes
   on) or None when the source cannot go past it (a cursor must never pass a message that
   was not stored): the error then stops the run, and the next run starts from there.
4. After processing, `with source: source.file(filing)` tells the source's server the
   outcomes of what it gave (IMAP moves or flags messages; the drop folder has nothing left
   to tell). `filing` lists what is committed and not yet filed, and records what was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, BinaryIO, NamedTuple, Protocol

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
class Mark:
    """Where a source's cursor stands once the message carrying it is committed."""

    folder: str
    uidvalidity: int
    uid: int


Opener = Callable[[datetime], AbstractContextManager[tuple[BinaryIO, datetime]]]


@dataclass(frozen=True)
class Offered:
    """One message a source gives. `open(now)` yields its bytes and when it arrived (never
    later than now); `ref` is the source's own handle on it (a path, a UID)."""

    source_id: str  # unique within the source; the message row keeps it
    shown: str  # how logs and batches may name it
    raw_format: str  # rfc822 or file
    open: Opener
    ref: object = None
    filename: str | None = None  # a bare file's name, the only name it has
    mark: Mark | None = None


@dataclass(frozen=True)
class Problem:
    """Something a source holds and does not give, and why. `lasting`: it never will be a
    message (a directory, a link): said once, not on every run. `vanished`: gone meanwhile."""

    shown: str
    reason: str
    lasting: bool = False
    vanished: bool = False


@dataclass(frozen=True)
class Offering:
    total: int
    items: Iterator[Offered | Problem]


@dataclass(frozen=True)
class Ingested:
    """A message once its row is committed: new, or the same as one stored before."""

    message_id: int
    duplicate: bool
    outcome: str


class Unfiled(NamedTuple):
    message_id: int
    source_id: str
    outcome: str


class Cursors(Protocol):
    def last_uid(self, status: FolderStatus) -> int:
        """The highest UID committed from this folder (0 when its UIDVALIDITY changed)."""
        ...


class Filing(Protocol):
    def unfiled(self, prefix: str) -> list[Unfiled]:
        """This source's messages whose source id starts with `prefix`, with a final outcome
        committed and not yet filed."""
        ...

    def filed(self, message_ids: list[int]) -> None:
        """Record these as filed (committed at once: filing twice must be harmless)."""
        ...


class Source(Protocol):
    """A place mail comes from (see the module's docstring for the loop's promises)."""

    kind: str  # the message rows' `source`
    item_type: str  # how the batch's items name what it cannot give

    def __enter__(self) -> Source: ...

    def __exit__(self, *exc: object) -> None: ...

    def offered(self, cursors: Cursors) -> Offering: ...

    def taken(self, offered: Offered, ingested: Ingested) -> Problem | None:
        """The message is committed: forget it, or tell why it cannot be forgotten."""
        ...

    def trouble(self, offered: Offered, exc: Exception) -> Problem | None: ...

    def file(self, filing: Filing) -> None: ...


@dataclass(frozen=True)
class Fetched:
    uid: int
    internaldate: datetime
    open: Callable[[], BinaryIO]  # its bytes: held, or read from the server a piece at a time


@dataclass(frozen=True)
class Capability:
    """A server capability that changes what pecflow does, and what it does without it."""

    name: str
    offered: bool
    without: str


class Mailbox(Protocol):
    """One session with the mailbox's folder (a context manager: connected on entry), as
    `mailbox check` asks it."""

    login_method: str  # how the session logged in

    def __enter__(self) -> Mailbox: ...

    def capabilities(self) -> list[Capability]: ...

    def __exit__(self, *exc: object) -> None: ...

    def select(self) -> FolderStatus: ...

    def uids_after(self, last_uid: int) -> list[int]: ...


@dataclass(frozen=True)
class SendResult:
    outbox_id: int
    outcome: str  # sent, retry, failed, unsure, skipped
    detail: str | None = None


@dataclass(frozen=True)
class MailEdges:
    """What a run is handed: its sources, in the order they are polled; how to open the
    mailbox for a check; how to send the outbox's due e-mails and build one as it would be."""

    sources: Callable[[Settings], list[Source]]
    mailbox: Callable[[ImapSettings], Mailbox]
    send_pending: Callable[[Store, Settings, datetime], Iterable[SendResult]]
    build_email: Callable[[OutboxMessage, Settings, datetime], EmailMessage]
