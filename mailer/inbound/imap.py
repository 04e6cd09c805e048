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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, BinaryIO, cast

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from config.settings import ImapSettings
from mailer.oauth2 import OAuth2Error, sasl_responder, token_source
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

UID_CHUNK = 500  # UIDs per command (sizes, MOVE, STORE), well within servers' line limits
FETCH_BYTES = 8 * 1024 * 1024  # message bytes one FETCH brings, about (one message at least)
PIECE_BYTES = 4 * 1024 * 1024  # a message larger than this is read from the server in pieces


class ImapError(SourceError):
    """The server could not be used; the message is the reason in one line."""


@contextmanager
def _reasons(settings: ImapSettings, doing: str) -> Iterator[None]:
    try:
        yield
    except (IMAPClientError, imaplib.IMAP4.error, OAuth2Error) as exc:
        raise ImapError(f"IMAP {settings.host}:{settings.port}: {doing}: {exc}") from None
    except (TimeoutError, OSError, ssl.SSLError) as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ImapError(f"IMAP {settings.host}:{settings.port}: {doing}: {reason}") from None


@lru_cache(maxsize=4)
def _tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Made once per CA file and kept: loading the system's authorities takes longer than a
    whole idle poll. A changed file is read at the next start, like the settings."""
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


class ImapMailbox:
    """One session on the configured folder; use as a context manager."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self.client: IMAPClient | None = None
        self._delimiter: str | None = None  # the server's folder separator, asked when needed

    def __enter__(self) -> ImapMailbox:
        s = self.settings
        with _reasons(s, "connect"):
            context = None if s.security == "plain" else _tls_context(s.ca_file)
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
            _login(client, s)
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

    @contextmanager
    def driving(self, doing: str) -> Iterator[IMAPClient]:
        """The client, for a caller that drives it itself (the IDLE watcher); server trouble
        becomes one ImapError, as in every call of this class."""
        with _reasons(self.settings, doing):
            yield self._client

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
        """Whole messages, peeked (a human's unread mail stays unread), in order. Their sizes
        come first, so that a FETCH carries at most `fetch_chunk` messages and about
        FETCH_BYTES, and a message larger than PIECE_BYTES is never held whole: it is read
        from the server a piece at a time as it is archived."""
        for group in self._groups(self._sizes(uids)):
            if len(group) == 1 and group[0][1] > PIECE_BYTES:
                uid, _size, when = group[0]
                yield Fetched(uid, when, partial(self._pieces, uid))
                continue
            wanted = [uid for uid, _size, _when in group]
            with _reasons(self.settings, "fetch"):
                data = self._client.fetch(wanted, ["BODY.PEEK[]"])
            for uid, _size, when in group:
                item = data.pop(uid, None)
                if item is None:  # expunged meanwhile, by a human or another client
                    continue
                yield Fetched(uid, when, partial(io.BytesIO, item[b"BODY[]"]))

    def _sizes(self, uids: list[int]) -> list[tuple[int, int, datetime]]:
        """Each UID still there, with its size and arrival (no bodies)."""
        found = []
        for start in range(0, len(uids), UID_CHUNK):
            chunk = uids[start : start + UID_CHUNK]
            with _reasons(self.settings, "fetch sizes"):
                data = self._client.fetch(chunk, ["RFC822.SIZE", "INTERNALDATE"])
            for uid in chunk:
                if uid in data:
                    when = data[uid][b"INTERNALDATE"]
                    when = when if when.tzinfo else when.replace(tzinfo=UTC)
                    found.append((uid, int(data[uid][b"RFC822.SIZE"]), when))
        return found

    def _groups(
        self, sized: list[tuple[int, int, datetime]]
    ) -> Iterator[list[tuple[int, int, datetime]]]:
        group: list[tuple[int, int, datetime]] = []
        held = 0
        for item in sized:
            if group and (len(group) >= self.settings.fetch_chunk or held + item[1] > FETCH_BYTES):
                yield group
                group, held = [], 0
            group.append(item)
            held += item[1]
        if group:
            yield group

    def _pieces(self, uid: int) -> BinaryIO:
        return cast(BinaryIO, io.BufferedReader(_Pieces(partial(self._piece, uid))))

    def _piece(self, uid: int, offset: int) -> bytes:
        with _reasons(self.settings, "fetch"):
            data = self._client.fetch([uid], [f"BODY.PEEK[]<{offset}.{PIECE_BYTES}>"])
        if uid not in data:
            raise ImapError(f"IMAP {self.settings.host}: message {uid} vanished while read")
        return bytes(data[uid][f"BODY[]<{offset}>".encode()])

    def _server_name(self, name: str) -> str:
        """A folder's name as the server writes it; asked of it only to file (a round trip
        less for a poll with nothing to file)."""
        if self._delimiter is None:
            client = self._client
            with _reasons(self.settings, "list folders"):
                found = (
                    client.namespace().personal[0][1]
                    if client.has_capability("NAMESPACE")
                    else None
                )
            self._delimiter = (found.decode() if isinstance(found, bytes) else found) or "/"
        return name.replace("/", self._delimiter)

    def file(self, uids: list[int], outcome: str) -> None:
        """Tell the server the outcome: move to the outcome's folder, or set the keyword."""
        client, s = self._client, self.settings
        folder = self._server_name(getattr(s, OUTCOME_FOLDER[outcome]))
        doing = "set keyword" if s.after == "flag" else f"move to {folder}"
        with _reasons(s, doing):
            if uids and s.after == "move" and not client.folder_exists(folder):
                client.create_folder(folder)
            for start in range(0, len(uids), UID_CHUNK):
                chunk = uids[start : start + UID_CHUNK]
                if s.after == "flag":
                    client.add_flags(chunk, [s.keyword.encode()], silent=True)
                elif client.has_capability("MOVE"):
                    client.move(chunk, folder)
                else:
                    client.copy(chunk, folder)
                    client.delete_messages(chunk, silent=True)
                    client.uid_expunge(chunk)


