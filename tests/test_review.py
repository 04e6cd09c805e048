"""Ops resolve review items with the effects a match would have, exactly once."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.conftest import Workspace
from tests.docgen.receipts import default_spec, make_receipt_pdf
from tests.test_orders_import import EXAMPLE, UNPAID

NOW = "2026-11-20T10:30:00+01:00"


def _with_mismatch(ws: Workspace, orders: str = UNPAID) -> int:
    (ws.root / "orders.csv").write_text(orders, encoding="utf-8")
    assert ws.cli("orders", "import", str(ws.root / "orders.csv")).exit_code == 0
    pdf = make_receipt_pdf(default_spec(["LM3454898"], Decimal("24.00")), "intesa")
    (ws.drop / "contabile.pdf").write_bytes(pdf)
    ws.cli("run", "--once", "--now", NOW)
    (item,) = json.loads(ws.cli("review", "list", "--json").stdout)
    assert item["reason"] == "amount_mismatch"
    return int(item["id"])


def test_resolving_confirms_the_payment_and_mails_once(ws_mail) -> None:
    ws, mailbox = ws_mail
    item = _with_mismatch(ws)
    done = ws.cli("review", "resolve", str(item), "--order", "LM3454898", "--by", "anna")
    assert done.exit_code == 0, done.stdout
    assert "payment 1 confirmed for LM3454898" in done.stdout
    ws.cli("run", "--once", "--now", NOW)
    assert len(mailbox.messages) == 1
    story = json.loads(ws.cli("orders", "show", "LM3454898", "--json").stdout)
    assert story["state"] == "processing"
    assert any(
        row["actor"] == "ops:anna" and "review item" in row["detail"] for row in story["story"]
    )
    again = ws.cli("review", "resolve", str(item), "--order", "LM3454898")
    assert again.exit_code == 2
    assert "already resolved" in str(again.exception)
    ws.cli("run", "--once", "--now", NOW)
    assert len(mailbox.messages) == 1
    assert json.loads(ws.cli("review", "list", "--json").stdout) == []


def test_rejecting_changes_no_order(ws_mail) -> None:
    ws, mailbox = ws_mail
    item = _with_mismatch(ws)
    done = ws.cli("review", "resolve", str(item), "--reject", "bonifico di un altro cliente")
    assert done.exit_code == 0
    closed = json.loads(ws.cli("review", "list", "--all", "--json").stdout)
    assert [(i["status"], i["id"]) for i in closed] == [("rejected", item)]
    orders = json.loads(ws.cli("orders", "list", "--json").stdout)
    assert {o["code"]: o["state"] for o in orders}["LM3454898"] == "awaiting_payment"
    assert mailbox.messages == []


def test_a_decision_that_cannot_apply_writes_nothing(ws_mail) -> None:
    ws, _ = ws_mail
    item = _with_mismatch(ws, EXAMPLE)  # its renewal LM3385660 was paid, so it is fulfilled
    for args in (["--order", "LM3385660"], ["--order", "LM0000001"], []):
        result = ws.cli("review", "resolve", str(item), *args)
        assert result.exit_code == 2
    assert [i["status"] for i in json.loads(ws.cli("review", "list", "--json").stdout)] == ["open"]
