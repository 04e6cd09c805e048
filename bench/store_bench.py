"""How fast ops' reading commands answer on a store of years: 100,000 orders, 500,000 messages.

    .venv/bin/python bench/store_bench.py [--quick] [--postgres URL] [--no-postgres] [--rounds N]

Writes the history of two years of an office straight into the tables (bulk inserts through
pipeline/store/bulk.py: PostgreSQL's COPY, SQLite's executemany), as pecflow would have left
it: purchases and renewals paid by transfer, slip, card or prepaid; receipts confirmed on
time or late, some through ops' review; contracts and identity documents, some suspending
the order until the missing piece came, some expired; activations within the 72 working
hours or after; e-mails sent; auto-replies, newsletters, spam, bounces, suppliers' invoices,
customers' questions, duplicates, hostile files; review items mostly closed, a few hundred
open; a run batch for every few messages and an import batch a day (not written: e-mails'
attachments, the items' touched orders, documents' full text). Generating the real way (a
run over 500,000 messages) would take days. `--quick` writes a tenth of it.

The store goes into SQLite and into a database of its own on the PostgreSQL server
(`--postgres URL`, the local server by default; created and dropped here), the schema by
pecflow's migrations, the indexes built again after the rows. PostgreSQL's statistics are
refreshed after the load (VACUUM ANALYZE), as autovacuum would soon do on its own; SQLite gets
none, as pecflow never asks for them. Then each command is timed as ops run it, a process of
the real console script (its start included), median of five after a warm-up (three with
`--quick`, or `--rounds`); the start of a command that reads nothing (`pecflow config show`)
is printed beside them:

- `pecflow orders list` (its first page), `pecflow orders show LM…` (an activated new
  mailbox: events, payment, documents, e-mails), `pecflow review list`,
  `pecflow sla late --now …`, `pecflow report --date … --now …` (the day before `--now`).

Floor ("bare SQL"): a Python process that imports the database's driver (sqlite3, psycopg),
connects, runs the command's essential statements (the rows it shows, as pecflow's queries
ask for them) and prints them, timed the same way: what any program answering the command
from this database pays, without pecflow's start. Target: each command under 1 s. A command
that fails is a row that says so.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.import_bench import CATEGORIES, FIRST_NAMES, LAST_NAMES, MAIL_DOMAINS, METHODS  # noqa: E402
from bench.scratch_database import scratch_database  # noqa: E402
from bench.speed_rows import Row  # noqa: E402
from bench.start_bench import pecflow_environment  # noqa: E402
from pipeline.rules.business_calendar import BusinessCalendar  # noqa: E402
from tests.docgen.orders import MUNICIPALITIES, PRODUCT_NET, make_tax_code, order_total  # noqa: E402

PECFLOW = Path(sys.executable).with_name("pecflow")
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ROME = ZoneInfo("Europe/Rome")
# A Friday, 10:30 in Rome. The rows' times are UTC (what the store keeps: binding them is
# quicker than from Rome's time).
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
REPORT_DAY = date(2026, 11, 19)
HISTORY = timedelta(days=730)
SIZES = {False: (100_000, 500_000), True: (10_000, 50_000)}  # quick: orders, messages
TARGET_S = 1.0
MESSAGES_A_BATCH = 15
PAYMENT_REASONS = ("no_code", "amount_mismatch", "unknown_code", "no_amount", "not_executed")
NOISE = (
    ("automatic reply (out of office)", "Risposta automatica: {}", 30),
    ("newsletter or bulk mail", "Le offerte di novembre", 20),
    ("marked as spam by the mail server", "***SPAM*** Vinci un premio", 15),
    ("delivery status notification (a bounce or delay notice)", "Undelivered Mail: {}", 10),
    ("read receipt", "Letto: {}", 5),
    ("a supplier's invoice or statement: no order code, and the sender is not a customer",
     "Fattura n. {}", 20),
)  # fmt: skip


@dataclass
class Person:
    last: str
    first: str
    sex: str
    born: date
    tax_code: str
    municipality: str


@dataclass
class Tables:
    """The rows of each table, in the order they are inserted (foreign keys first)."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, row: dict[str, Any]) -> int:
        """A row with the next id, unless it has its own (an order's, a link's)."""
        rows = self.rows.setdefault(table, [])
        if table != "payment_orders":
            row.setdefault("id", len(rows) + 1)
        rows.append(row)
        return len(rows)


