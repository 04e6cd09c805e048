"""Scans and photos read with a real Tesseract: orientation, confidence, hostile images."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from parsers.facts import extract_payment_facts
from parsers.ocr import ocr_image
from parsers.sandbox import Rejected
from pipeline.store.db import make_engine
from pipeline.store.models import Document
from tests.docgen.messages import make_email
from tests.docgen.receipts import default_spec, make_receipt_pdf
from tests.docgen.scans import (
    blank_photo_png,
    decompression_bomb_png,
    image_only_pdf,
    scan,
    scan_png,
)
from tests.test_pipeline import _ready, _run

RECEIPT = make_receipt_pdf(default_spec(["LM3454898"], Decimal("24.40")), "intesa")


@pytest.mark.parametrize("rotate", [0, 90, 180])
def test_a_turned_scan_is_read_upright(rotate: int) -> None:
    ocr = ocr_image(scan_png(RECEIPT, rotate=rotate, noise=0.002), 60)
    facts = extract_payment_facts(ocr.text)
    assert (facts.codes, facts.amount) == (["LM3454898"], Decimal("24.40"))
    assert ocr.confidence > 0.8


def test_a_decompression_bomb_is_refused_unread() -> None:
    with pytest.raises(Rejected, match="decompression bomb"):
        ocr_image(decompression_bomb_png(), 60)


def test_a_photographed_receipt_and_a_scanned_pdf_confirm_their_orders(ws_mail) -> None:
    ws, mailbox = ws_mail
    _ready(ws)
    photo = scan_png(RECEIPT, rotate=90, noise=0.001)
    (ws.drop / "foto.eml").write_bytes(
        make_email(
            sender="mario.rossi@example.it",
            subject="pagamento",
            body="foto della contabile",
            attachments=[("IMG_2041.png", "image/png", photo)],
        )
    )
    other = make_receipt_pdf(
        default_spec(["LM3454898"], Decimal("24.40"), cro="11122233344"), "poste_bonifico"
    )
    (ws.drop / "scansione.pdf").write_bytes(image_only_pdf(scan(other, rotate=180)))
    (ws.drop / "vuota.png").write_bytes(blank_photo_png())
    _, report = _run(ws)
    outcomes = {m["ref"]: (m["outcome"], m["reason"]) for m in report["messages"]}
    assert outcomes["foto.eml"] == ("processed", None)
    assert outcomes["scansione.pdf"][0] == "review"  # the same order, now already paid
    assert outcomes["scansione.pdf"][1].startswith("already_paid")
    assert outcomes["vuota.png"][0] == "review"
    assert outcomes["vuota.png"][1].startswith("unreadable")
    engine = make_engine(ws.env["PECFLOW_DATABASE__URL"])
    with engine.connect() as conn:
        methods = conn.execute(select(Document.text_method, Document.text_confidence)).all()
    engine.dispose()
    assert {m for m, _ in methods} == {"ocr"}
    assert len(mailbox.messages) == 1
    listing = json.loads(ws.cli("review", "list", "--json").stdout)
    assert sorted(i["reason"] for i in listing) == ["already_paid", "unreadable"]
