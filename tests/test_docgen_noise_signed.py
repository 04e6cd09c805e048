"""The noise and signature generators say what their bytes hold: each message is parsed back
with the stdlib and its structure asserted; each signature is verified by OpenSSL (and pyHanko)
against the test root, independently of the code that made it."""

from __future__ import annotations

import asyncio
import base64
import io
import re
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.policy import default
from pathlib import Path

import pdfplumber
import pytest
from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID, NameOID
from defusedxml import ElementTree
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_cms_signature, validate_pdf_signature
from pyhanko.sign.validation.status import StandardCMSSignatureStatus
from pyhanko_certvalidator import ValidationContext
from stdnum import iban
from stdnum.it import codicefiscale, iva

from tests.docgen import noise, signatures
from tests.docgen.paperwork import contract_pdf
from tests.docgen.receipts import RESELLER_IBAN, default_spec, group_iban, make_receipt_pdf
from tests.docgen.scans import photo

CODE = re.compile(r"LM\d{7}")


# --- helpers --------------------------------------------------------------------------------


def _parse(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def _tree(part: Message) -> str:
    """The MIME skeleton, e.g. multipart/mixed(multipart/related(...),application/pdf)."""
    if part.is_multipart():
        inner = ",".join(_tree(p) for p in part.get_payload())  # type: ignore[union-attr]
        return f"{part.get_content_type()}({inner})"
    if part.get_content_type() == "message/rfc822":
        return f"message/rfc822({_tree(part.get_payload(0))})"  # type: ignore[arg-type]
    return part.get_content_type()


def _leaves(message: Message) -> list[EmailMessage]:
    return [p for p in message.walk() if not p.is_multipart()]  # type: ignore[misc]


def _pdf_text(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return "\n".join(page.extract_text() or "" for page in document.pages)


def _all_text(message: Message) -> str:
    """Every decoded text body and every PDF's text layer, nested messages included."""
    out = [str(message.get("Subject", ""))]
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            out.append(_all_text(part.get_payload(0)))  # type: ignore[arg-type]
        elif part.get_content_maintype() == "text" and not part.is_multipart():
            out.append(part.get_content())  # type: ignore[attr-defined]
        elif kind == "application/pdf":
            out.append(_pdf_text(part.get_payload(decode=True)))  # type: ignore[arg-type]
    return "\n".join(out)


def _image_size(part: Message) -> tuple[int, int]:
    with Image.open(io.BytesIO(part.get_payload(decode=True))) as image:  # type: ignore[arg-type]
        return image.size


def _cids_resolve(message: Message) -> None:
    """Every cid: the HTML uses names an image part inside the same multipart/related."""
    for related in (p for p in message.walk() if p.get_content_type() == "multipart/related"):
        ids = {str(p["Content-ID"]).strip("<>") for p in related.walk() if p["Content-ID"]}
        html = next(p for p in related.walk() if p.get_content_type() == "text/html")
        used = set(re.findall(r'src="cid:([^"]+)"', html.get_content()))  # type: ignore[attr-defined]
        assert used and used <= ids, (used, ids)


@pytest.fixture(scope="module")
def receipt() -> bytes:
    return make_receipt_pdf(default_spec(["LM3454935"], Decimal("24.40")), "intesa")


@pytest.fixture(scope="module")
def receipt_photo() -> bytes:
    return photo(make_receipt_pdf(default_spec(["LM3454940"], Decimal("24.40")), "intesa"))


@pytest.fixture(scope="module")
def all_samples(receipt: bytes, receipt_photo: bytes) -> list[noise.Sample]:
    return noise.samples(receipt, receipt_photo)


# --- noise: every sample --------------------------------------------------------------------


def test_every_sample_is_crlf_mail_that_parses_without_defects(all_samples) -> None:
    """Each sample is RFC 5322 with CRLF only, has the envelope headers, and no MIME defects."""
    assert len({s.name for s in all_samples}) == len(all_samples)
    for sample in all_samples:
        assert sample.expect in noise.KINDS, sample.name
        assert b"\n" not in sample.data.replace(b"\r\n", b""), sample.name
        assert max(len(line) for line in sample.data.split(b"\r\n")) <= 998, sample.name
        message = _parse(sample.data)
        for name in ("From", "Date", "Subject"):
            assert message[name], (sample.name, name)
        assert message.get("Message-ID") or message.get("Message-Id"), sample.name
        for part in message.walk():
            assert not part.defects, (sample.name, part.get_content_type(), part.defects)


def test_samples_name_the_codes_they_claim_and_noise_has_no_document_list(all_samples) -> None:
    """`codes` are exactly the LM codes in the message (nested parts and PDFs included);
    only customer samples list documents."""
    for sample in all_samples:
        found = set(CODE.findall(_all_text(_parse(sample.data))))
        assert found == set(sample.codes), (sample.name, found)
        if sample.expect != "customer":
            assert sample.documents == (), sample.name


def test_generators_are_deterministic(receipt: bytes) -> None:
    """Same arguments, same bytes: boundaries, ids and dates come from the content."""
    for make in (
        noise.gmail_vacation,
        noise.outlook_out_of_office,
        noise.postfix_bounce,
        noise.exchange_ndr,
        noise.gmail_bounce,
        noise.newsletter,
        noise.spam_phishing,
        noise.supplier_invoice,
        noise.customer_question,
    ):
        assert make() == make(), make.__name__
    assert noise.customer_receipt_with_signature(receipt) == noise.customer_receipt_with_signature(
        receipt
    )


# --- automatic replies ----------------------------------------------------------------------


def test_gmail_vacation_is_auto_replied_to_the_office_message() -> None:
    """Gmail: Auto-Submitted auto-replied, In-Reply-To pecflow's e-mail, the typed subject,
    text and HTML alternatives, Google's DKIM and our MX's Received on top."""
    message = _parse(noise.gmail_vacation())
    original = noise.office_message_id("LM3454898", "Mario Rossi <mario.rossi@gmail.com>")
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["In-Reply-To"] == original == message["References"]
    assert message["Subject"] == "Fuori ufficio"
    assert message["Message-ID"].endswith("@mail.gmail.com>")
    assert _tree(message) == "multipart/alternative(text/plain,text/html)"
    assert "ferie" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert message.get_all("Received")[0].startswith("from mail-wm1-")
    assert "d=gmail.com" in message["DKIM-Signature"]


@pytest.mark.parametrize("auto_submitted", [True, False])
def test_outlook_out_of_office_looks_like_exchange(auto_submitted: bool) -> None:
    """Exchange: "Risposta automatica: <subject>", Thread-Topic/Index, X-Auto-Response-Suppress,
    iso-8859-1 quoted-printable text and HTML, auto-submitted only when asked."""
    message = _parse(noise.outlook_out_of_office(auto_submitted=auto_submitted))
    subject = noise.office_subject("LM3454902")
    assert message["Subject"] == f"Risposta automatica: {subject}"
    assert message["Thread-Topic"] == subject
    assert len(base64.b64decode(message["Thread-Index"])) == 27  # 22 bytes + one reply
    assert message["X-Auto-Response-Suppress"] == "All"
    assert (message["Auto-Submitted"] == "auto-generated") is auto_submitted
    assert _tree(message) == "multipart/alternative(text/plain,text/html)"
    boundary = message.get_boundary()
    assert boundary and boundary.startswith("_000_") and boundary.endswith("eurp_")
    plain = message.get_body(("plain",))
    assert plain is not None and plain.get_content_charset() == "iso-8859-1"
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"
    assert "lunedì" in plain.get_content()


@pytest.mark.parametrize("provider", ["aruba", "libero"])
def test_provider_autoresponders_carry_their_vendor_headers(provider: str) -> None:
    """Aruba: Sieve vacation (null sender, X-Autoreply, Auto-Submitted); Libero: X-Autorespond
    and no Auto-Submitted. Both answer the office message and name its code."""
    message = _parse(noise.provider_autoresponder(provider=provider))
    assert message["In-Reply-To"] == noise.office_message_id(
        "LM3454911", "Luca Ferrari <info@ferrariimpianti.it>"
    )
    if provider == "aruba":
        assert message["Return-Path"] == "<>"
        assert message["X-Autoreply"] == "yes"
        assert message["Auto-Submitted"].startswith("auto-replied")
        assert message["Subject"].startswith("Auto: Ordine LM3454911")
    else:
        assert message["X-Autorespond"] and message["Auto-Submitted"] is None
    assert _tree(message) == "text/plain"


def test_silent_out_of_office_has_no_automatic_header() -> None:
    """The header-less kind: only the words say it, and it quotes pecflow's e-mail."""
    message = _parse(noise.silent_out_of_office())
    automatic = {"auto-submitted", "x-autoreply", "x-autorespond", "precedence",
                 "x-auto-response-suppress"}  # fmt: skip
    assert not automatic & {k.lower() for k in message}
    text = message.get_content()
    assert "Sono fuori ufficio fino al" in text and "Risposta automatica" in text
    assert "> abbiamo ricevuto e lavorato il pagamento dell'ordine LM3454915" in text
    assert message["Subject"] == "Re: " + noise.office_subject("LM3454915")


# --- delivery status notifications ----------------------------------------------------------


def _status(message: Message) -> list[Message]:
    part = next(p for p in message.walk() if p.get_content_type() == "message/delivery-status")
    return part.get_payload()  # type: ignore[return-value]


def test_postfix_bounce_returns_the_office_email_with_the_contract() -> None:
    """Postfix: report of notification, delivery-status (failed, 5.1.1) and the returned
    office e-mail whose contract PDF names the order."""
    data = noise.postfix_bounce()
    message = _parse(data)
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    assert b"\r\nFrom: MAILER-DAEMON@smtp.visura.it (Mail Delivery System)\r\n" in data
    assert _tree(message).startswith(
        "multipart/report(text/plain,message/delivery-status(text/plain,text/plain),"
        "message/rfc822(multipart/mixed(multipart/alternative(text/plain,text/html),"
        "application/pdf)))"
    )
    per_mta, per_recipient = _status(message)
    assert per_mta["Reporting-MTA"] == "dns; smtp.visura.it"
    assert per_recipient["Action"] == "failed" and per_recipient["Status"] == "5.1.1"
    assert per_recipient["Final-Recipient"] == "rfc822; mario.rossi@studiorossi.it"
    returned = next(p for p in message.walk() if p.get_content_type() == "message/rfc822")
    inner = returned.get_payload(0)
    assert inner["Message-ID"] == noise.office_message_id(
        "LM3454898", "Mario Rossi <mario.rossi@studiorossi.it>"
    )
    pdf = next(p for p in inner.walk() if p.get_content_type() == "application/pdf")
    assert pdf.get_filename() == "contratto-LM3454898.pdf"
    assert "Ordine LM3454898" in _pdf_text(pdf.get_payload(decode=True))


def test_delayed_dsn_is_a_warning_with_headers_only() -> None:
    """Postfix delay notice: Action delayed, 4.x.x status, the original's headers only."""
    message = _parse(noise.delayed_dsn())
    assert message["Subject"] == "Delayed Mail (still being retried)"
    _, recipient = _status(message)
    assert recipient["Action"] == "delayed" and recipient["Status"].startswith("4.")
    assert recipient["Will-Retry-Until"]
    headers = next(p for p in message.walk() if p.get_content_type() == "text/rfc822-headers")
    assert "Subject: Ordine LM3454923" in headers.get_content()
    assert "THIS IS A WARNING ONLY" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize("full_original", [False, True])
def test_exchange_ndr_has_microsoft_structure(full_original: bool) -> None:
    """Microsoft 365 NDR: Non recapitabile, X-MS-Exchange-Message-Is-Ndr, alternative with
    differences=Content-Type, 5.1.10, then the original's headers or the whole original."""
    message = _parse(noise.exchange_ndr(full_original=full_original))
    assert message["Subject"] == "Non recapitabile: " + noise.office_subject("LM3454902")
    assert "X-MS-Exchange-Message-Is-Ndr" in message
    alternative = message.get_payload(0)
    assert alternative.get_content_type() == "multipart/alternative"
    assert alternative.get_param("differences") == "Content-Type"
    _, recipient = _status(message)
    assert recipient["Status"] == "5.1.10"
    last = message.get_payload(2).get_content_type()
    assert last == ("message/rfc822" if full_original else "text/rfc822-headers")
    has_pdf = any(p.get_content_type() == "application/pdf" for p in message.walk())
    assert has_pdf is full_original


def test_gmail_bounce_shows_its_icon_by_cid() -> None:
    """Gmail DSN: googlemail mailer-daemon, report holding related(alternative, icon.png with
    Content-ID <icon.png>, disposition attachment) that the HTML shows via cid:icon.png."""
    message = _parse(noise.gmail_bounce())
    assert message["From"] == "Mail Delivery Subsystem <mailer-daemon@googlemail.com>"
    assert message["Subject"] == "Delivery Status Notification (Failure)"
    assert message["X-Failed-Recipients"] == "paolo.greco@grecoarredi.it"
    assert _tree(message) == (
        "multipart/report(multipart/related(multipart/alternative(text/plain,text/html),"
        "image/png),message/delivery-status(text/plain,text/plain),"
        "message/rfc822(multipart/mixed(text/plain)))"
    )
    icon = next(p for p in message.walk() if p.get_content_type() == "image/png")
    assert icon["Content-ID"] == "<icon.png>" and icon.get_content_disposition() == "attachment"
    assert _image_size(icon) == (72, 72)
    _cids_resolve(message)


# --- bulk and spam --------------------------------------------------------------------------


@pytest.mark.parametrize("sender", ["supplier", "bank"])
def test_newsletter_has_list_headers_cid_logos_and_a_tracking_pixel(sender: str) -> None:
    """Bulk: List-Unsubscribe (mailto and https), one-click POST, List-Id, Precedence bulk;
    a 200x60 logo and 32x32 icons by cid, and a remote 1x1 pixel."""
    message = _parse(noise.newsletter(sender))
    unsubscribe = message["List-Unsubscribe"]
    assert "<mailto:" in unsubscribe and "<https://" in unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] and message["Precedence"] == "bulk"
    _cids_resolve(message)
    images = {p.get_filename(): _image_size(p) for p in message.walk() if p.get_filename()}
    assert images["logo.png"] == (200, 60) and images["facebook.png"] == (32, 32)
    html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_content()
    assert re.search(r'<img src="https://[^"]+\.gif" width="1" height="1"', html)


def test_mailing_list_post_is_list_mail() -> None:
    """Mailman: Precedence list, List-* headers, subject tag and the footer as its own part."""
    message = _parse(noise.mailing_list_post())
    assert message["Precedence"] == "list" and message["List-Post"]
    assert message["Subject"].startswith("[Rivenditori]")
    assert "mailing list" in message.get_payload(1).get_content()


def test_spam_is_marked_by_the_server() -> None:
    """amavis: ***SPAM*** subject, X-Spam-Flag YES, a PDF invoice from a stranger.
    SpamAssassin report_safe: [SPAM], the report, the original as message/rfc822."""
    invoice = _parse(noise.spam_invoice())
    assert invoice["Subject"].startswith("***SPAM*** Fattura scaduta")
    assert invoice["X-Spam-Flag"] == "YES"
    assert invoice["X-Spam-Status"].startswith("Yes, score=")
    pdf = next(p for p in invoice.walk() if p.get_content_type() == "application/pdf")
    assert "FATTURA SCADUTA" in _pdf_text(pdf.get_payload(decode=True))
    phishing = _parse(noise.spam_phishing())
    assert phishing["Subject"].startswith("[SPAM] Verifica il tuo conto")
    assert phishing["X-Spam-Flag"] == "YES"
    original = phishing.get_payload(1)
    assert original.get_content_type() == "message/rfc822"
    assert original.get_param("x-spam-type") == "original"
    assert "verificare i suoi dati" in original.get_payload(0).get_content()


# --- suppliers and the bank -----------------------------------------------------------------


def test_supplier_invoice_pdf_and_xml_agree_and_name_no_order() -> None:
    """The hosting invoice: FATTURA, two valid Partite IVA, imponibile, IVA, Totale documento,
    Scadenza pagamento, the supplier's IBAN (not ours); the FatturaPA XML has the same total."""
    message = _parse(noise.supplier_invoice("hosting"))
    parts = {p.get_filename(): p.get_payload(decode=True) for p in _leaves(message)}
    pdf = parts["Fattura_2026_123456.pdf"]
    text = _pdf_text(pdf)
    for label in ("FATTURA N. 2026/123456", "Imponibile", "IVA 22%", "Totale documento",
                  "Scadenza pagamento: 20/12/2026", "€ 241,44"):  # fmt: skip
        assert label in text, label
    vat_numbers = re.findall(r"Partita IVA(?: e Codice Fiscale)? (\d{11})", text)
    assert len(set(vat_numbers)) == 2 and all(iva.is_valid(n) for n in vat_numbers)
    account = re.search(r"IBAN: ((?:[A-Z0-9]{4} ?){6}[A-Z0-9]{3})", text)
    assert (
        account
        and iban.is_valid(account.group(1))
        and iban.compact(account.group(1)) != (RESELLER_IBAN)
    )
    xml_name = next(n for n in parts if n and n.endswith(".xml"))
    tree = ElementTree.fromstring(parts[xml_name])
    assert tree.findtext(".//ImportoTotaleDocumento") == "241.44"
    assert not CODE.search(_all_text(message))
    telco = _parse(noise.supplier_invoice("telco", number="Z0123456789"))
    assert "FATTURA N. Z0123456789" in _all_text(telco)


def test_statements_list_money_without_order_codes() -> None:
    """The supplier's statement of open invoices (Outlook, image001.png logo) and the bank's
    statement of Visura's own account: incoming transfers, fees, no LM code."""
    statement = _parse(noise.supplier_statement())
    assert "Saldo a vostro debito" in _all_text(statement)
    assert statement.get_payload(0).get_content_type() == "multipart/related"
    bank = _parse(noise.bank_statement_notice())
    text = _all_text(bank)
    assert "Estratto conto disponibile" in text and group_iban(RESELLER_IBAN) in text
    assert "BONIFICO A VOSTRO FAVORE" in text and "IMPOSTA DI BOLLO" in text
    assert not CODE.search(text)


# --- decorations ----------------------------------------------------------------------------


def test_gmail_question_has_only_a_flag_in_the_signature() -> None:
    """(a) Gmail: related(alternative(plain, html), image.png 24x16 with ii_ Content-ID and
    X-Attachment-Id); no attachment at all."""
    message = _parse(noise.customer_question())
    assert (
        _tree(message) == "multipart/related(multipart/alternative(text/plain,text/html),image/png)"
    )
    flag = message.get_payload(1)
    assert flag.get_content_disposition() == "inline" and flag.get_filename() == "image.png"
    assert flag["X-Attachment-Id"] == str(flag["Content-ID"]).strip("<>")
    assert flag["X-Attachment-Id"].startswith("ii_") and _image_size(flag) == (24, 16)
    assert not any(p.get_content_disposition() == "attachment" for p in message.walk())
    _cids_resolve(message)


@pytest.mark.parametrize("client", ["outlook", "gmail"])
def test_receipt_with_signature_images(receipt: bytes, client: str) -> None:
    """(b) the receipt PDF is the only attachment; the logo (200x60), flag (24x16) and icons
    (32x32) sit inline in multipart/related: Outlook's _004_/_005_ image00N.png, or Gmail's
    image.png four times with distinct Content-IDs."""
    message = _parse(noise.customer_receipt_with_signature(receipt, client=client))
    assert _tree(message) == (
        "multipart/mixed(multipart/related(multipart/alternative(text/plain,text/html),"
        "image/png,image/png,image/png,image/png),application/pdf)"
    )
    attachment = message.get_payload(1)
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_payload(decode=True) == receipt
    images = [p for p in message.walk() if p.get_content_maintype() == "image"]
    assert [_image_size(p) for p in images] == [(200, 60), (24, 16), (32, 32), (32, 32)]
    assert all(p.get_content_disposition() == "inline" for p in images)
    assert len({p["Content-ID"] for p in images}) == 4
    names = [p.get_filename() for p in images]
    related = message.get_payload(0)
    if client == "outlook":
        assert names == ["image001.png", "image002.png", "image003.png", "image004.png"]
        assert related.get_param("type") == "multipart/alternative"
        assert related.get_boundary().startswith("_004_")  # type: ignore[union-attr]
        assert "[cid:image001.png]" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    else:
        assert names == ["image.png"] * 4
    _cids_resolve(message)


@pytest.mark.parametrize(
    ("client", "skeleton"),
    [
        ("apple", "multipart/alternative(text/plain,multipart/related(text/html,image/jpeg))"),
        ("gmail", "multipart/related(multipart/alternative(text/plain,text/html),image/jpeg)"),
    ],
)
def test_pasted_photo_is_a_large_inline_jpeg(receipt_photo: bytes, client, skeleton) -> None:
    """(c) the photo of the receipt pasted into the body: inline, by cid, over 1000 px, the
    bytes given; iPhone Mail nests related in alternative, Gmail the other way round."""
    message = _parse(noise.customer_pasted_photo(receipt_photo, client=client))
    assert _tree(message) == skeleton
    image = next(p for p in message.walk() if p.get_content_type() == "image/jpeg")
    assert image.get_content_disposition() == "inline"
    assert image.get_payload(decode=True) == receipt_photo
    assert min(_image_size(image)) > 1000
    _cids_resolve(message)


def test_customer_samples_list_their_documents_and_decorations(all_samples) -> None:
    """For customer samples, `documents` and `decorations` name existing parts, and together
    they are every attachment and image of the message."""
    for sample in (s for s in all_samples if s.expect == "customer"):
        parts = [
            (p.get_filename() or "", str(p.get("Content-ID", "")).strip("<>"))
            for p in _leaves(_parse(sample.data))
            if p.get_content_maintype() == "image" or p.get_content_disposition() == "attachment"
        ]
        for _, name, cid in sample.documents:
            assert any(n == name and cid in ("", c) for n, c in parts), (sample.name, name)
        assert set(sample.decorations) <= set(parts), sample.name
        assert len(parts) == len(sample.documents) + len(sample.decorations), sample.name


# --- signatures -----------------------------------------------------------------------------

SIGNED_PDF = contract_pdf("LM3454898", "Mario Rossi", "mario.rossi@legalmail.it")
AT_SIGNING = str(int(signatures.SIGNING_TIME.timestamp()))


@pytest.fixture(scope="module")
def root_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pki") / "root.pem"
    path.write_bytes(signatures.root_pem())
    return path


def _openssl_verify(
    der: bytes, root: Path, tmp: Path, content: bytes | None = None
) -> tuple[bool, bytes, str]:
    """`openssl cms -verify` against the root alone: (ok, content out, stderr)."""
    source, out = tmp / "in.p7m", tmp / "out.bin"
    source.write_bytes(der)
    command = ["openssl", "cms", "-verify", "-inform", "DER", "-in", str(source),
               "-CAfile", str(root), "-out", str(out), "-attime", AT_SIGNING]  # fmt: skip
    if content is not None:
        (tmp / "content.bin").write_bytes(content)
        command += ["-binary", "-content", str(tmp / "content.bin")]
    result = subprocess.run(command, capture_output=True, check=False, timeout=30)
    produced = out.read_bytes() if out.exists() else b""
    return result.returncode == 0, produced, result.stderr.decode(errors="replace")


def _der(data: bytes) -> bytes:
    if data.startswith(b"\x30"):
        return data
    lines = [line for line in data.strip().splitlines() if not line.startswith(b"-----")]
    return base64.b64decode(b"".join(lines))


def _context() -> ValidationContext:
    root = asn1_x509.Certificate.load(
        signatures.pki().root.public_bytes(serialization.Encoding.DER)
    )
    return ValidationContext(
        trust_roots=[root], moment=signatures.SIGNING_TIME, allow_fetching=False
    )


def _each_signer(data: bytes) -> Iterator[cms.SignedData]:
    """pyHanko validates one SignerInfo at a time: one SignedData copy per signer."""
    signed = cms.ContentInfo.load(_der(data))["content"]
    for info in signed["signer_infos"]:
        single = signed.copy()
        single["signer_infos"] = cms.SignerInfos([info.copy()])
        yield single


def _pyhanko_status(data: bytes) -> list[StandardCMSSignatureStatus]:
    return [
        asyncio.run(
            async_validate_cms_signature(
                single, status_cls=StandardCMSSignatureStatus, validation_context=_context()
            )
        )
        for single in _each_signer(data)
    ]


def _name(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    return str(cert.subject.get_attributes_for_oid(oid)[0].value)


def test_pki_is_shaped_like_an_italian_qtsp() -> None:
    """Root "Test Qualified CA" (self-signed CA), an intermediate under it, and signers like
    qualified ones: CN SURNAME NAME, serialNumber TINIT-<valid codice fiscale>, GN, SN, C=IT,
    keyUsage nonRepudiation only (critical), QC statements."""
    pki = signatures.pki()
    assert _name(pki.root, NameOID.COMMON_NAME) == "Test Qualified CA"
    assert pki.root.issuer == pki.root.subject and pki.intermediate.issuer == pki.root.subject
    pki.intermediate.verify_directly_issued_by(pki.root)
    rossi = pki.signers["rossi"].certificate
    assert _name(rossi, NameOID.COMMON_NAME) == "ROSSI MARIO"
    assert _name(rossi, NameOID.SERIAL_NUMBER) == "TINIT-RSSMRA80A01H501U"
    assert _name(rossi, NameOID.GIVEN_NAME) == "MARIO" and _name(rossi, NameOID.SURNAME) == "ROSSI"
    assert _name(rossi, NameOID.COUNTRY_NAME) == "IT"
    usage = rossi.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE)
    assert usage.critical and usage.value.content_commitment and not usage.value.digital_signature
    assert rossi.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3"))
    for identity in pki.signers.values():
        tax_code = _name(identity.certificate, NameOID.SERIAL_NUMBER).removeprefix("TINIT-")
        assert codicefiscale.is_valid(tax_code) and tax_code == identity.tax_code
    expired = pki.signers["expired"].certificate
    assert expired.not_valid_after_utc < signatures.SIGNING_TIME
    selfsigned = pki.signers["selfsigned"].certificate
    assert selfsigned.issuer == selfsigned.subject


def test_pki_keys_come_from_their_seed() -> None:
    """Keys are derived, not random: the same seed gives the same key, so certificates and
    signatures are the same bytes on every run."""
    again = signatures._rsa_key("rossi")
    assert (
        again.private_numbers() == signatures.pki().signers["rossi"].private_key.private_numbers()
    )
    assert signatures.p7m(SIGNED_PDF) == signatures.p7m(SIGNED_PDF)
    assert signatures.pades_pdf(SIGNED_PDF) == signatures.pades_pdf(SIGNED_PDF)


@pytest.mark.integration  # runs the openssl program
@pytest.mark.parametrize("encoding", signatures.ENCODINGS)
def test_p7m_verifies_with_openssl(root_file: Path, tmp_path: Path, encoding: str) -> None:
    """CAdES attached, DER or base64 (with or without PEM lines): OpenSSL verifies it against
    the root alone and gives back the contract PDF."""
    data = signatures.p7m(SIGNED_PDF, encoding=encoding)
    assert data.startswith(b"-----BEGIN PKCS7-----") is (encoding == "pem")
    assert data.startswith(b"\x30") is (encoding == "der")
    ok, content, errors = _openssl_verify(_der(data), root_file, tmp_path)
    assert ok, errors
    assert content == SIGNED_PDF == signatures.p7m_content(data)


def test_p7m_is_cades_bes() -> None:
    """Signed attributes content-type, message-digest, signing-time and signing-certificate-v2;
    SHA-256; the signer's and intermediate's certificates, never the root."""
    signed = cms.ContentInfo.load(signatures.p7m(SIGNED_PDF))["content"]
    (info,) = signed["signer_infos"]
    attributes = {a["type"].native: a["values"][0].native for a in info["signed_attrs"]}
    assert set(attributes) == {
        "content_type", "message_digest", "signing_time", "signing_certificate_v2"
    }  # fmt: skip
    assert attributes["signing_time"] == signatures.SIGNING_TIME
    assert info["digest_algorithm"]["algorithm"].native == "sha256"
    subjects = {c.chosen.subject.native["common_name"] for c in signed["certificates"]}
    assert subjects == {"ROSSI MARIO", "Test Qualified Signature CA 1"}


@pytest.mark.integration  # runs the openssl program
def test_detached_p7s_verifies_over_the_separate_pdf(root_file: Path, tmp_path: Path) -> None:
    """`detached`: no encapsulated content; OpenSSL verifies it over the PDF given apart."""
    data = signatures.p7m(SIGNED_PDF, detached=True)
    assert cms.ContentInfo.load(data)["content"]["encap_content_info"]["content"].native is None
    ok, _, errors = _openssl_verify(data, root_file, tmp_path, content=SIGNED_PDF)
    assert ok, errors


@pytest.mark.integration  # runs the openssl program
def test_nested_p7m_holds_a_p7m(root_file: Path, tmp_path: Path) -> None:
    """`.p7m.p7m`: the outer signature (ESPOSITO) verifies and yields a p7m whose signature
    (ROSSI) verifies and yields the PDF."""
    outer = signatures.p7m_twice(SIGNED_PDF, nested=True)
    ok, inner, errors = _openssl_verify(outer, root_file, tmp_path)
    assert ok, errors
    ok, content, errors = _openssl_verify(inner, root_file, tmp_path)
    assert ok, errors
    assert content == SIGNED_PDF
    signers = [s.signing_cert.subject.native["common_name"] for s in _pyhanko_status(outer)]
    assert signers == ["ESPOSITO GIULIA"]


@pytest.mark.integration  # runs the openssl program
def test_parallel_signatures_are_two_signer_infos(root_file: Path, tmp_path: Path) -> None:
    """One SignedData, two SignerInfos over the same PDF: OpenSSL verifies both; pyHanko,
    one at a time, finds both intact, valid and trusted."""
    data = signatures.p7m_twice(SIGNED_PDF, nested=False)
    ok, content, errors = _openssl_verify(data, root_file, tmp_path)
    assert ok, errors
    assert content == SIGNED_PDF
    statuses = _pyhanko_status(data)
    names = sorted(s.signing_cert.subject.native["common_name"] for s in statuses)
    assert names == ["ESPOSITO GIULIA", "ROSSI MARIO"]  # a DER SET OF: sorted, not in order
    assert all(s.intact and s.valid and s.trusted for s in statuses)


@pytest.mark.integration  # runs the openssl program
def test_tampered_p7m_fails_the_content_check(root_file: Path, tmp_path: Path) -> None:
    """Content altered after signing: OpenSSL refuses it; pyHanko says not intact."""
    data = signatures.tampered_p7m(SIGNED_PDF)
    assert signatures.p7m_content(data) != SIGNED_PDF
    assert _pdf_text(signatures.p7m_content(data))  # still a readable PDF
    ok, _, errors = _openssl_verify(data, root_file, tmp_path)
    assert not ok and "verify" in errors
    (status,) = _pyhanko_status(data)
    assert not status.intact


@pytest.mark.integration  # runs the openssl program
@pytest.mark.parametrize(
    ("signer", "reason"),
    [("expired", "certificate has expired"), ("selfsigned", "self-signed certificate")],
)
def test_expired_and_self_signed_signers_fail_the_chain(
    root_file: Path, tmp_path: Path, signer: str, reason: str
) -> None:
    """The signature itself is sound, the certificate is not: OpenSSL rejects the chain for the
    right reason; pyHanko finds it intact and valid but not trusted."""
    data = signatures.p7m(SIGNED_PDF, signer)
    ok, _, errors = _openssl_verify(data, root_file, tmp_path)
    assert not ok and reason in errors.replace("self signed", "self-signed"), errors
    (status,) = _pyhanko_status(data)
    assert status.intact and status.valid and not status.trusted


def _byte_range(signed: bytes) -> tuple[bytes, bytes]:
    """The bytes a PDF signature covers and its CMS blob, read with regexes (no pyHanko)."""
    match = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", signed)
    assert match
    a, b, c, d = (int(x) for x in match.groups())
    contents = signed[a + b : c].strip(b"<>")
    return signed[a : a + b] + signed[c : c + d], bytes.fromhex(contents.decode())


@pytest.mark.integration  # runs the openssl program
@pytest.mark.parametrize(("signer", "trusted"), [("rossi", True), ("expired", False)])
def test_pades_pdf_verifies(root_file: Path, tmp_path: Path, signer: str, trusted: bool) -> None:
    """PAdES: an incremental update to the contract (its bytes are a prefix), subfilter
    ETSI.CAdES.detached, covering the whole file; OpenSSL verifies the CMS over the ByteRange
    and pyHanko's validator agrees, rejecting the expired signer's chain."""
    signed = signatures.pades_pdf(SIGNED_PDF, signer)
    assert signed.startswith(SIGNED_PDF)
    assert b"/ETSI.CAdES.detached" in signed
    covered, blob = _byte_range(signed)
    ok, _, errors = _openssl_verify(blob.rstrip(b"\x00"), root_file, tmp_path, content=covered)
    assert ok is trusted, errors
    (embedded,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    status = validate_pdf_signature(embedded, _context())
    assert status.intact and status.valid and status.trusted is trusted
    assert status.coverage.name == "ENTIRE_FILE" and embedded.field_name == "Firma1"
    assert embedded.self_reported_timestamp == signatures.SIGNING_TIME
    assert "CONTRATTO" in _pdf_text(signed)
