"""The amministrazione mailbox over IMAP: new UIDs only, bodies peeked, outcomes filed back.

Every call has the configured timeout, and any server trouble becomes one ImapError with a
one-line reason; the caller records it on the batch and the next poll resumes from the
cursor (the highest UID committed). `ImapSource` is the folder as a batch's source
(`pipeline.sources.Source`); `ImapMailbox` is one session with the server.

Servers differ; what pecflow does about it:
- login: `AUTHENTICATE PLAIN` whenever offered (the password goes as UTF-8; LOGIN takes
  ASCII only), else LOGIN, which a password that is not ASCII cannot use (said in one line);
- searches carry no CHARSET (all criteria are ASCII; some servers refuse CHARSET);
- folder names go in modified UTF-7 (imapclient); `/` in a configured name becomes the
  server's delimiter, and a server's namespace prefix (`INBOX.`) is put in front;
- filing: MOVE; else COPY, `\\Deleted` and `UID EXPUNGE` of those UIDs (UIDPLUS); else
  COPY, `\\Deleted` and the keyword, and EXPUNGE only when every `\\Deleted` message of
  the folder carries the keyword (is pecflow's): a person's deleted mail is never expunged
  by pecflow; what stays flagged is never taken again (searches skip the keyword).
"""

from __future__ import annotations

import imaplib
import io
import logging
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, BinaryIO, cast

from imapclient import DELETED, IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from config.settings import ImapSettings
from mailer.oauth2 import OAuth2Error, sasl_responder, token_source
from pipeline.sources import (
    OUTCOME_FOLDER,
    Capability,
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
    Unfiled,
)

log = logging.getLogger(__name__)

UID_CHUNK = 500  # UIDs per command (sizes, MOVE, STORE), well within servers' line limits
FETCH_BYTES = 8 * 1024 * 1024  # message bytes one FETCH brings, about (one message at least)
PIECE_BYTES = 4 * 1024 * 1024  # a message larger than this is read from the server in pieces


# The capabilities pecflow uses when offered, and what it does without each.
WITHOUT: dict[str, str] = {
    "MOVE": "COPY to the outcome folder, then \\Deleted and expunge those messages only",
    "UIDPLUS": "(with no MOVE) expunge only when every \\Deleted message of the folder is "
    "pecflow's, else leave them flagged \\Deleted and imap.keyword (never taken again)",
    "IDLE": "new mail waits for the scheduler's next poll (imap.idle cannot push)",
    "CONDSTORE": "nothing: pecflow does not use it (UIDNEXT says when nothing is new)",
}


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
        # The personal namespace's prefix and delimiter, asked of the server when needed.
        self._namespace: tuple[str, str] | None = None
        self.login_method = ""  # how the session logged in (`mailbox check` tells it)

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
            # imaplib sends an AUTHENTICATE answer and its line end in two writes: with
            # Nagle, the second waits for the server's delayed ACK (40 ms every login).
            client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if s.security == "starttls":
                client.starttls(context)
            client.normalise_times = False
        with _reasons(s, "login"):
            self.login_method = _log_in(client, s)
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

    def capabilities(self) -> list[Capability]:
        """The capabilities that change what pecflow does, and whether the server offers them."""
        with _reasons(self.settings, "capabilities"):
            return [
                Capability(name, self._client.has_capability(name), without)
                for name, without in WITHOUT.items()
            ]

    def select(self, readonly: bool = False) -> FolderStatus:
        """The configured folder, by its name on this server (`readonly`: to watch it)."""
        folder = self.settings.folder
        with _reasons(self.settings, f"select {folder}"):
            info = self._client.select_folder(self._server_name(folder), readonly=readonly)
        return FolderStatus(
            self.settings.folder,
            int(info[b"UIDVALIDITY"]),
            int(info[b"EXISTS"]),
            int(info.get(b"UIDNEXT", 0)),
        )

    def uids_after(self, last_uid: int) -> list[int]:
        """UIDs above the cursor, without pecflow's keyword (what is flagged was taken, even
        when a changed UIDVALIDITY renumbered it); `n:*` also answers the highest UID, so
        filter it. No CHARSET: imapclient sends none when given none."""
        criteria = ["UID", f"{last_uid + 1}:*", "UNKEYWORD", self.settings.keyword]
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
        """A folder's name as the server writes it: `/` becomes its delimiter, and on a server
        whose folders all live under a prefix (Courier's and some Cyrus's `INBOX.`) the
        prefix comes first. INBOX is INBOX everywhere: a poll of it asks nothing more."""
        if name.upper() == "INBOX":
            return name
        if self._namespace is None:
            client = self._client
            with _reasons(self.settings, "list folders"):
                personal = (
                    client.namespace().personal if client.has_capability("NAMESPACE") else None
                )
            prefix, delimiter = personal[0] if personal else ("", "/")
            self._namespace = (prefix or "", delimiter or "/")
        prefix, delimiter = self._namespace
        server = name.replace("/", delimiter)
        return server if server.upper().startswith(prefix.upper()) else prefix + server

    def file(self, uids: list[int], outcome: str) -> None:
        """Tell the server the outcome: move to the outcome's folder (by the best way it
        offers: see the module's docstring), or set the keyword."""
        if not uids:
            return
        client, s = self._client, self.settings
        folder = self._server_name(getattr(s, OUTCOME_FOLDER[outcome]))
        doing = "set keyword" if s.after == "flag" else f"move to {folder}"
        keyword = s.keyword.encode()
        with _reasons(s, doing):
            how = "flag" if s.after == "flag" else _move_by(client)
            if how != "flag" and not client.folder_exists(folder):
                client.create_folder(folder)
            for start in range(0, len(uids), UID_CHUNK):
                chunk = uids[start : start + UID_CHUNK]
                if how == "flag":
                    client.add_flags(chunk, [keyword], silent=True)
                elif how == "MOVE":
                    client.move(chunk, folder)
                else:
                    client.copy(chunk, folder)
                    if how == "UIDPLUS":
                        client.delete_messages(chunk, silent=True)
                        client.uid_expunge(chunk)
                    else:
                        client.add_flags(chunk, [DELETED, keyword], silent=True)
            if how == "COPY":
                self._expunge_if_only_ours()

    def _expunge_if_only_ours(self) -> None:
        """EXPUNGE removes every `\\Deleted` message: only when all of them carry the
        keyword (are pecflow's). Else they stay flagged until a later filing finds the
        folder without a person's deleted mail (or the person's client expunges them); the
        one round trip between the SEARCH and the EXPUNGE is the only window left."""
        client, keyword = self._client, self.settings.keyword
        others = client.search(["DELETED", "UNKEYWORD", keyword])
        if others:
            log.info(
                "IMAP %s: %d deleted messages of a person in the folder and no UIDPLUS: "
                "pecflow's filed messages stay flagged \\Deleted and %s until they are gone",
                self.settings.folder,
                len(others),
                keyword,
            )
            return
        client.expunge()


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
        waiting = filing.unfiled(f"{self.settings.folder}/")
        if not waiting:
            return  # nothing of this folder waits (asked of the database, not the server)
        status = self.box.select()
        prefix = _prefix(status)
        self._forget_stale(waiting, status, filing)
        rows = [row for row in waiting if row.source_id.startswith(prefix)]
        for outcome in sorted({row.outcome for row in rows}):
            batch = [row for row in rows if row.outcome == outcome]
            self.box.file([int(row.source_id.removeprefix(prefix)) for row in batch], outcome)
            filing.filed([row.message_id for row in batch])

    def _forget_stale(self, waiting: list[Unfiled], status: FolderStatus, filing: Filing) -> None:
        """Messages committed under an earlier UIDVALIDITY cannot be filed by their UIDs any
        more: the copies still in the folder are read again and filed as duplicates (or carry
        the keyword and are skipped), so these are recorded as filed rather than asked for
        again at every poll."""
        folder = f"{self.settings.folder}/"
        stale = [
            row.message_id
            for row in waiting
            if _uidvalidity_of(row.source_id.removeprefix(folder)) not in (None, status.uidvalidity)
        ]
        if stale:
            log.warning(
                "IMAP %s: %d messages committed before its UIDVALIDITY changed are filed by "
                "their copies read again, not by their old UIDs",
                self.settings.folder,
                len(stale),
            )
            filing.filed(stale)


