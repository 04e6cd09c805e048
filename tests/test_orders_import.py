"""Order import: per-row validation named by row and column, idempotent re-import."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from mailer.outbound.writer import MailWriter
from pipeline.orders import Actor, change_state
from pipeline.rules.orders_import import Export, Outcome
from pipeline.rules.states import IllegalTransition, OrderState
from pipeline.services.imports import import_orders
from pipeline.store.db import Store, make_engine
from pipeline.store.models import BatchItem, Order, OrderEvent
from tests.conftest import Workspace

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
    store = Store(make_engine(db_url), renderer=MailWriter())
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


def test_a_re_import_keeps_the_row_hash_of_orders_imported_before_it_was_kept(
    store: Store,
) -> None:
    """Orders imported before pecflow kept row hashes (or from the file saved another way)
    are found unchanged by their fingerprint, and their row's hash is kept then, so that
    the next re-import skips checking them; nothing else about them changes."""
    from sqlalchemy import update

    import_orders(store, EXAMPLE.encode(), "orders.csv", NOW)
    with store.unit() as session:
        hashes = dict(session.execute(select(Order.id, Order.export_row_hash)).all())
        session.execute(update(Order).values(export_row_hash=None))
    assert all(len(h) == 64 for h in hashes.values())
    events = _count(store, OrderEvent)
    report = import_orders(store, EXAMPLE.encode(), "orders.csv", NOW)
    assert report.counts == {"unchanged": 2}
    with store.unit() as session:
        assert dict(session.execute(select(Order.id, Order.export_row_hash)).all()) == hashes
    semicolons = EXAMPLE.replace(",", ";").replace("24.40", "24,40")
    assert import_orders(store, semicolons.encode(), "orders.csv", NOW).counts == {"unchanged": 2}
    with store.unit() as session:
        kept = dict(session.execute(select(Order.id, Order.export_row_hash)).all())
    assert kept.keys() == hashes.keys() and all(kept[i] != hashes[i] for i in kept)
    assert _count(store, OrderEvent) == events


def test_bulk_written_orders_read_back_exactly_as_checked(store: Store) -> None:
    """New orders go in bulk (COPY on PostgreSQL): every field reads back as the check typed
    it, text that COPY would take for its own syntax (a backslash, `\\N`, quotes, a comma)
    included, empty columns as NULL, amounts and times exact; each order has its event and
    a rejected row its item."""
    from pipeline.rules.orders_import import OrderRecord, read_export

    odd = ROSSI.replace("Mario Rossi", '"Studio \\N Rossi, ""Mario"" \\t à"').replace(
        "0612345678", ""
    )
    data = f"{HEADER}\n{odd}\n{BIANCHI}\n{ROSSI.replace('3454898', '3454899x')}\n".encode()
    [rossi, bianchi, _bad] = _outcomes(read_export(data, "orders.csv"))
    report = import_orders(store, data, "orders.csv", NOW)
    assert report.counts == {"created": 2, "rejected": 1}
    with store.unit() as session:
        for record in (rossi, bianchi):
            assert isinstance(record, OrderRecord)
            order = session.get(Order, record.order_id)
            assert order is not None
            stored = {c: getattr(order, c) for c in record.fields if c != "order_id"}
            assert stored == {c: v for c, v in record.fields.items() if c != "order_id"}
            assert order.export_fingerprint == record.fingerprint
        assert order.mailbox_description is None  # BIANCHI's, empty
        assert session.get(Order, 3454898).mailbox_description == 'Studio \\N Rossi, "Mario" \\t à'
        assert session.get(Order, 3454898).phone is None
    assert _count(store, OrderEvent) == 3  # Rossi imported; Bianchi imported and paid
    assert _count(store, BatchItem) == 3


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


# --- what Italian offices really export, and what is refused -----------------------------------

COLUMN_NAMES = HEADER.split(",")


def _excel(rows: list[list[str]], delimiter: str, *, bom: bool = True) -> bytes:
    """A sheet as Excel saves it on Windows: the delimiter, CRLF, RFC 4180 quoting, a BOM."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def _cells(line: str) -> list[str]:
    return line.split(",")


