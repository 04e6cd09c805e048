"""From paid to activated, end to end over real SMTP: the contract goes out with its QR code,
comes back signed, the order becomes ready, ops (or the local provisioner) activate it, and
every e-mail arrives exactly once; renewals are done without documents."""

from __future__ import annotations

import io
import json
import os
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from email.message import Message as MimeMessage

from PIL import Image
from sqlalchemy import select, text

from parsers.mime import decode_text
from pipeline.provisioning import verify_password
from pipeline.seal import WIPED
from pipeline.store.models import OutboxMessage, ProvisionedMailbox
from tests.conftest import Mailbox, Workspace
from tests.docgen.messages import make_email
from tests.docgen.orders import make_order, orders_csv
from tests.docgen.paperwork import contract_pdf, identity_pdf
from tests.docgen.receipts import default_spec, make_receipt_pdf
from tests.docgen.scans import image_only_pdf, photo
from tests.test_orders_import import EXAMPLE, UNPAID
from tests.test_pipeline import _db, _ready, _receipt, _run

CODE = "LM3454898"
PASSWORD = "Prima-Password-7x"


def _subject(message: MimeMessage) -> str:
    return " ".join(decode_text(message["Subject"]).split())


def _text(message: MimeMessage) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode("utf-8").replace("\r\n", "\n")


def _kinds(ws: Workspace) -> list[tuple[str, str, str]]:
    rows = json.loads(ws.cli("outbox", "list", "--json").stdout)
    return [(row["kind"], row["to"], row["status"]) for row in rows]


def _papers(ws: Workspace, signed: bytes, sender: str = "mario.rossi@example.it") -> None:
    (ws.drop / "firmato.eml").write_bytes(
        make_email(
            sender=sender,
            subject="documenti",
            body="in allegato contratto firmato e documento",
            attachments=[
                ("contratto.pdf", "application/pdf", signed),
                ("documento.pdf", "application/pdf", identity_pdf("Rossi", "Mario")),
            ],
        )
    )


def _outbox_texts(ws: Workspace) -> str:
    engine = _db(ws)
    with engine.connect() as conn:
        rows = conn.execute(select(OutboxMessage.body_text, OutboxMessage.body_html)).all()
    engine.dispose()
    return "\n".join(f"{t}\n{h}" for t, h in rows)


