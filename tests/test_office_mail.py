"""What a real office mailbox brings, read right without I/O: proof of payment, statements,
digits in boxes, the MRZ, signed files, bundled PDFs, noise and decorations."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mrz.generator.td1 import TD1CodeGenerator
from mrz.generator.td3 import TD3CodeGenerator

from parsers.boxes import boxed_number, collapse_boxes
from parsers.classify import DocumentKind, classify_text
from parsers.documents import DocumentReading, PageText
from parsers.facts import Reseller, extract_payment_facts, extract_statement_facts
from parsers.identity import Expiry, expiry
from parsers.mime import parse_message
from parsers.mrz_zone import find_mrz
from parsers.noise import AUTOREPLY, BOUNCE, BULK, SPAM
from parsers.parts import split_parts
from parsers.pdf_text import extract_pdf_text
from parsers.proof import Proof, payment_proof
from parsers.sandbox import Rejected
from parsers.signed import looks_signed, open_signed, pdf_signatures
from parsers.statements import movements
from tests.docgen import noise, signatures
from tests.docgen.bundles import bundle_pdf, signed_contract_pdf, typical_bundle
from tests.docgen.messages import make_email
from tests.docgen.orders import make_order
from tests.docgen.proofless import STATUSES, pending_transfer_pdf, portal_summary_pdf
from tests.docgen.receipts import (
    LAYOUTS,
    ONLINE_LAYOUTS,
    RESELLER_IBAN,
    TRICKY_LAYOUTS,
    default_spec,
    make_receipt_pdf,
)
from tests.docgen.statements import LAYOUTS as STATEMENT_LAYOUTS
from tests.docgen.statements import statement_pdf, statement_spec

ORDER = make_order("3454898")
RESELLER = Reseller((RESELLER_IBAN,), "Visura S.p.A.")


def _facts_of(pdf: bytes):  # type: ignore[no-untyped-def]
    return extract_payment_facts(extract_pdf_text(pdf, 10).text)


# --- proof of payment -----------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS + TRICKY_LAYOUTS + ONLINE_LAYOUTS)
def test_every_bank_receipt_shows_its_payment_executed(layout: str) -> None:
    facts = _facts_of(make_receipt_pdf(default_spec([ORDER.code], ORDER.total), layout))
    assert facts.proof.proof is Proof.EXECUTED
    assert facts.amount == ORDER.total and facts.codes == [ORDER.code]


@pytest.mark.parametrize("method", ["bonifico", "bollettino"])
@pytest.mark.parametrize("variant", ["riepilogo", "lista_ordini", "email"])
def test_the_portal_s_summary_is_instructions_never_proof(method: str, variant: str) -> None:
    """It names the order, its exact total and our IBAN or postal account, and proves nothing."""
    text = extract_pdf_text(portal_summary_pdf(ORDER, method, variant), 5).text
    facts = extract_payment_facts(text)
    assert facts.proof.proof is Proof.INSTRUCTIONS
    assert ORDER.code in facts.codes
    assert classify_text(text).kind is DocumentKind.PAYMENT_RECEIPT  # never a contract


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("layout", ["intesa", "unicredit", "bpm", "poste", "corporate", "english"])
def test_a_transfer_not_executed_says_so_whatever_else_it_prints(status: str, layout: str) -> None:
    """Booked, awaiting authorisation, revoked, cancelled, rejected, returned: some print a CRO
    or an execution date too; the status word wins."""
    facts = _facts_of(pending_transfer_pdf(ORDER, status, layout))
    assert facts.proof.proof is Proof.NOT_EXECUTED, facts.proof


def test_a_hedged_status_word_is_a_possibility_not_a_status() -> None:
    text = "Bonifico SEPA\nStato: eseguito\nLa disposizione può essere revocata entro le 14:00"
    assert payment_proof(text, reference=False, execution_date=False).proof is Proof.EXECUTED


def test_a_payer_label_is_not_evidence_of_payment() -> None:
    """`Eseguito da` on a blank slip names the payer's field; nothing on it shows a payment."""
    text = "BOLLETTINO\nEseguito da\nMARIO ROSSI\nCausale ORDINE LM3454898"
    assert payment_proof(text, reference=False, execution_date=False).proof is Proof.NONE


