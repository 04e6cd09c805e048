"""The amministrazione mailbox on a real Dovecot: incremental, idempotent, nothing lost."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select

from pipeline.store.db import make_engine
from pipeline.store.models import Batch, Message
from tests.conftest import Killed
from tests.docgen import noise
from tests.docgen.messages import make_email, make_pec_envelope, make_pec_receipt
from tests.docgen.receipts import default_spec, make_receipt_pdf
from tests.dovecot import PASSWORD, USER, commands_sent
from tests.test_business_hours import _jobs
from tests.test_orders_import import UNPAID

pytestmark = pytest.mark.integration  # a real Dovecot in every test

NOW = "2026-11-20T12:00:00+01:00"


ARRIVED = datetime(2026, 11, 20, 9, 40, tzinfo=UTC)


def _client(dovecot) -> IMAPClient:
    client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=5)
    client.plain_login(USER, dovecot.password)  # any password: LOGIN takes ASCII only
    return client


def _append(
    dovecot,
    raw: bytes,
    when: datetime = ARRIVED,
    folder: str = "INBOX",
    flags: tuple[bytes, ...] = (),
) -> None:
    with _client(dovecot) as client:
        client.append(folder, raw, flags=flags, msg_time=when)


def _receipt_mail(
    code: str = "LM3454898",
    amount: str = "24.40",
    subject: str = "Contabile",
    layout: str = "intesa",
) -> bytes:
    pdf = make_receipt_pdf(default_spec([code], Decimal(amount)), layout)
    return make_email(
        sender="mario.rossi@example.it",
        subject=subject,
        body="In allegato.",
        attachments=[("contabile.pdf", "application/pdf", pdf)],
    )


def _ready(ws) -> None:
    path = ws.root / "orders.csv"
    path.write_text(UNPAID, encoding="utf-8")
    assert ws.cli("orders", "import", str(path)).exit_code == 0


def _run(ws, now: str = NOW):
    result = ws.cli("run", "--once", "--now", now, "--json")
    return result, json.loads(result.stdout)


def _folders(dovecot) -> dict[str, int]:
    """Message counts by folder, hierarchy written with / whatever the server's delimiter."""
    with _client(dovecot) as client:
        return {
            name.replace(delimiter.decode(), "/"): client.folder_status(name, ["MESSAGES"])[
                b"MESSAGES"
            ]
            for flags, delimiter, name in client.list_folders()
            if b"\\Noselect" not in flags
        }


def _count(ws, *where) -> int:
    engine = make_engine(ws.env["PECFLOW_DATABASE__URL"])
    with engine.connect() as conn:
        value = conn.execute(select(func.count()).select_from(Message).where(*where)).scalar_one()
    engine.dispose()
    return value


def test_a_receipt_in_the_mailbox_is_processed_filed_and_timed_by_the_server(imap_ws) -> None:
    ws, dovecot, mailbox = imap_ws
    _ready(ws)
    _append(dovecot, _receipt_mail())
    result, report = _run(ws)
    assert result.exit_code == 0, result.stdout
    assert [m["outcome"] for m in report["messages"]] == ["processed"]
    assert report["messages"][0]["received_at"] == "2026-11-20T09:40:00+00:00"
    assert report["orders"][0]["state"] == "processing"
    assert _folders(dovecot) == {"INBOX": 0, "pecflow/processed": 1}
    assert len(mailbox.messages) == 1

    again, report = _run(ws)
    assert again.exit_code == 0
    assert report["messages"] == []
    assert len(mailbox.messages) == 1


def test_polls_are_incremental(imap_ws) -> None:
    ws, dovecot, _ = imap_ws
    ws.env["PECFLOW_IMAP__AFTER"] = "flag"  # messages stay in the folder, flagged
    _ready(ws)
    _append(dovecot, _receipt_mail())
    _run(ws)
    _append(dovecot, make_email(sender="a@example.it", subject="ciao", body="una domanda"))
    _append(dovecot, _receipt_mail(code="LM9999999", layout="bpm"))
    _, report = _run(ws)
    assert [m["outcome"] for m in report["messages"]] == ["review", "review"]
    assert _count(ws) == 3
    with _client(dovecot) as client:
        client.select_folder("INBOX", readonly=True)
        flags = client.get_flags(client.search("ALL"))
    assert all(b"PecflowDone" in f for f in flags.values())