def _uidvalidity_of(rest: str) -> int | None:
    """The UIDVALIDITY in a source id's `<uidvalidity>/<uid>` (after the folder), else None
    (a message of a subfolder's, named like this folder plus more)."""
    validity, _, uid = rest.partition("/")
    return int(validity) if validity.isdigit() and uid.isdigit() else None


def _move_by(client: IMAPClient) -> str:
    """The best way this server offers to move messages: MOVE, UIDPLUS (COPY and UID
    EXPUNGE) or COPY (and EXPUNGE when safe)."""
    return next((c for c in ("MOVE", "UIDPLUS") if client.has_capability(c)), "COPY")


def _log_in(client: IMAPClient, s: ImapSettings) -> str:
    """Log in as the settings say; returns the method used (`mailbox check` tells it)."""
    if s.auth == "oauth2":
        return _log_in_by_token(client, s)
    return _log_in_by_password(client, s.username, s.secret_password())


def _log_in_by_password(client: IMAPClient, username: str, password: str) -> str:
    """`AUTHENTICATE PLAIN` whenever the server offers it, not only for a password that is
    not ASCII: one path for every password (RFC 4616's UTF-8, where LOGIN is ASCII only and
    imaplib cannot even send it otherwise). LOGIN for the servers without it."""
    if client.has_capability("AUTH=PLAIN"):
        client.plain_login(username, password)
        return "AUTHENTICATE PLAIN"
    if not (username + password).isascii():
        raise LoginError(
            "the server offers no AUTHENTICATE PLAIN, and LOGIN cannot send a user name or "
            "password that is not ASCII"
        )
    client.login(username, password)
    return "LOGIN"


def _log_in_by_token(client: IMAPClient, s: ImapSettings) -> str:
    """An OAuth2 access token (asked at each login: the source hands out the one it holds
    while it is valid) by SASL OAUTHBEARER (RFC 7628) where the server offers it, else
    XOAUTH2 (Microsoft 365 offers only that)."""
    token = token_source(s.oauth2, s.username).token()
    mechanism = "OAUTHBEARER" if client.has_capability("AUTH=OAUTHBEARER") else "XOAUTH2"
    try:
        client.sasl_login(mechanism, sasl_responder(mechanism, s.username, token))
    except IMAPClientError as exc:
        raise IMAPClientError(
            f"{exc} (the server refused {s.username}'s OAuth2 token: check imap.username and "
            "the [oauth2] app's IMAP permission)"
        ) from None
    return f"AUTHENTICATE {mechanism} (OAuth2)"


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