def _italian(line: str) -> list[str]:
    """A row as an Italian Excel re-saves it: comma decimals, dates as DD/MM/YYYY."""
    cells = _cells(line)
    for column in ("net_amount", "vat_rate", "total_amount"):
        at = COLUMN_NAMES.index(column)
        cells[at] = cells[at].replace(".", ",")
    at = COLUMN_NAMES.index("birth_date")
    if cells[at]:
        year, month, day = cells[at].split("-")
        cells[at] = f"{day}/{month}/{year}"
    return cells


def _order_ids(store: Store) -> list[int]:
    with store.unit() as session:
        return list(session.scalars(select(Order.id).order_by(Order.id)))


def _batches(store: Store) -> list[tuple[str, str | None]]:
    from pipeline.store.models import Batch

    with store.unit() as session:
        return [(b.status, b.error) for b in session.scalars(select(Batch).order_by(Batch.id))]


def test_a_semicolon_windows_export_with_bom_and_crlf_imports_every_good_row(
    store: Store,
) -> None:
    """Excel's Italian "CSV (delimitato da punto e virgola)": `;`, CRLF, a BOM, a value holding
    a `;` in quotes, comma decimals and DD/MM/YYYY dates. Every good row imports, the bad one
    is named, and they are the very orders of the portal's own comma export."""
    quoted = _italian(ROSSI.replace("3454898", "3454811"))
    quoted[COLUMN_NAMES.index("mailbox_description")] = "Rossi; studio legale"
    bad = _italian(ROSSI.replace("3454898", "3454812").replace(",standard,", ",platinum,"))
    rows = [COLUMN_NAMES, _italian(ROSSI), _italian(BIANCHI), quoted, bad]
    report = import_orders(store, _excel(rows, ";"), "ordini.csv", NOW)
    assert [str(e) for e in report.errors] == [
        "row 5 (order 3454812), column product: unknown value 'platinum' (expected one of "
        "bronze, gold, silver, standard, standard_plus, standard_pro)"
    ]
    assert report.counts == {"created": 3, "rejected": 1}
    with store.unit() as session:
        assert session.get_one(Order, 3454811).mailbox_description == "Rossi; studio legale"
        rossi = session.get_one(Order, 3454898)
        assert (str(rossi.total_amount), rossi.birth_date.isoformat()) == ("24.40", "1980-01-01")
    again = import_orders(store, EXAMPLE.encode(), "orders.csv", NOW)
    assert again.counts == {"unchanged": 2}  # the same orders, however the file was saved


def test_a_tab_separated_export_imports(store: Store) -> None:
    """Excel's "Testo (delimitato da tabulazione)", saved as UTF-8 without a BOM."""
    rows = [COLUMN_NAMES, _cells(ROSSI), _cells(BIANCHI)]
    report = import_orders(store, _excel(rows, "\t", bom=False), "ordini.txt", NOW)
    assert (report.counts, report.errors) == ({"created": 2}, [])


def test_excels_sep_line_blank_lines_and_empty_rows_are_no_rows(store: Store) -> None:
    """`sep=;` (Excel's directive), a blank line and rows of delimiters only are skipped, and
    the rows keep their numbers as a spreadsheet shows them."""
    bad = _cells(ROSSI.replace("3454898", "3454813").replace("H501U", "H501X"))
    data = b"sep=;\r\n" + _excel([COLUMN_NAMES, _cells(ROSSI), [""] * 25, [], bad], ";", bom=False)
    report = import_orders(store, data, "ordini.csv", NOW)
    assert report.counts == {"created": 1, "rejected": 1}
    assert [str(e) for e in report.errors] == [
        "row 6 (order 3454813), column tax_code: check character is wrong"
    ]


