"""One bad input never stops the office: whatever sits in the drop folder, a message that keeps
failing, a message with thousands of parts, a run killed mid-way. On SQLite and PostgreSQL,
with a real SMTP server, through the command line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from mailer.inbound.drop_folder import DroppedFile, list_drop_folder, shown_name
from parsers.mime import MAX_PARTS
from pipeline.sources import Problem
from pipeline.store.db import make_engine
from pipeline.store.models import Batch, Message, Order, Payment, ReviewItem
from tests.conftest import Workspace
from tests.docgen.messages import make_email
from tests.docgen.orders import make_order, orders_csv
from tests.docgen.receipts import default_spec, make_receipt_pdf

NOW = "2026-11-20T10:30:00+01:00"
LATER = "2026-11-20T11:30:00+01:00"
IDS = [f"{3454890 + i}" for i in range(6)]
NOT_UTF8 = os.fsdecode(b"ricevuta_M\xfcller.pdf")  # a Latin-1 name, as a Windows share gives


def _orders(ws: Workspace) -> None:
    names = ["Rossi", "Bianchi", "Verdi", "Russo", "Ferrari", "Esposito"]
    specs = [make_order(i, last_name=n) for i, n in zip(IDS, names, strict=True)]
    path = ws.root / "orders.csv"
    path.write_text(orders_csv(specs), encoding="utf-8")
    assert ws.cli("orders", "import", str(path)).exit_code == 0


def _receipt(order_id: str) -> bytes:
    return make_receipt_pdf(default_spec([f"LM{order_id}"], Decimal("24.40")), "intesa")


def _pecflow(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    """The console script as the service runs it. As root, without the power to read what its
    mode forbids (CAP_DAC_OVERRIDE), so that an unreadable file is unreadable here too."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PECFLOW_")}
    command = [str(Path(sys.executable).with_name("pecflow")), "--config", str(ws.config), *args]
    if os.geteuid() == 0:
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *command]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ws.root,
        env={**clean, **ws.env},
    )


def _query(ws: Workspace, statement: Any) -> list[Any]:
    engine = make_engine(ws.env["PECFLOW_DATABASE__URL"])
    try:
        with engine.connect() as conn:
            return list(conn.execute(statement))
    finally:
        engine.dispose()


def _bad_files(ws: Workspace) -> None:
    (ws.drop / NOT_UTF8).write_bytes(_receipt(IDS[0]))
    locked = ws.drop / "inoltro.eml"
    locked.write_bytes(
        make_email(sender="a@example.it", subject="ricevuta", body="in allegato", attachments=[])
    )
    locked.chmod(0)
    (ws.drop / "scansioni").mkdir()
    (ws.drop / "scansioni" / "dentro.pdf").write_bytes(_receipt(IDS[1]))
    (ws.root / "altrove.pdf").write_bytes(_receipt(IDS[2]))
    (ws.drop / "collegamento.pdf").symlink_to(ws.root / "altrove.pdf")


def test_bad_files_in_the_drop_folder_do_not_stop_six_good_receipts(ws_mail) -> None:
    """The issue's case: a non-UTF-8 name, an unreadable .eml, a directory and a symlink beside
    six good receipts. One run confirms and mails the six, exits 1, and names each bad file
    in one failed item; nothing bad is followed, printed raw, or crashes."""
    ws, mailbox = ws_mail
    _orders(ws)
    for number, order_id in enumerate(IDS):
        (ws.drop / f"contabile_{number}.pdf").write_bytes(_receipt(order_id))
    _bad_files(ws)

    result = _pecflow(ws, "run", "--once", "--now", NOW, "--json")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    report = json.loads(result.stdout)
    assert sorted(m["outcome"] for m in report["messages"]) == ["processed"] * 6
    assert sorted(o["state"] for o in report["orders"]) == ["processing"] * 6
    assert len(mailbox.messages) == 6, "each confirmed customer is e-mailed once"
    failed = {i["ref"]: i["detail"] for i in report["items"] if i["outcome"] == "failed"}
    assert set(failed) == {
        "ricevuta_M\\xfcller.pdf",
        "inoltro.eml",
        "scansioni",
        "collegamento.pdf",
    }, failed
    assert "not valid UTF-8" in failed["ricevuta_M\\xfcller.pdf"]
    assert "permission denied" in failed["inoltro.eml"]
    assert "directory" in failed["scansioni"] and "symbolic link" in failed["collegamento.pdf"]
    assert (ws.drop / "scansioni" / "dentro.pdf").exists(), "a directory is never entered"
    assert (ws.root / "altrove.pdf").exists(), "a link is never followed"
    assert (ws.drop / NOT_UTF8).exists() and (ws.drop / "inoltro.eml").exists(), "nothing lost"

    again = _pecflow(ws, "run", "--once", "--now", LATER, "--json")
    assert again.returncode == 1, "the files it cannot take keep failing until a person acts"
    second = json.loads(again.stdout)
    refs = sorted(i["ref"] for i in second["items"] if i["outcome"] == "failed")
    assert refs == ["inoltro.eml", "ricevuta_M\\xfcller.pdf"], "a directory or link: said once"
    assert len(mailbox.messages) == 6, "nothing is sent twice"