def _login(client: IMAPClient, s: ImapSettings) -> None:
    """A password, or an OAuth2 access token (asked at each login: the source hands out the
    one it holds while it is valid) by SASL OAUTHBEARER (RFC 7628) where the server offers
    it, else XOAUTH2 (Microsoft 365 offers only that)."""
    if s.auth == "password":
        client.login(s.username, s.secret_password())
        return
    token = token_source(s.oauth2, s.username).token()
    mechanism = "OAUTHBEARER" if client.has_capability("AUTH=OAUTHBEARER") else "XOAUTH2"
    try:
        client.sasl_login(mechanism, sasl_responder(mechanism, s.username, token))
    except IMAPClientError as exc:
        raise IMAPClientError(
            f"{exc} (the server refused {s.username}'s OAuth2 token: check imap.username and "
            "the [oauth2] app's IMAP permission)"
        ) from None


class ImapSource:
    """The configured folder as a batch's source: the UIDs above the cursor, in order. A
    message that cannot be stored stops it (the cursor never passes one)."""

    kind = "imap"
    item_type = "mailbox"  # it gives no problems: a server that fails is the batch's error

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self._inside = False
        self._box: ImapMailbox | None = None

    def __enter__(self) -> ImapSource:
        self._inside = True  # the session opens when first needed: filing nothing needs none
        return self

    def __exit__(self, *exc: object) -> None:
        box, self._box, self._inside = self._box, None, False
        if box is not None:
            box.__exit__(*exc)

    @property
    def box(self) -> ImapMailbox:
        assert self._inside, "use ImapSource as a context manager"
        if self._box is None:
            self._box = ImapMailbox(self.settings).__enter__()
        return self._box

    def offered(self, cursors: Cursors) -> Offering:
        status = self.box.select()
        last = cursors.last_uid(status)
        uids = self.box.uids_after(last) if may_hold_new(status, last) else []
        return Offering(len(uids), self._offer(status, uids))

    def _offer(self, status: FolderStatus, uids: list[int]) -> Iterator[Offered]:
        for fetched in self.box.fetch(uids):
            source_id = f"{_prefix(status)}{fetched.uid}"
            yield Offered(
                source_id=source_id,
                shown=source_id,
                raw_format="rfc822",
                open=partial(_opened, fetched),
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
        if not filing.unfiled(f"{self.settings.folder}/"):
            return  # nothing of this folder waits (asked of the database, not the server)
        status = self.box.select()
        prefix = _prefix(status)
        rows = filing.unfiled(prefix)
        for outcome in sorted({row.outcome for row in rows}):
            batch = [row for row in rows if row.outcome == outcome]
            self.box.file([int(row.source_id.removeprefix(prefix)) for row in batch], outcome)
            filing.filed([row.message_id for row in batch])


def may_hold_new(status: FolderStatus, last_uid: int) -> bool:
    """Whether a UID above the cursor can exist: every UID is below UIDNEXT (0 when the
    server did not say), so a folder with nothing new needs no SEARCH."""
    return status.uidnext == 0 or status.uidnext > last_uid + 1


def _prefix(status: FolderStatus) -> str:
    """What the source ids of this folder's messages start with, the UID following it."""
    return f"{status.folder}/{status.uidvalidity}/"


class _Pieces(io.RawIOBase):
    """A large message as a stream that asks the server for the next piece when it needs
    it, so that only one piece is held at a time."""

    def __init__(self, piece: Callable[[int], bytes]) -> None:
        super().__init__()
        self._piece, self._offset, self._held = piece, 0, memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        if not self._held:
            self._held = memoryview(self._piece(self._offset))
            self._offset += len(self._held)
        count = min(len(target), len(self._held))
        target[:count] = self._held[:count]
        self._held = self._held[count:]
        return count


@contextmanager
def _opened(fetched: Fetched, now: datetime) -> Iterator[tuple[BinaryIO, datetime]]:
    with fetched.open() as stream:
        yield stream, min(fetched.internaldate, now)