@given(
    before=st.text(alphabet="abcdefghij ,.:\n", max_size=80),
    after=st.text(alphabet="abcdefghij ,.:\n", max_size=80),
    word=st.sampled_from(["importo da versare", "causale da indicare", "da pagare"]),
    reference=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_instructions_to_pay_are_never_evidence(
    before: str, after: str, word: str, reference: bool
) -> None:
    text = f"{before} Bonifico eseguito {word} {after}"
    assert payment_proof(text, reference=reference, execution_date=True).proof is not (
        Proof.EXECUTED
    )


# --- statements -----------------------------------------------------------------------------


@pytest.mark.parametrize("layout", STATEMENT_LAYOUTS)
@pytest.mark.parametrize("mention", ["iban", "name"])
@pytest.mark.parametrize("distractors", [(), ("same_amount_elsewhere", "same_amount_incoming")])
def test_the_amount_of_a_statement_is_the_row_paying_us(
    layout: str, mention: str, distractors: tuple[str, ...]
) -> None:
    """Never the balance, never another row of the same amount paying someone else or coming
    in; the row names our IBAN or only our name."""
    pdf = statement_pdf(statement_spec(ORDER, distractors=distractors, mention=mention), layout)
    reading = extract_pdf_text(pdf, 5)
    facts = extract_statement_facts(reading.text, "\n".join(reading.layouts), RESELLER, [])
    assert facts.amount == ORDER.total
    assert facts.codes == [ORDER.code]
    assert facts.proof.proof is Proof.EXECUTED
    assert facts.names_reseller == (not facts.ibans)  # an app prints only our name
    assert facts.ibans in ([], [RESELLER_IBAN])


def test_two_rows_paying_us_are_told_apart_by_the_message_s_code() -> None:
    spec = statement_spec(ORDER, distractors=("other_order",))
    reading = extract_pdf_text(statement_pdf(spec, "estratto_conto"), 5)
    layout = "\n".join(reading.layouts)
    alone = extract_statement_facts(reading.text, layout, RESELLER, [])
    assert alone.amount is None and len(alone.amount_candidates) >= 1  # a person picks
    named = extract_statement_facts(reading.text, layout, RESELLER, [ORDER.code])
    assert named.amount == ORDER.total and named.codes == [ORDER.code]


_AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)


