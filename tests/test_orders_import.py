"""Order import: per-row validation named by row and column, idempotent re-import."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jobs.imports import import_orders
from pipeline.orders import Actor, change_state
from pipeline.states import IllegalTransition, OrderState
from pipeline.store.db import Store, make_engine
from pipeline.store.models import Order, OrderEvent

HEADER = (
    "order_id,order_type,product,created_at,customer_category,last_name,first_name,sex,"
    "birth_date,tax_code,birth_municipality,birth_province,citizenship,email,phone,mobile,"
    "mailbox,mailbox_option_2,mailbox_option_3,mailbox_description,payment_method,net_amount,"
    "vat_rate,total_amount,payment_status"
)
ROSSI = (
    "3454898,acquisto,standard,2026-11-20T10:15:00+01:00,privato,Rossi,Mario,M,1980-01-01,"
    "RSSMRA80A01H501U,Roma,RM,italiana,mario.rossi@example.it,0612345678,,"
    "mario.rossi@legalmail.it,m.rossi@legalmail.it,rossi.mario@legalmail.it,Mario Rossi,"
    "bonifico,20.00,22.00,24.40,pending"
)
BIANCHI = (
    "3385660,rinnovo,standard,2026-11-20T11:02:00+01:00,,,,,,,,,,studio.bianchi@example.it,,,"
    "studio.bianchi@legalmail.it,,,,prepagato,20.00,22.00,24.40,paid"
)
EXAMPLE = f"{HEADER}\n{ROSSI}\n{BIANCHI}\n"
# The example with its renewal still to be paid: a paid renewal is fulfilled (and mailed) by
# every run, which tests/test_fulfilment.py checks on its own; other tests keep one customer.
UNPAID = EXAMPLE.replace("prepagato,20.00,22.00,24.40,paid", "bonifico,20.00,22.00,24.40,pending")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(db_url: str):
    store = Store(make_engine(db_url))
    yield store
    store.engine.dispose()


def _count(store: Store, model: type) -> int:
    with store.unit() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_example_export_gives_two_orders_in_their_states(store: Store) -> None:
    report = import_orders(store, EXAMPLE.encode(), "orders.csv", NOW)
    assert report.errors == []
    assert report.counts == {"created": 2}
    with store.unit() as session:
        rossi, bianchi = session.get_one(Order, 3454898), session.get_one(Order, 3385660)
        assert (rossi.state, rossi.code) == ("awaiting_payment", "LM3454898")
        assert bianchi.state == "processing"  # prepagato arrives paid


def test_bad_rows_are_named_skipped_and_the_rest_imported(store: Store) -> None:
    wrong_cf = ROSSI.replace("3454898", "3454801").replace("H501U", "H501X")
    wrong_total = ROSSI.replace("3454898", "3454802").replace("24.40,pending", "25.00,pending")
    bad_product = ROSSI.replace("3454898", "3454803").replace(",standard,", ",platinum,")
    good = ROSSI.replace("3454898", "3454804")
    data = "\n".join([HEADER, wrong_cf, wrong_total, bad_product, good]) + "\n"
    report = import_orders(store, data.encode(), "orders.csv", NOW)
    assert [str(e) for e in report.errors] == [
        "row 2 (order 3454801), column tax_code: check character is wrong",
        "row 3 (order 3454802), column total_amount: 25.00 does not match net and VAT: "
        "expected 24.40",
        "row 4 (order 3454803), column product: unknown value 'platinum' (expected one of "
        "bronze, gold, silver, standard, standard_plus, standard_pro)",
    ]
    assert report.counts == {"created": 1, "rejected": 3}
    assert _count(store, Order) == 1


def test_card_totals_include_the_fee(store: Store) -> None:
    card = ROSSI.replace("bonifico,20.00,22.00,24.40,pending", "carta,20.00,22.00,24.84,paid")
    report = import_orders(store, f"{HEADER}\n{card}\n".encode(), "orders.csv", NOW)
    assert report.errors == []


def test_an_eleven_digit_partita_iva_is_not_a_codice_fiscale(store: Store) -> None:
    row = ROSSI.replace("RSSMRA80A01H501U", "12345678903")
    report = import_orders(store, f"{HEADER}\n{row}\n".encode(), "orders.csv", NOW)
    assert [e.column for e in report.errors] == ["tax_code"]


def test_reimporting_the_same_file_changes_nothing(store: Store) -> None:
    import_orders(store, EXAMPLE.encode(), "orders.csv", NOW)
    events = _count(store, OrderEvent)
    report = import_orders(store, EXAMPLE.encode(), "orders.csv", NOW)
    assert report.counts == {"unchanged": 2}
    assert _count(store, OrderEvent) == events


def test_a_newer_export_updates_fields_but_never_moves_state_back(store: Store) -> None:
    import_orders(store, EXAMPLE.encode(), "orders.csv", NOW)
    with store.unit() as session:
        order = session.get_one(Order, 3454898)
        order.payment_status = "paid"
        change_state(session, order, OrderState.PROCESSING, "test payment", Actor("test"), NOW)
    newer = EXAMPLE.replace("0612345678", "0698765432")
    report = import_orders(store, newer.encode(), "orders.csv", NOW)
    assert report.counts == {"unchanged": 1, "updated": 1}
    with store.unit() as session:
        order = session.get_one(Order, 3454898)
        assert order.phone == "0698765432"
        assert (order.state, order.payment_status) == ("processing", "paid")


def test_json_lines_carry_the_same_records(store: Store, tmp_path: Path) -> None:
    import csv
    import io
    import json

    rows = list(csv.DictReader(io.StringIO(EXAMPLE)))
    data = "\n".join(json.dumps(row) for row in rows)
    report = import_orders(store, data.encode(), "orders.jsonl", NOW)
    assert report.counts == {"created": 2}


def test_an_illegal_transition_raises_and_writes_nothing(store: Store) -> None:
    import_orders(store, EXAMPLE.encode(), "orders.csv", NOW)
    events = _count(store, OrderEvent)
    with pytest.raises(IllegalTransition), store.unit() as session:
        order = session.get_one(Order, 3454898)
        change_state(session, order, OrderState.SUSPENDED, "test", Actor("test"), NOW)
    assert _count(store, OrderEvent) == events
    with store.unit() as session:
        assert session.get_one(Order, 3454898).state == "awaiting_payment"


def test_a_state_change_and_its_event_commit_or_roll_back_together(store: Store) -> None:
    import_orders(store, EXAMPLE.encode(), "orders.csv", NOW)
    events = _count(store, OrderEvent)
    with pytest.raises(RuntimeError), store.unit() as session:
        order = session.get_one(Order, 3454898)
        change_state(session, order, OrderState.PROCESSING, "test", Actor("test"), NOW)
        session.flush()
        raise RuntimeError("crash after the change")
    assert _count(store, OrderEvent) == events
    with store.unit() as session:
        assert session.get_one(Order, 3454898).state == "awaiting_payment"
