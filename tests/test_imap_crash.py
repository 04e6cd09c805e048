"""Kill pecflow at random points of its polls, 20 times: every message still ends processed
exactly once, none is missing, and no customer receives an e-mail twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from pipeline.store.db import make_engine
from pipeline.store.models import Message, OutboxMessage, Payment
from tests.docgen.messages import make_email, make_pec_receipt
from tests.docgen.orders import make_order, orders_csv
from tests.docgen.receipts import LAYOUTS, default_spec, make_receipt_pdf
from tests.test_imap import _append, _folders

KILLS = 20
SURNAMES = ["Rossi", "Bianchi", "Esposito", "Ferrari", "Romano", "Colombo"]


def _start(ws) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PECFLOW_")}
    env.update(ws.env, PECFLOW_CONFIG=str(ws.config))
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("pecflow")), "run", "--once"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_random_kills_during_polls_lose_and_repeat_nothing(imap_ws) -> None:
    ws, dovecot, mailbox = imap_ws
    orders = [
        make_order(f"34550{n:02d}", last_name=name, net=f"{20 + n}.00")
        for n, name in enumerate(SURNAMES)
    ]
    (ws.root / "orders.csv").write_text(orders_csv(orders), encoding="utf-8")
    assert ws.cli("orders", "import", str(ws.root / "orders.csv")).exit_code == 0
    for n, order in enumerate(orders):
        pdf = make_receipt_pdf(
            default_spec([order.code], Decimal(order.total_amount)), LAYOUTS[n % len(LAYOUTS)]
        )
        _append(
            dovecot,
            make_email(
                sender=order.email,
                subject=f"Pagamento {order.code}",
                body="Contabile allegata.",
                attachments=[("contabile.pdf", "application/pdf", pdf)],
            ),
        )
    for n in range(3):
        _append(dovecot, make_email(sender=f"x{n}@example.it", subject="domanda", body="?"))
    _append(dovecot, make_pec_receipt("accettazione"))
    expected = len(orders) + 4

    chance = random.Random(20261122)
    for _ in range(KILLS):
        process = _start(ws)
        time.sleep(chance.uniform(0.05, 2.0))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    for _ in range(2):  # then left to finish
        assert _start(ws).wait(timeout=120) in (0, 1)

    engine = make_engine(ws.env["PECFLOW_DATABASE__URL"])
    with engine.connect() as conn:
        rows = conn.execute(select(Message.message_id_header, Message.outcome)).all()
        confirmed = conn.execute(
            select(func.count()).select_from(Payment).where(Payment.status == "confirmed")
        ).scalar_one()
        outbox = conn.execute(select(OutboxMessage.message_id_header, OutboxMessage.status)).all()
    engine.dispose()
    assert len(rows) == expected, "every message ingested once"
    assert len({r.message_id_header for r in rows}) == expected
    assert all(r.outcome in ("processed", "review", "ignored") for r in rows), rows
    assert confirmed == len(orders)
    assert len(outbox) == len(orders), "one e-mail per confirmed order"
    received = [str(m["Message-ID"]) for m in mailbox.messages]
    assert len(received) == len(set(received)), "no customer e-mail twice"
    sent = {r.message_id_header for r in outbox if r.status == "sent"}
    assert sent <= set(received)
    assert all(r.status in ("sent", "sending", "unsure") for r in outbox)
    assert _folders(dovecot)["INBOX"] == 0, "every message filed on the server"