class History:
    """Two years of an office, order by order, each order's story cut at NOW."""

    def __init__(self, orders: int, messages: int, seed: int = 20261120) -> None:
        self.rnd = random.Random(seed)  # noqa: S311 (test data)
        self.calendar = BusinessCalendar(ROME)
        self.t = Tables()
        self.orders, self.messages = orders, messages
        self.start = NOW - HISTORY
        self.people = [self._person() for _ in range(min(orders // 4, 20_000) or 1)]

    def _person(self) -> Person:
        rnd = self.rnd
        sex = rnd.choice("MF")
        first, last = rnd.choice(FIRST_NAMES[sex]), rnd.choice(LAST_NAMES)
        born = date(1940, 1, 1) + timedelta(days=rnd.randrange(26_000))
        place = rnd.choice(tuple(MUNICIPALITIES))
        code = make_tax_code(last, first, born, sex, MUNICIPALITIES[place][0])
        return Person(last, first, sex, born, code, place)

    # --- rows -------------------------------------------------------------------------------

    def message(
        self, at: datetime, sender: str, subject: str, outcome: str, reason: str | None = None
    ) -> int:
        n = len(self.t.rows.get("messages", [])) + 1
        header = f"<{n}.{hashlib.sha256(b'header %d' % n).hexdigest()[:24]}@mail.example.it>"
        done = at + timedelta(seconds=self.rnd.randrange(20, 200))
        final = outcome not in ("received", "failed")
        return self.t.add(
            "messages",
            {"source": "imap", "source_id": f"INBOX/1/{n}",
             "message_id_header": header,
             "sha256": hashlib.sha256(b"message %d" % n).hexdigest(),
             "size": self.rnd.randrange(2_000, 900_000), "raw_format": "rfc822",
             "received_at": at, "ingested_at": at + timedelta(seconds=40), "sender": sender,
             "subject": subject, "outcome": outcome, "reason": reason,
             "processed_at": done if final else None, "acked_at": done if final else None,
             "facts": {}, "archive_purged_at": None,
             "failed_runs": 1 if outcome == "failed" else 0},
        )  # fmt: skip

    def document(
        self, message: int, kind: str, subtype: str | None, order: int | None,
        facts: dict[str, Any] | None = None, part: int = 0,
    ) -> int:  # fmt: skip
        n = len(self.t.rows.get("documents", [])) + 1
        scan = self.rnd.random() < 0.3
        return self.t.add(
            "documents",
            {"message_id": message, "part_index": part, "first_page": 1, "last_page": None,
             "filename": f"{kind}-{n}.{'jpg' if scan else 'pdf'}", "declared_type": None,
             "media_type": "image/jpeg" if scan else "application/pdf",
             "size": self.rnd.randrange(30_000, 3_000_000),
             "sha256": hashlib.sha256(b"document %d" % n).hexdigest(), "kind": kind,
             "subtype": subtype, "status": "read", "reason": None, "facts": facts or {},
             "text_method": "ocr" if scan else "pdf_text",
             "text_confidence": round(self.rnd.uniform(0.7, 0.97), 2) if scan else None,
             "text": f"{kind} {subtype or ''} documento {n} " * 6, "pages": 1, "order_id": order},
        )  # fmt: skip

    def event(
        self, order: int, at: datetime, was: str | None, to: str, cause: str, actor: str = "system"
    ) -> None:
        self.t.add(
            "order_events",
            {"order_id": order, "at": at, "from_state": was, "to_state": to, "cause": cause,
             "actor": actor, "batch_id": None, "payment_id": None, "message_id": None},
        )  # fmt: skip

    def mail(self, order: dict[str, Any], kind: str, at: datetime) -> None:
        n = len(self.t.rows.get("outbox", [])) + 1
        sent = at + timedelta(seconds=self.rnd.randrange(30, 120))
        code = f"LM{order['id']:07d}"
        self.t.add(
            "outbox",
            {"idempotency_key": f"{kind}:{order['id']}:{n}", "kind": kind,
             "order_id": order["id"], "to_address": order["email"],
             "subject": f"{code}: {kind.replace('_', ' ')}",
             "body_text": f"Gentile cliente, riguardo all'ordine {code}: {kind}. " * 5,
             "body_html": None, "message_id_header": f"<{n}.out@visura.it>",
             "status": "sent" if sent <= NOW else "pending", "attempts": 1 if sent <= NOW else 0,
             "last_error": None, "created_at": at, "next_attempt_at": None,
             "attempted_at": sent if sent <= NOW else None,
             "sent_at": sent if sent <= NOW else None, "batch_id": None,
             "sealed": kind == "activation_password"},
        )  # fmt: skip

    def review(
        self, reason: str, at: datetime, message: int, document: int | None,
        payment: int | None, order: int | None, closed_at: datetime | None,
    ) -> None:  # fmt: skip
        open_ = closed_at is None or closed_at > NOW
        self.t.add(
            "review_items",
            {"reason": reason, "detail": f"{reason.replace('_', ' ')} (message {message})",
             "status": "open" if open_ else self.rnd.choice(("resolved", "resolved", "rejected")),
             "message_id": message, "document_id": document, "payment_id": payment,
             "proposed_order_id": order, "created_at": at, "batch_id": None,
             "resolution": None if open_ else "confirmed by ops",
             "resolved_order_id": None if open_ else order,
             "resolved_by": None if open_ else "web:anna",
             "resolved_at": None if open_ else closed_at},
        )  # fmt: skip

    def _after(self, at: datetime, mean_hours: float, least_minutes: int = 5) -> datetime:
        return at + timedelta(minutes=least_minutes + self.rnd.expovariate(1 / (mean_hours * 60)))

    # --- stories ----------------------------------------------------------------------------

    def order(self, n: int) -> None:
        rnd = self.rnd
        created = self.start + HISTORY * ((n + rnd.random()) / self.orders)
        oid = 2_000_000 + n * 70 + rnd.randrange(70)
        person = rnd.choice(self.people)
        renewal = rnd.random() < 0.2
        method = rnd.choice(METHODS)
        product = rnd.choice(tuple(PRODUCT_NET))
        net = Decimal(PRODUCT_NET[product])
        handle = f"{person.first}.{person.last}".lower().replace(" ", "").replace("'", "")
        handle = f"{handle}{oid % 100_000}"
        imported = min(created + timedelta(minutes=rnd.randrange(2, 40)), NOW)
        order = {
            "id": oid, "order_type": "rinnovo" if renewal else "acquisto", "product": product,
            "created_at": created, "customer_category": rnd.choice(CATEGORIES),
            "last_name": person.last, "first_name": person.first, "sex": person.sex,
            "birth_date": person.born, "tax_code": person.tax_code,
            "birth_municipality": person.municipality,
            "birth_province": MUNICIPALITIES[person.municipality][1], "citizenship": "italiana",
            "email": f"{handle}@{rnd.choice(MAIL_DOMAINS)}", "phone": None, "mobile": None,
            "mailbox": f"{handle}@legalmail.it", "mailbox_option_2": None,
            "mailbox_option_3": None, "mailbox_description": None, "payment_method": method,
            "net_amount": net, "vat_rate": Decimal("22.00"),
            "total_amount": order_total(net, Decimal("22.00"), method),
            "payment_status": "paid" if method in ("carta", "prepagato") else "pending",
            "state": "awaiting_payment", "state_changed_at": imported,
            "export_fingerprint": hashlib.sha256(b"%d" % oid).hexdigest(),
            "export_row_hash": None, "imported_at": imported, "updated_at": imported,
            "ready_at": None, "user_id": None, "expires_on": None,
        }  # fmt: skip
        self.t.add("orders", order)
        self.event(oid, imported, None, "awaiting_payment", "imported from the portal export")
        if order["payment_status"] == "paid":
            paid: datetime | None = imported
            self._move(order, imported, "processing", "the portal export says paid")
        else:
            paid = self._receipt(order)
        if paid is None:
            return
        if renewal:
            self._move(order, paid, "fulfilled", "renewal done")
            order["expires_on"] = paid.date() + timedelta(days=730)
            self.mail(order, "renewal_done", paid)
            return
        self._papers(order, paid)

    def _move(self, order: dict[str, Any], at: datetime, to: str, cause: str) -> None:
        self.event(order["id"], at, order["state"], to, cause)
        order.update(state=to, state_changed_at=at, updated_at=at)

    def _receipt(self, order: dict[str, Any]) -> datetime | None:
        """A receipt by e-mail, confirmed by the matcher or through review: when it was paid,
        or None when it is not (yet)."""
        rnd = self.rnd
        if rnd.random() < 0.08:  # never paid: an abandoned order
            return None
        arrival = self._after(order["created_at"], 20)
        if arrival > NOW:
            return None
        code = f"LM{order['id']:07d}"
        window = self.calendar.payment_window(arrival)
        not_before, due_by = window.not_before.astimezone(UTC), window.due_by.astimezone(UTC)
        through_review = rnd.random() < 0.05
        if through_review:
            decided = self._after(arrival, 20, 10)
        elif rnd.random() < 0.97:
            decided = max(arrival, not_before) + timedelta(minutes=rnd.uniform(1, 20))
        else:
            decided = due_by + timedelta(minutes=rnd.uniform(5, 300))
        if decided > NOW and not through_review:  # still in the mailbox: not read yet
            self.message(arrival, order["email"], f"Pagamento {code}", "received")
            return None
        confirmed = decided <= NOW
        outcome = "review" if through_review else "processed"
        message = self.message(arrival, order["email"], f"Pagamento {code}", outcome)
        document = self.document(message, "payment_receipt", order["payment_method"], None)
        payment = self.t.add(
            "payments",
            {"message_id": message, "document_id": document,
             "fingerprint": hashlib.sha256(b"payment %d" % message).hexdigest(),
             "amount": order["total_amount"], "currency": "EUR",
             "execution_date": arrival.date(), "value_date": arrival.date(),
             "payer": f"{order['first_name']} {order['last_name']}",
             "beneficiary": "Visura S.p.A.", "iban": "IT60X0542811101000000123456",
             "cro": None, "trn": f"0306{message:026d}", "causale": f"Ordine {code}",
             "codes": [code], "status": "confirmed" if confirmed else "review",
             "received_at": arrival, "not_before": not_before, "due_by": due_by,
             "decided_at": decided if confirmed else None},
        )  # fmt: skip
        if through_review:
            reason = rnd.choice(PAYMENT_REASONS)
            self.review(reason, arrival, message, document, payment, order["id"], decided)
        if not confirmed:
            return None
        self.t.add(
            "payment_orders",
            {"payment_id": payment, "order_id": order["id"], "amount": order["total_amount"]},
        )
        order["payment_status"] = "paid"
        self._move(order, decided, "processing", f"payment {payment}")
        if order["order_type"] == "acquisto":
            self.mail(order, "payment_received", decided)
        return decided

    def _papers(self, order: dict[str, Any], paid: datetime) -> None:
        """The signed contract and the identity document, together or apart, then the
        activation; some never come, some come expired."""
        rnd = self.rnd
        oid, code = order["id"], f"LM{order['id']:07d}"
        if rnd.random() < 0.03:  # the customer never sends them
            return
        contract_at = self._after(paid, 30)
        if contract_at > NOW:
            return
        together = rnd.random() < 0.6
        message = self.message(contract_at, order["email"], f"Contratto {code}", "processed")
        self.document(message, "contract", None, oid)
        identity_at = contract_at if together else self._after(contract_at, 12)
        expired = rnd.random() < 0.02
        if not together:
            self._move(order, contract_at, "suspended",
                       "signed contract received without an identity document")  # fmt: skip
            self.mail(order, "documents_missing", contract_at)
            if identity_at > NOW:
                return
            message = self.message(identity_at, order["email"], f"Documento {code}", "processed")
        expires = identity_at.date() + timedelta(days=rnd.randrange(200, 3000))
        facts = {"expires": expires.isoformat()}
        if expired:
            facts = {"expired_on": (identity_at.date() - timedelta(days=30)).isoformat()}
        self.document(message, "identity_document", "carta_identita", oid, facts, part=1)
        if expired:
            if order["state"] == "processing":
                self._move(order, identity_at, "suspended", "identity document expired")
            return
        if order["state"] == "suspended":
            self._move(order, identity_at, "processing", "a valid identity document received")
        ready = max(identity_at, paid) + timedelta(seconds=90)
        if ready > NOW:
            return
        order.update(ready_at=ready, updated_at=ready)
        self.mail(order, "documents_received", ready)
        if rnd.random() < 0.003:  # forgotten: late ever since
            return
        hours = rnd.randrange(2, 70) if rnd.random() < 0.95 else rnd.randrange(73, 120)
        activated = self.calendar.after_working_hours(ready, hours).astimezone(UTC)
        if activated > NOW:
            return
        self._move(order, activated, "fulfilled", "activated by ops")
        order.update(user_id=f"pec{oid:07d}", expires_on=activated.date() + timedelta(days=730))
        self.mail(order, "activation", activated)
        self.mail(order, "activation_password", activated)

    def other_mail(self, count: int) -> None:
        """What else reaches the mailbox: noise, questions, duplicates, hostile files, and a
        few messages not read yet."""
        rnd = self.rnd
        weights = [w for _r, _s, w in NOISE]
        orders = self.t.rows["orders"]
        for n in range(count):
            at = self.start + HISTORY * rnd.random()
            draw = rnd.random()
            if draw < 0.78:
                reason, subject, _w = rnd.choices(NOISE, weights)[0]
                message = self.message(at, f"info{n % 997}@fornitore.it",
                                       subject.format(n), "ignored", reason)  # fmt: skip
                if subject.startswith("Fattura"):
                    self.document(message, "invoice", None, None)
                continue
            order = orders[rnd.randrange(len(orders))]
            code = f"LM{order['id']:07d}"
            # Ops work the queue down: what is left open is a few of the old and this week's.
            closed = None if rnd.random() < 0.005 else self._after(at, 30)
            if draw < 0.92:
                message = self.message(at, order["email"], f"Domanda su {code}", "review")
                self.review("no_document", at, message, None, None, order["id"], closed)
            elif draw < 0.97:
                message = self.message(at, order["email"], f"Ricevuta {code}", "review")
                document = self.document(message, "payment_receipt", "bonifico", None)
                payment = self.t.add(
                    "payments",
                    {"message_id": message, "document_id": document,
                     "fingerprint": hashlib.sha256(b"duplicate %d" % message).hexdigest(),
                     "amount": order["total_amount"], "currency": "EUR",
                     "execution_date": at.date(), "value_date": at.date(), "payer": None,
                     "beneficiary": "Visura S.p.A.", "iban": None, "cro": None, "trn": None,
                     "causale": f"Ordine {code}", "codes": [code], "status": "duplicate",
                     "received_at": at, "not_before": None, "due_by": None,
                     "decided_at": at + timedelta(minutes=2)},
                )  # fmt: skip
                self.review("duplicate", at, message, document, payment, order["id"], closed)
            else:
                self.message(at, f"x{n}@example.net", "Fattura scaduta", "quarantined",
                             "an executable file named .pdf")  # fmt: skip
        for minutes in (3, 11, 24):  # arrived this morning, not read yet
            self.message(NOW - timedelta(minutes=minutes), "nuovo@example.it", "Ricevuta",
                         "received")  # fmt: skip
        for hours in (20, 26):  # failed yesterday: late
            self.message(NOW - timedelta(hours=hours), "strano@example.it", "Ricevuta", "failed",
                         "the parser workers stopped")  # fmt: skip

    def batches(self) -> None:
        """A run batch for every few messages in arrival order, an import batch a day."""
        messages = sorted(self.t.rows["messages"], key=lambda m: m["received_at"])
        for start in range(0, len(messages), MESSAGES_A_BATCH):
            chunk = messages[start : start + MESSAGES_A_BATCH]
            began = chunk[-1]["ingested_at"]
            outcomes: dict[str, int] = {}
            for m in chunk:
                outcomes[m["outcome"]] = outcomes.get(m["outcome"], 0) + 1
            batch = self._batch("run", began, outcomes)
            for m in chunk:
                self.t.add(
                    "batch_items",
                    {"batch_id": batch, "item_type": "message", "item_ref": m["source_id"],
                     "message_id": m["id"], "order_id": None, "outbox_id": None,
                     "outcome": m["outcome"], "detail": m["reason"], "at": began},
                )  # fmt: skip
        by_day: dict[date, list[dict[str, Any]]] = {}
        for order in self.t.rows["orders"]:
            by_day.setdefault(order["imported_at"].date(), []).append(order)
        for orders in by_day.values():
            began = orders[-1]["imported_at"]
            batch = self._batch("import", began, {"created": len(orders)})
            for row, order in enumerate(orders, 2):
                self.t.add(
                    "batch_items",
                    {"batch_id": batch, "item_type": "row", "item_ref": f"row {row}",
                     "message_id": None, "order_id": order["id"], "outbox_id": None,
                     "outcome": "created", "detail": None, "at": began},
                )  # fmt: skip

    def _batch(self, kind: str, began: datetime, counts: dict[str, int]) -> int:
        return self.t.add(
            "batches",
            {"kind": kind, "status": "succeeded", "started_at": began,
             "ended_at": began + timedelta(seconds=20), "parent_id": None, "actor": "scheduler",
             "counts": counts, "error": None, "owner": "office-1 4711"},
        )  # fmt: skip

    def build(self) -> Tables:
        for n in range(self.orders):
            self.order(n)
        self.other_mail(max(0, self.messages - len(self.t.rows["messages"])))
        self.batches()
        return self.t


INSERT_ORDER = ("orders", "batches", "messages", "documents", "payments", "payment_orders",
                "order_events", "review_items", "outbox", "batch_items")  # fmt: skip


def fill(url: str, tables: Tables) -> None:
    """The schema by the migrations, then every table in bulk in one transaction, its
    indexes made again after the rows (sorting once is much faster than keeping random keys
    in order row by row: the load took six minutes so)."""
    from sqlalchemy import text

    from pipeline.store.bulk import insert_rows
    from pipeline.store.db import Store, make_engine, upgrade
    from pipeline.store.models import Base

    engine = make_engine(url)
    upgrade(engine)
    with Store(engine).unit() as session:
        if engine.dialect.name == "sqlite":  # the unique keys' pages stay in memory
            session.execute(text("PRAGMA cache_size = -500000"))
        indexes = [i for name in INSERT_ORDER for i in Base.metadata.tables[name].indexes]
        for index in indexes:
            index.drop(session.connection())
        for name in INSERT_ORDER:
            rows = tables.rows[name]
            for start in range(0, len(rows), 50_000):
                insert_rows(session, Base.metadata.tables[name], rows[start : start + 50_000])
        for index in indexes:
            index.create(session.connection())
        if engine.dialect.name == "postgresql":  # ids given: the sequences follow
            for name in INSERT_ORDER[1:]:
                if name != "payment_orders":
                    session.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {name}))"
                    ))  # fmt: skip
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


