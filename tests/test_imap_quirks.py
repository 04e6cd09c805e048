"""Servers that differ from the usual Dovecot, as real Dovecots configured to differ: no MOVE,
no UIDPLUS, a UTF-8 password, non-ASCII folders on either delimiter, a folder recreated with
the same messages (UIDs restart), and a connection cut in the middle of a FETCH."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from imapclient import DELETED

from pipeline.store.models import Message
from tests.conftest import Killed, Mailbox, Workspace
from tests.docgen.messages import make_email
from tests.dovecot import Dovecot
from tests.test_imap import _append, _client, _count, _folders, _ready, _receipt_mail, _run

pytestmark = pytest.mark.integration  # a real Dovecot in every test

COMMAND = re.compile(r"[\d.]+ [A-Z]{4}\d+ (.+)")
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # kept fast
UTF8_PASSWORD = "pässwörd-ñ€"
QUESTION = make_email(sender="b@example.it", subject="info", body="una domanda")


@pytest.fixture
def serve(workspace: Workspace) -> Iterator[Callable[..., Dovecot]]:
    """Starts a Dovecot with the options given and points the workspace at it."""
    started: list[Dovecot] = []

    def start(**options: object) -> Dovecot:
        server = Dovecot(**options).start()  # type: ignore[arg-type]
        started.append(server)
        workspace.env.update(server.pecflow_env(), PECFLOW_IMAP__TIMEOUT_SECONDS="5")
        return server

    yield start
    for server in started:
        server.stop()


def _sent(dovecot: Dovecot) -> list[str]:
    """The commands the clients sent after login (rawlog lines `time TAG command`; imaplib's
    tags are four capitals and a number), without time and tag: not the messages' lines."""
    found = (COMMAND.fullmatch(line) for line in dovecot.rawlogs().splitlines())
    return [match[1] for match in found if match]


def _deleted_meanwhile(monkeypatch: pytest.MonkeyPatch, dovecot: Dovecot, folder: str) -> None:
    """While pecflow files, mail arrives and a person deletes it at once (\\Deleted, not
    yet expunged): a message in the folder that pecflow has not taken."""
    from mailer.inbound.imap import ImapMailbox

    file = ImapMailbox.file

    def person_first(self: ImapMailbox, uids: list[int], outcome: str) -> None:
        if not getattr(person_first, "done", False):
            person_first.done = True  # type: ignore[attr-defined]
            _append(dovecot, QUESTION, folder=folder, flags=(DELETED,))
        file(self, uids, outcome)

    monkeypatch.setattr(ImapMailbox, "file", person_first)