def test_a_header_the_export_does_not_have_is_refused_whole(store: Store) -> None:
    from pipeline.rules.orders_import import ExportUnreadable

    with pytest.raises(
        ExportUnreadable,
        match=r"^orders.csv: the header \(row 1\) lacks the "
        r"column\(s\) mobile$",
    ):
        import_orders(store, EXAMPLE.replace(",mobile,", ",cellulare,").encode(), "orders.csv", NOW)
    with pytest.raises(ExportUnreadable, match="row 1 is not the header of the orders export"):
        import_orders(store, b"Cognome;Nome\r\nRossi;Mario\r\n", "orders.csv", NOW)
    assert _batches(store) == [] and _order_ids(store) == []


def test_a_windows_1252_file_exits_2_with_one_line_naming_the_row(workspace: Workspace) -> None:
    """Excel's plain "CSV" on Windows is Windows-1252: refused whole, before any batch, with
    one line on stderr that names the row of the first byte that is not UTF-8 and says how to
    save the file; no traceback, no internal error."""
    from tests.conftest import run_pecflow

    accented = ROSSI.replace("3454898", "3454814").replace("Roma", "Forlì")
    path = workspace.root / "ordini.csv"
    path.write_bytes(f"{HEADER}\r\n{ROSSI}\r\n{accented}\r\n".encode("cp1252"))
    result = workspace.cli("orders", "import", str(path))
    assert result.exit_code == 2
    message = str(result.exception)
    assert message.startswith("ordini.csv: row 3 is not UTF-8 text (byte 0xEC")
    assert "CSV UTF-8" in message and "\n" not in message
    done = run_pecflow(
        "--config", str(workspace.config), "orders", "import", str(path), env=workspace.env
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"pecflow: {message}"]
    assert "Traceback" not in done.stdout + done.stderr
    assert json.loads(workspace.cli("orders", "list", "--json").stdout) == []
    assert json.loads(workspace.cli("batches", "list", "--json").stdout) == []


def test_an_order_id_given_twice_is_refused_on_every_row_carrying_it(store: Store) -> None:
    """We cannot know which of two rows of the same order is right: both are refused, each
    naming the other; the other rows import."""
    other = ROSSI.replace("3454898", "3454815")
    changed = ROSSI.replace("0612345678", "0698765432")
    data = "\n".join([HEADER, ROSSI, other, BIANCHI, changed]) + "\n"
    report = import_orders(store, data.encode(), "orders.csv", NOW)
    assert [str(e) for e in report.errors] == [
        "row 2 (order 3454898), column order_id: the same order appears also in row 5, so none "
        "of its rows is imported",
        "row 5 (order 3454898), column order_id: the same order appears also in row 2, so none "
        "of its rows is imported",
    ]
    assert report.counts == {"created": 2, "rejected": 2}
    assert _order_ids(store) == [3385660, 3454815]


def test_a_value_longer_than_its_column_is_named_by_row_and_column(store: Store) -> None:
    """The limits are the database's own (the model's column lengths)."""
    limit = Order.__table__.c.last_name.type.length
    long = ROSSI.replace(",Rossi,Mario,", f",{'R' * (limit + 1)},Mario,")
    report = import_orders(store, f"{HEADER}\n{BIANCHI}\n{long}\n".encode(), "orders.csv", NOW)
    assert [str(e) for e in report.errors] == [
        f"row 3 (order 3454898), column last_name: {limit + 1} characters, at most {limit}"
    ]
    assert report.counts == {"created": 1, "rejected": 1}


def test_order_ids_are_seven_ascii_digits_and_never_all_zeros(store: Store) -> None:
    """Python's \\d and int() take Arabic-Indic and full-width digits: the portal's ids are
    0-9 only; 0000000 is no order."""
    ids = ["٣٤٥٤٨٩٨", "３４５４８９８", "0000000", "345489"]
    rows = [ROSSI.replace("3454898", oid) for oid in ids]
    report = import_orders(store, "\n".join([HEADER, *rows]).encode(), "orders.csv", NOW)
    assert [(e.row, e.column) for e in report.errors] == [(n, "order_id") for n in (2, 3, 4, 5)]
    assert report.errors[2].message == "0000000 is not an order number"
    assert "leading zeros" in report.errors[3].message
    assert report.counts == {"rejected": 4} and _order_ids(store) == []