def test_a_file_that_vanishes_or_a_pipe_never_blocks_the_run(ws_mail) -> None:
    """A FIFO would block a reader for ever: it is reported once and never opened."""
    ws, mailbox = ws_mail
    _orders(ws)
    os.mkfifo(ws.drop / "tubo.pdf")
    (ws.drop / "contabile.pdf").write_bytes(_receipt(IDS[0]))
    result = _pecflow(ws, "run", "--once", "--now", NOW, "--json")
    report = json.loads(result.stdout)
    assert [m["outcome"] for m in report["messages"]] == ["processed"]
    failed = [(i["ref"], i["detail"]) for i in report["items"] if i["outcome"] == "failed"]
    assert failed == [("tubo.pdf", "a named pipe (FIFO): not read")]
    assert len(mailbox.messages) == 1


def test_a_message_failing_on_three_runs_in_a_row_is_quarantined(ws_mail, monkeypatch) -> None:
    """A poison message is retried by the next runs, then quarantined with its cause; the
    receipt beside it is processed and mailed once."""
    ws, mailbox = ws_mail
    _orders(ws)
    (ws.drop / "a_veleno.eml").write_bytes(
        make_email(sender="x@example.it", subject="veleno", body="LM0000001", attachments=[])
    )
    (ws.drop / "b_contabile.pdf").write_bytes(_receipt(IDS[0]))
    import pipeline.process

    original = pipeline.process.process_message

    def poisoned(session: Any, message: Any, *args: Any, **kwargs: Any) -> Any:
        if message.subject == "veleno" or message.source_id.startswith("a_veleno"):
            raise RuntimeError("the parser's bug")
        return original(session, message, *args, **kwargs)

    monkeypatch.setattr("pipeline.process.process_message", poisoned)
    outcomes = []
    for hour in ("10:30", "10:40", "10:50", "11:00"):
        result = ws.cli("run", "--once", "--now", f"2026-11-20T{hour}:00+01:00", "--json")
        report = json.loads(result.stdout)
        outcomes.append([i["outcome"] for i in report["items"] if i["ref"].startswith("a_veleno")])
    assert outcomes == [["failed"], ["failed"], ["quarantined"], []]
    [(outcome, reason, runs)] = _query(
        ws,
        select(Message.outcome, Message.reason, Message.failed_runs).where(
            Message.source_id.startswith("a_veleno")
        ),
    )
    assert (outcome, runs) == ("quarantined", 3)
    assert reason.startswith("failed on 3 runs in a row, last: RuntimeError: the parser's bug")
    assert len(mailbox.messages) == 1


def test_a_message_failing_halfway_leaves_nothing_and_its_neighbours_stay(
    ws_mail, monkeypatch
) -> None:
    """Messages share a commit, each in a savepoint: a message whose decision wrote its
    payment and its e-mail and then failed leaves none of it, and the receipts decided
    beside it in the same transaction stay confirmed and mailed."""
    ws, mailbox = ws_mail
    _orders(ws)
    for n, order_id in enumerate(IDS[:3]):
        (ws.drop / f"{n}_contabile_{order_id}.pdf").write_bytes(_receipt(order_id))
    import pipeline.process

    original = pipeline.process.process_message

    def fails_after_writing(session: Any, message: Any, *args: Any, **kwargs: Any) -> Any:
        outcome = original(session, message, *args, **kwargs)
        if message.source_id.startswith("1_"):
            session.flush()  # its payment, its order's state and its e-mail are written
            raise RuntimeError("a bug after the writes")
        return outcome

    monkeypatch.setattr("pipeline.process.process_message", fails_after_writing)
    result = ws.cli("run", "--once", "--now", "2026-11-20T10:30:00+01:00", "--json")
    outcomes = {
        i["ref"].split("_")[0]: i["outcome"]
        for i in json.loads(result.stdout)["items"]
        if i["type"] == "message"
    }
    assert outcomes == {"0": "processed", "1": "failed", "2": "processed"}
    assert _query(ws, select(Payment.message_id).where(Payment.status == "confirmed")) != []
    confirmed = {
        code for (code,) in _query(ws, select(Order.id).where(Order.payment_status == "paid"))
    }
    assert confirmed == {int(IDS[0]), int(IDS[2])}
    assert len(mailbox.messages) == 2