def test_a_changed_uidvalidity_resyncs_without_processing_twice(imap_ws) -> None:
    ws, dovecot, mailbox = imap_ws
    ws.env.update(PECFLOW_IMAP__FOLDER="Amministrazione", PECFLOW_IMAP__AFTER="flag")
    _ready(ws)
    first = _receipt_mail()
    with _client(dovecot) as client:
        client.create_folder("Amministrazione")
    _append(dovecot, first, folder="Amministrazione")
    _run(ws)
    with _client(dovecot) as client:  # the folder is deleted and made again: new UIDVALIDITY
        client.delete_folder("Amministrazione")
        client.create_folder("Amministrazione")
    _append(dovecot, first, folder="Amministrazione")
    _append(dovecot, _receipt_mail(code="LM9999999"), folder="Amministrazione")
    result, report = _run(ws)
    assert result.exit_code == 0
    assert sorted(i["outcome"] for i in report["items"] if i["type"] == "message") == [
        "duplicate",
        "review",
    ]
    assert _count(ws) == 2
    assert len(mailbox.messages) == 1


def test_a_crash_between_commit_and_filing_loses_and_repeats_nothing(imap_ws, monkeypatch) -> None:
    ws, dovecot, mailbox = imap_ws
    _ready(ws)
    _append(dovecot, _receipt_mail())

    def crash(self, uids, outcome):
        raise Killed("the process dies before the move")

    monkeypatch.setattr("mailer.inbound.imap.ImapMailbox.file", crash)
    with pytest.raises(Killed):
        ws.cli("run", "--once", "--now", NOW)
    assert _folders(dovecot)["INBOX"] == 1
    monkeypatch.undo()
    result, report = _run(ws)
    assert result.exit_code == 0
    assert report["messages"] == []  # nothing new to process: it was committed before
    assert _folders(dovecot)["INBOX"] == 0
    assert _count(ws) == 1
    assert len(mailbox.messages) == 1


def test_pec_envelopes_are_opened_and_pec_receipts_set_aside(imap_ws) -> None:
    ws, dovecot, mailbox = imap_ws
    _ready(ws)
    _append(
        dovecot,
        make_pec_envelope(
            _receipt_mail(),
            certified_sender="mario@pec.example.it",
            identifier="opec1.20261120@legalmail.it",
            date=ARRIVED,
        ),
    )
    _append(dovecot, make_pec_receipt("avvenuta-consegna"))
    _, report = _run(ws)
    assert [(m["outcome"], m["reason"]) for m in report["messages"]] == [
        ("processed", None),
        ("ignored", "PEC service receipt: avvenuta-consegna"),
    ]
    engine = make_engine(ws.env["PECFLOW_DATABASE__URL"])
    with engine.connect() as conn:
        facts = conn.execute(select(Message.facts).order_by(Message.id)).scalars().first()
    engine.dispose()
    assert facts["pec"]["certified_sender"] == "mario@pec.example.it"
    assert len(mailbox.messages) == 1


def test_broken_messages_get_an_outcome_and_the_poll_goes_on(imap_ws) -> None:
    ws, dovecot, _ = imap_ws
    _ready(ws)
    _append(
        dovecot,
        b"Subject: =?x-bogus?q?caff=E8?=\r\nContent-Type: text/plain; charset=bogus"
        b"\r\n\r\nOrdine LM3454898 pagato \xe8\xff\r\n",
    )
    _append(
        dovecot,
        b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\n'
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64"
        b"\r\n\r\n!!!not base64!!!\r\n",
    )
    _append(dovecot, _receipt_mail())
    result, report = _run(ws)
    assert result.exit_code == 0, result.stdout
    assert [m["outcome"] for m in report["messages"]] == ["review", "quarantined", "processed"]