def _it(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


@given(rows=st.lists(st.tuples(_AMOUNTS, st.booleans()), min_size=1, max_size=12))
@settings(max_examples=80, deadline=None)
def test_movements_keep_their_sign_in_signed_and_in_two_column_layouts(
    rows: list[tuple[Decimal, bool]],
) -> None:
    """One signed column (`-24,40`) or Dare/Avere columns: the amount and its direction."""
    signed = ["Data Valuta Descrizione Importo"]
    columns = ["DATA     VALUTA        DARE        AVERE  DESCRIZIONE"]
    for n, (amount, out) in enumerate(rows):
        text = f"{'-' if out else '+'}{_it(amount)}"
        signed.append(f"0{n % 9 + 1}/11/2026 0{n % 9 + 1}/11/2026 MOVIMENTO {n} {text}")
        money = f"{_it(amount):>11}"
        cells = f"{money}{'':>12}" if out else f"{'':>11} {money}"
        columns.append(f"0{n % 9 + 1}.11.26 0{n % 9 + 1}.11.26 {cells} MOVIMENTO {n}")
    expected = [-amount if out else amount for amount, out in rows]
    assert [m.amount for m in movements("\n".join(signed))] == expected
    assert [m.amount for m in movements("\n".join(columns))] == expected


def test_a_balance_is_never_a_movement() -> None:
    layout = (
        "Data Valuta Descrizione Importo\n"
        "01/11/2026 SALDO INIZIALE A VOSTRO CREDITO 5.897,50\n"
        "02/11/2026 02/11/2026 PAGAMENTO POS -24,40\n"
        "30/11/2026 SALDO FINALE 5.873,10\n"
    )
    assert [m.amount for m in movements(layout)] == [Decimal("-24.40")]


# --- digits in boxes ------------------------------------------------------------------------


@given(
    digits=st.text(alphabet="0123456789", min_size=6, max_size=12),
    edges=st.lists(st.sampled_from(["|", "]", "}", ")", "/", " | ", "] "]), min_size=1),
)
@settings(max_examples=120, deadline=None)
def test_a_number_one_digit_a_box_reads_as_the_number(digits: str, edges: list[str]) -> None:
    boxed = "".join(d + edges[n % len(edges)] for n, d in enumerate(digits))
    assert boxed_number(boxed + " Importo") == digits


def test_in_a_photo_box_edges_read_as_1_between_digits_are_dropped() -> None:
    assert boxed_number("0|0]ol0] 1/2) 3) 4/5] 61718") == "000012345678"
    assert boxed_number("11111111") == "11111111"  # no box edges: the digits as written


def test_a_boxed_amount_becomes_one_amount() -> None:
    assert collapse_boxes("di Euro 2|4|,|4|0") == "di Euro 24,40"
    assert collapse_boxes("Importo € 24,40 | 0,50") == "Importo € 24,40 | 0,50"


# --- the MRZ --------------------------------------------------------------------------------


@given(
    expires=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    noise_in_fillers=st.booleans(),
)
@settings(max_examples=80, deadline=None)
def test_the_mrz_gives_the_expiry_its_check_digit_vouches_for(
    expires: date, noise_in_fillers: bool
) -> None:
    card = str(TD1CodeGenerator("CI", "ITA", "CA00000AA", "800101", "M", f"{expires:%y%m%d}",
                                "ITA", "ROSSI", "MARIO"))  # fmt: skip
    passport = str(TD3CodeGenerator("P", "ITA", "ROSSI", "MARIO", "YA1234567", "ITA", "800101",
                                    "M", f"{expires:%y%m%d}"))  # fmt: skip
    for zone, kind in ((card, "carta_identita"), (passport, "passaporto")):
        if noise_in_fillers:  # OCR's way with the filler
            zone = zone.replace("<<<", "«<").replace("<<", "< <")
        found = find_mrz(f"REPUBBLICA ITALIANA\n{zone}\nfirma")
        assert found is not None and found.expires == expires and found.kind == kind


def test_a_wrong_digit_in_the_expiry_is_caught_by_its_check_digit() -> None:
    zone = str(TD1CodeGenerator("CI", "ITA", "CA00000AA", "800101", "M", "310514", "ITA",
                                "ROSSI", "MARIO")).replace("310514", "310614")  # fmt: skip
    assert find_mrz(zone) is None


def test_a_poor_photo_with_an_mrz_is_an_identity_document_with_its_expiry() -> None:
    """Garbled words, a readable MRZ: recognised, the expiry taken from the MRZ."""
    zone = str(TD1CodeGenerator("CI", "ITA", "CA00000AA", "800101", "M", "310514", "ITA",
                                "ROSSI", "MARIO"))  # fmt: skip
    text = f"REPUBBL1CA lTAL ... c4rta\n{zone}"
    assert classify_text(text).kind is DocumentKind.IDENTITY_DOCUMENT
    assert expiry(text) == Expiry(date(2031, 5, 14), "mrz")


# --- signed contracts -----------------------------------------------------------------------

ARRIVED = datetime(2026, 11, 21, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def contract() -> bytes:
    return signed_contract_pdf(ORDER)


@pytest.mark.parametrize("encoding", ["der", "base64", "pem"])
def test_a_p7m_opens_to_its_pdf_with_a_valid_signature(contract: bytes, encoding: str) -> None:
    inner, found = open_signed(signatures.p7m(contract, encoding=encoding), signatures.root_pem(),
                               ARRIVED)  # fmt: skip
    assert inner == contract
    assert [(s.signed_by, s.valid) for s in found] == [("MARIO ROSSI", True)]


def test_signed_twice_both_signatures_are_checked(contract: bytes) -> None:
    for twice in (signatures.p7m_twice(contract), signatures.p7m_twice(contract, nested=False)):
        inner, found = open_signed(twice, signatures.root_pem(), ARRIVED)
        assert inner == contract
        assert sorted(s.signed_by or "" for s in found) == ["GIULIA ESPOSITO", "MARIO ROSSI"]
        assert all(s.valid for s in found)


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (signatures.tampered_p7m, "altered after signing"),
        (lambda pdf: signatures.p7m(pdf, "expired"), "had expired"),
        (lambda pdf: signatures.p7m(pdf, "selfsigned"), "trusted certification authority"),
    ],
)
def test_a_broken_or_untrusted_signature_is_not_valid_and_says_why(contract, make, why) -> None:
    _, found = open_signed(make(contract), signatures.root_pem(), ARRIVED)
    assert found[0].valid is False and why in (found[0].reason or "")