# --- timing -------------------------------------------------------------------------------------

WRAPPER = """
import subprocess, sys, time
t = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
t = time.perf_counter() - t
if done.returncode not in (0, 1):
    sys.stderr.write(done.stdout[-2000:] + done.stderr[-3000:])
print(done.returncode, t, len(done.stdout.splitlines()))
"""


@dataclass(frozen=True)
class Timed:
    seconds: float  # the median
    lines: int  # printed
    failed: str  # the exit code and the end of stderr of a command that failed, else empty


def _timed(env: dict[str, str], command: list[str], rounds: int) -> Timed:
    """The median seconds of `rounds` runs after a warm-up (a wrapper process times it, so
    that this process's size does not slow its fork)."""
    seconds, lines, failed = [], 0, ""
    for _ in range(rounds + 1):
        done = subprocess.run([sys.executable, "-c", WRAPPER, *command], env=env,
                              capture_output=True, text=True, timeout=900, check=True)  # fmt: skip
        code, took, lines_text = done.stdout.split()
        if int(code) not in (0, 1):
            failed = f"exit {code}: {done.stderr.strip().splitlines()[-1:]}"
        seconds.append(float(took))
        lines = int(lines_text)
    return Timed(statistics.median(seconds[1:]), lines, failed)


BARE = """
import json, sys
url, statements = sys.argv[1], json.loads(sys.argv[2])
if url.startswith("sqlite"):
    import sqlite3
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
else:
    import psycopg
    conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
    statements = [(sql.replace("?", "%s"), values) for sql, values in statements]
for sql, values in statements:
    for row in conn.execute(sql, values).fetchall():
        print(*row)
"""