def test_control_characters_and_unquoted_delimiters_reject_only_their_row(store: Store) -> None:
    """A NUL (which PostgreSQL refuses outright), a line break left by an unclosed quote and a
    row with more values than the header are that row's error, not the import's end."""
    nul = ROSSI.replace("3454898", "3454816").replace("Mario Rossi", "Mario\x00Rossi")
    shifted = ROSSI.replace("3454898", "3454817").replace("Rossi,Mario", "Rossi,Mario,Jr")
    open_quote = ROSSI.replace("3454898", "3454818").replace(",Roma,", ',"Roma,')
    data = "\n".join([HEADER, BIANCHI, nul, shifted, open_quote, ROSSI]) + "\n"
    report = import_orders(store, data.encode(), "orders.csv", NOW)
    assert [(e.row, e.column) for e in report.errors] == [
        (3, "mailbox_description"),
        (4, "(row)"),
        (5, "birth_municipality"),
    ]
    assert report.errors[0].message == "holds the control character U+0000"
    assert report.errors[1].message.startswith("has 26 values but the header has 25 columns")
    assert "runs over 2 lines" in report.errors[2].message  # it swallowed the last row
    assert report.counts == {"created": 1, "rejected": 3}


def test_a_paid_order_imported_in_bulk_has_both_its_events(store: Store) -> None:
    """The bulk writer keeps the rule: imported awaiting payment, then moved on as paid, each
    step an event of the import's batch."""
    report = import_orders(store, EXAMPLE.encode(), "orders.csv", NOW)
    with store.unit() as session:
        events = session.scalars(
            select(OrderEvent).where(OrderEvent.order_id == 3385660).order_by(OrderEvent.id)
        ).all()
        assert [(e.from_state, e.to_state, e.batch_id) for e in events] == [
            (None, "awaiting_payment", report.batch_id),
            ("awaiting_payment", "processing", report.batch_id),
        ]


def test_unchanged_rows_are_counted_and_not_itemised(store: Store) -> None:
    """A re-import records an item for what it created, updated or rejected; the unchanged
    rows are in the counts only."""
    from pipeline.store.models import BatchItem

    import_orders(store, UNPAID.encode(), "orders.csv", NOW)
    newer = UNPAID.replace("0612345678", "0698765432") + ROSSI.replace("3454898", "3454819")
    bad = ROSSI.replace("3454898", "3454820").replace(",standard,", ",platinum,")
    report = import_orders(store, f"{newer}\n{bad}\n".encode(), "orders.csv", NOW)
    assert report.counts == {"created": 1, "rejected": 1, "unchanged": 1, "updated": 1}
    with store.unit() as session:
        items = session.scalars(
            select(BatchItem).where(BatchItem.batch_id == report.batch_id).order_by(BatchItem.id)
        ).all()
        assert [(i.item_ref, i.outcome, i.order_id) for i in items] == [
            ("row 2", "updated", 3454898),
            ("row 4", "created", 3454819),
            ("row 5", "rejected", None),
        ]


def test_progress_is_told_per_chunk_up_to_the_total(store: Store) -> None:
    told: list[tuple[str, int, int]] = []
    rows = [ROSSI.replace("3454898", f"34548{n:02d}") for n in range(30, 37)]
    data = "\n".join([HEADER, *rows]).encode()
    import_orders(
        store,
        data,
        "orders.csv",
        NOW,
        progress=lambda *a: told.append(a),
        chunk_rows=3,
        commit_rows=3,
    )
    assert told == [("import", 0, 7), ("import", 3, 7), ("import", 6, 7), ("import", 7, 7)]


# --- the batch is never left running ------------------------------------------------------------


