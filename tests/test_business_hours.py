"""The business-hour rules through the real command line and database: payments held until the
office opens, what is late, the watchdog's one alert, the nightly report, retention."""

from __future__ import annotations

import json
import os
from datetime import datetime
from decimal import Decimal
from email.message import Message
from pathlib import Path

from sqlalchemy import select, update

from jobs.edges import mail_edges
from mailer.outbound.writer import MailWriter
from pipeline.archive import Archive
from pipeline.services.scheduled import Jobs
from pipeline.store.db import open_store
from pipeline.store.models import Message as StoredMessage
from pipeline.store.models import Order, Payment, ReviewItem
from tests.conftest import Workspace
from tests.docgen import noise
from tests.docgen.receipts import default_spec, make_receipt_pdf
from tests.test_pipeline import _count, _db, _ready, _receipt, _run

FRIDAY_EVENING = datetime.fromisoformat("2026-11-20T19:00:00+01:00")
SATURDAY = "2026-11-21T10:00:00+01:00"
MONDAY_0905 = "2026-11-23T09:05:00+01:00"
MONDAY_0931 = "2026-11-23T09:31:00+01:00"


def _drop(ws: Workspace, name: str, data: bytes, arrived: datetime) -> None:
    """A file as the drop folder sees it: its modification time is its arrival."""
    path = ws.drop / name
    path.write_bytes(data)
    os.utime(path, (arrived.timestamp(), arrived.timestamp()))


def _ops(ws: Workspace) -> None:
    with ws.config.open("a", encoding="utf-8") as config:
        config.write('[mail]\nops_address = "ops@visura.it"\n')


def _state(ws: Workspace, order_id: int = 3454898) -> str:
    engine = _db(ws)
    with engine.connect() as conn:
        state = conn.scalar(select(Order.state).where(Order.id == order_id))
    engine.dispose()
    return str(state)


def _late(ws: Workspace, now: str) -> tuple[int, list[dict[str, str]]]:
    result = ws.cli("sla", "late", "--now", now, "--json")
    return result.exit_code, json.loads(result.stdout)


def _to(mailbox, address: str) -> list[Message]:
    return [m for m in mailbox.messages if m["To"] == address]


def test_payment_due_prints_the_due_time_of_the_example(workspace) -> None:
    result = workspace.cli("sla", "payment-due", "2026-12-24T18:00:00+01:00")
    assert result.exit_code == 0
    assert result.stdout.strip() == "2026-12-28T09:30:00+01:00"
    result = workspace.cli("sla", "payment-due", "2026-11-20T19:00", "--json")
    assert json.loads(result.stdout) == {
        "not_before": "2026-11-23T09:00:00+01:00",
        "due_by": "2026-11-23T09:30:00+01:00",
    }
    documents = workspace.cli("sla", "documents-due", "2026-11-20T10:00:00+01:00", "--json")
    assert json.loads(documents.stdout) == {
        "warning": "2026-11-23T10:00:00+01:00",
        "due_by": "2026-11-25T10:00:00+01:00",
    }


def test_a_receipt_of_friday_evening_is_confirmed_on_monday_from_nine(ws_mail) -> None:
    ws, mailbox = ws_mail
    _ready(ws)
    _drop(ws, "contabile.pdf", _receipt(), FRIDAY_EVENING)
    result, report = _run(ws, "--now", SATURDAY)
    assert result.exit_code == 0, result.stdout
    assert [m["outcome"] for m in report["messages"]] == ["processed"]
    assert report["items"][0]["detail"] == (
        "scheduled LM3454898; office closed: confirmed from 23/11/2026 09:00"
    )
    assert _state(ws) == "awaiting_payment", "not confirmed on Saturday"
    assert not mailbox.messages, "nor the customer written to"
    engine = _db(ws)
    with engine.connect() as conn:
        payment = conn.execute(select(Payment.not_before, Payment.due_by, Payment.status)).one()
    engine.dispose()
    assert payment.status == "scheduled"
    assert payment.not_before == datetime.fromisoformat("2026-11-23T09:00:00+01:00")
    assert payment.due_by == datetime.fromisoformat("2026-11-23T09:30:00+01:00")
    # Still held at 08:59; not yet late at 09:29 but at risk; late at 09:31.
    _run(ws, "--now", "2026-11-23T08:59:00+01:00")
    assert _state(ws) == "awaiting_payment"
    assert _late(ws, "2026-11-23T09:25:00+01:00")[1][0]["status"] == "at_risk"
    code, late = _late(ws, MONDAY_0931)
    assert code == 1
    assert [(i["kind"], i["ref"], i["status"], i["due_by"]) for i in late] == [
        ("payment", "payment 1", "late", "2026-11-23T09:30:00+01:00")
    ]
    assert "LM3454898" in late[0]["detail"]
    result, report = _run(ws, "--now", MONDAY_0905)
    assert [(i["type"], i["outcome"]) for i in report["items"]][:1] == [("payment", "confirmed")]
    # The order it confirmed is the item's, as data: the run's report lists it from there.
    assert report["items"][0]["orders"] == ["LM3454898"]
    assert [o["code"] for o in report["orders"]] == ["LM3454898"]
    assert _state(ws) == "processing"
    assert len(_to(mailbox, "mario.rossi@example.it")) == 1
    assert _late(ws, MONDAY_0931) == (0, [])
    _run(ws, "--now", MONDAY_0931)
    assert len(mailbox.messages) == 1, "confirmed once, written to once"


