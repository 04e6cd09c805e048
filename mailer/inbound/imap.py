"""The amministrazione mailbox over IMAP: new UIDs only, bodies peeked, outcomes filed back.

Every call has the configured timeout, and any server trouble becomes one ImapError with a
one-line reason; the caller records it on the batch and the next poll resumes from the
cursor (the highest UID committed). `ImapSource` is the folder as a batch's source
(`pipeline.sources.Source`); `ImapMailbox` is one session with the server.
"""

from __future__ import annotations

import imaplib
import io
import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import BinaryIO, cast

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from config.settings import ImapSettings
from pipeline.sources import (
    OUTCOME_FOLDER,
    Cursors,
    Fetched,
    Filing,
    FolderStatus,
    Ingested,
    Mark,
    Offered,
    Offering,
    Problem,
    SourceError,
)

log = logging.getLogger(__name__)

FILE_CHUNK = 500  # UIDs per MOVE/STORE, to stay well within servers' command-line limits


class ImapError(SourceError):
    """The server could not be used; the message is the reason in one line."""


@contextmanager
def _reasons(settings: ImapSettings, doing: str) -> Iterator[None]:
    try:
        yield
    except (IMAPClientError, imaplib.IMAP4.error) as exc:
        raise ImapError(f"IMAP {settings.host}:{settings.port}: {doing}: {exc}") from None
    except (TimeoutError, OSError, ssl.SSLError) as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ImapError(f"IMAP {settings.host}:{settings.port}: {doing}: {reason}") from None