def test_a_crash_mid_import_finishes_the_batch_failed_keeping_what_committed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second transaction's writer dies: the first chunk's order stays, the second's is
    rolled back, and the batch ends `failed` with the error and what it did."""
    import pipeline.services.imports
    from pipeline.orders import import_records

    calls = []

    def dies_the_second_time(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return import_records(*args, **kwargs)

    monkeypatch.setattr(pipeline.services.imports, "import_records", dies_the_second_time)
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_orders(store, UNPAID.encode(), "orders.csv", NOW, chunk_rows=1, commit_rows=1)
    assert _batches(store) == [("failed", "RuntimeError: disk on fire")]
    assert _order_ids(store) == [3454898]
    with store.unit() as session:
        from pipeline.store.models import Batch

        assert session.scalars(select(Batch)).one().counts == {"created": 1}


def test_an_interrupt_mid_import_finishes_the_batch_failed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.services.imports

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline.services.imports, "write_chunk", interrupted)
    with pytest.raises(KeyboardInterrupt):
        import_orders(store, UNPAID.encode(), "orders.csv", NOW)
    assert _batches(store) == [("failed", "KeyboardInterrupt")]


def test_a_worker_process_that_fails_finishes_the_batch_failed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows of a large file are checked in worker processes: one failing stops the import
    the same way (and its pool is ended)."""
    import pipeline.services.imports
    from pipeline.rules.orders_import import check_chunk

    def fails_on_the_third(export, chunk, stored=None):
        if chunk.first_record > 5:
            raise ValueError("worker lost")
        return check_chunk(export, chunk, stored)

    monkeypatch.setattr(pipeline.services.imports, "PARALLEL_FROM_ROWS", 1)
    monkeypatch.setattr(pipeline.services.imports, "check_chunk", fails_on_the_third)
    rows = [ROSSI.replace("3454898", f"34549{n:02d}") for n in range(8)]
    data = "\n".join([HEADER, *rows]).encode()
    with pytest.raises(ValueError, match="worker lost"):
        import_orders(store, data, "orders.csv", NOW, chunk_rows=2, commit_rows=2, workers=2)
    assert _batches(store) == [("failed", "ValueError: worker lost")]
    assert _order_ids(store) == [3454900, 3454901, 3454902, 3454903]