def test_without_trust_roots_a_signature_is_checked_for_integrity_only(contract: bytes) -> None:
    _, intact = open_signed(signatures.p7m(contract), b"", ARRIVED)
    assert intact[0].valid is None and "no trust roots" in (intact[0].reason or "")
    _, broken = open_signed(signatures.tampered_p7m(contract), b"", ARRIVED)
    assert broken[0].valid is False


def test_a_signed_pdf_is_read_as_is_and_its_signature_checked(contract: bytes) -> None:
    found = pdf_signatures(signatures.pades_pdf(contract), signatures.root_pem(), ARRIVED)
    assert [(s.signed_by, s.valid) for s in found] == [("MARIO ROSSI", True)]
    assert pdf_signatures(contract, signatures.root_pem(), ARRIVED) == []


@given(data=st.binary(max_size=400))
@settings(max_examples=100, deadline=None)
def test_any_bytes_claiming_to_be_a_p7m_get_an_answer(data: bytes) -> None:
    try:
        open_signed(b"\x30" + data, b"", ARRIVED)
    except Rejected as exc:
        assert exc.reason


# --- bundled PDFs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("contract_id", ["contract", "identity_document"]),
        ("receipt_contract", ["payment_receipt", "contract"]),
        ("receipt_contract_id", ["payment_receipt", "contract", "identity_document"]),
    ],
)
def test_a_pdf_holding_several_documents_is_split_by_runs_of_pages(kind, expected) -> None:
    parts, _ = typical_bundle(ORDER, kind)
    text = extract_pdf_text(bundle_pdf(parts), 20)
    reading = DocumentReading("read", page_texts=tuple(PageText(t) for t in text.page_texts))
    found = split_parts(reading)
    assert [p.classification.kind.value for p in found] == expected
    assert found[0].first_page == 1 and found[-1].last_page == text.pages
    assert all(a.last_page + 1 == b.first_page for a, b in itertools.pairwise(found))


def test_a_document_of_one_kind_stays_one_part() -> None:
    text = extract_pdf_text(signed_contract_pdf(ORDER), 5)  # two pages, the second terms
    reading = DocumentReading("read", page_texts=tuple(PageText(t) for t in text.page_texts))
    assert [(p.first_page, p.last_page) for p in split_parts(reading)] == [(1, 2)]


# --- noise and decorations ------------------------------------------------------------------

EXPECTED = {"autoreply": AUTOREPLY, "dsn": BOUNCE, "bulk": BULK, "spam": SPAM}


@pytest.mark.slow  # builds every noise sample: ~2 s
def test_mail_that_needs_nobody_is_known_before_its_attachments_are_read() -> None:
    """Auto-replies (with the header or without), bounces carrying our own contract, bulk and
    spam: a reason of their own, and nothing of them read as a document."""
    for sample in noise.samples():
        parsed = parse_message(sample.data)
        if sample.expect in EXPECTED:
            assert parsed.noise == EXPECTED[sample.expect], sample.name
        else:
            assert parsed.noise is None, sample.name