def _essential(order_id: int, day: date) -> dict[str, list[tuple[str, list[Any]]]]:
    """The statements each command cannot do without: the rows it shows, read by key or index
    as pecflow's queries read them (times in UTC, as both databases hold them)."""
    start, end = (
        datetime.combine(moment, clock(), ROME).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        for moment in (day, day + timedelta(days=1))
    )
    order, day_range = [order_id], [start, end]
    return {
        "orders list": [("SELECT * FROM orders ORDER BY id LIMIT 50", [])],
        "orders show": [
            ("SELECT * FROM orders WHERE id = ?", order),
            ("SELECT * FROM order_events WHERE order_id = ? ORDER BY id", order),
            ("SELECT p.* FROM payments p JOIN payment_orders a ON a.payment_id = p.id"
             " WHERE a.order_id = ? ORDER BY p.id", order),
            ("SELECT d.id, d.kind, d.facts, m.received_at FROM documents d"
             " JOIN messages m ON m.id = d.message_id WHERE d.order_id = ? ORDER BY d.id", order),
            ("SELECT id, kind, status, sent_at FROM outbox WHERE order_id = ? ORDER BY id", order),
        ],
        "review list": [("SELECT * FROM review_items WHERE status = 'open' ORDER BY id", [])],
        "sla late": [
            ("SELECT id, status, due_by FROM payments"
             " WHERE status IN ('scheduled', 'review') AND due_by IS NOT NULL", []),
            ("SELECT id, received_at FROM messages WHERE outcome IN ('received', 'failed')", []),
            ("SELECT id, ready_at FROM orders WHERE state = 'processing'"
             " AND order_type = 'acquisto'", []),
        ],
        "report": [
            ("SELECT state, count(*) FROM orders GROUP BY state", []),
            ("SELECT count(*) FROM payments WHERE status = 'confirmed'"
             " AND decided_at >= ? AND decided_at < ?", day_range),
            ("SELECT status, decided_at, due_by FROM payments WHERE due_by >= ? AND due_by < ?",
             day_range),
            ("SELECT count(*) FROM review_items WHERE status = 'open'", []),
        ],
    }  # fmt: skip