class ImapMailbox:
    """One session on the configured folder; use as a context manager."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self.client: IMAPClient | None = None
        self._delimiter = "/"

    def __enter__(self) -> ImapMailbox:
        s = self.settings
        with _reasons(s, "connect"):
            context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
            client = IMAPClient(
                s.host,
                port=s.port,
                ssl=s.security == "tls",
                ssl_context=context,
                timeout=s.timeout_seconds,
            )
            self.client = client
            if s.security == "starttls":
                client.starttls(context)
            client.normalise_times = False
        with _reasons(s, "login"):
            client.login(s.username, s.secret_password())
        with _reasons(s, "list folders"):
            delimiter = (
                client.namespace().personal[0][1] if client.has_capability("NAMESPACE") else None
            )
            self._delimiter = (
                delimiter.decode() if isinstance(delimiter, bytes) else delimiter
            ) or "/"
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            try:
                self.client.logout()
            except (IMAPClientError, imaplib.IMAP4.error, OSError):
                self.client.shutdown()
            self.client = None

    @property
    def _client(self) -> IMAPClient:
        assert self.client is not None, "use ImapMailbox as a context manager"
        return self.client

    def select(self) -> FolderStatus:
        with _reasons(self.settings, f"select {self.settings.folder}"):
            info = self._client.select_folder(self.settings.folder)
        return FolderStatus(
            self.settings.folder,
            int(info[b"UIDVALIDITY"]),
            int(info[b"EXISTS"]),
            int(info.get(b"UIDNEXT", 0)),
        )

    def uids_after(self, last_uid: int) -> list[int]:
        """UIDs above the cursor; `n:*` also answers the highest UID, so filter it."""
        criteria: list[str] = ["UID", f"{last_uid + 1}:*"]
        if self.settings.after == "flag":
            criteria += ["UNKEYWORD", self.settings.keyword]
        with _reasons(self.settings, "search"):
            return sorted(uid for uid in self._client.search(criteria) if uid > last_uid)

    def fetch(self, uids: list[int]) -> Iterator[Fetched]:
        """Whole messages in chunks, peeked (a human's unread mail stays unread)."""
        size = self.settings.fetch_chunk
        for start in range(0, len(uids), size):
            chunk = uids[start : start + size]
            with _reasons(self.settings, "fetch"):
                data = self._client.fetch(chunk, ["BODY.PEEK[]", "INTERNALDATE"])
            for uid in chunk:
                item = data.pop(uid, None)
                if item is None:  # expunged meanwhile, by a human or another client
                    continue
                when = item[b"INTERNALDATE"]
                yield Fetched(
                    uid, item[b"BODY[]"], when if when.tzinfo else when.replace(tzinfo=UTC)
                )

    def _server_name(self, name: str) -> str:
        return name.replace("/", self._delimiter)

    def file(self, uids: list[int], outcome: str) -> None:
        """Tell the server the outcome: move to the outcome's folder, or set the keyword."""
        client, s = self._client, self.settings
        folder = self._server_name(getattr(s, OUTCOME_FOLDER[outcome]))
        doing = "set keyword" if s.after == "flag" else f"move to {folder}"
        with _reasons(s, doing):
            if uids and s.after == "move" and not client.folder_exists(folder):
                client.create_folder(folder)
            for start in range(0, len(uids), FILE_CHUNK):
                chunk = uids[start : start + FILE_CHUNK]
                if s.after == "flag":
                    client.add_flags(chunk, [s.keyword.encode()], silent=True)
                elif client.has_capability("MOVE"):
                    client.move(chunk, folder)
                else:
                    client.copy(chunk, folder)
                    client.delete_messages(chunk, silent=True)
                    client.uid_expunge(chunk)


class ImapSource:
    """The configured folder as a batch's source: the UIDs above the cursor, in order. A
    message that cannot be stored stops it (the cursor never passes one)."""

    kind = "imap"
    item_type = "mailbox"  # it gives no problems: a server that fails is the batch's error

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self._box: ImapMailbox | None = None

    def __enter__(self) -> ImapSource:
        self._box = ImapMailbox(self.settings).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        box, self._box = self._box, None
        if box is not None:
            box.__exit__(*exc)

    @property
    def box(self) -> ImapMailbox:
        assert self._box is not None, "use ImapSource as a context manager"
        return self._box

    def offered(self, cursors: Cursors) -> Offering:
        status = self.box.select()
        uids = self.box.uids_after(cursors.last_uid(status))
        return Offering(len(uids), self._offer(status, uids))

    def _offer(self, status: FolderStatus, uids: list[int]) -> Iterator[Offered]:
        for fetched in self.box.fetch(uids):
            source_id = f"{_prefix(status)}{fetched.uid}"
            yield Offered(
                source_id=source_id,
                shown=source_id,
                raw_format="rfc822",
                open=partial(_in_memory, fetched),
                ref=fetched.uid,
                mark=Mark(status.folder, status.uidvalidity, fetched.uid),
            )

    def taken(self, offered: Offered, ingested: Ingested) -> Problem | None:
        """A message seen before is filed at once as that one was decided: the filing step
        only looks for the first copy."""
        if ingested.duplicate and ingested.outcome in OUTCOME_FOLDER:
            self.box.file([cast(int, offered.ref)], ingested.outcome)
        return None

    def trouble(self, offered: Offered, exc: Exception) -> None:
        return None  # never skipped: the run stops, and the next one starts from this message

    def file(self, filing: Filing) -> None:
        status = self.box.select()
        prefix = _prefix(status)
        rows = filing.unfiled(prefix)
        for outcome in sorted({row.outcome for row in rows}):
            batch = [row for row in rows if row.outcome == outcome]
            self.box.file([int(row.source_id.removeprefix(prefix)) for row in batch], outcome)
            filing.filed([row.message_id for row in batch])


def _prefix(status: FolderStatus) -> str:
    """What the source ids of this folder's messages start with, the UID following it."""
    return f"{status.folder}/{status.uidvalidity}/"


@contextmanager
def _in_memory(fetched: Fetched, now: datetime) -> Iterator[tuple[BinaryIO, datetime]]:
    yield io.BytesIO(fetched.raw), min(fetched.internaldate, now)
