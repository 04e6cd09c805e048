"""The new document generators write what they claim: proofless pages, statements, English app
receipts, paper bollettini, identity documents and bundles."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import date, datetime, timedelta
from decimal import Decimal

import pdfplumber
import pypdfium2 as pdfium
import pytest
from mrz.checker.td1 import TD1CodeChecker
from mrz.checker.td3 import TD3CodeChecker
from PIL import Image, ImageStat
from stdnum import iban

from tests.docgen.bollettini import FORMS, bollettino_for, paper_bollettino_pdf
from tests.docgen.bundles import (
    BUNDLE_KINDS,
    bundle_pdf,
    scanned_bundle_pdf,
    signed_contract_pdf,
    typical_bundle,
)
from tests.docgen.ids import (
    CARD,
    KINDS,
    identity_document,
    identity_image,
    identity_pdf,
    identity_spec,
    identity_spec_for,
)
from tests.docgen.orders import make_order
from tests.docgen.proofless import (
    PENDING_LAYOUTS,
    PORTAL_VARIANTS,
    STATUSES,
    pending_transfer_pdf,
    portal_summary_pdf,
    transfer_form_png,
)
from tests.docgen.receipts import (
    ONLINE_LAYOUTS,
    RESELLER_IBAN,
    RESELLER_POSTAL_ACCOUNT,
    default_spec,
    en_amount,
    en_date,
    it_amount,
    make_receipt_pdf,
)
from tests.docgen.statements import DISTRACTORS, LAYOUTS, statement_pdf, statement_spec

ORDER = make_order("3454898")  # 24,40
BIG = make_order("3454899", net="1000.00", last_name="De Luca", first_name="Nicolò")  # 1.220,00
TESSERACT = shutil.which("tesseract")


def _pages(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [page.extract_text() or "" for page in document.pages]


def _text(pdf: bytes) -> str:
    pages = _pages(pdf)
    assert len(pages) == 1
    return pages[0]


def _ocr(image: bytes, psm: int = 6) -> str:
    assert TESSERACT
    run = subprocess.run(
        [TESSERACT, "stdin", "stdout", "--psm", str(psm)],
        input=image,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return run.stdout.decode()


# --- English online-bank receipts -----------------------------------------------------------


@pytest.mark.parametrize("layout", ONLINE_LAYOUTS)
@pytest.mark.parametrize("amount", ["24.40", "1234.56"])
def test_online_receipts_print_code_english_amount_iban_and_date(layout: str, amount: str):
    """The text layer holds the code, the amount the English way (never the Italian way), our
    IBAN and an English date such as `20 Nov 2026`."""
    spec = default_spec(["LM3454898"], Decimal(amount))
    text = _text(make_receipt_pdf(spec, layout))
    assert "LM3454898" in text
    assert en_amount(spec.amount) in text and it_amount(spec.amount) not in text
    assert RESELLER_IBAN in text.replace(" ", "")
    assert en_date(spec.execution_date) in text


def test_online_transfer_total_includes_the_fee_and_dates_ignore_the_locale() -> None:
    """Only `Amount` pays the order; `Total` is amount plus the service's fee."""
    spec = default_spec(["LM3454898"], Decimal("24.40"), fee=Decimal("0.62"))
    text = _text(make_receipt_pdf(spec, "online_transfer"))
    assert "Amount 24.40 EUR" in text and "Fee 0.62 EUR" in text and "Total 25.02 EUR" in text
    assert en_date(date(2027, 3, 12)) == "12 Mar 2027"
    assert en_date(date(2027, 3, 12), long=True) == "12 March 2027"
    assert make_receipt_pdf(spec, "online_app") == make_receipt_pdf(spec, "online_app")


# --- proofless pages ------------------------------------------------------------------------


@pytest.mark.parametrize("variant", PORTAL_VARIANTS)
@pytest.mark.parametrize("method", ["bonifico", "bollettino"])
def test_portal_summary_carries_code_total_and_our_coordinates(variant: str, method: str):
    """Each printed portal page shows the code, the total as the portal prints it, our IBAN or
    postal account, and the browser's print header/footer (URL, page number)."""
    text = _text(portal_summary_pdf(BIG, method, variant))
    compact = text.replace(" ", "")
    assert BIG.code in text and "1.220,00" in text
    if method == "bonifico":
        assert RESELLER_IBAN in compact
    else:
        assert RESELLER_POSTAL_ACCOUNT in text and RESELLER_IBAN not in compact
    assert "https://" in text and ("1/1" in text or "Pagina 1 di 1" in text)
    if variant == "riepilogo":
        assert "Importo da versare: 1.220,00" in text and f"Causale da indicare: {BIG.code}" in text
    if variant == "email":
        assert "amministrazione@visura.it" in text