def test_a_second_receipt_for_a_held_payment_is_reviewed_not_held_again(workspace) -> None:
    _ready(workspace)
    _drop(workspace, "a.pdf", _receipt(), FRIDAY_EVENING)
    _run(workspace, "--now", SATURDAY)
    other = default_spec(["LM3454898"], Decimal("24.40"), cro="98765432109")
    _drop(workspace, "b.pdf", make_receipt_pdf(other, "unicredit"), FRIDAY_EVENING)
    _, report = _run(workspace, "--now", SATURDAY)
    assert [m["outcome"] for m in report["messages"]] == ["review"]
    assert "payment 1 already pays LM3454898" in report["messages"][0]["reason"]
    assert _count(workspace, Payment, Payment.status == "scheduled") == 1


def test_a_held_payment_whose_order_was_settled_meanwhile_goes_to_review(workspace) -> None:
    _ready(workspace)
    _drop(workspace, "a.pdf", _receipt(), FRIDAY_EVENING)
    _run(workspace, "--now", SATURDAY)
    engine = _db(workspace)
    with engine.begin() as conn:  # ops marked it paid on the portal, re-imported
        conn.execute(update(Order).values(state="processing", payment_status="paid"))
    engine.dispose()
    _, report = _run(workspace, "--now", MONDAY_0905)
    assert [(i["type"], i["outcome"]) for i in report["items"]][:1] == [("payment", "review")]
    assert _count(workspace, ReviewItem, ReviewItem.reason == "already_paid") == 1
    assert _count(workspace, Payment, Payment.status == "review") == 1


def _jobs(ws: Workspace, at: str) -> tuple[Jobs, object]:
    from config import load_settings

    os.environ.update(ws.env)  # the settings read the database URL from the environment
    try:
        settings = load_settings(ws.config)
    finally:
        for key in ws.env:
            os.environ.pop(key, None)
    store = open_store(settings.database_url, renderer=MailWriter())
    return Jobs(store, settings, lambda: datetime.fromisoformat(at), mail_edges()), store


def test_the_watchdog_alerts_ops_once_per_late_item(ws_mail) -> None:
    ws, mailbox = ws_mail
    _ops(ws)
    _ready(ws)
    _drop(ws, "contabile.pdf", _receipt(), FRIDAY_EVENING)
    _run(ws, "--now", SATURDAY)
    early, store = _jobs(ws, "2026-11-23T09:29:00+01:00")
    assert early.watchdog() == []
    for minute in ("31", "36", "41"):  # three watchdog runs while it stays late
        late, _ = _jobs(ws, f"2026-11-23T09:{minute}:00+01:00")
        late.watchdog()
    alerts = _to(mailbox, "ops@visura.it")
    assert len(alerts) == 1
    assert "payment 1" in alerts[0]["Subject"] and "23/11/2026 09:30" in alerts[0]["Subject"]
    store.engine.dispose()  # type: ignore[attr-defined]