def test_a_killed_worker_process_finishes_the_batch_failed_and_never_hangs(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker process killed while it checks rows (kill -9, the kernel out of memory): the
    import stops at once with one line, the batch ends `failed` with it, and what committed
    before stays. A hang fails the test run (after two minutes) rather than stalling it."""
    import faulthandler
    import os
    import signal

    import pipeline.services.imports
    from pipeline.rules.orders_import import check_chunk

    def killed_on_the_third(export, chunk, stored=None):
        if chunk.first_record > 5:
            os.kill(os.getpid(), signal.SIGKILL)
        return check_chunk(export, chunk, stored)

    monkeypatch.setattr(pipeline.services.imports, "PARALLEL_FROM_ROWS", 1)
    monkeypatch.setattr(pipeline.services.imports, "check_chunk", killed_on_the_third)
    rows = [ROSSI.replace("3454898", f"34549{n:02d}") for n in range(8)]
    data = "\n".join([HEADER, *rows]).encode()
    faulthandler.dump_traceback_later(120, exit=True)
    try:
        with pytest.raises(pipeline.services.imports.WorkerLost, match="killed, or out of memory"):
            import_orders(store, data, "orders.csv", NOW, chunk_rows=2, commit_rows=2, workers=2)
    finally:
        faulthandler.cancel_dump_traceback_later()
    [(status, error)] = _batches(store)
    assert status == "failed"
    assert error == (
        "WorkerLost: a worker process checking the rows stopped (exit code -9: killed, or out "
        "of memory?): import the file again"
    )
    # The first chunk was written before the third was given out; the second's worker may
    # have been stopped with the pool.
    assert _order_ids(store) in ([3454900, 3454901], [3454900, 3454901, 3454902, 3454903])


def test_a_worker_process_that_stops_answering_finishes_the_batch_failed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No chunk is waited for longer than CHUNK_SECONDS: a worker stuck on one stops the
    import the same way (and is stopped with the others)."""
    import time

    import pipeline.services.imports
    from pipeline.rules.orders_import import check_chunk

    def stuck_on_the_third(export, chunk, stored=None):
        if chunk.first_record > 5:
            time.sleep(30)
        return check_chunk(export, chunk, stored)

    monkeypatch.setattr(pipeline.services.imports, "PARALLEL_FROM_ROWS", 1)
    monkeypatch.setattr(pipeline.services.imports, "CHUNK_SECONDS", 0.5)
    monkeypatch.setattr(pipeline.services.imports, "check_chunk", stuck_on_the_third)
    rows = [ROSSI.replace("3454898", f"34549{n:02d}") for n in range(8)]
    started = time.monotonic()
    with pytest.raises(pipeline.services.imports.WorkerLost, match=r"did not answer for 0\.5 s"):
        data = "\n".join([HEADER, *rows]).encode()
        import_orders(store, data, "orders.csv", NOW, chunk_rows=2, commit_rows=2, workers=2)
    assert time.monotonic() - started < 15
    error = "a worker process checking the rows did not answer for 0.5 s: import the file again"
    assert _batches(store) == [("failed", f"WorkerLost: {error}")]
    assert _order_ids(store) == [3454900, 3454901, 3454902, 3454903]


def test_the_worker_processes_give_the_outcomes_of_this_process(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every chunk of a large file is checked in a worker process (none in this one), and
    gives exactly the outcomes and fingerprints it gives checked here: an id given twice
    across chunks refused on both rows, a duplicate that is wrong besides too."""
    import os

    import pipeline.services.imports
    from pipeline.rules.orders_import import OrderRecord, check_chunk, read_export

    rows = [ROSSI.replace("3454898", f"345{n:04d}") for n in range(40)]
    rows[7] = rows[7].replace("H501U", "H501X")
    rows[30] = rows[3]
    rows[35] = rows[9].replace("H501U", "H501X")  # a duplicate that is wrong besides
    export = read_export("\n".join([HEADER, *rows, BIANCHI]).encode(), "orders.csv", 4)
    here = _outcomes(export)
    this_process = os.getpid()

    def only_in_a_worker(export, chunk, stored=None):
        assert os.getpid() != this_process, f"rows from {chunk.first_record} checked here"
        return check_chunk(export, chunk, stored)

    monkeypatch.setattr(pipeline.services.imports, "PARALLEL_FROM_ROWS", 1)
    monkeypatch.setattr(pipeline.services.imports, "check_chunk", only_in_a_worker)
    with pipeline.services.imports.checked_chunks(export, {}, 2, 3, store.engine) as chunks:
        there = [outcome for outcomes in chunks for outcome in outcomes]
    assert there == here and len(here) == 41
    assert [o.fingerprint for o in there if isinstance(o, OrderRecord)] == [
        o.fingerprint for o in here if isinstance(o, OrderRecord)
    ]
    assert [(o.row, o.column) for o in here if not isinstance(o, OrderRecord)] == [
        (5, "order_id"),
        (9, "tax_code"),
        (11, "order_id"),
        (32, "order_id"),
        (37, "order_id"),
    ]


def test_the_workers_send_back_a_marker_for_a_row_stored_as_it_reads(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What makes a re-import cheap. A row that hashes as its order's stored row comes back
    from a worker as an Unchanged marker without being checked again (here one stored with
    a row hash though the row is wrong, to show it); a row whose checked fields have the
    stored fingerprint comes back Unchanged with its hash, to be kept; a row stored
    otherwise, or not stored, comes back whole."""
    import pipeline.services.imports
    from pipeline.rules.orders_import import (
        OrderRecord,
        Stored,
        Unchanged,
        read_export,
        row_hash_of,
    )

    rows = [ROSSI.replace("3454898", f"346{n:04d}") for n in range(10)]
    rows[5] = rows[5].replace("H501U", "H501X")  # a wrong check character
    export = read_export("\n".join([HEADER, *rows]).encode(), "orders.csv", 3)
    outcomes = _outcomes(export)
    records = [o for o in outcomes if isinstance(o, OrderRecord)]
    assert [o.row for o in outcomes if o not in records] == [7]
    stored = {r.order_id: Stored(r.fingerprint, None) for r in records[1:4]}
    stored[records[0].order_id] = Stored("the fingerprint of an older export", "older row")
    stored[records[4].order_id] = Stored(records[4].fingerprint, records[4].row_hash)
    wrong = dict(zip(HEADER.split(","), rows[5].split(","), strict=True))
    stored[3460005] = Stored("stored before the rule", row_hash_of(wrong))
    monkeypatch.setattr(pipeline.services.imports, "PARALLEL_FROM_ROWS", 1)
    with pipeline.services.imports.checked_chunks(export, stored, 2, 2, store.engine) as chunks:
        there = [outcome for outcomes in chunks for outcome in outcomes]
    assert there[0] == records[0]
    assert there[1:4] == [Unchanged(r.row, r.order_id, r.row_hash) for r in records[1:4]]
    assert there[4:6] == [Unchanged(records[4].row, records[4].order_id), Unchanged(7, 3460005)]
    assert there[6:] == records[5:]


def test_a_large_file_re_imported_through_the_workers_counts_as_a_small_one(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the worker processes a re-import gives the outcomes of the plain path: the
    unchanged rows counted, a changed one updated, a duplicated unchanged row refused."""
    import pipeline.services.imports

    rows = [ROSSI.replace("3454898", f"34550{n:02d}") for n in range(12)]
    import_orders(store, "\n".join([HEADER, *rows]).encode(), "orders.csv", NOW)
    rows[0] = rows[0].replace("0612345678", "0698765432")
    rows[1] = rows[1].replace("H501U", "H501X")
    again = [HEADER, *rows, ROSSI.replace("3454898", "3455099"), rows[5]]
    monkeypatch.setattr(pipeline.services.imports, "PARALLEL_FROM_ROWS", 1)
    report = import_orders(
        store, "\n".join(again).encode(), "orders.csv", NOW, chunk_rows=2, commit_rows=4
    )
    assert report.counts == {"created": 1, "rejected": 3, "unchanged": 9, "updated": 1}
    assert [(e.row, e.column) for e in report.errors] == [
        (3, "tax_code"),
        (7, "order_id"),
        (15, "order_id"),
    ]


# --- the reader and checker take anything -------------------------------------------------------


def _outcomes(export: Export) -> list[Outcome]:
    """Every row of the export checked here, in the file's order."""
    from pipeline.rules.orders_import import check_chunk

    return [outcome for chunk in export.chunks for outcome in check_chunk(export, chunk)]


def _no_surprises(data: bytes, filename: str, chunk_rows: int = 1000) -> list[Outcome]:
    """Read and check a file the way the import does: ExportUnreadable (one line) or one
    outcome per data row, in order, each problem one line, a duplicated id never imported."""
    from pipeline.rules.orders_import import ExportUnreadable, OrderRecord, RowError, read_export

    try:
        export = read_export(data, filename, chunk_rows)
    except ExportUnreadable as exc:
        assert str(exc) and "\n" not in str(exc) and "\r" not in str(exc)
        return []
    outcomes = _outcomes(export)
    assert len(outcomes) == export.rows == sum(chunk.rows for chunk in export.chunks)
    numbers = [o.row for o in outcomes]
    assert numbers == sorted(set(numbers))
    for outcome in outcomes:
        assert isinstance(outcome, OrderRecord | RowError)
        if isinstance(outcome, RowError):
            assert "\n" not in str(outcome) and "\r" not in str(outcome)
        else:
            assert str(outcome.order_id).zfill(7) not in export.duplicates
    return outcomes


_TEXT = st.text(
    alphabet=st.sampled_from(list(',;\t"\r\n \x00aèZ9.-@+/:\u2028\ufeff٣')), max_size=12
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.sampled_from([b"", b"\xef\xbb\xbf", HEADER.encode() + b"\n", b"sep=;\r\n"]),
    body=st.binary(max_size=400),
    filename=st.sampled_from(["orders.csv", "orders.jsonl"]),
)
def test_random_bytes_give_outcomes_or_the_documented_refusal(
    start: bytes, body: bytes, filename: str
) -> None:
    _no_surprises(start + body, filename)


@pytest.mark.slow  # 150 examples: ~1.4 s
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    delimiter=st.sampled_from([",", ";", "\t"]),
    rows=st.lists(
        st.lists(
            st.one_of(_TEXT, st.sampled_from(_cells(ROSSI) + _cells(BIANCHI))),
            min_size=25,
            max_size=25,
        ),
        max_size=6,
    ),
    keep=st.lists(st.integers(0, 24), max_size=25),
    chunk_rows=st.integers(1, 4),
)
def test_random_rows_in_any_delimiter_each_get_one_outcome(
    delimiter: str, rows: list[list[str]], keep: list[int], chunk_rows: int
) -> None:
    """Rows of awkward values (delimiters, quotes, line breaks, NUL, other digits), some cells
    the example's own, written as a spreadsheet would: every row that is not blank gets
    exactly one outcome, whatever the size of the chunks it is checked in."""
    for row in rows:  # some rows keep example values in place, so that some are valid
        for at in keep:
            row[at] = _cells(ROSSI)[at]
    outcomes = _no_surprises(_excel([COLUMN_NAMES, *rows], delimiter), "orders.csv", chunk_rows)
    written = [r for r in rows if "".join(r).replace("\ufeff", "").strip()]
    assert len(outcomes) == len(written)


def test_a_row_that_is_all_good_values_is_a_record_in_any_delimiter() -> None:
    from pipeline.rules.orders_import import OrderRecord

    for delimiter in (",", ";", "\t"):
        outcomes = _no_surprises(_excel([COLUMN_NAMES, _cells(ROSSI)], delimiter), "o.csv")
        assert [type(o) for o in outcomes] == [OrderRecord]


@settings(max_examples=300, deadline=None)
@given(
    local=st.text(alphabet=st.sampled_from(list("aZ09._%+-!#'\"() è@")), min_size=0, max_size=70),
    domain=st.one_of(
        st.sampled_from(["legalmail.it", "EXAMPLE.it", "pec.it", "localhost", "test", "a.b"]),
        st.text(alphabet=st.sampled_from(list("aZ09.-_è")), max_size=70),
    ),
)
def test_the_plain_address_path_normalises_as_email_validator_does(local: str, domain: str) -> None:
    """Addresses are checked by email-validator once per domain on the fast path: the result
    (normalised address, or a refusal) is always email-validator's own."""
    from email_validator import EmailNotValidError, validate_email

    from pipeline.rules.orders_import import normalized_email

    address = f"{local}@{domain}"
    try:
        expected: str | None = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    try:
        got: str | None = normalized_email(address)
    except EmailNotValidError:
        got = None
    assert got == expected


def test_the_fingerprint_is_the_one_already_stored_for_every_imported_order() -> None:
    """Orders imported before keep matching: the fingerprint is still sha256 of the fields as
    json.dumps(sort_keys=True, default=str), however the row was saved (comma or semicolon,
    dot or comma decimals, ISO or Italian dates), and it survives the trip from a worker
    process (pickled)."""
    import hashlib
    import pickle

    from pipeline.rules.orders_import import OrderRecord, read_export

    portal = _outcomes(read_export(EXAMPLE.encode(), "orders.csv"))
    rows = [COLUMN_NAMES, _italian(ROSSI), _italian(BIANCHI)]
    excel = _outcomes(read_export(_excel(rows, ";"), "ordini.csv"))
    travelled = pickle.loads(pickle.dumps(portal))  # noqa: S301 (its own bytes)
    for record in [*portal, *excel, *travelled]:
        assert isinstance(record, OrderRecord)
        canonical = json.dumps(record.fields, sort_keys=True, default=str)
        assert record.fingerprint == hashlib.sha256(canonical.encode()).hexdigest()
    assert [r.fingerprint for r in excel] == [r.fingerprint for r in portal]
