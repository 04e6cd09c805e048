"""`run --once` end to end on a drop folder, with a real SMTP server, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import stat
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import func, select

from parsers.mime import decode_text, safe_filename
from pipeline.store.db import make_engine
from pipeline.store.models import Message, Order, OrderEvent, OutboxMessage, Payment, ReviewItem
from tests.conftest import Killed, Workspace
from tests.docgen.hostile import (
    encrypted_pdf,
    executable_as_pdf,
    many_pages_pdf,
    not_a_pdf,
    truncated_pdf,
    zero_byte,
)
from tests.docgen.messages import make_email
from tests.docgen.receipts import default_spec, make_receipt_pdf
from tests.docgen.scans import decompression_bomb_png, giant_page_pdf, tiff_pages
from tests.test_orders_import import UNPAID

NOW = "2026-11-20T10:30:00+01:00"


def _ready(ws: Workspace) -> None:
    assert ws.cli("orders", "import", str(_file(ws, "orders.csv", UNPAID.encode()))).exit_code == 0


def _file(ws: Workspace, name: str, data: bytes):
    path = ws.root / name
    path.write_bytes(data)
    return path


def _receipt(code: str = "LM3454898", amount: str = "24.40", layout: str = "intesa") -> bytes:
    return make_receipt_pdf(default_spec([code], Decimal(amount)), layout)


def _db(ws: Workspace):
    return make_engine(ws.env["PECFLOW_DATABASE__URL"])


def _count(ws: Workspace, model: type, *where) -> int:
    engine = _db(ws)
    with engine.connect() as conn:
        value = conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
    engine.dispose()
    return value


def _run(ws: Workspace, *extra: str):
    now = () if "--now" in extra else ("--now", NOW)
    result = ws.cli("run", "--once", *now, "--json", *extra)
    return result, json.loads(result.stdout)


def test_a_dropped_receipt_confirms_its_order_and_mails_once(ws_mail) -> None:
    ws, mailbox = ws_mail
    _ready(ws)
    (ws.drop / "contabile.pdf").write_bytes(_receipt())
    result, report = _run(ws)
    assert result.exit_code == 0, result.stdout
    assert report["status"] == "succeeded"
    assert [m["outcome"] for m in report["messages"]] == ["processed"]
    assert [(o["code"], o["state"]) for o in report["orders"]] == [("LM3454898", "processing")]
    assert not list(ws.drop.iterdir()), "the file leaves the drop folder once committed"
    assert _count(ws, Payment, Payment.status == "confirmed") == 1
    assert (
        _count(ws, OrderEvent, OrderEvent.to_state == "processing", OrderEvent.order_id == 3454898)
        == 1
    )
    assert len(mailbox.messages) == 1
    sent = mailbox.messages[0]
    assert sent["To"] == "mario.rossi@example.it"
    assert "LM3454898" in sent["Subject"]
    text = sent.get_body(("plain",)).get_content() if hasattr(sent, "get_body") else str(sent)
    assert "24,40" in str(sent) or "24,40" in text

    again, report = _run(ws)
    assert again.exit_code == 0
    assert report["messages"] == []
    assert len(mailbox.messages) == 1, "a second run sends nothing more"


def test_the_same_file_dropped_again_changes_nothing(ws_mail) -> None:
    ws, mailbox = ws_mail
    _ready(ws)
    data = make_email(
        sender="mario.rossi@example.it",
        subject="Pagamento LM3454898",
        body="In allegato la contabile.",
        attachments=[("contabile.pdf", "application/pdf", _receipt())],
    )
    (ws.drop / "a.eml").write_bytes(data)
    _run(ws)
    (ws.drop / "a-again.eml").write_bytes(data)
    result, report = _run(ws)
    assert result.exit_code == 0
    assert [i["outcome"] for i in report["items"]] == ["duplicate"]
    assert _count(ws, Message) == 1
    assert _count(ws, Payment) == 1
    assert len(mailbox.messages) == 1


def test_a_bad_file_is_quarantined_and_the_batch_goes_on(ws_mail) -> None:
    ws, mailbox = ws_mail
    _ready(ws)
    (ws.drop / "1-fattura.pdf").write_bytes(not_a_pdf())
    (ws.drop / "2-empty.pdf").write_bytes(b"")
    (ws.drop / "3-contabile.pdf").write_bytes(_receipt())
    result, report = _run(ws)
    assert result.exit_code == 0
    assert report["status"] == "succeeded"
    outcomes = {m["ref"]: (m["outcome"], m["reason"]) for m in report["messages"]}
    assert outcomes["1-fattura.pdf"][0] == "quarantined"
    assert "PDF" in outcomes["1-fattura.pdf"][1]
    assert outcomes["2-empty.pdf"] == ("quarantined", "2-empty.pdf: empty file (0 bytes)")
    assert outcomes["3-contabile.pdf"][0] == "processed"
    assert len(mailbox.messages) == 1


def test_what_cannot_be_decided_goes_to_review_with_a_reason(ws_mail) -> None:
    ws, mailbox = ws_mail
    _ready(ws)
    (ws.drop / "a.pdf").write_bytes(_receipt(amount="20.00"))
    (ws.drop / "b.pdf").write_bytes(_receipt(code="LM9999999", layout="unicredit"))
    result, _ = _run(ws)
    assert result.exit_code == 0
    assert _count(ws, Order, Order.state == "awaiting_payment", Order.id == 3454898) == 1
    listing = json.loads(ws.cli("review", "list", "--json").stdout)
    assert sorted(i["reason"] for i in listing) == ["amount_mismatch", "unknown_code"]
    mismatch = next(i for i in listing if i["reason"] == "amount_mismatch")
    assert mismatch["proposed_order"] == "LM3454898"
    shown = json.loads(ws.cli("review", "show", str(mismatch["id"]), "--json").stdout)
    assert shown["payment_facts"]["amount"] == "20.00"
    assert mailbox.messages == []


def test_a_dry_run_keeps_nothing(ws_mail) -> None:
    ws, mailbox = ws_mail
    _ready(ws)
    (ws.drop / "contabile.pdf").write_bytes(_receipt())
    result, report = _run(ws, "--dry-run")
    assert result.exit_code == 0
    assert report["dry_run"] is True
    assert [m["outcome"] for m in report["messages"]] == ["processed"]
    assert (ws.drop / "contabile.pdf").exists()
    assert _count(ws, Message) == 0
    assert _count(ws, ReviewItem) == 0
    assert mailbox.messages == []
    assert not (ws.root / "data" / "archive").exists() or not any(
        p.is_file() for p in (ws.root / "data" / "archive").rglob("*")
    )


def test_the_archive_is_readable_by_the_service_only(ws_mail) -> None:
    ws, _ = ws_mail
    _ready(ws)
    (ws.drop / "contabile.pdf").write_bytes(_receipt())
    _run(ws)
    files = [p for p in (ws.root / "data" / "archive").rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0


def test_a_failed_message_is_retried_by_rerun(ws_mail, monkeypatch) -> None:
    ws, mailbox = ws_mail
    _ready(ws)
    (ws.drop / "contabile.pdf").write_bytes(_receipt())
    import pipeline.process

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    original = pipeline.process.process_message
    monkeypatch.setattr("pipeline.process.process_message", broken)
    result, report = _run(ws)
    assert result.exit_code == 1
    assert report["status"] == "failed"
    assert [m["outcome"] for m in report["messages"]] == ["failed"]
    assert mailbox.messages == []

    monkeypatch.setattr("pipeline.process.process_message", original)
    rerun = ws.cli("batches", "rerun", str(report["batch"]), "--failed-only", "--json")
    assert rerun.exit_code == 0, rerun.stdout
    again = json.loads(rerun.stdout)
    assert [m["outcome"] for m in again["messages"]] == ["processed"]
    batches = json.loads(ws.cli("batches", "list", "--json").stdout)
    assert batches[0]["parent"] == report["batch"]
    assert len(mailbox.messages) == 1


def test_an_unreachable_smtp_server_leaves_the_email_pending(ws_mail) -> None:
    ws, mailbox = ws_mail
    _ready(ws)
    ws.env["PECFLOW_SMTP__PORT"] = "1"  # nothing listens there
    (ws.drop / "contabile.pdf").write_bytes(_receipt())
    result, report = _run(ws)
    assert result.exit_code == 1
    assert _count(ws, Order, Order.state == "processing", Order.id == 3454898) == 1
    assert _count(ws, OutboxMessage, OutboxMessage.status == "pending") == 1
    del ws.env["PECFLOW_SMTP__PORT"]
    rerun = ws.cli("batches", "rerun", str(report["batch"]), "--json")
    assert rerun.exit_code == 0, rerun.stdout
    assert len(mailbox.messages) == 1
    assert _count(ws, OutboxMessage, OutboxMessage.status == "sent") == 1


def test_arrival_is_the_receiving_server_time_not_the_date_header(ws_mail) -> None:
    from datetime import UTC, datetime

    ws, _ = ws_mail
    _ready(ws)
    data = make_email(
        sender="mario.rossi@example.it",
        subject="Pagamento LM3454898",
        body="ok",
        attachments=[("c.pdf", "application/pdf", _receipt())],
        date=datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
        received=datetime(2026, 11, 20, 8, 55, tzinfo=UTC),
    )
    (ws.drop / "a.eml").write_bytes(data)
    _, report = _run(ws)
    assert report["messages"][0]["received_at"] == "2026-11-20T08:55:00+00:00"


@pytest.mark.parametrize(
    ("make", "name", "reason"),
    [
        (encrypted_pdf, "../../etc/ricevuta.pdf", "encrypted PDF"),
        (lambda: truncated_pdf(_receipt()), "../../etc/ricevuta.pdf", "PDF"),
        (executable_as_pdf, "../../etc/ricevuta.pdf", "executable content"),
        (lambda: many_pages_pdf(5), "../../etc/ricevuta.pdf", "too many pages (5, the limit is 3)"),
        (lambda: b"%PDF-1.4\n" + b"x" * 300000, "../../etc/ricevuta.pdf",
         "too large (300009 bytes, the limit is 200000)"),
        (zero_byte, "/tmp/ricevuta.pdf", "empty file (0 bytes)"),
        (decompression_bomb_png, "..\\foto\r\n.png", "decompression bomb"),
        (giant_page_pdf, "scan\x1b[31m.pdf", "decompression bomb"),
        (lambda: tiff_pages([Image.new("L", (60, 60), 255)] * 4), "scan.tif",
         "too many pages (4, the limit is 3)"),
    ],
    ids=["encrypted", "truncated", "executable", "pages", "oversized", "empty", "bomb",
         "giant-page", "tiff-pages"],
)  # fmt: skip
def test_hostile_attachments_are_quarantined_with_a_reason(ws_mail, make, name, reason) -> None:
    """Whatever the file and however it is named, it ends quarantined with its reason under a
    clean name, and the rest of the batch is processed."""
    ws, mailbox = ws_mail
    ws.env.update(PECFLOW_LIMITS__MAX_PAGES="3", PECFLOW_LIMITS__MAX_ATTACHMENT_BYTES="200000")
    _ready(ws)
    hostile = make_email(
        sender="x@example.it",
        subject="Pagamento LM3454898",
        body="ecco",
        attachments=[(name, "application/octet-stream", make())],
    )
    (ws.drop / "hostile.eml").write_bytes(hostile)
    (ws.drop / "zz-good.pdf").write_bytes(_receipt())
    result, report = _run(ws)
    assert result.exit_code == 0
    first, second = report["messages"]
    assert first["outcome"] == "quarantined"
    shown = safe_filename(name)
    assert shown and "/" not in shown and "\\" not in shown and shown.isprintable()
    assert first["reason"].startswith(f"{shown}: ")
    assert reason in first["reason"]
    assert second["outcome"] == "processed"
    to_customer = [m for m in mailbox.messages if m["To"] == "mario.rossi@example.it"]
    assert len(to_customer) == 1
    # The sender hears back only about what they can fix, never about hostile content.
    replies = [m for m in mailbox.messages if m["To"] == "x@example.it"]
    fixable = reason not in ("executable content", "decompression bomb")
    assert len(replies) == (1 if fixable else 0)
    if fixable:
        subject = " ".join(decode_text(replies[0]["Subject"]).split())
        assert subject.startswith("Il suo messaggio non è stato letto (ordine LM3454898)")


def test_an_oversized_message_is_archived_and_quarantined_unread(ws_mail) -> None:
    ws, _ = ws_mail
    ws.env["PECFLOW_LIMITS__MAX_MESSAGE_BYTES"] = "1000"
    _ready(ws)
    (ws.drop / "big.eml").write_bytes(b"Subject: x\r\n\r\n" + b"a" * 5000)
    _, report = _run(ws)
    assert [(m["outcome"], m["reason"]) for m in report["messages"]] == [
        ("quarantined", "message too large (5014 bytes)")
    ]
    assert not (ws.drop / "big.eml").exists()


def test_a_crash_during_the_smtp_send_never_sends_twice_by_itself(ws_mail, monkeypatch) -> None:
    ws, mailbox = ws_mail
    _ready(ws)
    (ws.drop / "contabile.pdf").write_bytes(_receipt())
    import smtplib

    original = smtplib.SMTP.send_message

    def accepted_then_killed(self, *args, **kwargs):
        original(self, *args, **kwargs)
        raise Killed("the process dies after the server accepted the message")

    monkeypatch.setattr(smtplib.SMTP, "send_message", accepted_then_killed)
    with pytest.raises(Killed):
        ws.cli("run", "--once", "--now", NOW)
    monkeypatch.undo()
    assert len(mailbox.messages) == 1
    result, _ = _run(ws, "--now", "2026-11-20T11:00:00+01:00")
    assert result.exit_code == 1  # an unsure e-mail needs ops
    outbox = json.loads(ws.cli("outbox", "list", "--json").stdout)
    assert [(o["status"], o["id"]) for o in outbox] == [("unsure", 1)]
    assert "Message-ID" in outbox[0]["last_error"]
    assert len(mailbox.messages) == 1, "not sent again by itself"
    assert ws.cli("outbox", "retry", "1").exit_code == 0
    _run(ws, "--now", "2026-11-20T11:01:00+01:00")
    assert len(mailbox.messages) == 2, "sent again only because ops asked"


def test_a_receipt_to_another_beneficiary_goes_to_review(ws_mail) -> None:
    ws, mailbox = ws_mail
    _ready(ws)
    other = default_spec(
        ["LM3454898"],
        Decimal("24.40"),
        beneficiary="Altra Ditta S.r.l.",
        beneficiary_iban="IT02L1234512345123456789012",
    )
    (ws.drop / "contabile.pdf").write_bytes(make_receipt_pdf(other, "intesa"))
    _, report = _run(ws)
    assert report["messages"][0]["reason"].startswith("wrong_beneficiary")
    assert mailbox.messages == []


def test_a_receipt_without_code_proposes_the_payer_s_order(ws_mail) -> None:
    ws, _ = ws_mail
    _ready(ws)
    spec = default_spec([], Decimal("24.40"), payer="ROSSI MARIO")
    (ws.drop / "contabile.pdf").write_bytes(make_receipt_pdf(spec, "unicredit"))
    _run(ws)
    (item,) = json.loads(ws.cli("review", "list", "--json").stdout)
    assert (item["reason"], item["proposed_order"]) == ("no_code", "LM3454898")
