"""Contract and identity document: a contract alone suspends the paid order, the missing
piece resumes it; documents find their order by code or by the sender's address."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from pipeline.order_documents import documents_step
from pipeline.states import OrderState
from tests.docgen.messages import make_email
from tests.docgen.paperwork import contract_pdf, identity_pdf
from tests.docgen.receipts import default_spec, make_receipt_pdf
from tests.test_pipeline import _ready, _run

P, S, A = OrderState.PROCESSING, OrderState.SUSPENDED, OrderState.AWAITING_PAYMENT


@pytest.mark.parametrize(
    ("state", "kinds", "step"),
    [
        (P, {"contract"}, S),
        (P, {"identity_document"}, None),
        (P, {"contract", "identity_document"}, None),
        (S, {"contract", "identity_document"}, P),
        (S, {"contract"}, None),
        (A, {"contract"}, None),  # not paid yet: nothing to suspend
    ],
)
def test_what_the_documents_mean(state, kinds, step) -> None:
    result = documents_step(state, kinds)
    assert (result[0] if result else None) is step


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
