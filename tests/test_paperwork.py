"""Contract and identity document: a contract alone suspends the paid order, the missing
piece resumes it; documents find their order by code or by the sender's address."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from pipeline.rules.order_documents import Paper, documents_step
from pipeline.rules.states import OrderState
from pipeline.store.models import Document
from tests.docgen import signatures
from tests.docgen.messages import make_email
from tests.docgen.paperwork import contract_pdf, identity_pdf
from tests.docgen.receipts import default_spec, make_receipt_pdf
from tests.docgen.scans import scan_png
from tests.test_pipeline import _db, _ready, _run

P, S, A = OrderState.PROCESSING, OrderState.SUSPENDED, OrderState.AWAITING_PAYMENT
CONTRACT, IDENTITY = Paper("contract"), Paper("identity_document")
EXPIRED = Paper("identity_document", date(2026, 3, 1))


@pytest.mark.parametrize(
    ("state", "papers", "step"),
    [
        (P, [CONTRACT], (S, "signed contract received without an identity document")),
        (P, [IDENTITY], None),
        (P, [CONTRACT, IDENTITY], None),
        (S, [CONTRACT, IDENTITY], (P, "contract and identity document both received")),
        (S, [CONTRACT], None),
        (A, [CONTRACT], None),  # not paid yet: nothing to suspend
        (P, [EXPIRED], (S, "identity document expired on 01/03/2026")),
        (P, [CONTRACT, EXPIRED], (S, "identity document expired on 01/03/2026")),
        (S, [CONTRACT, EXPIRED], None),
        (S, [CONTRACT, EXPIRED, IDENTITY], (P, "contract and identity document both received")),
        (S, [EXPIRED, IDENTITY], (P, "a valid identity document received")),
        (P, [CONTRACT, EXPIRED, IDENTITY], None),
    ],
)
def test_what_the_documents_mean(state, papers, step) -> None:
    assert documents_step(state, papers) == step


def _mail(name: str, subject: str, data: bytes, sender: str = "mario.rossi@example.it") -> bytes:
    return make_email(
        sender=sender,
        subject=subject,
        body="in allegato",
        attachments=[(name, "application/pdf", data)],
    )


def test_a_contract_alone_suspends_and_the_identity_document_resumes(ws_mail) -> None:
    ws, _ = ws_mail
    _ready(ws)
    pdf = make_receipt_pdf(default_spec(["LM3454898"], Decimal("24.40")), "intesa")
    (ws.drop / "1.pdf").write_bytes(pdf)
    _run(ws)
    contract = contract_pdf("LM3454898", "Mario Rossi", "mario.rossi@legalmail.it")
    (ws.drop / "2.eml").write_bytes(_mail("contratto.pdf", "contratto firmato", contract))
    _, report = _run(ws)
    assert [m["outcome"] for m in report["messages"]] == ["processed"]
    assert report["orders"][0]["state"] == "suspended"
    # No code anywhere: the identity document finds the order by the sender's address.
    (ws.drop / "3.eml").write_bytes(
        _mail("documento.pdf", "documento", identity_pdf("Rossi", "Mario"))
    )
    _, report = _run(ws)
    assert [m["outcome"] for m in report["messages"]] == ["processed"]
    story = json.loads(ws.cli("orders", "show", "LM3454898", "--json").stdout)
    moves = [row["detail"] for row in story["story"] if row["what"] == "state"]
    assert [move for move in moves if "suspended" in move] == [
        "processing -> suspended: signed contract received without an identity document",
        "suspended -> processing: contract and identity document both received",
    ]
    documents = [row["detail"] for row in story["story"] if row["what"] == "document"]
    assert len(documents) == 3


def test_a_document_from_a_stranger_without_code_goes_to_review(ws_mail) -> None:
    ws, _ = ws_mail
    _ready(ws)
    (ws.drop / "x.eml").write_bytes(
        _mail("documento.pdf", "documento", identity_pdf("Verdi", "Anna"), sender="a@b.it")
    )
    _, report = _run(ws)
    assert report["messages"][0]["outcome"] == "review"
    assert report["messages"][0]["reason"].startswith("no_code")


def _paid(ws) -> None:
    _ready(ws)
    pdf = make_receipt_pdf(default_spec(["LM3454898"], Decimal("24.40")), "intesa")
    (ws.drop / "0.pdf").write_bytes(pdf)
    _, report = _run(ws)
    assert report["orders"][0]["state"] == "processing"


def _assert_moved(ws, move: str) -> None:
    """The order made this move and stands where it led."""
    story = json.loads(ws.cli("orders", "show", "LM3454898", "--json").stdout)
    assert move in [row["detail"] for row in story["story"] if row["what"] == "state"]
    assert story["state"] == move.split(" -> ")[1].split(":")[0]


def test_a_scanned_contract_is_filed_by_its_qr_code_alone(ws_mail) -> None:
    """No code printed, a sender pecflow does not know: the QR code names the order."""
    ws, _ = ws_mail
    _paid(ws)
    contract = contract_pdf(None, "Mario Rossi", "mario.rossi@legalmail.it", qr="LM3454898")
    (ws.drop / "c.eml").write_bytes(
        make_email(
            sender="studio@altrove.it",
            subject="contratto",
            body="in allegato",
            attachments=[("scan0001.png", "image/png", scan_png(contract, rotate=90))],
        )
    )
    _, report = _run(ws)
    assert [m["outcome"] for m in report["messages"]] == ["processed"]
    _assert_moved(
        ws, "processing -> suspended: signed contract received without an identity document"
    )
    with _db(ws).connect() as conn:
        facts = conn.execute(select(Document.facts).where(Document.kind == "contract")).scalar()
    assert facts == {"barcodes": ["LM3454898"]}


def test_an_expired_identity_document_suspends_and_a_valid_one_resumes(ws_mail) -> None:
    ws, _ = ws_mail
    _paid(ws)
    contract = contract_pdf("LM3454898", "Mario Rossi", "mario.rossi@legalmail.it")
    expired = identity_pdf("Rossi", "Mario", expires=date(2026, 3, 1))
    (ws.drop / "1.eml").write_bytes(
        make_email(
            sender="mario.rossi@example.it",
            subject="contratto e documento LM3454898",
            body="in allegato",
            attachments=[
                ("contratto.pdf", "application/pdf", contract),
                ("ci.pdf", "application/pdf", expired),
            ],
        )
    )
    _run(ws)
    _assert_moved(ws, "processing -> suspended: identity document expired on 01/03/2026")
    passport = identity_pdf("Rossi", "Mario", expires=date(2034, 7, 2), kind="passaporto")
    (ws.drop / "2.eml").write_bytes(
        _mail("passaporto.pdf", "documento valido", passport, sender="mario.rossi@example.it")
    )
    _run(ws)
    _assert_moved(ws, "suspended -> processing: contract and identity document both received")
    with _db(ws).connect() as conn:
        rows = conn.execute(
            select(Document.subtype, Document.facts).where(Document.kind == "identity_document")
        ).all()
    assert sorted((subtype, facts) for subtype, facts in rows) == [
        (
            "carta_identita",
            {"expires": "2026-03-01", "expired_on": "2026-03-01", "expiry_read_from": "label"},
        ),
        ("passaporto", {"expires": "2034-07-02", "expiry_read_from": "label"}),
    ]
    story = json.loads(ws.cli("orders", "show", "LM3454898", "--json").stdout)
    papers = [row["detail"] for row in story["story"] if row["what"] == "document"]
    assert any(
        d.startswith("identity_document: carta_identita, expired on 2026-03-01") for d in papers
    )
    assert any(d.startswith("identity_document: passaporto, expires 2034-07-02") for d in papers)


def test_a_document_without_code_finds_its_order_by_the_applicant_s_name(ws_mail) -> None:
    """From an address no order has: a paid order waiting for documents whose applicant is
    named on the document takes it."""
    ws, _ = ws_mail
    _paid(ws)
    licence = identity_pdf("Rossi", "Mario", kind="patente")
    (ws.drop / "p.eml").write_bytes(
        _mail("patente.pdf", "documento", licence, sender="segreteria@studio.it")
    )
    _, report = _run(ws)
    assert [m["outcome"] for m in report["messages"]] == ["processed"]
    assert [o["code"] for o in report["orders"]] == ["LM3454898"]


def test_resolving_a_document_has_the_effects_of_a_match(ws_mail) -> None:
    ws, _ = ws_mail
    _paid(ws)
    contract = contract_pdf(None, "M. R.", "studio.mr@legalmail.it")
    (ws.drop / "c.eml").write_bytes(_mail("c.pdf", "firmato", contract, sender="x@y.it"))
    _run(ws)
    (item,) = json.loads(ws.cli("review", "list", "--json").stdout)
    assert item["reason"] == "no_code"
    done = ws.cli("review", "resolve", str(item["id"]), "--order", "LM3454898")
    assert done.exit_code == 0, done.stdout
    _assert_moved(
        ws, "processing -> suspended: signed contract received without an identity document"
    )


def test_a_digitally_signed_contract_is_opened_filed_and_its_verdict_shown(ws_mail) -> None:
    """A CAdES .p7m is opened to its PDF, read like any contract and filed to its order; the
    signature's verdict (against the configured trust roots) stands in `orders show`. A
    contract altered after signing is not filed: it goes to a person with the reason."""
    ws, _ = ws_mail
    roots = ws.root / "roots.pem"
    roots.write_bytes(signatures.root_pem())
    ws.env["PECFLOW_SIGNATURES__TRUST_ROOTS"] = str(roots)
    _ready(ws)
    contract = contract_pdf("LM3454898", "Mario Rossi", "mario.rossi@legalmail.it")
    for n, signed in enumerate((signatures.p7m(contract, encoding="base64"),
                                signatures.tampered_p7m(contract))):  # fmt: skip
        (ws.drop / f"{n}.eml").write_bytes(
            make_email(
                sender="mario.rossi@example.it",
                subject="contratto firmato digitalmente",
                body="in allegato",
                attachments=[("contratto.pdf.p7m", "application/octet-stream", signed)],
            )
        )
    _run(ws)
    story = json.loads(ws.cli("orders", "show", "LM3454898", "--json").stdout)
    papers = [row["detail"] for row in story["story"] if row["what"] == "document"]
    assert len(papers) == 1 and papers[0].startswith("contract"), papers
    assert "digitally signed by MARIO ROSSI, signature valid" in papers[0]
    (item,) = json.loads(ws.cli("review", "list", "--json").stdout)
    assert item["reason"] == "signature_invalid" and item["proposed_order"] == "LM3454898"
    assert "the signature does not match the document" in item["detail"]