def test_order_list_shows_an_older_order_with_the_same_total() -> None:
    """The trap on the order list: another code of the same customer, same amount, fulfilled."""
    text = _text(portal_summary_pdf(ORDER, "bonifico", "lista_ordini"))
    codes = set(re.findall(r"LM\d{7}", text))
    assert ORDER.code in codes and len(codes) == 2
    assert "Evaso e soddisfatto" in text and text.count("24,40") >= 3


_STATE_WORDS = {
    "prenotato": "PRENOTAT",
    "in_attesa": "ATTESA",
    "da_autorizzare": "AUTORIZZA",
    "revocato": "REVOCAT",
    "annullato": "ANNULLAT",
    "rifiutato": "RIFIUTAT",
    "stornato": "STORNAT",
}
_ENGLISH_WORDS = {
    "prenotato": "Scheduled",
    "in_attesa": "Pending",
    "da_autorizzare": "Awaiting approval",
    "revocato": "Cancelled",
    "annullato": "Cancelled",
    "rifiutato": "Declined",
    "stornato": "Returned",
}


@pytest.mark.parametrize("layout", PENDING_LAYOUTS)
@pytest.mark.parametrize("status", STATUSES)
def test_pending_transfers_name_us_the_code_the_total_and_their_state(layout: str, status: str):
    """Every bank's page of a transfer that moved no money carries the code, the exact total,
    our IBAN, and says its state; none says it was executed (`Stato: ESEGUITO`)."""
    pdf = pending_transfer_pdf(BIG, status, layout)
    text = _text(pdf)
    assert BIG.code in text
    assert RESELLER_IBAN in text.replace(" ", "")
    if layout == "english":
        assert en_amount(BIG.total) in text and _ENGLISH_WORDS[status] in text
    else:
        assert "1.220,00" in text and _STATE_WORDS[status] in text.upper()
    assert "Stato: ESEGUITO" not in text
    assert pdf == pending_transfer_pdf(BIG, status, layout)


def test_pending_transfer_traps_are_present() -> None:
    """A booked transfer at Intesa already prints a CRO and a future execution date; a returned
    one prints CRO and TRN like an executed transfer; banks' looks differ."""
    booked = _text(pending_transfer_pdf(ORDER, "prenotato", "intesa"))
    assert re.search(r"CRO: \d{11}", booked)
    day = datetime.strptime(
        re.findall(r"sarà eseguito il (\d\d/\d\d/\d{4})", booked)[0], "%d/%m/%Y"
    )
    assert day.date() > date(2026, 11, 20)
    returned = _text(pending_transfer_pdf(ORDER, "stornato", "bpm"))
    assert re.search(r"CRO \d{11}", returned) and re.search(r"TRN \w{30}", returned)
    heads = {
        _text(pending_transfer_pdf(ORDER, "in_attesa", lay)).split("\n")[0]
        for lay in PENDING_LAYOUTS
    }
    assert len(heads) == len(PENDING_LAYOUTS)
    with pytest.raises(ValueError, match="unknown status"):
        pending_transfer_pdf(ORDER, "eseguito", "intesa")


@pytest.mark.parametrize(("device", "width"), [("browser", 1200), ("app", 1170)])
def test_transfer_form_is_a_screenshot_of_the_given_width(device: str, width: int) -> None:
    """A PNG screenshot, the same bytes each time, about 1200 px wide."""
    png = transfer_form_png(ORDER, device)
    assert png.startswith(b"\x89PNG") and png == transfer_form_png(ORDER, device)
    assert Image.open(io.BytesIO(png)).width == width


@pytest.mark.integration  # Tesseract
@pytest.mark.skipif(TESSERACT is None, reason="tesseract not installed")
def test_transfer_form_reads_as_an_unconfirmed_form() -> None:
    """Tesseract finds the verification title, the OTP prompt, the code and the total (the
    white-on-blue button text is as hard for it as in real screenshots)."""
    text = _ocr(transfer_form_png(ORDER), psm=4)
    for words in ("Verifica", "Inserisci il codice OTP", ORDER.code, "Importo 24,40"):
        assert words in text, words


# --- statements -----------------------------------------------------------------------------


def _spec(others: int = 10, distractors: tuple[str, ...] = (), mention: str = "iban"):
    return statement_spec(BIG, others=others, distractors=distractors, mention=mention)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("others", [6, 10, 15])