def _commands(order_id: int, day: date) -> dict[str, list[str]]:
    now = NOW.isoformat()
    return {
        "orders list": ["orders", "list"],
        "orders show": ["orders", "show", f"LM{order_id:07d}"],
        "review list": ["review", "list"],
        "sla late": ["sla", "late", "--now", now],
        "report": ["report", "--date", day.isoformat(), "--now", now],
    }


def _shown_order(tables: Tables) -> int:
    """An activated new mailbox whose papers came apart: the longest ordinary story."""
    events: dict[int, int] = {}
    for event in tables.rows["order_events"]:
        events[event["order_id"]] = events.get(event["order_id"], 0) + 1
    return max(
        (o["id"] for o in tables.rows["orders"] if o["state"] == "fulfilled"),
        key=lambda oid: (events[oid], oid),
    )


def time_commands(database: str, url: str, work: Path, tables: Tables, rounds: int) -> list[Row]:
    (work / "pecflow.toml").write_text(
        '[paths]\ndata_dir = "data"\n[mail]\nops_address = "ops@visura.it"\n',
        encoding="utf-8",
    )
    env = pecflow_environment(work)
    env.update(PECFLOW_CONFIG=str(work / "pecflow.toml"), PECFLOW_DATABASE__URL=url)
    order_id = _shown_order(tables)
    bare = _essential(order_id, REPORT_DAY)
    start = _timed(env, [str(PECFLOW), "config", "show"], rounds).seconds
    print(f"{database}: the command's start (pecflow config show): {start:.3f} s", file=sys.stderr)
    rows = []
    for name, args in _commands(order_id, REPORT_DAY).items():
        command = _timed(env, [str(PECFLOW), *args], rounds)
        statements = json.dumps(bare[name])
        floor = _timed(env, [sys.executable, "-c", BARE, url, statements], rounds)
        if command.failed:
            print(f"{database}: pecflow {name}: {command.failed}", file=sys.stderr)
        shown = "FAILED" if command.failed else f"{command.lines} lines"
        rows.append(Row(f"{database}: pecflow {name} ({shown})", command.seconds, floor.seconds,
                        "s", "bare SQL", f"< {TARGET_S:g} s",
                        command.seconds < TARGET_S and not command.failed))  # fmt: skip
    return rows