def test_a_human_reading_the_mailbox_meanwhile_changes_nothing(imap_ws) -> None:
    ws, dovecot, mailbox = imap_ws
    ws.env["PECFLOW_IMAP__AFTER"] = "flag"
    _ready(ws)
    _append(dovecot, _receipt_mail())
    _append(
        dovecot,
        make_email(sender="b@example.it", subject="info", body="?"),
        flags=(b"\\Seen", b"\\Flagged"),
    )
    with _client(dovecot) as human:  # a colleague reads and flags the first one
        human.select_folder("INBOX")
        human.add_flags([1], [b"\\Flagged"])
    _run(ws)
    with _client(dovecot) as human:
        human.select_folder("INBOX", readonly=True)
        flags = human.get_flags([1, 2])
    assert b"\\Seen" not in flags[1], "pecflow peeks: unread mail stays unread"
    assert b"\\Flagged" in flags[1] and b"\\Seen" in flags[2]
    with _client(dovecot) as human:  # the colleague deletes a message pecflow already has
        human.select_folder("INBOX")
        human.delete_messages([1])
        human.expunge()
    result, report = _run(ws)
    assert result.exit_code == 0
    assert report["messages"] == []
    assert len(mailbox.messages) == 1


def test_server_trouble_fails_the_batch_with_the_cause_and_the_drop_folder_goes_on(
    imap_ws,
) -> None:
    ws, dovecot, _ = imap_ws
    _ready(ws)
    ws.env["PECFLOW_IMAP__PASSWORD"] = "wrong"
    (ws.drop / "contabile.pdf").write_bytes(
        make_receipt_pdf(default_spec(["LM3454898"], Decimal("24.40")), "unicredit")
    )
    result, report = _run(ws)
    assert result.exit_code == 1
    assert report["status"] == "failed"
    assert [m["outcome"] for m in report["messages"]] == ["processed"]
    batch = json.loads(ws.cli("batches", "show", str(report["batch"]), "--json").stdout)
    assert "login" in batch["error"]
    assert "wrong" not in batch["error"]
    check = ws.cli("mailbox", "check")
    assert check.exit_code == 2
    ws.env["PECFLOW_IMAP__PASSWORD"] = PASSWORD
    _append(dovecot, _receipt_mail(code="LM9999999"))
    ws.env["PECFLOW_IMAP__PORT"] = "1"
    result, report = _run(ws)
    assert (
        "connect"
        in json.loads(ws.cli("batches", "show", str(report["batch"]), "--json").stdout)["error"]
    )


def test_the_server_killed_mid_fetch_then_the_next_poll_continues(imap_ws, monkeypatch) -> None:
    ws, dovecot, _ = imap_ws
    ws.env["PECFLOW_IMAP__FETCH_CHUNK"] = "1"
    _ready(ws)
    for number in range(3):
        _append(dovecot, _receipt_mail(code="LM9999999", subject=f"n. {number}"))
    import mailer.inbound.imap

    original = mailer.inbound.imap.ImapMailbox.fetch

    def fetch_then_die(self, uids):
        for index, item in enumerate(original(self, uids)):
            if index == 1:
                dovecot.kill()
            yield item

    monkeypatch.setattr(mailer.inbound.imap.ImapMailbox, "fetch", fetch_then_die)
    result, report = _run(ws)
    assert result.exit_code == 1
    assert report["status"] == "failed"
    done_first = _count(ws)
    assert 1 <= done_first < 3
    monkeypatch.undo()
    dovecot.restart()
    result, report = _run(ws)
    assert result.exit_code == 0, report
    assert _count(ws) == 3


def test_mailbox_check_tells_what_is_new(imap_ws) -> None:
    ws, dovecot, _ = imap_ws
    _ready(ws)
    _append(dovecot, _receipt_mail())
    _append(dovecot, _receipt_mail(code="LM9999999"))
    check = json.loads(ws.cli("mailbox", "check", "--json").stdout)
    assert (check["folder"], check["messages"], check["new"]) == ("INBOX", 2, 2)
    _run(ws)
    check = json.loads(ws.cli("mailbox", "check", "--json").stdout)
    assert (check["messages"], check["new"]) == (0, 0)