@SQLITE_ONLY
def test_without_move_pecflow_copies_and_expunges_only_its_own_uids(
    workspace: Workspace, serve, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No MOVE announced: COPY, \\Deleted and UID EXPUNGE of pecflow's UIDs only, so a
    message a person marked \\Deleted meanwhile stays; MOVE is never sent (Dovecot would
    accept it: the rawlog proves pecflow keeps to what is announced), and no SEARCH carries
    a CHARSET."""
    dovecot = serve(capabilities_off=frozenset({"MOVE"}), rawlog=True)
    _ready(workspace)
    _append(dovecot, _receipt_mail())
    _deleted_meanwhile(monkeypatch, dovecot, "INBOX")
    result, report = _run(workspace)
    assert result.exit_code == 0, result.stdout
    assert [m["outcome"] for m in report["messages"]] == ["processed"]
    assert _folders(dovecot) == {"INBOX": 1, "pecflow/processed": 1}  # the person's stays
    sent = _sent(dovecot)
    assert not [c for c in sent if "MOVE" in c], sent
    assert [c for c in sent if "EXPUNGE" in c] == ["UID EXPUNGE 1"]
    searches = [c for c in sent if "SEARCH" in c]
    assert searches and not [c for c in searches if "CHARSET" in c.upper()], searches
    assert len(mailbox.messages) == 1


@SQLITE_ONLY
def test_without_uidplus_a_persons_deleted_mail_is_never_expunged(
    workspace: Workspace, serve, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No MOVE, no UIDPLUS: a filed message is copied and flagged \\Deleted and the
    keyword, and EXPUNGE waits while a person's \\Deleted message is in the folder. The
    flagged one is never taken again, also once the folder is recreated with the same
    messages and flags (new UIDVALIDITY, UIDs from 1); when the folder holds only pecflow's
    \\Deleted messages, EXPUNGE removes them."""
    dovecot = serve(capabilities_off=frozenset({"MOVE", "UIDPLUS"}), rawlog=True)
    workspace.env["PECFLOW_IMAP__FOLDER"] = "Amministrazione"
    _ready(workspace)
    with _client(dovecot) as client:
        client.create_folder("Amministrazione")
    _append(dovecot, _receipt_mail(), folder="Amministrazione")
    _deleted_meanwhile(monkeypatch, dovecot, "Amministrazione")
    result, report = _run(workspace)
    assert result.exit_code == 0, result.stdout
    assert [m["outcome"] for m in report["messages"]] == ["processed"]
    assert not [c for c in _sent(dovecot) if "EXPUNGE" in c or "MOVE" in c]
    with _client(dovecot) as client:
        client.select_folder("Amministrazione")
        kept = client.fetch(client.search("ALL"), ["BODY.PEEK[]", "FLAGS"])
        assert [sorted(item[b"FLAGS"]) for item in kept.values()] == [
            [b"PecflowDone", DELETED],  # the receipt, copied to pecflow/processed
            [DELETED],  # the person's
        ]
        client.close_folder()  # restored elsewhere: same messages and flags, new UIDs
        client.delete_folder("Amministrazione")
        client.create_folder("Amministrazione")
        for item in kept.values():
            client.append("Amministrazione", item[b"BODY[]"], flags=item[b"FLAGS"])
    assert _folders(dovecot)["pecflow/processed"] == 1
    monkeypatch.undo()
    result, report = _run(workspace)
    assert result.exit_code == 0, result.stdout
    # the person's message is new to pecflow: taken, filed; the receipt is not seen again
    assert [i["outcome"] for i in report["items"] if i["type"] == "message"] == ["review"]
    assert [c for c in _sent(dovecot) if "EXPUNGE" in c] == ["EXPUNGE"]
    assert _folders(dovecot) == {
        "INBOX": 0,
        "Amministrazione": 0,
        "pecflow/processed": 1,
        "pecflow/review": 1,
    }
    assert _count(workspace) == 2
    assert len(mailbox.messages) == 1


@SQLITE_ONLY
def test_a_utf8_password_logs_in_and_mailbox_check_says_how_and_what_is_missing(
    workspace: Workspace, serve, mailbox: Mailbox
) -> None:
    """A password that is not ASCII goes by AUTHENTICATE PLAIN (LOGIN cannot carry it);
    `mailbox check` tells the login method and, for each capability that matters, whether it
    is offered and what pecflow does without it. A server without AUTH=PLAIN and such a
    password: one line saying so, no crash."""
    dovecot = serve(password=UTF8_PASSWORD, capabilities_off=frozenset({"MOVE", "CONDSTORE"}))
    _ready(workspace)
    _append(dovecot, _receipt_mail())
    result, report = _run(workspace)
    assert result.exit_code == 0, result.stdout
    assert [m["outcome"] for m in report["messages"]] == ["processed"]
    check = json.loads(workspace.cli("mailbox", "check", "--json").stdout)
    assert check["login"] == "AUTHENTICATE PLAIN"
    offered = {c["name"]: c["offered"] for c in check["capabilities"]}
    assert offered == {"MOVE": False, "UIDPLUS": True, "IDLE": True, "CONDSTORE": False}
    without = {c["name"]: c["without"] for c in check["capabilities"]}
    assert without["MOVE"].startswith("COPY") and without["UIDPLUS"] is None
    text = workspace.cli("mailbox", "check").stdout
    assert "AUTHENTICATE PLAIN" in text and "CONDSTORE" in text and "does not use it" in text
    assert UTF8_PASSWORD not in text

    serve(password=UTF8_PASSWORD, mechanisms="login")  # LOGIN only
    check = workspace.cli("mailbox", "check")
    assert check.exit_code == 2
    (line,) = str(check.exception).splitlines()
    assert "no AUTHENTICATE PLAIN" in line and UTF8_PASSWORD not in line


@SQLITE_ONLY
@pytest.mark.parametrize(("separator", "prefix"), [(".", ""), ("/", ""), (".", "INBOX.")])
def test_non_ascii_folders_on_any_delimiter_and_prefix(
    workspace: Workspace, serve, separator: str, prefix: str
) -> None:
    """The read folder and an outcome folder with non-ASCII names and a hierarchy, written
    with `/` in the settings: on a server whose delimiter is `.` or `/`, and on one whose
    folders all live under `INBOX.` (Courier), they are found, created and filed to right
    (sent in modified UTF-7)."""
    dovecot = serve(separator=separator, prefix=prefix, rawlog=True)
    workspace.env.update(
        PECFLOW_IMAP__FOLDER="Ricevute/Già pagate",
        PECFLOW_IMAP__PROCESSED_FOLDER="Pagamenti/Più vecchi/Già registrati",
    )
    _ready(workspace)
    read = f"{prefix}Ricevute{separator}Già pagate"
    with _client(dovecot) as client:
        client.create_folder(read)
    _append(dovecot, _receipt_mail(), folder=read)
    result, report = _run(workspace)
    assert result.exit_code == 0, result.stdout
    assert [m["outcome"] for m in report["messages"]] == ["processed"]
    under = prefix.replace(separator, "/")
    assert _folders(dovecot) == {
        "INBOX": 0,
        f"{under}Ricevute/Già pagate": 0,
        f"{under}Pagamenti/Più vecchi/Già registrati": 1,
    }
    assert f'SELECT "{prefix}Ricevute{separator}Gi&AOA- pagate"' in _sent(dovecot)


def test_a_folder_recreated_with_the_same_messages_decides_nothing_twice(
    workspace: Workspace, serve, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages processed and still in the folder (the run died before filing them), then
    the folder is deleted and made again with the same messages and a new one (new
    UIDVALIDITY, UIDs from 1 again): the old ones are recognised as the same messages and
    filed as they were decided, nobody gets a second e-mail, only the new one is processed,
    and nothing stays waiting to be filed under the old UIDs."""
    dovecot = serve()
    workspace.env["PECFLOW_IMAP__FOLDER"] = "Amministrazione"
    _ready(workspace)
    receipt = _receipt_mail()
    with _client(dovecot) as client:
        client.create_folder("Amministrazione")
    for raw in (receipt, QUESTION):
        _append(dovecot, raw, folder="Amministrazione")

    def crash(self: object, uids: list[int], outcome: str) -> None:
        raise Killed("the process dies before filing")

    monkeypatch.setattr("mailer.inbound.imap.ImapMailbox.file", crash)
    with pytest.raises(Killed):
        _run(workspace)
    monkeypatch.undo()
    assert _count(workspace, Message.outcome.in_(["processed", "review"])) == 2
    with _client(dovecot) as client:
        client.delete_folder("Amministrazione")
        client.create_folder("Amministrazione")
    for raw in (receipt, QUESTION, _receipt_mail(code="LM9999999", subject="altro")):
        _append(dovecot, raw, folder="Amministrazione")
    result, report = _run(workspace)
    assert result.exit_code == 0, result.stdout
    assert [i["outcome"] for i in report["items"] if i["type"] == "message"] == [
        "duplicate",
        "duplicate",
        "review",  # LM9999999: no such order
    ]
    assert _folders(dovecot) == {
        "INBOX": 0,
        "Amministrazione": 0,
        "pecflow/processed": 1,  # the receipt's copy
        "pecflow/review": 2,  # the question's copy, and the new one
    }
    assert _count(workspace) == 3
    assert _count(workspace, Message.acked_at.is_(None)) == 0
    assert len(json.loads(workspace.cli("review", "list", "--json").stdout)) == 2
    assert len(mailbox.messages) == 1  # the receipt's e-mail, sent once


class CuttingProxy:
    """A TCP proxy on loopback in front of the server that, once, cuts the connection after
    `after` bytes of the answer to the `nth` FETCH of a whole body; else it passes all."""

    def __init__(self, port: int, nth: int, after: int) -> None:
        self.upstream, self.nth, self.after = port, nth, after
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.cut = False
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            server = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
            client.settimeout(0.2)
            server.settimeout(0.2)
            state = {"fetches": 0}
            for source, target, up in ((client, server, True), (server, client, False)):
                thread = threading.Thread(
                    target=self._pump, args=(source, target, up, state), daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _pump(self, source: socket.socket, target: socket.socket, up: bool, state: dict) -> None:
        with contextlib.suppress(OSError):
            while not self._stop.is_set():
                try:
                    data = source.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                if up:
                    state["fetches"] += data.count(b"BODY.PEEK[]")
                elif not self.cut and state["fetches"] >= self.nth:
                    self.cut = True
                    target.sendall(data[: self.after])
                    break
                target.sendall(data)
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self.listener.close()


@SQLITE_ONLY
def test_a_connection_cut_mid_fetch_fails_the_batch_in_one_line_and_loses_nothing(
    workspace: Workspace, serve, mailbox: Mailbox
) -> None:
    """The connection drops 1000 bytes into the answer to the second FETCH: the run ends
    with one line on the batch, what came before is kept, and the next run takes every
    other message exactly once."""
    dovecot = serve()
    workspace.env["PECFLOW_IMAP__FETCH_CHUNK"] = "1"
    _ready(workspace)
    for number in range(3):
        _append(dovecot, _receipt_mail(code="LM9999999", subject=f"n. {number}"))
    proxy = CuttingProxy(dovecot.port, nth=2, after=1000)
    try:
        workspace.env["PECFLOW_IMAP__PORT"] = str(proxy.port)
        result, report = _run(workspace)
        assert proxy.cut
        assert result.exit_code == 1 and report["status"] == "failed"
        shown = workspace.cli("batches", "show", str(report["batch"]), "--json")
        error = json.loads(shown.stdout)["error"]
        assert error.startswith("IMAP 127.0.0.1:") and "fetch" in error and "\n" not in error
        assert _count(workspace) == 1
        result, report = _run(workspace)
    finally:
        proxy.stop()
    assert result.exit_code == 0, result.stdout
    assert len(report["messages"]) == 2
    assert _count(workspace) == 3
    assert _folders(dovecot) == {"INBOX": 0, "pecflow/review": 3}
