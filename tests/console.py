"""A pecflow installation with a console to drive: orders imported, a receipt without an order
code read into a review item, an operator and a viewer, and the console application on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pytest

from config import load_settings
from jobs.edges import mail_edges
from mailer.outbound.writer import MailWriter
from pipeline.store.db import Store, open_store
from tests.conftest import Workspace
from tests.docgen.receipts import default_spec, make_receipt_pdf
from tests.test_orders_import import UNPAID
from web.app import Console, create_app

NOW = "2026-11-20T10:30:00+01:00"
OPERATOR, VIEWER = ("anna", "anna-password-1"), ("vito", "vito-password-1")


@dataclass
class Office:
    ws: Workspace
    store: Store
    console: Console
    review_id: int
    document_id: int

    def app(self):  # type: ignore[no-untyped-def]
        return create_app(self.console)


def prepare(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Office:
    """The office after a customer sent a receipt of 24.40 € naming no order."""
    (ws.root / "orders.csv").write_text(UNPAID, encoding="utf-8")
    assert ws.cli("orders", "import", str(ws.root / "orders.csv")).exit_code == 0
    pdf = make_receipt_pdf(default_spec([], Decimal("24.40")), "intesa")
    (ws.drop / "ricevuta.pdf").write_bytes(pdf)
    assert ws.cli("run", "--once", "--now", NOW).exit_code == 0
    (item,) = json.loads(ws.cli("review", "list", "--json").stdout)
    assert item["reason"] == "no_code", item
    for (name, password), role in ((OPERATOR, "operator"), (VIEWER, "viewer")):
        added = ws.cli("users", "add", name, "--role", role, "--password-stdin", stdin=password)
        assert added.exit_code == 0, added.stdout
    for key, value in ws.env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(ws.config)
    store = open_store(settings.database_url, renderer=MailWriter())
    clock = datetime.fromisoformat(NOW)
    console = Console(store, settings, mail_edges(), clock=lambda: clock)
    return Office(ws, store, console, int(item["id"]), int(item["document"]))


@contextmanager
def office_of(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    office = prepare(ws, monkeypatch)
    try:
        yield office
    finally:
        office.store.engine.dispose()