@dataclass(frozen=True)
class Built:
    tables: Tables
    seconds: float

    def counts(self) -> str:
        return ", ".join(f"{len(rows):,} {name}" for name, rows in self.tables.rows.items())


def build(quick: bool) -> Built:
    started = time.perf_counter()
    gc.disable()  # millions of rows and no cycles: the collector would take half the time
    try:
        tables = History(*SIZES[quick]).build()
    finally:
        gc.enable()
    return Built(tables, time.perf_counter() - started)


def measure(
    quick: bool = False, postgres: str | None = POSTGRES, rounds: int | None = None
) -> list[Row]:
    """Each command's time on SQLite and on PostgreSQL (when a server is given)."""
    rounds = rounds or (3 if quick else 5)
    built = build(quick)
    print(f"generated in {built.seconds:.0f} s: {built.counts()}", file=sys.stderr)
    rows: list[Row] = []
    work = Path(tempfile.mkdtemp(prefix="pecflow-store-bench-"))
    try:
        for database, server in (("SQLite", None), ("PostgreSQL", postgres)):
            if database == "PostgreSQL" and server is None:
                continue
            folder = work / database.lower()
            folder.mkdir()
            with scratch_database(server, folder) as url:
                rows += _bench(database, url, folder, built.tables, rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def _bench(database: str, url: str, folder: Path, tables: Tables, rounds: int) -> list[Row]:
    started = time.perf_counter()
    fill(url, tables)
    print(f"{database}: filled in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return time_commands(database, url, folder, tables, rounds)


def print_rows(rows: list[Row]) -> None:
    print(f"{'scenario':<48} {'pecflow':>8} {'floor':>8} {'unit':<4} {'ratio':>6}  "
          f"{'floor is':<9} {'target':<7} met")  # fmt: skip
    for r in rows:
        print(f"{r.scenario:<48} {r.figure:>8.3f} {r.floor:>8.3f} {r.unit:<4} {r.ratio:>6.1f}  "
              f"{r.floor_name:<9} {r.target:<7} {'yes' if r.met else 'NO'}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the store")
    parser.add_argument("--postgres", default=POSTGRES, help="the PostgreSQL server's URL")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--rounds", type=int, help="timed runs of each (5, --quick 3)")
    options = parser.parse_args()
    server = None if options.no_postgres else options.postgres
    print_rows(measure(options.quick, server, options.rounds))