@pytest.fixture
def tls_dovecot():
    from tests.dovecot import Dovecot

    server = Dovecot(tls=True).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_certificates_are_verified_and_a_ca_file_can_vouch(
    tls_dovecot, tmp_path, security: str
) -> None:
    from config import load_settings
    from mailer.inbound.imap import ImapError, ImapMailbox

    port = tls_dovecot.tls_port if security == "tls" else tls_dovecot.port
    base = (
        f'[imap]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\n'
        f'username = "{USER}"\npassword = "{PASSWORD}"\ntimeout_seconds = 5\n'
    )
    untrusting = tmp_path / "a.toml"
    untrusting.write_text(base, encoding="utf-8")
    with pytest.raises(ImapError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        ImapMailbox(load_settings(untrusting).imap).__enter__()
    trusting = tmp_path / "b.toml"
    trusting.write_text(base + f'ca_file = "{tls_dovecot.certificate}"\n', encoding="utf-8")
    with ImapMailbox(load_settings(trusting).imap) as box:
        assert box.select().folder == "INBOX"


def test_a_folder_that_vanished_fails_the_batch_with_the_cause(imap_ws) -> None:
    ws, _, _ = imap_ws
    ws.env["PECFLOW_IMAP__FOLDER"] = "Sparita"
    _ready(ws)
    result, report = _run(ws)
    assert result.exit_code == 1
    batch = json.loads(ws.cli("batches", "show", str(report["batch"]), "--json").stdout)
    assert batch["status"] == "failed"
    assert batch["error"].startswith("IMAP 127.0.0.1:")
    assert "select Sparita" in batch["error"]


def test_a_dry_run_reads_the_mailbox_and_changes_nothing(imap_ws) -> None:
    ws, dovecot, mailbox = imap_ws
    _ready(ws)
    _append(dovecot, _receipt_mail())
    result = ws.cli("run", "--once", "--dry-run", "--now", NOW, "--json")
    assert [m["outcome"] for m in json.loads(result.stdout)["messages"]] == ["processed"]
    assert _folders(dovecot) == {"INBOX": 1}
    assert _count(ws) == 0
    assert mailbox.messages == []
    _, report = _run(ws)
    assert [m["outcome"] for m in report["messages"]] == ["processed"]


def test_mail_that_needs_nobody_is_set_aside_in_its_own_folder_unanswered(imap_ws) -> None:
    """An out-of-office reply naming the order, a bounce carrying our own contract, a
    newsletter and a supplier's invoice: ignored with their reasons, filed in
    pecflow/ignored where a person can still find them, no review item, no e-mail; the
    customer's receipt beside them is processed as usual."""
    ws, dovecot, mailbox = imap_ws
    _ready(ws)
    customer = "Mario Rossi <mario.rossi@example.it>"
    for raw in (
        noise.outlook_out_of_office(customer, "LM3454898"),
        noise.postfix_bounce(customer, "LM3454898"),
        noise.newsletter("supplier"),
        noise.supplier_invoice("hosting"),
    ):
        _append(dovecot, raw)
    _append(dovecot, _receipt_mail())
    result, report = _run(ws)
    assert result.exit_code == 0, result.stdout
    assert [(m["outcome"], (m["reason"] or "").split(" (")[0]) for m in report["messages"]] == [
        ("ignored", "automatic reply"),
        ("ignored", "delivery status notification"),
        ("ignored", "newsletter or bulk mail"),
        ("ignored", "a supplier's invoice or statement: no order code, and the sender is not a "
                    "customer"),
        ("processed", ""),
    ]  # fmt: skip
    assert _folders(dovecot) == {"INBOX": 0, "pecflow/ignored": 4, "pecflow/processed": 1}
    assert json.loads(ws.cli("review", "list", "--json").stdout) == []
    assert len(mailbox.messages) == 1  # the payment's e-mail, nothing to the robots


def test_a_large_message_is_read_in_pieces_and_archived_whole(imap_ws, monkeypatch) -> None:
    """A message larger than a piece is never fetched whole: it is asked for piece by piece
    as it is archived, and the archive holds exactly what the server holds. (Pieces of 64 KB
    here, so that a small message has several.)"""
    ws, dovecot, mailbox = imap_ws
    monkeypatch.setattr("mailer.inbound.imap.PIECE_BYTES", 64 * 1024)
    asked: list[list[str]] = []
    fetch = IMAPClient.fetch

    def recording(self: IMAPClient, messages: object, data: list[str], *args: object) -> object:
        asked.append([str(item) for item in data])
        return fetch(self, messages, data, *args)

    monkeypatch.setattr(IMAPClient, "fetch", recording)
    _ready(ws)
    padding = bytes(range(256)) * 1024  # 256 KB that no compression or reading shortens
    raw = make_email(
        sender="mario.rossi@example.it",
        subject="Contabile",
        body="In allegato.",
        attachments=[
            ("contabile.pdf", "application/pdf",
             make_receipt_pdf(default_spec(["LM3454898"], Decimal("24.40")), "intesa")),
            ("allegato.bin", "application/octet-stream", padding),
        ],
    )  # fmt: skip
    _append(dovecot, raw)
    result, report = _run(ws)
    assert result.exit_code == 0, result.stdout
    assert [m["outcome"] for m in report["messages"]] == ["processed"]
    pieces = [items for items in asked if any(i.startswith("BODY.PEEK[]<") for i in items)]
    assert len(pieces) >= len(raw) // (64 * 1024), asked
    assert ["BODY.PEEK[]"] not in asked, "the message was never fetched whole"
    with _client(dovecot) as client:
        delimiter = client.list_folders()[0][1].decode()
        client.select_folder(f"pecflow{delimiter}processed", readonly=True)
        (stored,) = client.fetch(client.search("ALL"), ["BODY.PEEK[]"]).values()
    engine = make_engine(ws.env["PECFLOW_DATABASE__URL"])
    with engine.connect() as conn:
        sha, size = conn.execute(select(Message.sha256, Message.size)).one()
    engine.dispose()
    assert (sha, size) == (hashlib.sha256(stored[b"BODY[]"]).hexdigest(), len(stored[b"BODY[]"]))
    assert len(mailbox.messages) == 1


def _batches(ws) -> int:
    engine = make_engine(ws.env["PECFLOW_DATABASE__URL"])
    with engine.connect() as conn:
        value = conn.execute(select(func.count()).select_from(Batch)).scalar_one()
    engine.dispose()
    return value


def test_an_idle_poll_fetches_nothing_and_leaves_no_batch(imap_ws) -> None:
    """The scheduler's poll with nothing new, over a folder still holding what was processed
    (flagged): one session that only selects (UIDNEXT says nothing can be new: no SEARCH, no
    FETCH; nothing to file: no NAMESPACE, no second login), and no batch row. A poll with
    news, or with trouble, keeps its batch."""
    ws, dovecot, _ = imap_ws
    ws.env["PECFLOW_IMAP__AFTER"] = "flag"
    _ready(ws)
    _append(dovecot, _receipt_mail())
    _run(ws)
    before = _batches(ws)  # the import's and the run's
    jobs, store = _jobs(ws, NOW)
    try:
        with commands_sent() as sent:
            assert jobs.poll() is None
        assert sent == ["CAPABILITY", "AUTHENTICATE", "SELECT", "LOGOUT"]  # imaplib asks CAPABILITY
        assert _batches(ws) == before
        _append(dovecot, make_email(sender="a@example.it", subject="ciao", body="una domanda"))
        report = jobs.poll()
        assert report is not None and report.counts == {"review": 1}
        assert _batches(ws) == before + 1
    finally:
        store.engine.dispose()
    ws.env["PECFLOW_IMAP__PASSWORD"] = "wrong"
    jobs, store = _jobs(ws, NOW)
    try:
        report = jobs.poll()
    finally:
        store.engine.dispose()
    assert report is not None and report.status == "failed"
    batch = json.loads(ws.cli("batches", "show", str(report.batch_id), "--json").stdout)
    assert "login" in batch["error"]
    assert _batches(ws) == before + 2