def test_statement_prints_the_paying_row_and_the_balances(layout: str, others: int) -> None:
    """The text holds the code, the paying row's amount as the layout writes it (`-1.220,00`,
    Dare `1.220,00`, `- 1.220,00 €`), the opening and closing balances; 1 or 2 pages."""
    spec = _spec(others, DISTRACTORS[: others // 5])
    pages = _pages(statement_pdf(spec, layout))
    text = "\n".join(pages)
    assert 1 <= len(pages) <= 2
    assert spec.code in text
    written = {"lista_movimenti": "-1.220,00", "estratto_conto": "1.220,00", "app": "- 1.220,00 €"}[
        layout
    ]
    assert written in text
    assert it_amount(spec.opening_balance) in text and it_amount(spec.closing_balance) in text
    assert spec.paying_amount == BIG.total


def test_statement_spec_rows_balance_and_distractors() -> None:
    """6-15 other rows; the closing balance is the opening plus every row and never dips below
    zero; the distractors are there: the same total paid elsewhere and received, another code."""
    spec = _spec(12, DISTRACTORS)
    assert len(spec.rows) - 1 == 12
    assert spec.closing_balance == spec.opening_balance + sum(r.amount for r in spec.rows)
    running = spec.opening_balance
    for row in spec.rows:
        running += row.amount
        assert running >= 0
    assert spec.opening_balance >= 1000
    same = [r for r in spec.rows if abs(r.amount) == BIG.total]
    assert len(same) == 3 and sum(r.amount > 0 for r in same) == 1
    assert sum("VISURA" in r.description for r in spec.rows) == 2
    assert sum(BIG.code in r.description for r in spec.rows) == 1
    assert BIG.code in spec.paying.description and spec.paying.amount < 0
    assert [r.booked for r in spec.rows] == sorted(r.booked for r in spec.rows)
    with pytest.raises(ValueError, match="others is 6 to 15"):
        _spec(5)


def test_statement_paying_row_mentions_iban_or_only_name_and_wraps() -> None:
    """With `mention="iban"` our IBAN is in the row, with `name` only `VISURA S.P.A.`; in the
    internet-banking list the description wraps, the code on a later line than its start."""
    with_iban = _text(statement_pdf(_spec(mention="iban"), "lista_movimenti"))
    assert RESELLER_IBAN in with_iban
    only_name = _text(statement_pdf(_spec(mention="name"), "lista_movimenti"))
    assert RESELLER_IBAN not in only_name and "A FAVORE DI VISURA S.P.A." in only_name
    lines = with_iban.split("\n")
    start = next(n for n, line in enumerate(lines) if "A FAVORE DI VISURA" in line)
    code = next(n for n, line in enumerate(lines) if BIG.code in line)
    assert code > start


def test_long_statement_carries_the_balance_over_to_page_two() -> None:
    """Fifteen rows and all distractors fill two pages of the periodic statement, with the
    carried balance printed at the foot of one page and the head of the next."""
    spec = _spec(15, DISTRACTORS)
    pages = _pages(statement_pdf(spec, "estratto_conto"))
    assert len(pages) == 2
    assert "SALDO A RIPORTARE" in pages[0] and "RIPORTO SALDO" in pages[1]
    assert "SALDO INIZIALE A VOSTRO CREDITO" in pages[0]
    assert "SALDO FINALE A VOSTRO CREDITO" in pages[1]
    assert statement_pdf(spec, "app") == statement_pdf(spec, "app")


# --- paper bollettini -----------------------------------------------------------------------


def _boxes(text: str, label: str) -> str:
    """The digits written in the boxes on the line starting with `label`, spaces dropped."""
    line = next(line for line in text.split("\n") if line.startswith(label))
    return line.removeprefix(label).split("di Euro")[0].replace(" ", "")


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("zeros", [True, False])
def test_stamped_bollettino_shows_account_amount_and_the_office_validation(form: str, zeros):
    """The c/c in its boxes (with or without leading zeros), the amount in euro and cent boxes
    and in words, the causale with the code, and the validation: VCY 7601..., office, amount."""
    spec = bollettino_for(ORDER, form=form, leading_zeros=zeros)
    text = _text(paper_bollettino_pdf(spec, stamped=True))
    account = _boxes(text, "€ sul C/C n.")
    assert account == (RESELLER_POSTAL_ACCOUNT if zeros else RESELLER_POSTAL_ACCOUNT.lstrip("0"))
    assert _boxes(text, "di Euro") == "24,40"
    assert "VENTIQUATTRO/40" in text and "LM3454898" in text.replace(" ", "")
    assert f"VCY {spec.reference}" in text and len(spec.reference) == 15
    assert spec.reference.startswith("7601") and "UP ROMA 58" in text
    assert "IMPORTO EUR *****24,40" in text and "TASSA EUR ******2,20" in text.replace("  ", " ")


def test_unpaid_bollettino_is_the_same_slip_without_validation() -> None:
    """Filled in, never paid: every field is there (the whole slip, TD 123 code line) and no
    stamp, reference, fee or date of payment, which the paid stub has."""
    spec = bollettino_for(BIG, form="123")
    paid = _text(paper_bollettino_pdf(spec, stamped=True))
    unpaid = _text(paper_bollettino_pdf(spec, stamped=False))
    assert "MILLEDUECENTOVENTI/00" in unpaid and "BOLLO DELL'UFFICIO POSTALE" in unpaid
    assert f"{RESELLER_POSTAL_ACCOUNT}< 123>" in unpaid and "TD 123" in unpaid
    assert "Ricevuta di Accredito" in unpaid and "Ricevuta di Accredito" not in paid
    for absent in (spec.reference, "VCY", "******2,20", "UP ROMA 58", f"{spec.paid_at:%d/%m/%Y}"):
        assert absent not in unpaid and absent in paid
    assert paper_bollettino_pdf(spec) == paper_bollettino_pdf(spec)


# --- identity documents ---------------------------------------------------------------------


def _mrz(text: str) -> str:
    return "\n".join(line.replace(" ", "") for line in text.split("\n") if "<" in line)


def test_cie_mrz_validates_and_names_the_holder() -> None:
    """The CIE back's TD1 MRZ from the text layer passes the `mrz` checker (check digits) and
    says the card number, names and expiry; the front says the same in its own formats."""
    spec = identity_spec_for(BIG, "cie")
    pdf, facts = identity_document(spec)
    text = _text(pdf)
    mrz = _mrz(text)
    checker = TD1CodeChecker(mrz)
    assert checker and mrz.split("\n") == list(facts.mrz) and len(facts.mrz[0]) == 30
    fields = checker.fields()
    assert (fields.surname, fields.name) == ("DE LUCA", "NICOLO")
    assert fields.document_number == facts.number and fields.expiry_date == f"{spec.expires:%y%m%d}"
    assert "SCADENZA / EXPIRY" in text and spec.expires.strftime("%d.%m.%Y") in text
    assert "DE LUCA" in text and "NICOLÒ" in text and spec.tax_code in text
    assert (facts.kind, facts.last_name, facts.expires) == ("cie", "DE LUCA", spec.expires)
    assert spec.expires.timetuple()[1:3] == date(1980, 1, 1).timetuple()[1:3]  # the birthday


def test_passport_mrz_validates_and_expiry_is_ten_years_less_a_day() -> None:
    spec = identity_spec_for(ORDER, "passaporto")
    pdf, facts = identity_document(spec)
    text = _text(pdf)
    mrz = _mrz(text)
    assert TD3CodeChecker(mrz) and len(facts.mrz) == 2 and len(facts.mrz[1]) == 44
    assert mrz.startswith("P<ITAROSSI<<MARIO")
    assert spec.expires == spec.issued.replace(year=spec.issued.year + 10) - timedelta(days=1)
    assert "Date of expiry" in text and f"{spec.expires:%Y}" in text


def test_long_names_are_cut_to_fit_the_mrz() -> None:
    """Names longer than the zone lose given names first, and the check digits still hold."""
    for kind, checker in (("cie", TD1CodeChecker), ("passaporto", TD3CodeChecker)):
        spec = identity_spec(kind, "Della Valle Santangelo", "Maria Francesca Assunta")
        lines = identity_document(spec)[1].mrz
        assert checker("\n".join(lines)) and "DELLA<VALLE<SANTANGELO<<MARIA" in "".join(lines)


def test_expired_documents_can_be_made() -> None:
    """An expiry in the past reaches the printed date and the MRZ."""
    cie = identity_spec("cie", "Rossi", "Mario", expires=date(2024, 1, 1))
    text = _text(identity_pdf(cie))
    assert "01.01.2024" in text and TD1CodeChecker(_mrz(text)).fields().expiry_date == "240101"
    licence = identity_spec("patente", "Rossi", "Mario", expires=date(2023, 6, 30))
    text = _text(identity_pdf(licence))
    assert "4b. 30/06/2023" in text and "<" not in text
    for label in ("1. ROSSI", "2. MARIO", "4a.", "4c. MIT-UCO", "5. U1", "9. AM/B1/B"):
        assert label in text


@pytest.mark.parametrize("kind", KINDS)
def test_single_side_is_card_sized(kind: str) -> None:
    """One side alone is a page the size of the document: 85.6 x 54 mm (passport 125 x 88)."""
    spec = identity_spec_for(ORDER, kind)
    pdf = identity_pdf(spec, side="front", sheet=False)
    width, height = pdfium.PdfDocument(pdf)[0].get_size()
    expected = (125.0, 88.0) if kind == "passaporto" else CARD
    assert (round(width / 72 * 25.4, 1), round(height / 72 * 25.4, 1)) == expected


@pytest.mark.slow  # six images, two of them photos: ~2 s
def test_identity_images_scan_photo_and_poor_photo() -> None:
    """A 300 dpi scan of the A4 sheet (PNG), a phone photo (JPEG), and the poor photo: fewer
    pixels, darker; the same bytes for the same inputs."""
    spec = identity_spec_for(ORDER, "cie")
    scan = identity_image(spec, form="scan")
    assert scan.startswith(b"\x89PNG") and Image.open(io.BytesIO(scan)).size[0] > 2400
    good = identity_image(spec, form="photo", side="back")
    poor = identity_image(spec, form="photo", side="back", quality="poor")
    assert good.startswith(b"\xff\xd8") and poor.startswith(b"\xff\xd8")
    good_image, poor_image = (Image.open(io.BytesIO(b)).convert("L") for b in (good, poor))
    assert poor_image.width * poor_image.height < good_image.width * good_image.height / 2
    assert ImageStat.Stat(poor_image).mean[0] < ImageStat.Stat(good_image).mean[0] * 0.7
    assert poor == identity_image(spec, form="photo", side="back", quality="poor")


@pytest.mark.integration  # Tesseract
@pytest.mark.skipif(TESSERACT is None, reason="tesseract not installed")
def test_poor_photo_mrz_is_still_legible() -> None:
    """Tesseract still reads the name line of the MRZ in the dark, blurred, small photo."""
    spec = identity_spec_for(ORDER, "cie")
    text = _ocr(identity_image(spec, form="photo", side="back", quality="poor"))
    assert "ROSSI<<MARIO" in text.replace(" ", "")


# --- bundles --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", BUNDLE_KINDS)
def test_bundle_has_every_page_of_every_part_in_order(kind: str) -> None:
    """The bundle's page count is the parts' total and each page's text is its part's page's;
    the facts list a kind per page; the bytes are the same each time."""
    parts, facts = typical_bundle(ORDER, kind)
    bundle = bundle_pdf(parts)
    expected = [text for part in parts for text in _pages(part)]
    assert _pages(bundle) == expected
    assert len(facts.pages) == len(expected) and facts.code == ORDER.code
    assert bundle == bundle_pdf(parts)
    assert (facts.identity is not None) == kind.endswith("_id")
    if kind.startswith("receipt"):
        assert facts.pages[0] == "receipt" and facts.amount in expected[0]


def test_signed_contract_has_two_pages_with_the_code() -> None:
    pages = _pages(signed_contract_pdf(ORDER))
    assert len(pages) == 2 and all(ORDER.code in page for page in pages)
    assert "1341 e 1342 c.c." in pages[1]


@pytest.mark.slow  # every page scanned: ~1.5 s
def test_scanned_bundle_is_image_only_one_image_a_page() -> None:
    """The scanned bundle keeps the page count, has no text layer, one image a page, and is
    deterministic; an image part (a screenshot) becomes a page of its own in both bundles."""
    parts, _ = typical_bundle(ORDER, "contract_id")
    parts.append(transfer_form_png(ORDER))
    scanned = scanned_bundle_pdf(parts, seed=7, upside_down=(1,))
    with pdfplumber.open(io.BytesIO(scanned)) as document:
        assert len(document.pages) == 4
        assert all(not page.chars and len(page.images) == 1 for page in document.pages)
    assert scanned == scanned_bundle_pdf(parts, seed=7, upside_down=(1,))
    merged = _pages(bundle_pdf(parts))
    assert len(merged) == 4 and merged[3] == ""


def test_payer_ibans_of_online_banks_are_valid() -> None:
    text = _text(make_receipt_pdf(default_spec([ORDER.code], ORDER.total), "online_transfer"))
    payer = re.search(r"BE\d\d(?: \d{4}){3}", text)
    assert payer and iban.is_valid(payer.group(0))
