"""The pre-filled contract: generated when a payment is confirmed, sent with its e-mail, and
found again by its QR code when the customer sends back a scan of it, signed."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal
from email import message_from_bytes

import pdfplumber
import pypdfium2 as pdfium
from PIL import Image
from sqlalchemy import select

from mailer.outbound.contract import contract_pdf
from parsers.barcodes import read_barcodes
from pipeline.outbox import order_context
from pipeline.store.models import Document, Order
from tests.docgen.messages import make_email
from tests.docgen.paperwork import identity_pdf
from tests.docgen.scans import image_only_pdf, photo
from tests.test_pipeline import _db, _ready, _receipt, _run


def _order() -> Order:
    return Order(
        id=3454898,
        order_type="acquisto",
        product="standard",
        last_name="Rossi",
        first_name="Mario",
        tax_code="RSSMRA80A01H501U",
        birth_date=date(1980, 1, 1),
        birth_municipality="Roma",
        birth_province="RM",
        email="mario.rossi@example.it",
        mailbox="mario.rossi@legalmail.it",
        net_amount=Decimal("20.00"),
        vat_rate=Decimal("22.00"),
        total_amount=Decimal("24.40"),
    )


def _page(pdf: bytes, index: int) -> Image.Image:
    return pdfium.PdfDocument(pdf)[index].render(scale=150 / 72).to_pil().convert("L")


def test_the_contract_carries_the_code_on_every_page_and_as_a_qr_code() -> None:
    order = _order()
    pdf = contract_pdf(order, order_context(order), date(2026, 11, 23))
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        pages = [page.extract_text() or "" for page in document.pages]
    assert len(pages) == 2
    assert all("Ordine LM3454898" in text for text in pages)
    assert "mario.rossi@legalmail.it" in pages[0] and "RSSMRA80A01H501U" in pages[0]
    assert "Rossi Mario" in pages[0] and "PEC Standard" in pages[0]
    assert "23/11/2026" in pages[1]
    assert [read_barcodes(_page(pdf, i)) for i in (0, 1)] == [["LM3454898"], ["LM3454898"]]


def test_the_signed_scan_of_the_mailed_contract_finds_its_order_by_the_qr_code(ws_mail) -> None:
    """Receipt -> payment confirmed -> the e-mail carries the contract -> its photo comes back
    from another address, with no code in the message and the text hard to read: the QR code
    files it; with an identity document the order stays in work."""
    ws, mailbox = ws_mail
    _ready(ws)
    (ws.drop / "contabile.pdf").write_bytes(_receipt())
    _run(ws)
    (email,) = mailbox.messages
    attached = [p for p in email.walk() if p.get_content_type() == "application/pdf"]
    assert [p.get_filename() for p in attached] == ["contratto-LM3454898.pdf"]
    contract = attached[0].get_payload(decode=True)
    signed = image_only_pdf(Image.open(io.BytesIO(photo(contract, skew=4, seed=3))))
    (ws.drop / "firmato.eml").write_bytes(
        make_email(
            sender="studio.segreteria@example.it",
            subject="documenti",
            body="in allegato contratto e documento",
            attachments=[
                ("scansione.pdf", "application/pdf", signed),
                ("documento.pdf", "application/pdf", identity_pdf("Rossi", "Mario")),
            ],
        )
    )
    _, report = _run(ws)
    assert [m["outcome"] for m in report["messages"]] == ["processed"]
    engine = _db(ws)
    with engine.connect() as conn:
        filed = conn.execute(select(Document.kind, Document.order_id, Document.facts)).all()
    engine.dispose()
    contract_row = next(row for row in filed if row.kind == "contract")
    assert contract_row.order_id == 3454898
    assert contract_row.facts["barcodes"] == ["LM3454898"]
    assert report["orders"][0]["state"] == "processing"


def test_outbox_show_and_preview_render_the_email_as_it_is_sent(workspace, tmp_path) -> None:
    ws = workspace
    _ready(ws)
    (ws.drop / "contabile.pdf").write_bytes(_receipt())
    _run(ws, "--now", "2026-11-20T10:30:00+01:00")
    shown = ws.cli("outbox", "show", "1", "--json")
    assert shown.exit_code == 0, shown.stdout
    detail = json.loads(shown.stdout)
    assert detail["key"] == "payment_received:3454898"
    assert detail["attachments"][0]["filename"] == "contratto-LM3454898.pdf"
    assert "LM3454898" in detail["subject"] and "Totale" in detail["text"]
    eml = tmp_path / "preview.eml"
    assert ws.cli("outbox", "preview", "1", "--eml", str(eml)).exit_code == 0
    message = message_from_bytes(eml.read_bytes())
    assert message["Message-ID"] == detail["message_id"]
    assert [p.get_filename() for p in message.walk() if p.get_filename()] == [
        "contratto-LM3454898.pdf"
    ]
    terminal = ws.cli("outbox", "preview", "1")
    assert "Subject: Ordine LM3454898" in terminal.stdout
    assert ws.cli("outbox", "show", "99").exit_code == 2
