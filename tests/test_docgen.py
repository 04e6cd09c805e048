"""The test-document generator is sound: what it claims to write is what the bytes say."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import sys
import time
from datetime import date, datetime
from decimal import Decimal
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from types import ModuleType

import pdfplumber
import pytest
from defusedxml import ElementTree
from hypothesis import given, settings
from hypothesis import strategies as st
from pdfplumber.utils.exceptions import PdfminerException
from stdnum import iban
from stdnum.it import codicefiscale

from tests.docgen.hostile import (
    encrypted_pdf,
    executable_as_pdf,
    forward_chain,
    hostile_filenames,
    huge_pdf,
    not_a_pdf,
    truncated_pdf,
    zero_byte,
)
from tests.docgen.messages import (
    PEC_RECEIPT_KINDS,
    PEC_RECEIPT_TITLES,
    ROME,
    make_email,
    make_pec_envelope,
    make_pec_receipt,
)
from tests.docgen.orders import COLUMNS, make_order, make_tax_code, orders_csv, orders_jsonl
from tests.docgen.receipts import (
    BANK_LAYOUTS,
    BANKS,
    LAYOUTS,
    RESELLER_IBAN,
    RESELLER_POSTAL_ACCOUNT,
    STRANGER_IBAN,
    TRICKY_LAYOUTS,
    default_spec,
    en_amount,
    italian_iban,
    italian_words,
    make_receipt_pdf,
    payer_iban_for,
)

ROOT = Path(__file__).resolve().parent.parent
# formats/orders-export.md, verbatim
DOC_HEADER = (
    "order_id,order_type,product,created_at,customer_category,last_name,first_name,sex,"
    "birth_date,tax_code,birth_municipality,birth_province,citizenship,email,phone,mobile,"
    "mailbox,mailbox_option_2,mailbox_option_3,mailbox_description,payment_method,net_amount,"
    "vat_rate,total_amount,payment_status"
)
DOC_ROSSI = (
    "3454898,acquisto,standard,2026-11-20T10:15:00+01:00,privato,Rossi,Mario,M,1980-01-01,"
    "RSSMRA80A01H501U,Roma,RM,italiana,mario.rossi@example.it,0612345678,,"
    "mario.rossi@legalmail.it,m.rossi@legalmail.it,rossi.mario@legalmail.it,Mario Rossi,"
    "bonifico,20.00,22.00,24.40,pending"
)
DOC_RENEWAL = (
    "3385660,rinnovo,standard,2026-11-20T11:02:00+01:00,,,,,,,,,,studio.bianchi@example.it,,,"
    "studio.bianchi@legalmail.it,,,,prepagato,20.00,22.00,24.40,paid"
)


def _text(pdf: bytes, password: str = "") -> str:
    with pdfplumber.open(io.BytesIO(pdf), password=password) as document:
        assert len(document.pages) == 1
        return document.pages[0].extract_text() or ""


# --- receipts -------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS + TRICKY_LAYOUTS)
@pytest.mark.parametrize("amount", ["24.40", "1234.56"])
def test_every_layout_has_a_text_layer_with_code_and_amount(layout: str, amount: str) -> None:
    spec = default_spec(["LM3454898"], Decimal(amount))
    text = _text(make_receipt_pdf(spec, layout))
    assert "LM3454898" in text
    written = (
        en_amount(spec.amount)
        if layout == "english"
        else {"24.40": "24,40", "1234.56": "1.234,56"}[amount]
    )
    assert written in text


@pytest.mark.parametrize("layout", BANK_LAYOUTS)
def test_bank_receipts_show_the_reseller_iban_and_a_trn_holding_the_cro(layout: str) -> None:
    spec = default_spec(["LM3454898"], Decimal("24.40"))
    compact = _text(make_receipt_pdf(spec, layout)).replace(" ", "")
    assert RESELLER_IBAN in compact
    assert spec.trn in compact
    assert len(spec.trn) == 30 and spec.trn.isalnum() and spec.trn[5:16] == spec.cro


def test_bollettino_shows_the_postal_account_and_a_poste_reference() -> None:
    spec = default_spec(["LM3454902"], Decimal("109.80"))
    text = _text(make_receipt_pdf(spec, "bollettino"))
    assert f"C/C n. {RESELLER_POSTAL_ACCOUNT}" in text and len(RESELLER_POSTAL_ACCOUNT) == 12
    assert spec.poste_cro in text and len(spec.poste_cro) == 15
    assert "Eseguito da" in text and "Causale" in text


def test_fees_and_overrides_reach_the_page() -> None:
    spec = default_spec(
        ["LM3454898", "LM3454899"], Decimal("61.00"), fee=Decimal("0.50"), payer="Anna Bianchi"
    )
    text = _text(make_receipt_pdf(spec, "intesa"))
    assert "Pagamento ordini LM3454898, LM3454899" in text
    assert "Commissioni: € 0,50" in text and "ANNA BIANCHI" in text
    assert default_spec(["LM1"], Decimal("1")).cro != default_spec(["LM2"], Decimal("1")).cro


def test_receipt_pdfs_are_deterministic() -> None:
    spec = default_spec(["LM3454898"], Decimal("24.40"))
    assert make_receipt_pdf(spec, "bpm") == make_receipt_pdf(spec, "bpm")
    with pytest.raises(ValueError, match="unknown layout"):
        make_receipt_pdf(spec, "nope")


def test_ibans_are_valid() -> None:
    assert italian_iban("05428", "11101", "000000123456") == RESELLER_IBAN
    assert italian_iban("03069", "09606", "100000012345") == STRANGER_IBAN
    for bank in BANKS:
        assert iban.is_valid(payer_iban_for("Mario Rossi", bank)), bank


def test_amounts_in_words() -> None:
    assert italian_words(24) == "ventiquattro"
    assert italian_words(183) == "centottantatré"
    assert italian_words(1234) == "milleduecentotrentaquattro"
    assert italian_words(21) == "ventuno"


# --- orders ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "first", "born", "sex", "expected"),
    [
        ("Rossi", "Mario", date(1980, 1, 1), "M", "RSSMRA80A01H501U"),
        ("Esposito", "Giulia", date(1975, 6, 14), "F", None),
        ("D'Angelo", "Nicolò", date(2001, 12, 31), "M", None),
        ("Fo", "Ada", date(1950, 10, 9), "F", None),
        ("De Luca", "Gianfranco", date(1999, 2, 28), "M", None),
    ],
)
def test_tax_codes_validate(last: str, first: str, born: date, sex: str, expected: str | None):
    code = make_tax_code(last, first, born, sex)
    assert codicefiscale.is_valid(code), code
    assert codicefiscale.get_birth_date(code) == born
    assert codicefiscale.get_gender(code) == sex
    if expected:
        assert code == expected


@settings(max_examples=50, deadline=None)
@given(
    st.text(alphabet="abcdefghilmnoprstuvzàèéìòù' ", min_size=1, max_size=20).filter(
        lambda s: any(c.isalpha() for c in s)
    ),
    st.text(alphabet="abcdefghilmnoprstuvz", min_size=1, max_size=12),
    st.dates(min_value=date(1920, 1, 1), max_value=date(2010, 12, 31)),
    st.sampled_from("MF"),
)
def test_any_name_gives_a_valid_tax_code(last: str, first: str, born: date, sex: str) -> None:
    assert codicefiscale.is_valid(make_tax_code(last, first, born, sex))


def test_make_order_reproduces_the_documented_rows_and_totals() -> None:
    rossi = make_order("3454898", phone="0612345678")
    renewal = make_order(
        "3385660",
        order_type="rinnovo",
        payment_method="prepagato",
        created_at="2026-11-20T11:02:00+01:00",
        email="studio.bianchi@example.it",
        mailbox="studio.bianchi@legalmail.it",
    )
    assert orders_csv([rossi, renewal]).splitlines() == [DOC_HEADER, DOC_ROSSI, DOC_RENEWAL]
    assert make_order("3454905", payment_method="carta").total_amount == "24.84"
    assert make_order("3454905", payment_method="carta").payment_status == "paid"
    assert make_order("3454906", payment_method="bollettino").payment_status == "pending"
    assert make_order("3454907", net="45.00").total_amount == "54.90"
    assert make_order("3454908", net="0.05", vat="10.00").total_amount == "0.06"  # half-up


def test_csv_and_jsonl_round_trip() -> None:
    orders = [
        make_order("3454898"),
        make_order(
            "3454899",
            last_name="D'Angelo",
            first_name="Nicolò",
            sex="M",
            mailbox="nicolo.dangelo@legalmail.it",
            payment_method="carta",
        ),
        make_order("3454900", mailbox_description='Studio "Rossi", Roma'),
    ]
    text = orders_csv(orders)
    assert "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == COLUMNS
    assert rows == [vars(o) for o in orders]
    assert [json.loads(line) for line in orders_jsonl(orders).splitlines()] == rows


# --- messages -------------------------------------------------------------------------------


def _inner_mail() -> bytes:
    pdf = make_receipt_pdf(default_spec(["LM3454898"], Decimal("24.40")), "intesa")
    return make_email(
        sender="Mario Rossi <mario.rossi@pec.it>",
        subject="Contabile ordine LM3454898 – perché in ritardo",
        body="In allegato la contabile, così è più chiaro.",
        attachments=[("contabile.pdf", "application/pdf", pdf)],
        message_id="<inner-1@pec.it>",
    )


def test_make_email_is_crlf_and_carries_the_attachment() -> None:
    raw = _inner_mail()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    message = message_from_bytes(raw, policy=SMTP)
    assert message["Subject"] == "Contabile ordine LM3454898 – perché in ritardo"
    parts = [p for p in message.walk() if p.get_filename() == "contabile.pdf"]
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes) and "LM3454898" in _text(payload)


def test_pec_envelope_wraps_the_original_as_postacert() -> None:
    inner = _inner_mail()
    when = datetime(2026, 11, 20, 11, 48, 5, tzinfo=ROME)
    raw = make_pec_envelope(
        inner,
        certified_sender="mario.rossi@pec.it",
        identifier="opec1.20261120@legalmail.it",
        date=when,
    )
    assert raw == make_pec_envelope(
        inner,
        certified_sender="mario.rossi@pec.it",
        identifier="opec1.20261120@legalmail.it",
        date=when,
    )
    envelope = message_from_bytes(raw, policy=SMTP)
    assert isinstance(envelope, EmailMessage)
    assert envelope["X-Trasporto"] == "posta-certificata"
    assert envelope["X-Riferimento-Message-ID"] == "<inner-1@pec.it>"
    assert (
        envelope["Subject"]
        == "POSTA CERTIFICATA: " + "Contabile ordine LM3454898 – perché in ritardo"
    )
    assert envelope.get_content_type() == "multipart/signed"
    assert envelope.get_param("protocol") == "application/pkcs7-signature"
    mixed, signature = envelope.iter_parts()
    assert mixed.get_content_type() == "multipart/mixed"
    assert signature.get_content_type() == "application/pkcs7-signature"
    assert signature.get_filename() == "smime.p7s"
    types = [p.get_content_type() for p in mixed.walk()]
    assert {"text/plain", "text/html", "application/xml", "message/rfc822"} <= set(types)

    postacert = next(p for p in envelope.walk() if p.get_filename() == "postacert.eml")
    assert postacert.get_content_type() == "message/rfc822"
    original = postacert.get_content()
    assert original["Subject"] == "Contabile ordine LM3454898 – perché in ritardo"
    assert any(p.get_filename() == "contabile.pdf" for p in original.walk())

    daticert = next(p for p in envelope.walk() if p.get_filename() == "daticert.xml")
    xml = daticert.get_payload(decode=True)
    assert isinstance(xml, bytes)
    root = ElementTree.fromstring(xml)
    assert root.get("tipo") == "posta-certificata"
    assert root.findtext("intestazione/mittente") == "mario.rossi@pec.it"
    assert root.findtext("intestazione/oggetto") == original["Subject"]
    assert root.findtext("dati/identificativo") == "opec1.20261120@legalmail.it"
    assert root.findtext("dati/msgid") == "<inner-1@pec.it>"
    assert root.findtext("dati/data/giorno") == "20/11/2026"


@pytest.mark.parametrize("kind", PEC_RECEIPT_KINDS)
def test_pec_receipts_say_what_they_are(kind: str) -> None:
    raw = make_pec_receipt(kind, original=_inner_mail())
    message = message_from_bytes(raw, policy=SMTP)
    assert message["X-Ricevuta"] == kind
    assert message["X-Trasporto"] is None
    assert str(message["Subject"]).startswith(PEC_RECEIPT_TITLES[kind] + ": ")
    xml = next(p for p in message.walk() if p.get_filename() == "daticert.xml")
    payload = xml.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert ElementTree.fromstring(payload).get("tipo") == kind
    with pytest.raises(ValueError, match="unknown PEC receipt kind"):
        make_pec_receipt("consegna")


# --- hostile --------------------------------------------------------------------------------


def test_encrypted_pdf_needs_its_password() -> None:
    pdf = encrypted_pdf()
    with pytest.raises(PdfminerException):
        _text(pdf)
    assert "LM3454898" in _text(pdf, password="segreta")


def test_hostile_files_are_what_they_claim() -> None:
    real = make_receipt_pdf(default_spec(["LM3454898"], Decimal("24.40")), "intesa")
    assert not not_a_pdf().startswith(b"%PDF") and zero_byte() == b""
    assert executable_as_pdf().startswith(b"\x7fELF")
    with pytest.raises(PdfminerException):
        _text(truncated_pdf(real))
    with pdfplumber.open(io.BytesIO(huge_pdf(30))) as document:
        assert len(document.pages) == 30


@pytest.mark.parametrize("name", hostile_filenames(), ids=range(len(hostile_filenames())))
def test_hostile_filenames_survive_the_trip_through_a_message(name: str) -> None:
    raw = make_email(
        sender="x@example.it",
        subject="Pagamento LM3454898",
        body="ecco",
        attachments=[(name, "application/pdf", b"%PDF-1.4\n")],
    )
    assert b"\n" not in raw.replace(b"\r\n", b"")
    parsed = message_from_bytes(raw, policy=SMTP)
    leaves = [p for p in parsed.walk() if p.get_content_type() == "application/pdf"]
    assert len(leaves) == 1
    expected = str(make_header(decode_header(name))) if name.startswith("=?") else name
    assert (leaves[0].get_filename() or "").strip() == expected.strip()


def test_forward_chain_nests_messages() -> None:
    message = message_from_bytes(forward_chain(4))
    assert sum(p.get_content_type() == "message/rfc822" for p in message.walk()) == 4


# --- samples --------------------------------------------------------------------------------


def _make_samples() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "scripts/make_samples.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_samples"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_samples_are_deterministic_fast_and_complete(tmp_path: Path) -> None:
    samples = _make_samples()
    started = time.perf_counter()
    samples.main(tmp_path)
    assert time.perf_counter() - started < 2
    (tmp_path / "drop" / "stale.eml").write_bytes(b"x")
    first = {p.name: p.read_bytes() for p in (tmp_path / "drop").iterdir()}
    samples.main(tmp_path)
    second = {p.name: p.read_bytes() for p in (tmp_path / "drop").iterdir()}
    assert "stale.eml" in first and first.pop("stale.eml")
    assert first == second and set(second) == set(samples.EXPECTED)
    lines = (tmp_path / "orders.csv").read_text(encoding="utf-8").splitlines()
    assert lines[:3] == [DOC_HEADER, DOC_ROSSI, DOC_RENEWAL]