def test_the_confirm_job_confirms_at_opening_and_sends(ws_mail) -> None:
    ws, mailbox = ws_mail
    _ready(ws)
    _drop(ws, "contabile.pdf", _receipt(), FRIDAY_EVENING)
    _run(ws, "--now", SATURDAY)
    before, store = _jobs(ws, "2026-11-23T08:59:59+01:00")
    assert before.confirm() is None, "nothing due: not even a batch"
    at_nine, _ = _jobs(ws, "2026-11-23T09:00:00+01:00")
    report = at_nine.confirm()
    assert report is not None and report.counts == {"confirmed": 1, "sent": 1}
    assert _state(ws) == "processing"
    assert len(mailbox.messages) == 1
    store.engine.dispose()  # type: ignore[attr-defined]


def test_the_nightly_report_is_written_and_mailed_once(ws_mail) -> None:
    ws, mailbox = ws_mail
    _ops(ws)
    _ready(ws)
    _drop(ws, "contabile.pdf", _receipt(), datetime.fromisoformat("2026-11-20T10:00:00+01:00"))
    _run(ws, "--now", "2026-11-20T10:05:00+01:00")
    # The same receipt again: a duplicate, decided (with no effect) on time too.
    again = _receipt(layout="unicredit")  # another bank's copy, the same CRO
    _drop(ws, "again.pdf", again, datetime.fromisoformat("2026-11-20T11:00:00+01:00"))
    _run(ws, "--now", "2026-11-20T11:05:00+01:00")
    for _ in range(2):
        result = ws.cli("report", "--date", "2026-11-20", "--now", "2026-11-21T00:30:00+01:00")
        assert result.exit_code == 0, result.stdout
    folder = ws.root / "data" / "reports"
    assert sorted(p.name for p in folder.iterdir()) == [
        "2026-11-20.csv",
        "2026-11-20.html",
        "2026-11-20.png",
    ]
    csv = (folder / "2026-11-20.csv").read_text()
    assert "payments,confirmed,1" in csv and "sla,payments_compliance,1" in csv
    assert "sla,payments_due,2" in csv and "sla,payments_on_time,2" in csv
    assert 'src="2026-11-20.png"' in (folder / "2026-11-20.html").read_text()
    _run(ws, "--now", "2026-11-21T00:31:00+01:00")
    reports = _to(mailbox, "ops@visura.it")
    assert len(reports) == 1, "asked twice, e-mailed once"
    parts = {p.get_content_type(): p for p in reports[0].walk()}
    assert parts["image/png"]["Content-ID"] == "<report-chart@pecflow>"
    assert "text/csv" in parts
    assert "cid:report-chart@pecflow" in parts["text/html"].get_payload(decode=True).decode()


def test_retention_removes_old_bytes_but_keeps_what_a_newer_message_shares(workspace) -> None:
    _ready(workspace)
    # A supplier's invoice of 2016, set aside then (a receipt of 2016 could pay no order of
    # 2026: it would still wait in review, and retention keeps what a person must see).
    old = datetime.fromisoformat("2016-01-04T10:00:00+01:00")
    _drop(workspace, "old.pdf", noise.supplier_invoice_pdf(), old)
    _drop(workspace, "new.eml", b"Subject: x\r\nFrom: a@b.it\r\n\r\nnothing\r\n", FRIDAY_EVENING)
    _run(workspace, "--now", "2026-11-20T19:05:00+01:00")
    engine = _db(workspace)
    with engine.connect() as conn:
        rows = {m.source_id.split("@")[0]: m for m in conn.execute(select(StoredMessage))}
    engine.dispose()
    archive = Archive(workspace.root / "data" / "archive")
    assert archive.path(rows["old.pdf"].sha256).exists()
    jobs, store = _jobs(workspace, "2026-11-23T03:00:00+01:00")
    jobs.purge()
    jobs.purge()  # a second night finds nothing more to do
    assert not archive.path(rows["old.pdf"].sha256).exists()
    assert archive.path(rows["new.eml"].sha256).exists()
    assert _count(workspace, StoredMessage, StoredMessage.archive_purged_at.is_not(None)) == 1
    store.engine.dispose()  # type: ignore[attr-defined]


def test_report_files_older_than_retention_are_removed(workspace, tmp_path: Path) -> None:
    folder = workspace.root / "data" / "reports"
    folder.mkdir(parents=True)
    for name in ("2025-01-01.html", "2026-11-01.csv", "notes.txt"):
        (folder / name).write_text("x")
    jobs, store = _jobs(workspace, "2026-11-23T03:00:00+01:00")
    jobs.purge()
    assert sorted(p.name for p in folder.iterdir()) == ["2026-11-01.csv", "notes.txt"]
    store.engine.dispose()  # type: ignore[attr-defined]