@pytest.mark.slow  # builds every noise sample: ~2 s
def test_logos_flags_and_icons_are_not_documents_a_pasted_photo_is() -> None:
    for sample in noise.samples():
        if sample.expect != "customer":
            continue
        parsed = parse_message(sample.data)
        names = [a.filename for a in parsed.attachments]
        assert names == [name for _, name, _ in sample.documents], sample.name
        assert parsed.decorations == len(sample.decorations), sample.name


def test_an_out_of_office_text_is_noise_only_without_attachments() -> None:
    text = "Sono fuori ufficio fino al 30 novembre, risponderò al rientro."
    plain = make_email(sender="a@example.it", subject="Re: ordine", body=text)
    assert parse_message(plain).noise == AUTOREPLY
    with_receipt = make_email(
        sender="a@example.it",
        subject="contabile",
        body=text,
        attachments=[("c.pdf", "application/pdf", make_receipt_pdf(default_spec([], ORDER.total),
                                                                    "intesa"))],
    )  # fmt: skip
    assert parse_message(with_receipt).noise is None


def test_the_reseller_is_named_by_whole_words_where_the_bank_names_the_beneficiary() -> None:
    """`VISURA S.P.A.` is Visura S.p.A., `Revisura` is not; a name in the causale is the
    customer's word, not the bank's."""
    layout = (
        "Data Valuta Descrizione Importo\n"
        "20/11/2026 20/11/2026 BONIFICO A FAVORE DI VISURA S.P.A. -24,40\n"
        "21/11/2026 21/11/2026 BONIFICO A FAVORE DI REVISURA SPA -30,00\n"
        "22/11/2026 22/11/2026 BONIFICO A FAVORE DI MARIO ROSSI CAUSALE: VISURA SPA -36,60\n"
    )
    facts = extract_statement_facts(" ".join(layout.split()), layout, RESELLER, [])
    assert facts.amount == Decimal("24.40") and facts.names_reseller


def test_a_statement_of_the_reseller_s_own_account_pays_nobody() -> None:
    """The bank's statement of Visura's account, to the office: incoming transfers, no row
    paying us; it is known by whose account it is."""
    text = extract_pdf_text(noise.bank_statement_pdf(), 5)
    facts = extract_statement_facts(text.text, "\n".join(text.layouts), RESELLER, [])
    assert facts.reseller_account and facts.amount is None


def test_a_running_balance_beside_each_movement_is_never_its_amount() -> None:
    layout = (
        "Data        Descrizione             Importo        Saldo\n"
        "20/11/2026  BONIFICO A VISURA SPA    -24,40      -300,00\n"
    )
    assert [m.amount for m in movements(layout)] == [Decimal("-24.40")]


def test_a_receipt_with_words_of_an_autoreply_in_its_subject_is_read() -> None:
    """Only headers of a program hold whatever is attached: a customer may write "Assente la
    ricevuta? Eccola" over a receipt, and banks set X-Auto-Response-Suppress on real mail."""
    pdf = make_receipt_pdf(default_spec([ORDER.code], ORDER.total), "intesa")
    for subject, headers in (
        ("Assente la ricevuta? Eccola", {}),
        ("Contabile bonifico", {"X-Auto-Response-Suppress": "All"}),
    ):
        raw = make_email(
            sender="a@example.it",
            subject=subject,
            body="in allegato",
            attachments=[("c.pdf", "application/pdf", pdf)],
            headers=headers,
        )
        assert parse_message(raw).noise is None, subject


def test_a_signed_envelope_is_known_by_its_first_bytes() -> None:
    """Outside the sandbox only the start is looked at; the parse waits for a worker."""
    contract = signed_contract_pdf(ORDER)
    for encoding in ("der", "base64", "pem"):
        assert looks_signed(signatures.p7m(contract, encoding=encoding))
    assert not looks_signed(contract)
    assert not looks_signed(b"\x30\x82\x01" + b"\x30" * 5000)  # deep nesting, never parsed
