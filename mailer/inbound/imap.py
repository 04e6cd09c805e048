"""The amministrazione mailbox over IMAP: new UIDs only, bodies peeked, outcomes filed back.

Every call has the configured timeout, and any server trouble becomes one ImapError with a
one-line reason; the caller records it on the batch and the next poll resumes from the
cursor (the highest UID committed).
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from config.settings import ImapSettings
from pipeline.rules.statuses import MessageOutcome

log = logging.getLogger(__name__)

# Where each final outcome is filed when messages are moved; the rest stay put.
OUTCOME_FOLDER: dict[str, str] = {
    MessageOutcome.PROCESSED: "processed_folder",
    MessageOutcome.IGNORED: "ignored_folder",
    MessageOutcome.REVIEW: "review_folder",
    MessageOutcome.QUARANTINED: "quarantine_folder",
}


FILE_CHUNK = 500  # UIDs per MOVE/STORE, to stay well within servers' command-line limits


class ImapError(Exception):
    """The server could not be used; the message is the reason in one line."""


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