def _flood(copies: int) -> bytes:
    message = EmailMessage()
    message["From"] = "mario.rossi@example.it"
    message["To"] = "amministrazione@example.it"
    message["Subject"] = "ricevuta LM3454890"
    message["Message-ID"] = "<flood@example.it>"
    message.set_content("in allegato la ricevuta")
    pdf = _receipt(IDS[0])
    for number in range(copies):
        message.add_attachment(
            pdf, maintype="application", subtype="pdf", filename=f"ricevuta_{number:05}.pdf"
        )
    return message.as_bytes()


def test_ten_thousand_copies_of_one_receipt_open_one_review_item_per_problem(ws_mail) -> None:
    """The first copy confirms the order; the copies read after it are one `duplicate` item
    with their count, the parts past the limit one `unreadable` item naming them."""
    ws, mailbox = ws_mail
    _orders(ws)
    (ws.drop / "flood.eml").write_bytes(_flood(10_000))
    result = ws.cli("run", "--once", "--now", NOW, "--json")
    report = json.loads(result.stdout)
    [message] = report["messages"]
    assert message["outcome"] == "review"
    items = _query(ws, select(ReviewItem.reason, ReviewItem.detail).order_by(ReviewItem.id))
    assert [reason for reason, _ in items] == ["unreadable", "duplicate"]
    read = MAX_PARTS - 2  # the parts before the attachments: the multipart and its text
    assert items[0][1].startswith(
        f"{10_000 - read} part(s) past the MIME limits (500 parts, 30 levels) left unread: "
    )
    assert (
        f"ricevuta_{read:05}.pdf" in items[0][1] and f"and {10_000 - read - 10} more" in items[0][1]
    )
    assert items[1][1].endswith(f"({read - 1} parts of the message alike)")
    assert f"{10_000 - read} part(s) past the MIME limits" in message["reason"]
    assert [o["state"] for o in report["orders"] if o["code"] == f"LM{IDS[0]}"] == ["processing"]
    assert len(mailbox.messages) == 1


def test_a_batch_whose_process_died_is_marked_abandoned_by_the_next_run(ws_mail) -> None:
    """A run killed with SIGKILL leaves its batch running; the next run marks it abandoned,
    with when and why, and `batches list` says so."""
    ws, _ = ws_mail
    _orders(ws)
    (ws.drop / "contabile.pdf").write_bytes(_receipt(IDS[0]))
    command = [str(Path(sys.executable).with_name("pecflow")), "--config", str(ws.config)]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PECFLOW_")}
    # The run stops itself with SIGKILL once its batch is written: a crash at a known point.
    kill = "import os, signal, pipeline.services.run as r; s = r.Runner.start; " + (
        "r.Runner.start = lambda self, *a: (s(self, *a), os.kill(os.getpid(), signal.SIGKILL))"
    )
    script = f"{kill}; from jobs.cli import main; main()"
    killed = subprocess.run(
        [sys.executable, "-c", script, *command[1:], "run", "--once", "--now", NOW],
        env={**clean, **ws.env},
        cwd=ws.root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr
    [(status,)] = _query(ws, select(Batch.status).where(Batch.kind == "run"))
    assert status == "running"

    assert ws.cli("run", "--once", "--now", LATER).exit_code == 0
    runs = sorted(
        (b for b in json.loads(ws.cli("batches", "list", "--json").stdout) if b["kind"] == "run"),
        key=lambda b: b["id"],
    )
    assert [b["status"] for b in runs] == ["abandoned", "succeeded"]
    assert runs[0]["ended_at"] is not None
    assert "ended before it finished; marked abandoned at 2026-11-20T11:30:00" in runs[0]["error"]


def test_a_running_batch_of_a_live_process_is_left_alone(workspace: Workspace) -> None:
    """Only a dead owner makes a batch abandoned: a run in progress elsewhere keeps going."""
    from pipeline.liveness import gone, this_process

    assert not gone(this_process())
    assert gone(None)
    host, boot, pid, start = this_process().rsplit(":", 3)
    assert gone(f"{host}:{boot}:{pid}:{int(start) + 1}"), "the same pid, a later process"
    assert not gone(f"another-host:{boot}:{pid}:{start}"), "another host is not judged here"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(
        st.binary(min_size=1, max_size=255).filter(lambda b: b"/" not in b and b"\0" not in b),
        min_size=1,
        max_size=8,
        unique=True,
    ),
    contents=st.lists(st.binary(max_size=300), min_size=8, max_size=8),
)
def test_any_names_and_bytes_are_listed_with_a_printable_name(
    tmp_path_factory: pytest.TempPathFactory, names: list[bytes], contents: list[bytes]
) -> None:
    """Random file names and bytes: every entry is either a file to take or a problem, and
    every name shown is printable UTF-8 that the database can hold."""
    folder = tmp_path_factory.mktemp("drop")
    for raw, data in zip(names, contents, strict=False):
        if raw in (b".", b".."):
            continue
        with open(os.path.join(os.fsencode(folder), raw), "wb") as handle:
            handle.write(data)
    for entry in list_drop_folder(folder):
        assert isinstance(entry, DroppedFile | Problem)
        assert entry.shown.isprintable() and len(entry.shown) <= 200
        entry.shown.encode("utf-8")
        if isinstance(entry, DroppedFile):
            assert len(entry.source_id.encode("utf-8")) <= 500, "it fits messages.source_id"
    shutil.rmtree(folder)