def test_the_whole_path_from_receipt_to_activation(ws_mail: tuple[Workspace, Mailbox]) -> None:
    ws, mailbox = ws_mail
    ws.env["PECFLOW_MAIL__OPS_ADDRESS"] = "ops@visura.it"
    (ws.root / "orders.csv").write_text(UNPAID, encoding="utf-8")
    ws.cli("orders", "import", str(ws.root / "orders.csv"), "--now", "2026-11-20T10:00:00+01:00")
    # The receipt: payment confirmed, the contract goes out pre-filled with its QR code.
    (ws.drop / "contabile.pdf").write_bytes(_receipt())
    _run(ws)
    (paid,) = mailbox.messages
    assert _subject(paid) == f"Ordine {CODE}: pagamento ricevuto e lavorato"
    contract = next(p for p in paid.walk() if p.get_content_type() == "application/pdf")
    # It comes back as a phone photo of the signed paper, from another address.
    signed = image_only_pdf(Image.open(io.BytesIO(photo(contract.get_payload(decode=True)))))
    _papers(ws, signed, sender="segreteria@example.it")
    _, report = _run(ws, "--now", "2026-11-20T11:00:00+01:00")
    assert [m["outcome"] for m in report["messages"]] == ["processed"]
    ready = json.loads(ws.cli("orders", "list", "--ready", "--json").stdout)
    assert [o["code"] for o in ready] == [CODE]
    received, notice = mailbox.messages[1:]
    assert _subject(received) == f"Ordine {CODE}: documenti ricevuti"
    assert "entro il 25/11/2026 alle 11:00" in _text(received)  # 72 working hours
    assert notice["To"] == "ops@visura.it"
    assert f"pecflow orders activate {CODE} --user-id" in _text(notice)
    # Ops created the box at the provider and activate it, the password on standard input.
    done = ws.cli(
        "orders", "activate", CODE.lower(), "--user-id", "U3454898", "--password-stdin",
        "--now", "2026-11-20T12:00:00+01:00", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert PASSWORD not in done.output
    activation, secret = mailbox.messages[3:]
    assert (
        _subject(activation) == f"Ordine {CODE}: la casella PEC mario.rossi@legalmail.it è attiva"
    )
    body = _text(activation)
    assert "User-id:  U3454898" in body and "messaggio separato" in body
    assert "https://www.visura.it/pec/guida-configurazione" in body
    assert PASSWORD not in body and PASSWORD not in activation.as_string()
    assert _subject(secret) == f"Ordine {CODE}: password della casella PEC"
    assert PASSWORD in _text(secret)
    # Nothing goes out twice: not on the next run, not when ops repeat the command.
    _run(ws, "--now", "2026-11-20T12:05:00+01:00")
    again = ws.cli("orders", "activate", CODE, "--user-id", "U3454898", stdin=PASSWORD)
    assert again.exit_code == 0 and "already activated" in again.stdout
    assert len(mailbox.messages) == 5
    assert set(Counter((m["To"], _subject(m)) for m in mailbox.messages).values()) == {1}
    assert [k for k, _, status in _kinds(ws) if status == "sent"] == [
        "payment_received", "documents_received", "ready_for_activation", "activation",
        "activation_password",
    ]  # fmt: skip
    # The password is in no e-mail kept: the sealed copy was wiped once sent.
    assert PASSWORD not in _outbox_texts(ws)
    shown = json.loads(ws.cli("outbox", "show", "5", "--json").stdout)
    assert shown["kind"] == "activation_password" and shown["text"] == WIPED
    # The order's story, in time order.
    story = json.loads(ws.cli("orders", "show", CODE, "--json").stdout)
    assert (story["state"], story["user_id"], story["expires_on"]) == (
        "fulfilled", "U3454898", "2028-11-20",
    )  # fmt: skip
    steps = [(row["what"], row["detail"]) for row in story["story"]]
    assert [what for what, _ in steps] == [
        "state", "document", "payment", "state", "e-mail",
        "document", "document", "ready", "e-mail",
        "state", "e-mail", "e-mail",
    ]  # fmt: skip
    assert steps[-3][1].startswith("processing -> fulfilled: mailbox mario.rossi@legalmail.it")
    assert [d for w, d in steps if w == "e-mail"] == [
        "payment_received to mario.rossi@example.it: sent",
        "documents_received to mario.rossi@example.it: sent",
        "activation to mario.rossi@example.it: sent",
        "activation_password to mario.rossi@example.it: sent",
    ]


def test_an_order_not_ready_cannot_be_activated(workspace: Workspace) -> None:
    _ready(workspace)
    refused = workspace.cli("orders", "activate", CODE, "--user-id", "U1")
    assert refused.exit_code == 2
    assert "not ready for activation" in str(refused.exception)
    assert workspace.cli("orders", "activate", CODE).exit_code == 2  # no --user-id


def test_the_local_provisioner_activates_by_itself_and_keeps_only_a_hash(ws_mail) -> None:
    ws, mailbox = ws_mail
    ws.env.update(
        PECFLOW_FULFILMENT__PROVISIONER="local",
        PECFLOW_FULFILMENT__USER_ID_PATTERN="{local}.{order_id}",
    )
    _ready(ws)
    (ws.drop / "contabile.pdf").write_bytes(_receipt())
    _run(ws)
    _papers(ws, contract_pdf(CODE, "Rossi Mario", "mario.rossi@legalmail.it"))
    _, report = _run(ws, "--now", "2026-11-20T11:00:00+01:00")
    assert [(o["code"], o["state"]) for o in report["orders"]] == [(CODE, "fulfilled")]
    kinds = [k for k, _, _ in _kinds(ws)]
    assert kinds == ["payment_received", "documents_received", "activation", "activation_password"]
    activation, secret = mailbox.messages[2:]
    assert "User-id:  mario.rossi.3454898" in _text(activation)
    password = _text(secret).split("\n\n")[2].strip()
    assert len(password) == 16
    engine = _db(ws)
    with engine.connect() as conn:
        (stored,) = conn.execute(select(ProvisionedMailbox.password_hash)).scalars()
        dump = "\n".join(
            str(row) for table in ("orders", "outbox", "order_events", "batch_items")
            for row in conn.execute(text(f"SELECT * FROM {table}"))  # noqa: S608
        )  # fmt: skip
    engine.dispose()
    assert verify_password(password, stored) and not verify_password(password + "x", stored)
    assert password not in dump and password not in stored


def test_the_password_may_travel_in_the_activation_email_itself(ws_mail) -> None:
    ws, mailbox = ws_mail
    ws.env.update(
        PECFLOW_FULFILMENT__PROVISIONER="local", PECFLOW_FULFILMENT__PASSWORD_DELIVERY="same"
    )
    _ready(ws)
    (ws.drop / "contabile.pdf").write_bytes(_receipt())
    _papers(ws, contract_pdf(CODE, "Rossi Mario", "mario.rossi@legalmail.it"))
    _run(ws)
    assert [k for k, _, _ in _kinds(ws)] == ["payment_received", "documents_received", "activation"]
    assert "Password: " in _text(mailbox.messages[-1])
    assert "Password: " not in _outbox_texts(ws)
    sealed = ws.cli("outbox", "preview", "3")
    assert sealed.exit_code == 2 and "Password" not in sealed.output


def test_a_contract_without_identity_suspends_and_asks_for_it(ws_mail) -> None:
    ws, mailbox = ws_mail
    _ready(ws)
    (ws.drop / "contabile.pdf").write_bytes(_receipt())
    _run(ws)
    (ws.drop / "contratto.eml").write_bytes(
        make_email(
            sender="mario.rossi@example.it",
            subject=f"contratto {CODE}",
            body="ecco il contratto",
            attachments=[
                ("c.pdf", "application/pdf", contract_pdf(CODE, "Rossi Mario", "m@legalmail.it"))
            ],
        )
    )
    _, report = _run(ws, "--now", "2026-11-20T11:00:00+01:00")
    assert report["orders"][0]["state"] == "suspended"
    missing = mailbox.messages[-1]
    assert _subject(missing) == f"Ordine {CODE}: documentazione incompleta, ordine sospeso"
    assert "documento d'identità valido" in _text(missing)
    assert "contratto firmato a mano" not in _text(missing)
    (ws.drop / "documento.eml").write_bytes(
        make_email(
            sender="mario.rossi@example.it",
            subject=f"documento {CODE}",
            body="ecco il documento",
            attachments=[("d.pdf", "application/pdf", identity_pdf("Rossi", "Mario"))],
        )
    )
    _, report = _run(ws, "--now", "2026-11-20T11:30:00+01:00")
    assert report["orders"][0]["state"] == "processing"
    assert _subject(mailbox.messages[-1]) == f"Ordine {CODE}: documenti ricevuti"
    assert [k for k, _, _ in _kinds(ws)] == [
        "payment_received", "documents_missing", "documents_received",
    ]  # fmt: skip


def test_renewals_are_done_without_documents_and_extend_the_expiry(ws_mail) -> None:
    ws, mailbox = ws_mail
    (ws.root / "orders.csv").write_text(EXAMPLE, encoding="utf-8")
    assert ws.cli("orders", "import", str(ws.root / "orders.csv")).exit_code == 0
    _run(ws)  # LM3385660, a renewal paid at the portal
    (renewed,) = mailbox.messages
    assert _subject(renewed) == (
        "Ordine LM3385660: rinnovo della casella PEC studio.bianchi@legalmail.it effettuato"
    )
    assert "La nuova scadenza è il 20/11/2028" in _text(renewed)
    # A year later the same mailbox is renewed again by bank transfer: from its expiry on.
    again = make_order(
        "3385999", order_type="rinnovo", email="studio.bianchi@example.it",
        mailbox="Studio.Bianchi@legalmail.it", created_at="2027-11-02T10:00:00+01:00",
    )  # fmt: skip
    (ws.root / "more.csv").write_text(orders_csv([again]), encoding="utf-8")
    assert ws.cli("orders", "import", str(ws.root / "more.csv")).exit_code == 0
    paid = default_spec(["LM3385999"], Decimal("24.40"), execution_date=date(2027, 11, 3))
    (ws.drop / "rinnovo.pdf").write_bytes(make_receipt_pdf(paid, "intesa"))
    arrived = datetime(2027, 11, 3, 9, 40, tzinfo=UTC).timestamp()  # the file's arrival
    os.utime(ws.drop / "rinnovo.pdf", (arrived, arrived))
    _, report = _run(ws, "--now", "2027-11-03T10:00:00+01:00")
    states = {o["code"]: o["state"] for o in report["orders"]}
    assert states == {"LM3385999": "fulfilled"}
    assert "La nuova scadenza è il 20/11/2030" in _text(mailbox.messages[-1])
    assert [k for k, _, _ in _kinds(ws)] == ["renewal_done", "renewal_done"]
    _run(ws, "--now", "2027-11-03T10:30:00+01:00")
    assert len(mailbox.messages) == 2