def test_a_shown_name_escapes_what_is_not_printable() -> None:
    assert shown_name(NOT_UTF8) == "ricevuta_M\\xfcller.pdf"
    assert shown_name("a\nb\x1b.pdf") == "a\\nb\\x1b.pdf"
    assert shown_name("ricevuta_città.pdf") == "ricevuta_città.pdf"


def test_a_long_name_of_control_characters_is_cut_and_kept_apart() -> None:
    """255 control characters escape to 1,020: cut to 200, two such names still differ."""
    one, other = shown_name("\x01" * 255), shown_name("\x01" * 254 + "\x02")
    assert len(one) == len(other) == 200 and one != other


def test_two_different_receipts_with_one_problem_are_two_review_items(ws_mail) -> None:
    """Only copies of one file share an item: two receipts without a code are two payments to
    decide, each with its own item, so resolving one never strands the other."""
    ws, mailbox = ws_mail
    _orders(ws)
    receipts = [
        (
            f"ricevuta_{n}.pdf",
            "application/pdf",
            make_receipt_pdf(default_spec([], amount), "intesa"),
        )
        for n, amount in enumerate((Decimal("24.40"), Decimal("30.50")))
    ]
    (ws.drop / "due.eml").write_bytes(
        make_email(sender="chi@example.it", subject="pagamenti", body="ecco", attachments=receipts)
    )
    result = ws.cli("run", "--once", "--now", NOW, "--json")
    [message] = json.loads(result.stdout)["messages"]
    assert message["outcome"] == "review"
    items = _query(ws, select(ReviewItem.reason, ReviewItem.payment_id))
    assert [reason for reason, _ in items] == ["no_code", "no_code"]
    assert len({payment for _, payment in items}) == 2
    assert mailbox.messages == []


def test_ops_rerun_gives_a_quarantined_poison_message_one_more_try(ws_mail, monkeypatch) -> None:
    """After the cause is fixed, `batches rerun --failed-only` of the batch that quarantined a
    message for failing reads it again; it is then decided and its customer mailed once."""
    ws, mailbox = ws_mail
    _orders(ws)
    ws.env["PECFLOW_LIMITS__FAILED_RUNS_BEFORE_QUARANTINE"] = "1"
    (ws.drop / "contabile.pdf").write_bytes(_receipt(IDS[0]))
    import pipeline.process

    original = pipeline.process.process_message
    monkeypatch.setattr("pipeline.process.process_message", _raises)
    report = json.loads(ws.cli("run", "--once", "--now", NOW, "--json").stdout)
    assert [m["outcome"] for m in report["messages"]] == ["quarantined"]
    monkeypatch.setattr("pipeline.process.process_message", original)
    assert json.loads(ws.cli("run", "--once", "--now", NOW, "--json").stdout)["messages"] == []
    again = ws.cli("batches", "rerun", str(report["batch"]), "--failed-only", "--json")
    assert [m["outcome"] for m in json.loads(again.stdout)["messages"]] == ["processed"]
    assert len(mailbox.messages) == 1


def _raises(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("the parser's bug")


def test_a_drop_folder_that_cannot_be_listed_is_one_failed_item(ws_mail) -> None:
    """The folder itself unreadable (a share unmounted under it, wrong permissions): said in
    one item; the rest of the run (here: sending) still happens."""
    ws, _ = ws_mail
    _orders(ws)
    ws.drop.chmod(0)
    try:
        result = _pecflow(ws, "run", "--once", "--now", NOW, "--json")
    finally:
        ws.drop.chmod(0o700)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    [item] = [i for i in json.loads(result.stdout)["items"] if i["outcome"] == "failed"]
    assert item["detail"] == "the drop folder cannot be listed: permission denied"
