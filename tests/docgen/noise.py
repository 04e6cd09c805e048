"""The mail an office mailbox gets that needs nobody, and the decorations of mail that does.

Automatic replies, delivery status notifications, newsletters and list mail, spam the server
marked, suppliers' invoices and the bank's statement; then customers' mail as real clients
shape it: Gmail's multipart/alternative inside multipart/related, Outlook's image001.png,
a photo pasted into the body. Each generator returns the raw bytes (RFC 5322, CRLF) with the
headers, their order and folding, the boundaries and transfer encodings the named server or
client writes, and the same bytes for the same arguments. `samples()` lists one of each with
what a correct reader must conclude (`Sample.expect`, `documents`, `decorations`).

The scenario: on Friday 20 November 2026 at 10:05 pecflow sent "Ordine LM…: pagamento
ricevuto e lavorato" with the pre-filled contract (`office_email`); the replies and bounces
below answer it. Names, domains and addresses are invented; IPs are documentation ranges.
"""

from __future__ import annotations

import base64
import hashlib
import io
import quopri
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes
from email.message import EmailMessage, Message, MIMEPart
from email.utils import format_datetime, formataddr, parseaddr
from html import escape as _escape
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from stdnum import luhn

from tests.docgen.messages import ADMIN, POLICY, ROME
from tests.docgen.paperwork import contract_pdf
from tests.docgen.receipts import (
    RESELLER_IBAN,
    RESELLER_NAME,
    group_iban,
    it_amount,
    italian_iban,
)

Header = tuple[str, str]
KINDS = ("autoreply", "dsn", "bulk", "spam", "supplier", "customer")
PACIFIC = ZoneInfo("America/Los_Angeles")
OFFICE_SENT = datetime(2026, 11, 20, 10, 5, 0, tzinfo=ROME)
OFFICE_DOMAIN = "visura.it"
MX = "mx.visura.it"
RELAY = "smtp.visura.it"
OFFICE_FOOTER = "Visura S.p.A. - Lungotevere dei Mellini, 44 - 00193 Roma"
VISURA_VAT = "0765432058" + luhn.calc_check_digit("0765432058")  # office 058: Roma


def _esc(text: str) -> str:
    """HTML-escape as mail clients do: &, <, > and double quotes; apostrophes stay."""
    return _escape(text, quote=False).replace('"', "&quot;")


def _vat(seed: str, office: str) -> str:
    """A valid partita IVA: 7 digits, the issuing office (province) code, the Luhn digit."""
    body = f"{int(_hex(seed, 12), 16) % 10**7:07d}{office}"
    return body + luhn.calc_check_digit(body)


@dataclass(frozen=True)
class Sample:
    """One message and what a correct reader concludes from it.

    expect: `autoreply`, `dsn`, `bulk`, `spam`, `supplier` (nobody's order: set aside), or
    `customer` (a customer's message: act on its documents). documents: (kind, filename,
    content_id) of the real documents in it; decorations: (filename, content_id) of images
    that are not documents. codes: the order codes it names; for noise, naming a code proves
    nothing about that order.
    """

    name: str
    data: bytes
    expect: str
    codes: tuple[str, ...] = ()
    documents: tuple[tuple[str, str, str], ...] = ()
    decorations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class InlineImage:
    """An image shown in the HTML body (`<img src="cid:{content_id}">`), not an attachment."""

    filename: str
    data: bytes
    content_id: str  # without the angle brackets
    mime_type: str = "image/png"


# --- small helpers --------------------------------------------------------------------------


def _hex(seed: object, length: int = 64) -> str:
    digest = b""
    counter = 0
    while len(digest) * 2 < length:
        digest += hashlib.sha256(f"{seed}|{counter}".encode()).digest()
        counter += 1
    return digest.hex()[:length]


def _b64(seed: object, length: int, alphabet: str = "+/") -> str:
    """Base64-looking characters (DKIM b=, ARC, tracking ids) derived from the seed."""
    raw = base64.b64encode(bytes.fromhex(_hex(seed, length * 2)), altchars=alphabet.encode())
    return raw.decode("ascii")[:length]


def _queue_id(seed: object) -> str:
    """A Postfix long queue id (enable_long_queue_ids), e.g. 4XkQ2B0fGrz1xqK."""
    letters = "BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789"
    number = int(_hex(seed, 20), 16)
    tail = ""
    for _ in range(13):
        number, digit = divmod(number, len(letters))
        tail += letters[digit]
    return "4X" + tail


def _date(when: datetime) -> str:
    return format_datetime(when)


def _date_utc(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC).replace(tzinfo=UTC))


def _postfix_date(when: datetime) -> str:
    return f"{format_datetime(when)} ({when.tzname()})"


def _pst(when: datetime) -> str:
    """Google's servers write their own Pacific time."""
    local = when.astimezone(PACIFIC)
    return f"{format_datetime(local)} ({local.tzname()})"


def _address(mailbox: str) -> str:
    return parseaddr(mailbox)[1]


def _display(mailbox: str) -> str:
    return parseaddr(mailbox)[0] or _address(mailbox)


def _domain(mailbox: str) -> str:
    return _address(mailbox).rpartition("@")[2]


def _local(mailbox: str) -> str:
    return _address(mailbox).partition("@")[0]


def _qp(text: str, charset: str = "utf-8") -> str:
    return quopri.encodestring(text.encode(charset)).decode("ascii")


def _b64_lines(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii")


def _encoded_word(text: str, charset: str = "UTF-8") -> str:
    """A header value as mail clients write it: as is when ASCII, else RFC 2047 Q encoded
    words of at most 75 characters, folded onto continuation lines."""
    if text.isascii():
        return text
    words, current = [], ""
    prefix, limit = f"=?{charset}?Q?", 75 - len(charset) - 7
    for char in text:
        if char == " ":
            chunk = "_"
        elif char.isascii() and (char.isalnum() or char in "!*+-/.,:"):
            chunk = char
        else:
            chunk = "".join(f"={byte:02X}" for byte in char.encode(charset))
        if len(current) + len(chunk) > limit:
            words.append(current)
            current = ""
        current += chunk
    words.append(current)
    return "\n ".join(f"{prefix}{word}?=" for word in words)


# --- MIME construction ----------------------------------------------------------------------


def _leaf(headers: Sequence[Header], body: str) -> MIMEPart:
    """A part whose headers are kept as written (order, case, folding) and body pre-encoded."""
    part = MIMEPart(policy=POLICY)
    for name, value in headers:
        part.set_raw(name, value)
    part.set_payload(body)
    return part


def _text(
    content_type: str,
    text: str,
    cte: str | None,
    charset: str = "utf-8",
    *,
    before: Sequence[Header] = (),
    middle: Sequence[Header] = (),
    extra: Sequence[Header] = (),
) -> MIMEPart:
    """A text part: Content-Type, then `middle`, then the transfer encoding, then `extra`."""
    headers: list[Header] = [*before, ("Content-Type", content_type), *middle]
    if cte == "quoted-printable":
        body = _qp(text, charset)
    elif cte == "base64":
        body = _b64_lines(text.encode(charset))
    else:  # 7bit/8bit: raw bytes, carried as surrogate escapes so the generator keeps them
        body = text.encode(charset).decode("ascii", "surrogateescape")
    if cte is not None:
        headers.append(("Content-Transfer-Encoding", cte))
    return _leaf([*headers, *extra], body)


def _binary(headers: Sequence[Header], data: bytes) -> MIMEPart:
    return _leaf(headers, _b64_lines(data))


def _multi(content_type: str, parts: Sequence[Message], extra: Sequence[Header] = ()) -> MIMEPart:
    part = MIMEPart(policy=POLICY)
    part.set_raw("Content-Type", content_type)
    for name, value in extra:
        part.set_raw(name, value)
    part.set_payload(list(parts))
    return part


def _rfc822(headers: Sequence[Header], raw: bytes) -> MIMEPart:
    part = MIMEPart(policy=POLICY)
    for name, value in headers:
        part.set_raw(name, value)
    part.set_payload([message_from_bytes(raw, policy=POLICY)])
    return part


def _status_blocks(headers: Sequence[Header], blocks: Sequence[Sequence[Header]]) -> MIMEPart:
    """message/delivery-status: one header block per MTA and per recipient (RFC 3464)."""
    part = MIMEPart(policy=POLICY)
    for name, value in headers:
        part.set_raw(name, value)
    payload: list[Message | str] = []
    for fields in blocks:
        block = Message(policy=POLICY)
        for name, value in fields:
            block.set_raw(name, value)
        payload.append(block)
    part.set_payload(payload)
    return part


def _stored(part: Message) -> Any:
    """The payload as stored: get_payload() would decode 8-bit text carried as escapes."""
    return part._payload  # type: ignore[attr-defined]


_ADDRESS_HEADERS = {"from", "to", "cc", "reply-to", "sender"}


def _mailboxes(name: str, value: str) -> str:
    """An address header as a mailer writes it: a display name outside ASCII (Nicolò) in an
    RFC 2047 encoded word, so that the header stays 7-bit."""
    if name.lower() not in _ADDRESS_HEADERS or value.isascii():
        return value
    display, address = parseaddr(value)
    return formataddr((display, address), charset="utf-8")


def _root(
    headers: Sequence[Header],
    body: MIMEPart,
    after: Sequence[Header] = (),
    preamble: str | None = None,
) -> bytes:
    """The message: `headers`, then the body part's own headers, then `after`."""
    message = EmailMessage(policy=POLICY)
    for name, value in [*headers, *body.raw_items(), *after]:
        message.set_raw(name, _mailboxes(name, value))
    message.set_payload(_stored(body))
    if preamble is not None:
        message.preamble = preamble
    return message.as_bytes()


# --- arrival at the office's MX -------------------------------------------------------------


def _arrival(
    envelope_from: str,
    helo: str,
    ip: str,
    when: datetime,
    *,
    dkim_domain: str | None = None,
    spf: str = "pass",
    tls: bool = True,
) -> list[Header]:
    """What mx.visura.it (Postfix with OpenDKIM/OpenDMARC) prepends on delivery."""
    queue = _queue_id((envelope_from, helo, when))
    tls_text = (
        "\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"
        "\n\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)"
        "\n\t(No client certificate requested)"
        if tls
        else ""
    )
    sender_domain = envelope_from.rpartition("@")[2] or helo
    results = [f"{MX};"]
    if dkim_domain:
        results.append(
            f"\tdkim=pass (2048-bit key; unprotected) header.d={dkim_domain} "
            f'header.i=@{dkim_domain} header.b="{_b64((dkim_domain, when), 8)}";'
        )
    results.append(
        f"\tspf={spf} (sender IP is {ip}) smtp.mailfrom={envelope_from or 'postmaster@' + helo}"
        f" smtp.helo={helo}" + (";" if dkim_domain else "")
    )
    if dkim_domain:
        results.append(f"\tdmarc=pass (p=none dis=none) header.from={sender_domain}")
    return [
        ("Return-Path", f"<{envelope_from}>"),
        ("Delivered-To", ADMIN),
        (
            "Received",
            f"from {helo} ({helo} [{ip}]){tls_text}\n\tby {MX} (Postfix) with ESMTPS id {queue}"
            f"\n\tfor <{ADMIN}>; {_postfix_date(when)}",
        ),
        ("Authentication-Results", "\n".join(results)),
    ]


def _dkim(domain: str, selector: str, signed: str, seed: object, indent: str = "\t") -> str:
    body_hash = _b64(("bh", seed), 43) + "="
    signature = _b64(("b", seed), 342) + "=="
    lines = [signature[i : i + 70] for i in range(0, len(signature), 70)]
    return (
        f"v=1; a=rsa-sha256; c=relaxed/relaxed;\n{indent}d={domain}; s={selector};"
        f" t={int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())};\n{indent}h={signed};"
        f"\n{indent}bh={body_hash};\n{indent}b=" + f"\n{indent} ".join(lines)
    )


# --- images ---------------------------------------------------------------------------------


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()


def _gif(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "GIF")
    return buffer.getvalue()


def logo_png(text: str = "STUDIO ROSSI", size: tuple[int, int] = (200, 60)) -> bytes:
    """A company logo as signatures and newsletters carry it: a mark and the name."""
    colour = tuple(int(_hex(text, 6)[i : i + 2], 16) // 2 + 40 for i in (0, 2, 4))
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    height = size[1]
    draw.ellipse((6, 8, height - 8, height - 8), fill=colour)
    draw.text((height + 2, height // 2 - 6), text, fill=colour)
    return _png(image)


def flag_png(size: tuple[int, int] = (24, 16)) -> bytes:
    """The Italian tricolour some people put beside their phone number."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    third = size[0] // 3
    draw.rectangle((0, 0, third - 1, size[1]), fill=(0, 146, 70))
    draw.rectangle((2 * third, 0, size[0], size[1]), fill=(206, 43, 55))
    return _png(image)


_NETWORKS = {"facebook": ("f", (24, 119, 242)), "linkedin": ("in", (10, 102, 194)),
             "instagram": ("ig", (225, 48, 108)), "x": ("X", (0, 0, 0))}  # fmt: skip


def social_icon_png(network: str = "facebook", size: int = 32) -> bytes:
    """A round social-network icon, 32x32, as newsletters and signatures repeat them."""
    letter, colour = _NETWORKS[network]
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((0, 0, size - 1, size - 1), fill=colour)
    draw.text((size // 2 - 3 * len(letter), size // 2 - 6), letter, fill="white")
    return _png(image)


def _error_icon_png() -> bytes:
    """Gmail's 72x72 red error icon in its bounce messages."""
    image = Image.new("RGBA", (72, 72), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, 67, 67), fill=(217, 48, 37))
    draw.rectangle((33, 18, 38, 44), fill="white")
    draw.rectangle((33, 50, 38, 55), fill="white")
    return _png(image)


def _spacer_gif() -> bytes:
    return _gif(Image.new("P", (1, 1), 0))


# --- PDFs -----------------------------------------------------------------------------------


def _pdf(lines: Sequence[tuple[float, float, str, str]]) -> bytes:
    """A one-page A4 PDF: (x, y from top, style, text) rows; style b=bold, r=right-aligned."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    for x, y, style, value in lines:
        page.setFont("Helvetica-Bold" if "b" in style else "Helvetica", 8.5 if "s" in style else 10)
        if "r" in style:
            page.drawRightString(x, A4[1] - y, value)
        else:
            page.drawString(x, A4[1] - y, value)
    page.showPage()
    page.save()
    return buffer.getvalue()


def _rows(start: float, rows: Sequence[Sequence[str]], columns: Sequence[tuple[float, str]]):
    out = []
    for number, row in enumerate(rows):
        for (x, style), value in zip(columns, row, strict=True):
            out.append((x, start + 14 * number, style, value))
    return out


@dataclass(frozen=True)
class _Supplier:
    name: str
    address: str
    vat: str
    iban: str
    domain: str


SUPPLIERS = {
    "hosting": _Supplier(
        "Nuvola Hosting S.r.l.",
        "Via dei Mille 12 - 50131 Firenze (FI)",
        _vat("nuvola", "048"),
        italian_iban("03069", "02834", "100000004521"),
        "nuvolahosting.it",
    ),
    "telco": _Supplier(
        "Linea Telecomunicazioni S.p.A.",
        "Viale Certosa 218 - 20156 Milano (MI)",
        _vat("linea", "015"),
        italian_iban("02008", "01600", "000105877123"),
        "lineatelecomunicazioni.it",
    ),
    "stationery": _Supplier(
        "Cartotecnica Romana S.r.l.",
        "Via Prenestina 640 - 00155 Roma (RM)",
        _vat("cartotecnica", "058"),
        italian_iban("05034", "03200", "000000004410"),
        "cartotecnicaromana.it",
    ),
}
VISURA_ADDRESS = "Lungotevere dei Mellini 44 - 00193 Roma (RM)"


def supplier_invoice_pdf(supplier: str = "hosting", number: str = "2026/123456") -> bytes:
    """A supplier's invoice (copia di cortesia of the e-invoice): FATTURA, both Partite IVA,
    imponibile, IVA, Totale documento, Scadenza pagamento and the supplier's IBAN."""
    s = SUPPLIERS[supplier]
    lines_ = {
        "hosting": [("Hosting Business Linux - rinnovo annuale", "1", "119,00"),
                    ("Dominio visura.it - rinnovo 12 mesi", "1", "9,90"),
                    ("Certificato SSL OV - 12 mesi", "1", "69,00")],
        "telco": [("Canone fibra FTTH business - novembre 2026", "1", "49,90"),
                  ("Linee voce aggiuntive (2)", "2", "10,00"),
                  ("Traffico verso mobili", "1", "3,27")],
    }.get(supplier, [("Toner e carta per ufficio", "1", "184,50")])  # fmt: skip
    net = sum((Decimal(a.replace(",", ".")) * Decimal(q) for _, q, a in lines_), Decimal(0))
    vat = (net * Decimal("0.22")).quantize(Decimal("0.01"))
    total = net + vat
    rows = [(d, q, a, it_amount(Decimal(a.replace(",", ".")) * Decimal(q))) for d, q, a in lines_]
    return _pdf(
        [
            (56, 60, "b", s.name.upper()),
            (56, 74, "s", s.address),
            (56, 86, "s", f"Partita IVA e Codice Fiscale {s.vat} - REA FI-123456"),
            (56, 98, "s", f"Capitale sociale € 50.000,00 i.v. - www.{s.domain}"),
            (330, 130, "b", "Spett.le"),
            (330, 144, "", RESELLER_NAME),
            (330, 158, "", VISURA_ADDRESS),
            (330, 172, "", f"Partita IVA {VISURA_VAT}"),
            (330, 186, "", "Codice destinatario SdI: M5UXCR1"),
            (56, 230, "b", f"FATTURA N. {number}"),
            (56, 246, "", "Data documento: 20/11/2026    Tipo documento: TD01 fattura"),
            (56, 280, "b", "Descrizione"),
            (380, 280, "b", "Q.tà"),
            (460, 280, "br", "Prezzo"),
            (540, 280, "br", "Importo"),
            *_rows(298, rows, [(56, ""), (380, ""), (460, "r"), (540, "r")]),
            (380, 360, "", "Imponibile"),
            (540, 360, "r", f"€ {it_amount(net)}"),
            (380, 374, "", "IVA 22%"),
            (540, 374, "r", f"€ {it_amount(vat)}"),
            (380, 392, "b", "Totale documento"),
            (540, 392, "br", f"€ {it_amount(total)}"),
            (56, 430, "b", "Modalità di pagamento: bonifico bancario (MP05)"),
            (56, 444, "", "Scadenza pagamento: 20/12/2026"),
            (56, 458, "", f"IBAN: {group_iban(s.iban)}"),
            (56, 472, "", f"Causale: saldo fattura {number}"),
            (56, 520, "s", "Copia di cortesia priva di valenza fiscale ai sensi dell'art. 21 DPR"),
            (56, 532, "s", "633/72: l'originale è disponibile nella sua area riservata del sito"),
            (56, 544, "s", "dell'Agenzia delle Entrate (Fatture e Corrispettivi)."),
        ]
    )


def fattura_pa_xml(supplier: str = "hosting", number: str = "2026/123456") -> bytes:
    """The FatturaPA XML (FPR12) the supplier sent through SdI, as attached to the e-mail."""
    s = SUPPLIERS[supplier]
    net = Decimal("197.90")
    vat = Decimal("43.54")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<p:FatturaElettronica versione="FPR12" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" \
xmlns:p="http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <FatturaElettronicaHeader>
    <DatiTrasmissione>
      <IdTrasmittente><IdPaese>IT</IdPaese><IdCodice>{s.vat}</IdCodice></IdTrasmittente>
      <ProgressivoInvio>0A1B2</ProgressivoInvio>
      <FormatoTrasmissione>FPR12</FormatoTrasmissione>
      <CodiceDestinatario>M5UXCR1</CodiceDestinatario>
    </DatiTrasmissione>
    <CedentePrestatore>
      <DatiAnagrafici>
        <IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>{s.vat}</IdCodice></IdFiscaleIVA>
        <Anagrafica><Denominazione>{_esc(s.name)}</Denominazione></Anagrafica>
        <RegimeFiscale>RF01</RegimeFiscale>
      </DatiAnagrafici>
      <Sede><Indirizzo>Via dei Mille 12</Indirizzo><CAP>50131</CAP><Comune>Firenze</Comune>\
<Provincia>FI</Provincia><Nazione>IT</Nazione></Sede>
    </CedentePrestatore>
    <CessionarioCommittente>
      <DatiAnagrafici>
        <IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>{VISURA_VAT}</IdCodice></IdFiscaleIVA>
        <Anagrafica><Denominazione>{RESELLER_NAME}</Denominazione></Anagrafica>
      </DatiAnagrafici>
      <Sede><Indirizzo>Lungotevere dei Mellini 44</Indirizzo><CAP>00193</CAP><Comune>Roma\
</Comune><Provincia>RM</Provincia><Nazione>IT</Nazione></Sede>
    </CessionarioCommittente>
  </FatturaElettronicaHeader>
  <FatturaElettronicaBody>
    <DatiGenerali>
      <DatiGeneraliDocumento>
        <TipoDocumento>TD01</TipoDocumento><Divisa>EUR</Divisa><Data>2026-11-20</Data>
        <Numero>{number}</Numero><ImportoTotaleDocumento>{net + vat}</ImportoTotaleDocumento>
      </DatiGeneraliDocumento>
    </DatiGenerali>
    <DatiBeniServizi>
      <DettaglioLinee><NumeroLinea>1</NumeroLinea><Descrizione>Hosting Business Linux - \
rinnovo annuale</Descrizione><PrezzoUnitario>119.00</PrezzoUnitario><PrezzoTotale>119.00\
</PrezzoTotale><AliquotaIVA>22.00</AliquotaIVA></DettaglioLinee>
      <DettaglioLinee><NumeroLinea>2</NumeroLinea><Descrizione>Dominio visura.it - rinnovo 12 \
mesi</Descrizione><PrezzoUnitario>9.90</PrezzoUnitario><PrezzoTotale>9.90</PrezzoTotale>\
<AliquotaIVA>22.00</AliquotaIVA></DettaglioLinee>
      <DettaglioLinee><NumeroLinea>3</NumeroLinea><Descrizione>Certificato SSL OV - 12 mesi\
</Descrizione><PrezzoUnitario>69.00</PrezzoUnitario><PrezzoTotale>69.00</PrezzoTotale>\
<AliquotaIVA>22.00</AliquotaIVA></DettaglioLinee>
      <DatiRiepilogo><AliquotaIVA>22.00</AliquotaIVA><ImponibileImporto>{net}\
</ImponibileImporto><Imposta>{vat}</Imposta><EsigibilitaIVA>I</EsigibilitaIVA></DatiRiepilogo>
    </DatiBeniServizi>
    <DatiPagamento>
      <CondizioniPagamento>TP02</CondizioniPagamento>
      <DettaglioPagamento><ModalitaPagamento>MP05</ModalitaPagamento>\
<DataScadenzaPagamento>2026-12-20</DataScadenzaPagamento><ImportoPagamento>{net + vat}\
</ImportoPagamento><IBAN>{s.iban}</IBAN></DettaglioPagamento>
    </DatiPagamento>
  </FatturaElettronicaBody>
</p:FatturaElettronica>
""".encode()


def supplier_statement_pdf(supplier: str = "stationery") -> bytes:
    """An "estratto conto fornitore": the supplier's open invoices to Visura, and what is due."""
    s = SUPPLIERS[supplier]
    rows = [
        ("2026/0871", "15/07/2026", "14/09/2026", "184,50", "0,00", "184,50"),
        ("2026/1012", "10/09/2026", "09/11/2026", "312,20", "100,00", "212,20"),
        ("2026/1198", "30/10/2026", "29/12/2026", "96,38", "0,00", "96,38"),
    ]
    columns = [(56, ""), (130, ""), (210, ""), (380, "r"), (450, "r"), (540, "r")]
    return _pdf(
        [
            (56, 60, "b", s.name.upper()),
            (56, 74, "s", f"{s.address} - P.IVA {s.vat}"),
            (330, 110, "", f"Spett.le {RESELLER_NAME}"),
            (330, 124, "", VISURA_ADDRESS),
            (330, 138, "", f"P.IVA {VISURA_VAT} - Cod. cliente C00417"),
            (56, 180, "b", "ESTRATTO CONTO FORNITORE - PARTITE APERTE AL 20/11/2026"),
            (56, 210, "b", "Documento"),
            (130, 210, "b", "Data"),
            (210, 210, "b", "Scadenza"),
            (380, 210, "br", "Importo"),
            (450, 210, "br", "Pagato"),
            (540, 210, "br", "Residuo"),
            *_rows(228, rows, columns),
            (330, 290, "b", "Totale scaduto"),
            (540, 290, "br", "€ 396,70"),
            (330, 304, "", "A scadere"),
            (540, 304, "r", "€ 96,38"),
            (330, 318, "b", "Saldo a vostro debito"),
            (540, 318, "br", "€ 493,08"),
            (56, 360, "", "Vi preghiamo di provvedere al saldo delle partite scadute con bonifico"),
            (56, 374, "", f"sul conto IBAN {group_iban(s.iban)}, indicando i numeri di fattura."),
            (
                56,
                388,
                "",
                "Se il pagamento è già stato disposto, vogliate considerare nulla la presente.",
            ),
        ]
    )


def bank_statement_pdf() -> bytes:
    """Visura's own current-account statement: incoming transfers with no LM code (customers
    of other services, a supplier's refund), fees, stamp duty; some amounts equal PEC prices."""
    rows = [
        ("02/10", "02/10", "BONIFICO A VOSTRO FAVORE DA STUDIO BIANCHI SRL", "", "1.220,00"),
        ("", "", "CAUSALE: SALDO FATTURA 2026/0932 VISURE CATASTALI", "", ""),
        ("07/10", "07/10", "BONIFICO SEPA DA FERRARI LUCA", "", "24,40"),
        ("", "", "CAUSALE: RINNOVO SERVIZIO", "", ""),
        ("09/10", "09/10", "COMMISSIONI BONIFICI IN ENTRATA N. 14", "7,00", ""),
        ("15/10", "15/10", "ADDEBITO SDD NUVOLA HOSTING SRL MANDATO 000417", "241,44", ""),
        ("21/10", "21/10", "BONIFICO ISTANTANEO DA GRECO PAOLO", "", "109,80"),
        ("", "", "CAUSALE: PAGAMENTO", "", ""),
        ("28/10", "28/10", "ACCREDITO POS CIRCUITO PAGOBANCOMAT DEL 27/10", "", "183,00"),
        ("31/10", "31/10", "CANONE MENSILE CONTO BUSINESS", "25,00", ""),
        ("31/10", "31/10", "IMPOSTA DI BOLLO", "8,33", ""),
    ]
    columns = [(56, "s"), (96, "s"), (136, "s"), (470, "rs"), (540, "rs")]
    return _pdf(
        [
            (56, 60, "b", "BANCA TIBERINA S.p.A."),
            (56, 74, "s", "Via del Corso 300 - 00186 Roma - ABI 05428 - Gruppo Bancario Tiberina"),
            (330, 110, "", RESELLER_NAME),
            (330, 124, "", VISURA_ADDRESS),
            (56, 160, "b", "ESTRATTO CONTO CORRENTE AL 31/10/2026"),
            (56, 176, "", f"Rapporto n. 000000123456 - IBAN {group_iban(RESELLER_IBAN)}"),
            (56, 190, "", "Periodo dal 01/10/2026 al 31/10/2026"),
            (56, 220, "bs", "Data"),
            (96, 220, "bs", "Valuta"),
            (136, 220, "bs", "Descrizione operazioni"),
            (470, 220, "brs", "Dare"),
            (540, 220, "brs", "Avere"),
            (136, 236, "s", "SALDO INIZIALE AL 30/09/2026"),
            (540, 236, "rs", "18.402,17"),
            *_rows(250, rows, columns),
            (136, 420, "bs", "SALDO FINALE AL 31/10/2026"),
            (540, 420, "brs", "19.657,60"),
            (56, 460, "s", "Totale movimenti dare 281,77 - Totale movimenti avere 1.537,20"),
            (56, 474, "s", "Il presente estratto conto si intende approvato in mancanza di"),
            (56, 486, "s", "opposizione scritta entro 60 giorni dal ricevimento."),
        ]
    )


def spam_invoice_pdf() -> bytes:
    """The PDF of a fake "fattura scaduta": a stranger's IBAN, threats, no real supplier."""
    return _pdf(
        [
            (56, 60, "b", "AVVISO DI PAGAMENTO - FATTURA SCADUTA"),
            (56, 90, "", "Fattura n. 4587/2026 del 02/09/2026"),
            (56, 104, "", "Importo insoluto: € 1.245,00"),
            (56, 118, "", "Scadenza: 02/10/2026 - SOLLECITO FINALE"),
            (56, 148, "", "In mancanza di pagamento entro 48 ore la pratica sarà affidata"),
            (56, 162, "", "al nostro ufficio legale con addebito di spese e interessi."),
            (56, 192, "", "Effettuare il bonifico sul conto:"),
            (56, 206, "b", "IBAN LT62 3250 0874 1298 5530"),
            (56, 220, "", "Beneficiario: Global Recovery Services UAB"),
        ]
    )


# --- pecflow's own e-mail -------------------------------------------------------------------


def office_subject(code: str) -> str:
    """The subject of pecflow's "payment received" e-mail (mailer/outbound/templates)."""
    return f"Ordine {code}: pagamento ricevuto e lavorato"


def office_message_id(code: str, customer: str) -> str:
    return f"<{_hex(('payment_received', code, _address(customer)), 32)}.pecflow@{OFFICE_DOMAIN}>"


def _office_text(code: str, name: str, mailbox: str) -> str:
    return (
        f"Gentile {name},\n\n"
        f"abbiamo ricevuto e lavorato il pagamento dell'ordine {code}\n"
        f"(PEC Standard, casella {mailbox}).\n\n"
        "  Imponibile: € 20,00\n  IVA 22%: € 4,40\n  Totale:     € 24,40\n\n"
        'L\'ordine è ora nello stato "In lavorazione". Riceverà a breve la fattura.\n\n'
        "Per completare l'attivazione:\n"
        "  1. stampi il contratto precompilato allegato a questa e-mail (lo trova anche nella "
        "lista\n     ordini del portale, Gestione PEC / Gestione ordini);\n"
        "  2. lo firmi a mano;\n"
        "  3. lo invii insieme a copia di un documento d'identità valido del richiedente.\n\n"
        'Può inviarli con la funzione "Invio documenti" del portale (Gestione PEC / Gestione '
        "ordini)\noppure per e-mail all'indirizzo amministrazione@visura.it, indicando il "
        f"codice {code}\nnell'oggetto. Vanno bene un PDF o una scansione/foto ben leggibile di "
        "ogni pagina; il\ncontratto deve essere firmato a mano.\n\n"
        "Dall'invio dei documenti l'ordine sarà evaso entro 24/72 ore lavorative.\n\n"
        f"Cordiali saluti,\nl'amministrazione\n\n--\n{OFFICE_FOOTER}\n"
    )


def _office_html(code: str, name: str, mailbox: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="it">\n<head><meta charset="utf-8"><title>Ordine '
        f"{code}: pagamento ricevuto</title></head>\n"
        '<body style="font-family: sans-serif; color: #222;">\n'
        f"<p>Gentile {_esc(name)},</p>\n"
        f"<p>abbiamo ricevuto e lavorato il pagamento dell'ordine <strong>{code}</strong>\n"
        f"(PEC Standard, casella {mailbox}).</p>\n"
        "<p>Imponibile: € 20,00<br>IVA 22%: € 4,40<br>Totale: € 24,40</p>\n"
        "<p>L'ordine è ora nello stato &laquo;In lavorazione&raquo;. Riceverà a breve la "
        "fattura.</p>\n<p>Per completare l'attivazione:</p>\n<ol>\n<li>stampi il contratto "
        "precompilato allegato a questa e-mail;</li>\n<li>lo firmi a mano;</li>\n<li>lo invii "
        "insieme a copia di un documento d'identità valido del richiedente.</li>\n</ol>\n"
        "<p>Dall'invio dei documenti l'ordine sarà evaso entro 24/72 ore lavorative.</p>\n"
        "<p>Cordiali saluti,<br>l'amministrazione</p>\n"
        f'<hr><p style="font-size: small; color: #666;">{OFFICE_FOOTER}</p>\n</body>\n</html>\n'
    )


def office_email(
    code: str = "LM3454898",
    customer: str = "Mario Rossi <mario.rossi@studiorossi.it>",
    *,
    mailbox: str | None = None,
    contract: bool = True,
    date: datetime = OFFICE_SENT,
) -> bytes:
    """pecflow's "payment received" e-mail to the customer, as mailer.outbound.smtp builds it
    (EmailMessage: text, HTML alternative, the pre-filled contract `contratto-<code>.pdf`).
    Auto-replies answer it; bounces return it."""
    name = _display(customer)
    mailbox = mailbox or f"{_local(customer)}@legalmail.it"
    message = EmailMessage(policy=POLICY)
    message["From"] = ADMIN
    message["To"] = _address(customer)
    message["Subject"] = office_subject(code)
    message["Date"] = _date(date)
    message["Message-ID"] = office_message_id(code, customer)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_office_text(code, name, mailbox))
    message.add_alternative(_office_html(code, name, mailbox), subtype="html")
    if contract:
        message.add_attachment(
            contract_pdf(code, name, mailbox, qr=code),
            "application",
            "pdf",
            filename=f"contratto-{code}.pdf",
        )
    for number, part in enumerate(message.walk()):
        if part.get_content_maintype() == "multipart":  # Python's own style, made stable
            part.set_boundary(f"==============={int(_hex((code, number), 16), 16) % 10**19:019d}==")
    return message.as_bytes()


def _as_relayed(raw: bytes, when: datetime) -> bytes:
    """The office e-mail as smtp.visura.it queued it: its DKIM signature and Received line."""
    queue = _queue_id(("relay", raw[:200], when))
    signed = "From:To:Subject:Date:Message-ID:Auto-Submitted"
    lines = [
        f"DKIM-Signature: {_dkim(OFFICE_DOMAIN, 'mail2026', signed, raw[:64])}",
        f"Received: from pecflow.visura.it (pecflow.visura.it [10.20.0.12])\n\tby {RELAY} "
        f"(Postfix) with ESMTPSA id {queue}\n\tfor <{_recipient(raw)}>; {_postfix_date(when)}",
    ]
    return "".join(line.replace("\n", "\r\n") + "\r\n" for line in lines).encode() + raw


def _recipient(raw: bytes) -> str:
    return _address(str(message_from_bytes(raw, policy=POLICY)["To"]))


def _quoted(text: str) -> str:
    return "".join(f"> {line}".rstrip() + "\n" for line in text.splitlines())


# --- automatic replies ----------------------------------------------------------------------


def _gmail_message_id(seed: object) -> str:
    return f"<CA{_b64(seed, 50, '-_')}@mail.gmail.com>"


def _gmail_boundary(seed: object, number: int = 0) -> str:
    tail = _hex(seed, 16)
    return f"000000000000{tail[:6]}{(int(tail[6:10], 16) + number) % 0x10000:04x}{tail[10:16]}"


def _gmail_text(subtype: str, text: str) -> MIMEPart:
    """Gmail sends 7bit when it can and quoted-printable when a line is long or not ASCII."""
    plain = text.isascii() and all(len(line) <= 76 for line in text.split("\n"))
    return _text(f'text/{subtype}; charset="UTF-8"', text, None if plain else "quoted-printable")


def _google_sent(
    sender: str, when: datetime, seed: object, signed: str, *, domain: str = "gmail.com"
) -> list[Header]:
    """The headers Gmail's outbound servers add, with our MX's on top."""
    ip = f"198.51.100.{int(_hex(seed, 2), 16) % 200 + 20}"
    helo = f"mail-wm1-f{int(_hex(seed, 2), 16) % 90 + 10}.google.com"
    return [
        *_arrival(_address(sender), helo, ip, when + timedelta(seconds=1), dkim_domain=domain),
        ("DKIM-Signature", _dkim(domain, "20230601", signed, seed, "        ")),
        (
            "X-Google-DKIM-Signature",
            _dkim("1e100.net", "20230601", "x-gm-message-state:" + signed, ("g", seed), "        "),
        ),
        ("X-Gm-Message-State", f"AOJu0Y{_b64(('s', seed), 60)}="),
        ("X-Gm-Gg", f"ASbGnc{_b64(('gg', seed), 110)}"),
        ("X-Google-Smtp-Source", f"AGHT+IE{_b64(('src', seed), 80)}="),
        (
            "X-Received",
            f"by 2002:a05:600c:{_hex(seed, 4)}:b0:42c:{_hex(('x', seed), 4)} with SMTP id "
            f"5b1f17b1804b1-{_hex(('id', seed), 17)}mr{int(_hex(seed, 6), 16)}.{_hex(seed, 2)}"
            f".{int(when.timestamp() * 1000)};\n        {_pst(when)}",
        ),
    ]


def gmail_vacation(
    customer: str = "Mario Rossi <mario.rossi@gmail.com>",
    code: str = "LM3454898",
    *,
    subject: str = "Fuori ufficio",
    date: datetime = OFFICE_SENT + timedelta(seconds=41),
) -> bytes:
    """Gmail's vacation responder answering pecflow's e-mail: `Auto-Submitted: auto-replied`,
    In-Reply-To the office message, the subject the user typed (no order code in it)."""
    original = office_message_id(code, customer)
    seed = ("vacation", customer, code)
    text = (
        "Buongiorno,\nsono in ferie fino al 30 novembre con accesso limitato alla posta.\n"
        "Risponderò al mio rientro; per urgenze chiamare lo 06 1234567.\n\nMario Rossi\n"
    )
    html = (
        '<div dir="ltr">Buongiorno,<div>sono in ferie fino al 30 novembre con accesso limitato '
        "alla posta.</div><div>Risponderò al mio rientro; per urgenze chiamare lo 06 1234567."
        "</div><div><br></div><div>Mario Rossi</div></div>\n"
    )
    boundary = _gmail_boundary(seed)
    body = _multi(
        f'multipart/alternative; boundary="{boundary}"',
        [
            _gmail_text("plain", text),
            _gmail_text("html", html),
        ],
    )
    signed = "in-reply-to:references:auto-submitted:to:subject:message-id:date:from:mime-version"
    headers = [
        *_google_sent(customer, date, seed, signed),
        ("MIME-Version", "1.0"),
        ("References", original),
        ("In-Reply-To", original),
        ("Auto-Submitted", "auto-replied"),
        ("From", customer),
        ("Date", _date(date)),
        ("Message-ID", _gmail_message_id(seed)),
        ("Subject", subject),
        ("To", ADMIN),
    ]
    return _root(headers, body)


def _outlook_ids(address: str, seed: object) -> tuple[str, str, str]:
    """(Message-ID, boundary tail, server) in Exchange Online's style."""
    server = f"AM9PR07MB{int(_hex(seed, 4), 16) % 9000 + 1000}"
    local = server + _hex(("local", seed), 25).upper()
    return f"<{local}@{server}.eurprd07.prod.outlook.com>", f"{local}{server}eurp", server


def _thread_index(seed: object, replies: int = 0) -> str:
    raw = b"\x01" + bytes.fromhex(_hex(("ti", seed), 42)) + bytes(5 * replies)
    return base64.b64encode(raw).decode("ascii")


def _microsoft_sent(sender: str, when: datetime, seed: object, server: str) -> list[Header]:
    domain = _domain(sender)
    tenant = domain.split(".")[0]
    ip = f"203.0.113.{int(_hex(seed, 2), 16) % 200 + 20}"
    helo = f"mail-am6eur05on2{int(_hex(seed, 3), 16) % 900 + 100}.outbound.protection.outlook.com"
    return [
        *_arrival(_address(sender), helo, ip, when + timedelta(seconds=2), dkim_domain=domain),
        (
            "ARC-Seal",
            "i=1; a=rsa-sha256; s=arcselector10001; d=microsoft.com; cv=none;\n b="
            + _b64(("arc", seed), 120),
        ),
        (
            "ARC-Message-Signature",
            "i=1; a=rsa-sha256; c=relaxed/relaxed; d=microsoft.com;\n s=arcselector10001;\n "
            "h=From:Date:Subject:Message-ID:Content-Type:MIME-Version:X-MS-Exchange-SenderADCheck;"
            f"\n bh={_b64(('bh', seed), 43)}=;\n b={_b64(('ams', seed), 120)}",
        ),
        (
            "ARC-Authentication-Results",
            f"i=1; mx.microsoft.com 1; spf=pass\n smtp.mailfrom={domain}; dmarc=pass action=none"
            f"\n header.from={domain}; dkim=pass header.d={domain}; arc=none",
        ),
        (
            "DKIM-Signature",
            _dkim(
                domain,
                f"selector1-{tenant}-it",
                "From:Date:Subject:Message-ID:Content-Type:"
                "MIME-Version:X-MS-Exchange-SenderADCheck",
                seed,
                " ",
            ),
        ),
        (
            "Received",
            f"from {server}.eurprd07.prod.outlook.com (2603:10a6:20b:{_hex(seed, 3)}::11)\n by "
            f"{helo.split('.')[0].upper()}.eurprd05.prod.outlook.com with Microsoft SMTP Server\n"
            " (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.8207.7;"
            f"\n {_date_utc(when)}",
        ),
    ]


def _outlook_text_part(text: str, subtype: str = "plain") -> MIMEPart:
    """Outlook picks the narrowest charset that holds the text, always quoted-printable."""
    for charset in ("us-ascii", "iso-8859-1", "Windows-1252", "utf-8"):
        try:
            text.encode(charset)
        except UnicodeEncodeError:
            continue
        break
    text = text.replace("charset=iso-8859-1", f"charset={charset.lower()}")
    return _text(f'text/{subtype}; charset="{charset}"', text, "quoted-printable", charset)


def _outlook_html(paragraphs: Sequence[str]) -> str:
    body = "\n".join(
        f'<div style="font-family: Aptos, Aptos_EmbeddedFont, Aptos_MSFontService, Calibri, '
        f'Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">\n{_esc(p) or "<br>"}'
        "\n</div>"
        for p in paragraphs
    )
    return (
        '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html; '
        'charset=iso-8859-1">\n<style type="text/css" style="display:none;"> P {margin-top:0;'
        f'margin-bottom:0;}} </style>\n</head>\n<body dir="ltr">\n{body}\n</body>\n</html>\n'
    )


def outlook_out_of_office(
    customer: str = "Giulia Esposito <g.esposito@studioesposito.it>",
    code: str = "LM3454902",
    *,
    auto_submitted: bool = True,
    date: datetime = OFFICE_SENT + timedelta(seconds=52),
) -> bytes:
    """Exchange Online's automatic reply: "Risposta automatica: <subject>", Thread-Topic and
    Thread-Index, X-Auto-Response-Suppress: All, text and HTML in iso-8859-1. Exchange adds
    `auto-submitted: auto-generated` (lower case, as it writes it) unless `auto_submitted` is
    false, as older on-premises servers did."""
    original = office_message_id(code, customer)
    seed = ("oof", customer, code)
    message_id, tail, server = _outlook_ids(_address(customer), seed)
    paragraphs = [
        "Buongiorno,",
        "sono fuori ufficio fino a lunedì 30 novembre 2026 con accesso limitato alla posta.",
        "Per questioni urgenti potete scrivere a segreteria@studioesposito.it.",
        "",
        "Cordiali saluti",
        "Giulia Esposito",
    ]
    body = _multi(
        f'multipart/alternative;\n\tboundary="_000_{tail}_"',
        [
            _outlook_text_part("\n".join(paragraphs) + "\n"),
            _outlook_text_part(_outlook_html(paragraphs), "html"),
        ],
    )
    subject = office_subject(code)
    headers = [
        *_microsoft_sent(customer, date, seed, server),
        ("From", f"{_display(customer)} <{_address(customer)}>"),
        ("To", f'"{ADMIN}" <{ADMIN}>'),
        ("Subject", f"Risposta automatica: {subject}"),
        ("Thread-Topic", subject),
        ("Thread-Index", _thread_index(seed, 1)),
        ("Date", _date_utc(date)),
        ("Message-ID", message_id),
        ("References", original),
        ("In-Reply-To", original),
        ("Accept-Language", "it-IT, en-US"),
        ("Content-Language", "it-IT"),
        ("X-MS-Has-Attach", ""),
        ("X-MS-TNEF-Correlator", ""),
        ("x-ms-exchange-parent-message-id", original),
        *([("auto-submitted", "auto-generated")] if auto_submitted else []),
        ("x-ms-exchange-generated-message-source", "Mailbox Rules Agent"),
        ("x-ms-publictraffictype", "Email"),
        ("X-Auto-Response-Suppress", "All"),
    ]
    after = [
        ("MIME-Version", "1.0"),
        ("X-OriginatorOrg", _domain(customer)),
        ("X-MS-Exchange-CrossTenant-AuthAs", "Internal"),
        ("X-MS-Exchange-CrossTenant-AuthSource", f"{server}.eurprd07.prod.outlook.com"),
        (
            "X-MS-Exchange-CrossTenant-OriginalArrivalTime",
            f"{date.astimezone(UTC):%d %b %Y %H:%M:%S}.1234 (UTC)",
        ),
    ]
    return _root(headers, body, after)


def provider_autoresponder(
    customer: str = "Luca Ferrari <info@ferrariimpianti.it>",
    code: str = "LM3454911",
    *,
    provider: str = "aruba",
    date: datetime = OFFICE_SENT + timedelta(seconds=17),
) -> bytes:
    """A hosting provider's autoresponder: `aruba` (Sieve vacation on the provider's servers:
    null sender, "Auto: <subject>", Auto-Submitted: auto-replied (vacation), X-Autoreply: yes,
    Precedence: bulk) or `libero` (a webmail autoresponder: X-Autorespond, no Auto-Submitted)."""
    original = office_message_id(code, customer)
    seed = ("autoresponder", provider, customer, code)
    subject = office_subject(code)
    text = (
        "Gentile cliente,\nl'ufficio resterà chiuso dal 20 al 29 novembre 2026.\n"
        "Le richieste ricevute saranno evase a partire da lunedì 30 novembre.\n\n"
        f"{_display(customer)}\n"
    )
    if provider == "aruba":
        host = f"smtpdh{int(_hex(seed, 2), 16) % 20 + 10}-1.aruba.it"
        stamp = int(date.timestamp())
        headers = [
            *_arrival("", host, "192.0.2.81", date + timedelta(seconds=1), spf="none"),
            (
                "Received",
                f"from webmail-vac03.ad.aruba.it ([10.10.10.31])\n\tby {host} with ESMTP\n\t"
                f"id {_b64(seed, 10, '-_')}; {_date(date)}",
            ),
            ("Message-ID", f"<dovecot-sieve-{stamp}-{int(_hex(seed, 5), 16)}-0@{host}>"),
            ("Date", _date(date)),
            ("X-Sieve", "Pigeonhole Sieve 0.5.21"),
            ("From", f"<{_address(customer)}>"),
            ("To", f"<{ADMIN}>"),
            ("Subject", f"Auto: {subject}"),
            ("In-Reply-To", original),
            ("References", original),
            ("Auto-Submitted", "auto-replied (vacation)"),
            ("Precedence", "bulk"),
            ("X-Autoreply", "yes"),
            ("MIME-Version", "1.0"),
        ]
    elif provider == "libero":
        host = f"smtp-{int(_hex(seed, 2), 16) % 40 + 10}.iol.local"
        headers = [
            *_arrival(_address(customer), "libero.it", "192.0.2.90", date + timedelta(seconds=1)),
            (
                "Received",
                f"from libero.it ([10.101.8.{int(_hex(seed, 2), 16) % 250}])\n\tby {host} with"
                f" ESMTPA\n\tid {_b64(seed, 16, '-_')}; {_date(date)}",
            ),
            ("X-Autorespond", _address(customer)),
            ("Precedence", "auto_reply"),
            ("Message-ID", f"<{_hex(seed, 24)}.autorespond@libero.it>"),
            ("Date", _date(date)),
            ("From", customer),
            ("To", ADMIN),
            ("Subject", f"Risposta automatica - Re: {subject}"),
            ("In-Reply-To", original),
            ("MIME-Version", "1.0"),
        ]
    else:
        raise ValueError(f"unknown provider {provider!r}: aruba, libero")
    body = _text("text/plain; charset=utf-8", text, "8bit")
    return _root(headers, body)


def silent_out_of_office(
    customer: str = "Sara Colombo <sara.colombo@colombostudio.it>",
    code: str = "LM3454915",
    *,
    quote: bool = True,
    date: datetime = OFFICE_SENT + timedelta(minutes=3),
) -> bytes:
    """An out-of-office with no header that says so: a reply sent by a client-side rule
    (Thunderbird), "Sono fuori ufficio fino al …" / "Risposta automatica" only in the text,
    quoting pecflow's e-mail when `quote`. Only the words tell it from a customer's answer."""
    original = office_message_id(code, customer)
    seed = ("silent", customer, code)
    name = _display(customer)
    text = (
        "Risposta automatica\n\nSono fuori ufficio fino al 27/11/2026 e non ho accesso alla "
        "posta.\nLa sua e-mail non verrà inoltrata: la prego di riscrivere dopo il mio rientro."
        f"\n\n{name}\n"
    )
    if quote:
        text += f"\nIl 20/11/2026 10:05, {ADMIN} ha scritto:\n" + _quoted(
            _office_text(code, name, f"{_local(customer)}@legalmail.it")
        )
    headers = [
        *_arrival(_address(customer), f"mail.{_domain(customer)}", "192.0.2.120", date),
        (
            "Message-ID",
            f"<{_hex(seed, 8)}-{_hex(seed, 12)[8:12]}-{_hex(seed, 20)[16:20]}@{_domain(customer)}>",
        ),
        ("Date", _date(date)),
        ("MIME-Version", "1.0"),
        ("User-Agent", "Mozilla Thunderbird"),
        ("Subject", f"Re: {office_subject(code)}"),
        ("To", ADMIN),
        ("References", original),
        ("Content-Language", "it"),
        ("From", customer),
        ("In-Reply-To", original),
    ]
    body = _text("text/plain; charset=UTF-8; format=flowed", text, "8bit")
    return _root(headers, body)


# --- delivery status notifications ----------------------------------------------------------

_POSTFIX_TEXT = """This is the mail system at host {host}.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

{problem}
"""

_POSTFIX_DELAY = """This is the mail system at host {host}.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 4 hour(s).
It will be retried until it is 5 day(s) old.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<{recipient}>: connect to {mx}[{ip}]:25: Connection timed out
"""


def _postfix_report(
    *,
    subject: str,
    text: str,
    original: bytes,
    sent: datetime,
    when: datetime,
    recipient_block: list[Header],
    returned: MIMEPart,
) -> bytes:
    queue = _queue_id(("bounce", original[:300], when))
    original_queue = _queue_id(("relay", original[:200], sent))
    boundary = f"{queue}.{int(when.timestamp())}/{RELAY}"
    report = _multi(
        f'multipart/report; report-type=delivery-status;\n\tboundary="{boundary}"',
        [
            _text(
                "text/plain; charset=us-ascii",
                text,
                None,
                before=[("Content-Description", "Notification")],
            ),
            _status_blocks(
                [
                    ("Content-Description", "Delivery report"),
                    ("Content-Type", "message/delivery-status"),
                ],
                [
                    [
                        ("Reporting-MTA", f"dns; {RELAY}"),
                        ("X-Postfix-Queue-ID", original_queue),
                        ("X-Postfix-Sender", f"rfc822; {ADMIN}"),
                        ("Arrival-Date", _postfix_date(sent)),
                    ],
                    recipient_block,
                ],
            ),
            returned,
        ],
    )
    headers = [
        ("Return-Path", "<>"),
        ("Delivered-To", ADMIN),
        (
            "Received",
            f"from {RELAY} ({RELAY} [192.0.2.25])\n\tby {MX} (Postfix) with ESMTPS id "
            f"{_queue_id(('mx', queue))}\n\tfor <{ADMIN}>; {_postfix_date(when)}",
        ),
        ("Received", f"by {RELAY} (Postfix)\n\tid {queue}; {_postfix_date(when)}"),
        ("Date", _postfix_date(when)),
        ("From", f"MAILER-DAEMON@{RELAY} (Mail Delivery System)"),
        ("Subject", subject),
        ("To", ADMIN),
        ("Auto-Submitted", "auto-replied"),
        ("MIME-Version", "1.0"),
    ]
    after = [
        ("Content-Transfer-Encoding", "8bit"),
        ("Message-Id", f"<{when.astimezone(UTC):%Y%m%d%H%M%S}.{queue}@{RELAY}>"),
    ]
    return _root(headers, report, after, preamble="This is a MIME-encapsulated message.\n")


def postfix_bounce(
    customer: str = "Mario Rossi <mario.rossi@studiorossi.it>",
    code: str = "LM3454898",
    *,
    reason: str = "unknown",
    date: datetime = OFFICE_SENT + timedelta(seconds=6),
) -> bytes:
    """The office relay's bounce (Postfix): multipart/report with the notification, the
    message/delivery-status, and the whole returned office e-mail as message/rfc822, its
    pre-filled contract PDF included. `reason`: `unknown` (5.1.1) or `full` (5.2.2)."""
    recipient = _address(customer)
    mx = f"mx.{_domain(customer)}"
    replies = {
        "unknown": ("5.1.1", f"550 5.1.1 <{recipient}>: Recipient address rejected: User unknown"
                    " in virtual mailbox table"),
        "full": ("5.2.2", f"552 5.2.2 <{recipient}>: Recipient address rejected: Mailbox full"),
    }  # fmt: skip
    status, reply = replies[reason]
    original = _as_relayed(office_email(code, customer), OFFICE_SENT)
    wrapped = textwrap.fill(
        f"Diagnostic-Code: smtp; {reply}", 76, subsequent_indent="    ", break_long_words=False
    )[len("Diagnostic-Code: ") :]
    block = [
        ("Final-Recipient", f"rfc822; {recipient}"),
        ("Original-Recipient", f"rfc822;{recipient}"),
        ("Action", "failed"),
        ("Status", status),
        ("Remote-MTA", f"dns; {mx}"),
        ("Diagnostic-Code", wrapped),
    ]
    returned = _rfc822(
        [
            ("Content-Description", "Undelivered Message"),
            ("Content-Type", "message/rfc822"),
            ("Content-Transfer-Encoding", "8bit"),
        ],
        original,
    )
    problem = textwrap.fill(
        f"<{recipient}>: host {mx}[192.0.2.40] said: {reply} (in reply to RCPT TO command)",
        76,
        subsequent_indent="    ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    text = _POSTFIX_TEXT.format(host=RELAY, problem=problem)
    return _postfix_report(
        subject="Undelivered Mail Returned to Sender",
        text=text,
        original=original,
        sent=OFFICE_SENT,
        when=date,
        recipient_block=block,
        returned=returned,
    )


def delayed_dsn(
    customer: str = "Elena Marino <elena.marino@marinoimmobiliare.it>",
    code: str = "LM3454923",
    *,
    date: datetime = OFFICE_SENT + timedelta(hours=4, seconds=31),
) -> bytes:
    """Postfix's "Delayed Mail (still being retried)": Action: delayed, Status 4.4.1, and only
    the returned message's headers (text/rfc822-headers). Nothing failed yet."""
    recipient = _address(customer)
    mx = f"mx.{_domain(customer)}"
    original = _as_relayed(office_email(code, customer), OFFICE_SENT)
    head = original.split(b"\r\n\r\n", 1)[0].decode("utf-8") + "\n"
    block = [
        ("Final-Recipient", f"rfc822; {recipient}"),
        ("Original-Recipient", f"rfc822;{recipient}"),
        ("Action", "delayed"),
        ("Status", "4.4.1"),
        (
            "Diagnostic-Code",
            f"X-Postfix; connect to {mx}[192.0.2.44]:25: Connection timed\n    out",
        ),
        ("Will-Retry-Until", _postfix_date(OFFICE_SENT + timedelta(days=5))),
    ]
    returned = _leaf(
        [
            ("Content-Description", "Undelivered Message Headers"),
            ("Content-Type", "text/rfc822-headers"),
            ("Content-Transfer-Encoding", "8bit"),
        ],
        head.replace("\r\n", "\n"),
    )
    return _postfix_report(
        subject="Delayed Mail (still being retried)",
        text=_POSTFIX_DELAY.format(host=RELAY, recipient=recipient, mx=mx, ip="192.0.2.44"),
        original=original,
        sent=OFFICE_SENT,
        when=date,
        recipient_block=block,
        returned=returned,
    )


def _ndr_html(rows: Sequence[str]) -> str:
    body = "\n".join(rows)
    return (
        '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>DSN</title>'
        "\n</head>\n<body style=\"font-family: 'Segoe UI', Frutiger, Arial, sans-serif;\">\n"
        '<table style="width:100%; max-width:548px"><tr><td><img src="https://products.office.com'
        '/en-us/CMSImages/Office365Logo_Orange.png?version=b8d100a9-0a8b-8e6a-88e1-ef488fee0470"'
        ' width="136" height="52" alt="Logo di Office 365"></td></tr></table>\n'
        f"{body}\n</body>\n</html>\n"
    )


def exchange_ndr(
    customer: str = "Giulia Esposito <g.esposito@studioesposito.it>",
    code: str = "LM3454902",
    *,
    full_original: bool = False,
    date: datetime = OFFICE_SENT + timedelta(seconds=9),
) -> bytes:
    """Microsoft 365's non-delivery report ("Non recapitabile: …"), Italian: multipart/report
    holding multipart/alternative (differences=Content-Type) text and HTML, the
    message/delivery-status, and the original's headers as text/rfc822-headers or, with
    `full_original`, the whole message (contract PDF included) as message/rfc822. Real ones
    show the Office 365 logo by URL, not as an inline image."""
    recipient = _address(customer)
    local, domain = _local(customer), _domain(customer)
    tenant = domain.split(".")[0]
    seed = ("ndr", customer, code)
    server = f"AM9PR07MB{int(_hex(seed, 4), 16) % 9000 + 1000}"
    uuid = _apple_uuid(seed).lower()  # Exchange draws GUIDs for boundaries and ids
    subject = office_subject(code)
    original = _as_relayed(office_email(code, customer), OFFICE_SENT)
    original_head = original.split(b"\r\n\r\n", 1)[0].decode("utf-8").replace("\r\n", "\n")
    status = "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
    created = OFFICE_SENT.astimezone(UTC)
    text = (
        "[https://products.office.com/en-us/CMSImages/Office365Logo_Orange.png?version=b8d100a9-"
        "0a8b-8e6a-88e1-ef488fee0470]\n"
        f"Il messaggio per {recipient} non è stato recapitato.\n\n"
        f"{local} non è stato trovato in {domain}.\n\n"
        f"{ADMIN}\tOffice 365\t{local}\nAzione richiesta\t\t\tDestinatario\n\n\n"
        "Indirizzo A sconosciuto\n\n\nCome risolvere il problema\n"
        "L'indirizzo potrebbe essere stato digitato in modo errato oppure potrebbe non esistere. "
        "Provare una o più delle operazioni seguenti:\n\n"
        "  *   Inviare di nuovo il messaggio dopo aver eliminato e ridigitato l'intero indirizzo "
        "del destinatario.\n"
        "  *   Contattare il destinatario (ad esempio per telefono) per verificare che l'indirizzo"
        " esista e sia corretto.\n\n"
        "Se il problema persiste, inoltrare questo messaggio all'amministratore di posta "
        "elettronica.\n\n________________________________\n\n"
        "Altre informazioni per gli amministratori di posta elettronica\n"
        "Codice di stato: 550 5.1.10\n\n"
        "Dettagli messaggio originale\n"
        f"Data di creazione:\t{created:%d/%m/%Y %H:%M:%S}\n"
        f"Indirizzo mittente:\t{ADMIN}\n"
        f"Indirizzo destinatario:\t{recipient}\n"
        f"Oggetto:\t{subject}\n\n"
        f"Dettagli errore\nErrore segnalato:\t{status}\n"
        f"DSN generato da:\t{server}.eurprd07.prod.outlook.com\n\n"
        f"Intestazioni messaggio originale\n\n{original_head}\n"
    )
    html = _ndr_html(
        [
            f'<p style="font-size:21px; color:#C00000">Il messaggio per <a href="mailto:'
            f'{recipient}">{recipient}</a> non è stato recapitato.</p>',
            f"<p><b>{_esc(local)}</b> non è stato trovato in {_esc(domain)}.</p>",
            '<table style="width:100%"><tr><td style="background-color:#C00000; color:#fff">'
            f"{ADMIN}</td><td>Office 365</td><td>{_esc(local)}</td></tr><tr><td><b>Azione "
            "richiesta</b></td><td></td><td>Destinatario</td></tr></table>",
            "<p><b>Indirizzo A sconosciuto</b></p>",
            "<p><b>Come risolvere il problema</b><br>L'indirizzo potrebbe essere stato digitato "
            "in modo errato oppure potrebbe non esistere.</p>",
            "<p><b>Altre informazioni per gli amministratori di posta elettronica</b><br>"
            "Codice di stato: 550 5.1.10</p>",
            f"<p>Oggetto: {_esc(subject)}<br>Errore segnalato: {_esc(status)}</p>",
            f"<p>Intestazioni messaggio originale</p><pre>{_esc(original_head)}</pre>",
        ]
    )
    alternative = _multi(
        "multipart/alternative; differences=Content-Type;\n\t"
        f'boundary="{_apple_uuid((seed, 2)).lower()}"',
        [
            _text('text/plain; charset="utf-8"', text, "quoted-printable"),
            _text('text/html; charset="utf-8"', html, "quoted-printable"),
        ],
    )
    status_part = _status_blocks(
        [("Content-Type", "message/delivery-status")],
        [
            [
                ("Reporting-MTA", f"dns;{server}.eurprd07.prod.outlook.com"),
                ("Received-From-MTA", f"dns;{RELAY}"),
                ("Arrival-Date", f"{_date_utc(OFFICE_SENT + timedelta(seconds=2))}"),
            ],
            [
                ("Original-Recipient", f"rfc822;{recipient}"),
                ("Final-Recipient", f"rfc822;{recipient}"),
                ("Action", "failed"),
                ("Status", "5.1.10"),
                ("Diagnostic-Code", f"smtp;{status}"),
            ],
        ],
    )
    if full_original:
        returned = _rfc822([("Content-Type", "message/rfc822")], original)
    else:
        returned = _leaf([("Content-Type", "text/rfc822-headers")], original_head + "\n")
    report = _multi(
        f'multipart/report; report-type=delivery-status;\n\tboundary="{uuid}"',
        [alternative, status_part, returned],
    )
    helo = f"mail-am6eur05on2{int(_hex(seed, 3), 16) % 900 + 100}.outbound.protection.outlook.com"
    headers = [
        *_arrival("", helo, "203.0.113.71", date + timedelta(seconds=1), spf="pass"),
        ("From", f"Microsoft Outlook <postmaster@{tenant}.onmicrosoft.com>"),
        ("To", f"<{ADMIN}>"),
        ("Date", _date_utc(date)),
    ]
    after = [
        ("X-MS-Exchange-Message-Is-Ndr", ""),
        ("Content-Language", "it-IT"),
        ("Message-ID", f"<{uuid}@{server}.eurprd07.prod.outlook.com>"),
        ("In-Reply-To", office_message_id(code, customer)),
        ("References", office_message_id(code, customer)),
        ("Thread-Topic", subject),
        ("Thread-Index", _thread_index(seed, 1)),
        ("Subject", f"Non recapitabile: {subject}"),
        ("Auto-Submitted", "auto-replied"),
        ("X-MS-PublicTrafficType", "Email"),
        ("X-MS-Exchange-Organization-AuthAs", "Anonymous"),
        ("X-OriginatorOrg", f"{tenant}.onmicrosoft.com"),
        ("MIME-Version", "1.0"),
    ]
    return _root(headers, report, after)


def gmail_bounce(
    customer: str = "Paolo Greco <paolo.greco@grecoarredi.it>",
    code: str = "LM3454927",
    *,
    date: datetime = OFFICE_SENT + timedelta(seconds=4),
) -> bytes:
    """Gmail's "Delivery Status Notification (Failure)" from mailer-daemon@googlemail.com, as
    when the office's outgoing mail goes through Google Workspace (Italian interface):
    multipart/report holding multipart/related (alternative text and HTML, the error icon
    as `icon.png`, Content-ID <icon.png>, disposition attachment), the delivery-status, and
    the returned message truncated."""
    recipient = _address(customer)
    seed = ("gmail-dsn", customer, code)
    domain = _domain(customer)
    reply = (
        f"550 5.1.1 <{recipient}>: Recipient address rejected: User unknown in virtual "
        "mailbox table"
    )
    text = (
        "\n** Indirizzo non trovato **\n\n"
        f"Il tuo messaggio non è stato consegnato a {recipient} perché l'indirizzo non è stato "
        "trovato oppure non è in grado di ricevere posta.\n\n"
        "Scopri di più qui: https://support.google.com/mail/?p=NoSuchUser\n\n"
        f"La risposta del server remoto è stata:\n\n{reply}\n"
    )
    html = (
        '\n<html>\n<head>\n<style>\n* {\nfont-family:Roboto, "Helvetica Neue", Helvetica, Arial,'
        ' sans-serif;\n}\n</style>\n</head>\n<body>\n<table cellpadding="0" cellspacing="0" '
        'class="email-wrapper" style="padding-top:32px;background-color:#ffffff;"><tbody>\n'
        '<tr><td>\n<table cellpadding=0 cellspacing=0><tbody>\n<tr><td style="max-width:560px;'
        "padding:24px 24px 32px;background-color:#fafafa;border:1px solid #e0e0e0;"
        'border-radius:2px">\n<img style="padding:0 24px 16px 0;float:left" width=72 height=72 '
        'alt="Icona di errore" src="cid:icon.png">\n<table style="min-width:272px;padding-top:8px">'
        '<tbody>\n<tr><td><h2 style="font-size:20px;color:#212121;font-weight:bold;margin:0">\n'
        "Indirizzo non trovato\n</h2></td></tr>\n"
        '<tr><td style="padding-top:20px;color:#757575;font-size:16px;font-weight:normal;'
        f"text-align:left\">\nIl tuo messaggio non è stato consegnato a <a style='color:#212121;"
        f"text-decoration:none'><b>{recipient}</b></a> perché l'indirizzo non è stato trovato "
        "oppure non è in grado di ricevere posta.\n</td></tr>\n"
        '<tr><td style="padding-top:24px;color:#4285F4;font-size:14px;font-weight:bold;'
        'text-align:left">\n<a style="text-decoration:none" href="https://support.google.com/mail'
        '/?p=NoSuchUser">ULTERIORI INFORMAZIONI</a>\n</td></tr>\n</tbody></table>\n</td></tr>\n'
        "</tbody></table>\n</td></tr>\n"
        '<tr style="border:none;background-color:#fff;font-size:12.8px;width:90%">\n'
        '<td align="left" style="padding:48px 10px">\nLa risposta del server remoto è stata:<br/>'
        f'\n<p style="font-family:monospace">\n{_esc(reply)}\n</p>\n</td>\n</tr>\n'
        "</tbody></table>\n</body>\n</html>\n"
    )
    b = [_gmail_boundary(seed, n) for n in range(4)]
    related = _multi(
        f'multipart/related; boundary="{b[1]}"',
        [
            _multi(
                f'multipart/alternative; boundary="{b[2]}"',
                [
                    _gmail_text("plain", text),
                    _gmail_text("html", html),
                ],
            ),
            _binary(
                [
                    ("Content-Type", 'image/png; name="icon.png"'),
                    ("Content-Disposition", 'attachment; filename="icon.png"'),
                    ("Content-Transfer-Encoding", "base64"),
                    ("Content-ID", "<icon.png>"),
                ],
                _error_icon_png(),
            ),
        ],
    )
    original_id = office_message_id(code, customer)
    status_part = _status_blocks(
        [("Content-Type", "message/delivery-status")],
        [
            [
                ("Reporting-MTA", "dns; googlemail.com"),
                ("Arrival-Date", _pst(OFFICE_SENT)),
                ("X-Original-Message-ID", original_id),
            ],
            [
                ("Final-Recipient", f"rfc822; {recipient}"),
                ("Action", "failed"),
                ("Status", "5.1.1"),
                (
                    "Remote-MTA",
                    f"dns; mx.{domain}. (192.0.2.40, the server for the domain {domain}.)",
                ),
                ("Diagnostic-Code", f"smtp; {reply}"),
                ("Last-Attempt-Date", _pst(date)),
            ],
        ],
    )
    head = "".join(
        f"{name}: {value}\r\n"
        for name, value in [
            ("X-Google-Smtp-Source", f"AGHT+IF{_b64(('o', seed), 80)}="),
            (
                "X-Received",
                f"by 2002:a05:6000:{_hex(seed, 4)} with SMTP id {_hex(seed, 18)}; "
                f"{_pst(OFFICE_SENT)}",
            ),
            ("MIME-Version", "1.0"),
            ("From", ADMIN),
            ("Date", _date(OFFICE_SENT)),
            ("Message-ID", original_id),
            ("Subject", office_subject(code)),
            ("To", recipient),
            ("Auto-Submitted", "auto-generated"),
            ("Content-Type", f'multipart/mixed; boundary="{b[3]}"'),
        ]
    )
    truncated = f"{head}\r\n--{b[3]}\r\n\r\n----- Message truncated -----\r\n--{b[3]}--\r\n"
    report = _multi(
        f'multipart/report; boundary="{b[0]}"; report-type=delivery-status',
        [related, status_part, _rfc822([("Content-Type", "message/rfc822")], truncated.encode())],
    )
    signed = "to:auto-submitted:message-id:date:from:subject:x-failed-recipients"
    headers = [
        ("Delivered-To", ADMIN),
        (
            "Received",
            f"by 2002:a05:7300:{_hex(seed, 4)}:b0:{_hex(seed, 3)}:{_hex(seed, 4)} with "
            f"SMTP id {_hex(seed, 12)}eab;\n        {_pst(date)}",
        ),
        ("Return-Path", "<>"),
        (
            "Received",
            f"from mail-sor-f69.google.com (mail-sor-f69.google.com. [198.51.100.69])\n        by "
            f"mx.google.com with SMTPS id {_hex(seed, 20)}\n        for <{ADMIN}>\n        "
            f"(Google Transport Security);\n        {_pst(date)}",
        ),
        (
            "Received-SPF",
            "none (google.com: mail-sor-f69.google.com does not designate permitted "
            "sender hosts) client-ip=198.51.100.69;",
        ),
        (
            "Authentication-Results",
            "mx.google.com;\n       dkim=pass header.i=@googlemail.com "
            "header.s=20230601;\n       dmarc=pass (p=QUARANTINE sp=QUARANTINE"
            " dis=NONE) header.from=googlemail.com",
        ),
        ("DKIM-Signature", _dkim("googlemail.com", "20230601", signed, seed, "        ")),
        ("X-Gm-Message-State", f"AOJu0Y{_b64(('s', seed), 60)}="),
        ("MIME-Version", "1.0"),
    ]
    after = [
        ("To", ADMIN),
        ("Auto-Submitted", "auto-replied"),
        (
            "Message-ID",
            f"<{_hex(seed, 8)}.050a0220.{_hex(seed, 13)[8:]}.{_hex(seed, 18)[14:]}"
            ".GMR@mx.google.com>",
        ),
        ("Date", _pst(date)),
        ("From", "Mail Delivery Subsystem <mailer-daemon@googlemail.com>"),
        ("Subject", "Delivery Status Notification (Failure)"),
        ("X-Failed-Recipients", recipient),
    ]
    return _root(headers, report, after)


# --- newsletters, lists -------------------------------------------------------------------------


def newsletter(
    sender: str = "supplier",
    *,
    date: datetime = datetime(2026, 11, 20, 8, 30, 12, tzinfo=ROME),
) -> bytes:
    """Bulk mail through an e-mail service provider: List-Unsubscribe (mailto and one-click
    URL), List-Unsubscribe-Post, List-Id, Precedence: bulk, a VERP bounce address, HTML with
    the logo, social icons and a spacer as cid: images, and a remote tracking pixel.
    `sender`: `supplier` (the hosting provider's offer) or `bank` (the bank's marketing)."""
    if sender == "supplier":
        brand, domain = "Nuvola Hosting", "nuvolahosting.it"
        subject = "Black Friday: -50% su hosting e domini fino a lunedì"
        lines = ["Solo fino a lunedì 23 novembre: hosting Linux a 59,50 € + IVA il primo anno,",
                 "domini .it a 4,90 €, certificati SSL con il 30% di sconto.",
                 "Usa il codice BF2026 al momento dell'ordine."]  # fmt: skip
    elif sender == "bank":
        brand, domain = "Banca Tiberina", "bancatiberina.it"
        subject = "Conto Business Tiberina: zero canone per sei mesi"
        lines = ["Per le imprese che aprono un nuovo conto entro il 31 dicembre: canone gratuito",
                 "per sei mesi, bonifici istantanei a 0,50 € e POS con commissioni dallo 0,9%.",
                 "Messaggio pubblicitario con finalità promozionale."]  # fmt: skip
    else:
        raise ValueError(f"unknown sender {sender!r}: supplier, bank")
    seed = ("newsletter", sender, date)
    campaign, contact = int(_hex(seed, 5), 16) % 90000 + 10000, int(_hex(seed, 7), 16)
    news = f"newsletter.{domain}"
    token = _b64(("u", seed), 40, "-_")
    images = [
        InlineImage("logo.png", logo_png(brand.upper()), f"logo_{campaign}@{news}"),
        *[InlineImage(f"{n}.png", social_icon_png(n), f"{n}_{campaign}@{news}")
          for n in ("facebook", "linkedin", "instagram")],
        InlineImage("spacer.gif", _spacer_gif(), f"spacer_{campaign}@{news}", "image/gif"),
    ]  # fmt: skip
    pixel = f"https://t.{news}/o/{campaign}/{contact}/{token}.gif"
    unsubscribe = f"https://{news}/u/{campaign}/{token}"
    icons = "".join(
        f'<a href="https://www.{n}.com/{brand.replace(" ", "").lower()}"><img src="cid:'
        f'{i.content_id}" width="32" height="32" alt="{n}" style="border:0"></a>&nbsp;'
        for n, i in zip(("facebook", "linkedin", "instagram"), images[1:4], strict=True)
    )
    html = (
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n<html xmlns="http://www.w3.org'
        f'/1999/xhtml"><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        f'<title>{_esc(subject)}</title></head>\n<body style="margin:0;background:#f2f2f2">\n'
        '<table width="100%" cellpadding="0" cellspacing="0" border="0"><tr><td align="center">\n'
        '<table width="600" cellpadding="0" cellspacing="0" border="0" style="background:#fff">\n'
        f'<tr><td style="padding:20px"><img src="cid:{images[0].content_id}" width="200" '
        f'height="60" alt="{brand}"></td></tr>\n'
        f'<tr><td style="padding:0 20px;font:16px Arial">{"<br>".join(_esc(x) for x in lines)}'
        f'</td></tr>\n<tr><td><img src="cid:{images[4].content_id}" width="1" height="20" '
        f'alt=""></td></tr>\n<tr><td align="center" style="padding:20px">{icons}</td></tr>\n'
        f'<tr><td style="padding:20px;font:11px Arial;color:#888">Ricevi questa e-mail perché sei'
        f' iscritto alla newsletter di {brand}. <a href="{unsubscribe}">Cancellati</a></td></tr>\n'
        f'</table>\n<img src="{pixel}" width="1" height="1" alt="" style="display:block">\n'
        "</td></tr></table>\n</body>\n</html>\n"
    )
    text = (
        f"{brand}\n\n"
        + "\n".join(lines)
        + f"\n\nPer non ricevere più queste e-mail: {unsubscribe}\n"
    )
    b = f"----=_NextPart_{_hex(seed, 8).upper()}_{_hex(('b', seed), 8).upper()}"
    related = _multi(
        f'multipart/related;\n\ttype="text/html";\n\tboundary="{b}_2"',
        [
            _text("text/html; charset=utf-8", html, "quoted-printable"),
            *[
                _binary(
                    [
                        ("Content-Type", f'{i.mime_type}; name="{i.filename}"'),
                        ("Content-Transfer-Encoding", "base64"),
                        ("Content-ID", f"<{i.content_id}>"),
                        ("Content-Disposition", f'inline; filename="{i.filename}"'),
                    ],
                    i.data,
                )
                for i in images
            ],
        ],
    )
    body = _multi(
        f'multipart/alternative;\n\tboundary="{b}_1"',
        [_text("text/plain; charset=utf-8", text, "quoted-printable"), related],
    )
    bounce = f"bounce-{campaign}-{contact}@bounce.{news}"
    headers = [
        *_arrival(
            bounce, f"mta{campaign % 7 + 1}.{news}", "198.51.100.201", date, dkim_domain=news
        ),
        (
            "DKIM-Signature",
            _dkim(
                news,
                "esp1",
                "From:To:Subject:Date:Message-ID:List-Unsubscribe:List-Unsubscribe-Post:List-Id",
                seed,
            ),
        ),
        (
            "Received",
            f"from app03.{news} (app03.{news} [10.3.0.3])\n\tby mta{campaign % 7 + 1}."
            f"{news} (Postfix) with ESMTP id {_queue_id(seed)}\n\tfor <{ADMIN}>; "
            f"{_postfix_date(date)}",
        ),
        ("Date", _date(date)),
        ("From", f'"{brand}" <info@{news}>'),
        ("Reply-To", f"info@{domain}"),
        ("To", ADMIN),
        ("Subject", _encoded_word(subject)),
        ("Message-ID", f"<{campaign}.{contact}.{int(date.timestamp())}@{news}>"),
        ("List-Id", f"{brand} Newsletter <{campaign}.list-id.{news}>"),
        (
            "List-Unsubscribe",
            f"<mailto:unsubscribe-{campaign}-{contact}@bounce.{news}"
            f"?subject=unsubscribe>, <{unsubscribe}>",
        ),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Precedence", "bulk"),
        ("Feedback-ID", f"{campaign}:{contact % 100000}:newsletter:{news}"),
        ("X-CSA-Complaints", "csa-complaints@eco.de"),
        ("X-Mailer", "ESP Mailer 9.4"),
        ("MIME-Version", "1.0"),
    ]
    return _root(headers, body)


def mailing_list_post(*, date: datetime = datetime(2026, 11, 19, 18, 44, 3, tzinfo=ROME)) -> bytes:
    """A post to a discussion list (Mailman 2.1) the office is subscribed to: subject tag,
    List-* headers, Precedence: list, Sender and Errors-To the list's bounce address, and the
    footer Mailman adds as a separate text part. It talks about PEC orders but is nobody's."""
    seed = ("list", date)
    lists = "lists.rivenditori-pec.example"
    text = (
        "Ciao a tutti,\nanche a voi i clienti mandano la contabile del bonifico come foto dal "
        "telefono?\nNoi chiediamo sempre il codice ordine nella causale, ma metà delle volte "
        "manca.\nCome vi organizzate?\n\nPaolo\n"
    )
    footer = (
        "_______________________________________________\nRivenditori mailing list\n"
        f"rivenditori@{lists}\nhttps://{lists}/mailman/listinfo/rivenditori\n"
    )
    boundary = f"==============={int(_hex(seed, 16), 16) % 10**19:019d}=="
    body = _multi(
        f'multipart/mixed; boundary="{boundary}"',
        [
            _text("text/plain; charset=UTF-8; format=flowed", text, "8bit"),
            _text(
                'text/plain; charset="us-ascii"',
                footer,
                "7bit",
                extra=[("MIME-Version", "1.0"), ("Content-Disposition", "inline")],
            ),
        ],
    )
    list_headers = [
        ("X-BeenThere", f"rivenditori@{lists}"),
        ("X-Mailman-Version", "2.1.39"),
        ("Precedence", "list"),
        ("List-Id", f"Rivenditori PEC <rivenditori.{lists}>"),
        (
            "List-Unsubscribe",
            f"<https://{lists}/mailman/options/rivenditori>,\n <mailto:"
            f"rivenditori-request@{lists}?subject=unsubscribe>",
        ),
        ("List-Archive", f"<https://{lists}/pipermail/rivenditori/>"),
        ("List-Post", f"<mailto:rivenditori@{lists}>"),
        ("List-Help", f"<mailto:rivenditori-request@{lists}?subject=help>"),
        (
            "List-Subscribe",
            f"<https://{lists}/mailman/listinfo/rivenditori>,\n <mailto:"
            f"rivenditori-request@{lists}?subject=subscribe>",
        ),
    ]
    headers = [
        *_arrival(
            f"rivenditori-bounces+amministrazione=visura.it@{lists}",
            lists,
            "198.51.100.150",
            date + timedelta(seconds=3),
        ),
        (
            "Received",
            f"from [192.168.1.23] (host-198-51-100-7.example [198.51.100.7])\n\tby {lists}"
            f" (Postfix) with ESMTPSA id {_queue_id(seed)}\n\tfor <rivenditori@{lists}>;"
            f" {_postfix_date(date)}",
        ),
        ("Message-ID", f"<{_hex(seed, 8)}-{_hex(seed, 12)[8:]}@pecpoint.example>"),
        ("Date", _date(date)),
        ("MIME-Version", "1.0"),
        ("User-Agent", "Mozilla Thunderbird"),
        ("Content-Language", "it"),
        ("To", f"rivenditori@{lists}"),
        ("From", "Paolo Gallo <paolo@pecpoint.example>"),
        ("Subject", "[Rivenditori] Contabili via foto: come le gestite?"),
        *list_headers,
        ("Errors-To", f"rivenditori-bounces+amministrazione=visura.it@{lists}"),
        ("Sender", f'"Rivenditori" <rivenditori-bounces+amministrazione=visura.it@{lists}>'),
    ]
    return _root(headers, body)


# --- spam -----------------------------------------------------------------------------------


def spam_invoice(*, date: datetime = datetime(2026, 11, 20, 3, 12, 44, tzinfo=ROME)) -> bytes:
    """A fake "fattura scaduta" with a PDF, tagged by amavis on the MX: subject prefixed
    ***SPAM***, X-Spam-Flag: YES, X-Spam-Status: Yes, score=…, delivered anyway."""
    seed = ("spam-invoice", date)
    sender = "Ufficio Recupero Crediti <amministrazione@recupero-crediti-italia.example>"
    text = (
        "Gentile cliente,\n\nin allegato la fattura n. 4587/2026 risultante ancora insoluta.\n"
        "La invitiamo a saldare entro 48 ore per evitare azioni legali.\n\nUfficio Contabilità\n"
    )
    b = f"----=_Part_{int(_hex(seed, 6), 16)}_{int(_hex(seed, 9), 16)}.{int(date.timestamp())}"
    body = _multi(
        f'multipart/mixed; \n\tboundary="{b}"',
        [
            _text("text/plain; charset=UTF-8", text, "7bit"),
            _binary(
                [
                    ("Content-Type", 'application/pdf; name="Fattura_4587_2026.pdf"'),
                    ("Content-Transfer-Encoding", "base64"),
                    ("Content-Disposition", 'attachment; filename="Fattura_4587_2026.pdf"'),
                ],
                spam_invoice_pdf(),
            ),
        ],
    )
    score = "14.862"
    headers = [
        *_arrival(
            "info@mkt-srv77.example", "unknown", "203.0.113.77", date, spf="softfail", tls=False
        ),
        ("X-Virus-Scanned", f"Debian amavis at {MX}"),
        ("X-Spam-Flag", "YES"),
        ("X-Spam-Score", score),
        ("X-Spam-Level", "*" * 14),
        (
            "X-Spam-Status",
            f"Yes, score={score} tagged_above=-999 required=6.31\n\ttests=[BAYES_99=3.5,"
            " BAYES_999=0.2, FREEMAIL_FORGED_REPLYTO=2.095,\n\tRCVD_IN_SBL_CSS=3.335, "
            "RDNS_NONE=0.793, SPF_SOFTFAIL=0.665,\n\tURIBL_ABUSE_SURBL=1.25, "
            "URIBL_BLACK=1.7, T_OBFU_PDF_ATTACH=0.01,\n\tMIME_QP_LONG_LINE=1.314] "
            "autolearn=no autolearn_force=no",
        ),
        (
            "Received",
            f"from {MX} ([127.0.0.1])\n\tby localhost ({MX} [127.0.0.1]) (amavis, port "
            f"10024) with ESMTP\n\tid {_b64(seed, 12, '-_')} for <{ADMIN}>;\n\t"
            f"{_postfix_date(date)}",
        ),
        ("From", sender),
        ("Reply-To", "recupero.crediti.2026@gmail.com"),
        ("To", ADMIN),
        ("Subject", "***SPAM*** Fattura scaduta n. 4587/2026 - sollecito di pagamento"),
        ("Date", _date(date)),
        ("Message-ID", f"<{_hex(seed, 20)}@mkt-srv77.example>"),
        ("MIME-Version", "1.0"),
    ]
    return _root(headers, body)


def spam_phishing(*, date: datetime = datetime(2026, 11, 21, 23, 40, 9, tzinfo=ROME)) -> bytes:
    """A phishing "verifica il tuo conto" that SpamAssassin (report_safe 1) wrapped: "[SPAM]"
    subject, its report as text, the original as message/rfc822 (x-spam-type=original)."""
    seed = ("phishing", date)
    html = (
        "<html><body><p>Gentile Cliente,</p><p>abbiamo rilevato un accesso anomalo al suo conto. "
        "Per evitare la sospensione dei servizi &egrave; necessario verificare i suoi dati entro "
        '24 ore.</p><p><a href="https://sicurezza-clienti.example/verifica?id=8841">VERIFICA IL '
        "TUO CONTO</a></p><p>Servizio Clienti</p></body></html>\n"
    )
    original = (
        f"Received: from unknown (HELO mail.example) ([203.0.113.66])\r\n\tby {MX} with SMTP; "
        f'{_date(date)}\r\nFrom: "Servizio Clienti" <no-reply@sicurezza-clienti.example>\r\n'
        f"To: {ADMIN}\r\nSubject: Verifica il tuo conto: accesso sospeso\r\nDate: {_date(date)}\r\n"
        f"Message-ID: <{_hex(seed, 16)}@sicurezza-clienti.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: text/html; charset="iso-8859-1"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n'
        + html.replace("\n", "\r\n")
    ).encode()
    report = (
        f'Spam detection software, running on the system "{MX}",\nhas identified this incoming '
        "email as possible spam.  The original\nmessage has been attached to this so you can "
        "view it or label\nsimilar future email.  If you have any questions, see\nthe "
        "administrator of that system for details.\n\nContent preview:  Gentile Cliente, abbiamo "
        "rilevato un accesso anomalo al suo\n   conto. [...] \n\nContent analysis details:   (11.2 "
        "points, 5.0 required)\n\n pts rule name              description\n---- "
        "---------------------- --------------------------------------------------\n"
        " 3.5 BAYES_99               BODY: Bayes spam probability is 99 to 100%\n"
        "                            [score: 1.0000]\n"
        " 2.5 URIBL_DBL_PHISH        Contains a Phishing URL listed in the Spamhaus DBL\n"
        " 1.3 RDNS_NONE              Delivered to internal network by a host with no rDNS\n"
        " 2.0 MIME_HTML_ONLY         BODY: Message only has text/html MIME parts\n"
        " 1.9 HTML_SHORT_LINK_IMG_1  HTML is very short with a linked image\n\n"
    )
    boundary = f"----------=_{_hex(seed, 8).upper()}.{_hex(('b', seed), 8).upper()}"
    body = _multi(
        f'multipart/mixed; boundary="{boundary}"',
        [
            _text(
                "text/plain; charset=iso-8859-1",
                report,
                "8bit",
                "iso-8859-1",
                middle=[("Content-Disposition", "inline")],
            ),
            _rfc822(
                [
                    ("Content-Type", "message/rfc822; x-spam-type=original"),
                    ("Content-Description", "original message before SpamAssassin"),
                    ("Content-Disposition", "attachment"),
                    ("Content-Transfer-Encoding", "8bit"),
                ],
                original,
            ),
        ],
    )
    headers = [
        *_arrival("bounce@mail.example", "unknown", "203.0.113.66", date, spf="none", tls=False),
        ("X-Spam-Checker-Version", f"SpamAssassin 4.0.1 (2024-03-26) on {MX}"),
        ("X-Spam-Flag", "YES"),
        ("X-Spam-Level", "*" * 11),
        (
            "X-Spam-Status",
            "Yes, score=11.2 required=5.0 tests=BAYES_99,HTML_SHORT_LINK_IMG_1,\n\t"
            "MIME_HTML_ONLY,RDNS_NONE,URIBL_DBL_PHISH autolearn=no\n\t"
            "autolearn_force=no version=4.0.1",
        ),
        (
            "X-Spam-Report",
            "\n\t*  3.5 BAYES_99 BODY: Bayes spam probability is 99 to 100%\n\t*  "
            "2.5 URIBL_DBL_PHISH Contains a Phishing URL listed in the Spamhaus DBL",
        ),
        ("Subject", "[SPAM] Verifica il tuo conto: accesso sospeso"),
        ("From", '"Servizio Clienti" <no-reply@sicurezza-clienti.example>'),
        ("To", ADMIN),
        ("Date", _date(date)),
        ("Message-Id", f"<{_hex(seed, 16)}@sicurezza-clienti.example>"),
        ("X-Spam-Prev-Subject", "Verifica il tuo conto: accesso sospeso"),
        ("MIME-Version", "1.0"),
    ]
    return _root(headers, body, preamble="This is a multi-part message in MIME format.\n")


# --- suppliers and the bank -----------------------------------------------------------------


def supplier_invoice(
    supplier: str = "hosting",
    *,
    number: str = "2026/123456",
    date: datetime = datetime(2026, 11, 20, 6, 2, 31, tzinfo=ROME),
) -> bytes:
    """A supplier's invoice to the office, no LM code: `hosting` (PHPMailer from its billing
    system: the PDF copia di cortesia and the FatturaPA XML) or `telco` (a JavaMail billing
    run: "La tua fattura è disponibile" with the PDF)."""
    s = SUPPLIERS[supplier]
    seed = ("invoice", supplier, number, date)
    pdf_name = f"Fattura_{number.replace('/', '_')}.pdf"
    if supplier == "hosting":
        text = (
            f"Gentile cliente {RESELLER_NAME},\n\nin allegato la copia di cortesia della fattura "
            f"n. {number} del 20/11/2026\n(imponibile € 197,90, IVA € 43,54, totale € 241,44).\n"
            "La fattura elettronica è stata trasmessa al Sistema di Interscambio.\n\n"
            "Scadenza pagamento: 20/12/2026, con bonifico all'IBAN indicato in fattura.\n\n"
            f"{s.name}\n"
            f"Amministrazione - fatturazione@{s.domain}\n"
        )
        html = "<p>" + _esc(text).replace("\n\n", "</p><p>").replace("\n", "<br>") + "</p>\n"
        b1, b2 = f"b1_{_b64(seed, 40, 'xy')}", f"b2_{_b64(seed, 40, 'xy')}"
        xml_name = f"IT{s.vat}_0A1B2.xml"
        body = _multi(
            f'multipart/mixed;\n boundary="{b1}"',
            [
                _multi(
                    f'multipart/alternative;\n boundary="{b2}"',
                    [
                        _text("text/plain; charset=UTF-8", text, "quoted-printable"),
                        _text("text/html; charset=UTF-8", html, "quoted-printable"),
                    ],
                ),
                _binary(
                    [
                        ("Content-Type", f"application/pdf; name={pdf_name}"),
                        ("Content-Transfer-Encoding", "base64"),
                        ("Content-Disposition", f"attachment; filename={pdf_name}"),
                    ],
                    supplier_invoice_pdf(supplier, number),
                ),
                _binary(
                    [
                        ("Content-Type", f"text/xml; name={xml_name}"),
                        ("Content-Transfer-Encoding", "base64"),
                        ("Content-Disposition", f"attachment; filename={xml_name}"),
                    ],
                    fattura_pa_xml(supplier, number),
                ),
            ],
        )
        headers = [
            *_arrival(
                f"fatturazione@{s.domain}",
                f"mail.{s.domain}",
                "198.51.100.30",
                date,
                dkim_domain=s.domain,
            ),
            ("Date", _date(date)),
            ("To", f"{RESELLER_NAME} <{ADMIN}>"),
            ("From", f"{s.name} <fatturazione@{s.domain}>"),
            ("Reply-To", f"amministrazione@{s.domain}"),
            ("Subject", f"Fattura n. {number} del 20/11/2026 - {s.name}"),
            ("Message-ID", f"<{_b64(seed, 43, 'xy')}@{s.domain}>"),
            ("X-Mailer", "PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)"),
            ("MIME-Version", "1.0"),
        ]
        return _root(headers, body, preamble="This is a multi-part message in MIME format.\n")
    if supplier == "telco":
        stamp = int(date.timestamp() * 1000)
        text = (
            "Gentile Cliente,\nla fattura di novembre 2026 del suo contratto business è "
            "disponibile in allegato e nell'Area Clienti.\nImporto: € 78,21 - Scadenza: "
            f"05/12/2026.\nCodice cliente: 8800123456\n\n{s.name}\n"
        )
        b = f"----=_Part_{int(_hex(seed, 4), 16)}_{int(_hex(seed, 8), 16)}.{stamp}"
        body = _multi(
            f'multipart/mixed; \n\tboundary="{b}"',
            [
                _text("text/plain; charset=UTF-8", text, "quoted-printable"),
                _binary(
                    [
                        ("Content-Type", f"application/pdf; name={pdf_name}"),
                        ("Content-Transfer-Encoding", "base64"),
                        ("Content-Disposition", f"attachment; filename={pdf_name}"),
                    ],
                    supplier_invoice_pdf(supplier, number),
                ),
            ],
        )
        headers = [
            *_arrival(
                f"bounce-fatture@{s.domain}",
                f"mta2.{s.domain}",
                "198.51.100.61",
                date,
                dkim_domain=s.domain,
            ),
            ("Date", _date(date)),
            ("From", f"{s.name} <fatture-noreply@{s.domain}>"),
            ("To", ADMIN),
            (
                "Message-ID",
                f"<{int(_hex(seed, 7), 16)}.{int(_hex(seed, 3), 16)}.{stamp}@billing03>",
            ),
            ("Subject", _encoded_word("La tua fattura di novembre è disponibile")),
            ("MIME-Version", "1.0"),
        ]
        return _root(headers, body)
    raise ValueError(f"unknown supplier {supplier!r}: hosting, telco")


def supplier_statement(*, date: datetime = datetime(2026, 11, 20, 11, 48, 5, tzinfo=ROME)) -> bytes:
    """A supplier's accounts clerk sends the "estratto conto fornitore" (open invoices due) from
    Outlook, with the company logo in the signature as image001.png."""
    s = SUPPLIERS["stationery"]
    clerk = f"Anna Ricci <a.ricci@{s.domain}>"
    text = (
        "Buongiorno,\n\nin allegato l'estratto conto delle partite aperte al 20/11/2026.\n"
        "Vi chiediamo di provvedere al saldo delle fatture scadute (€ 396,70).\n\n"
        "Cordiali saluti\n\nAnna Ricci\nUfficio Amministrazione\n"
        f"{s.name}\nTel. 06 2281 4400\n[cid:image001.png]\n"
    )
    return related_email(
        sender=clerk,
        subject="Estratto conto al 20/11/2026 - Visura S.p.A.",
        text=text,
        images=[("image001.png", logo_png("CARTOTECNICA ROMANA"))],
        attachments=[
            ("Estratto_conto_Visura_SpA_20261120.pdf", "application/pdf", supplier_statement_pdf())
        ],
        client="outlook",
        date=date,
    )


def bank_statement_notice(
    *, date: datetime = datetime(2026, 11, 3, 7, 15, 0, tzinfo=ROME)
) -> bytes:
    """The reseller's bank: "Estratto conto disponibile" with the PDF statement of Visura's
    own account (incoming transfers without LM codes, fees, stamp duty)."""
    seed = ("bank-statement", date)
    domain = "comunicazioni.bancatiberina.it"
    text = (
        f"Gentile Cliente,\n\nè disponibile l'estratto conto del rapporto n. 000000123456 "
        f"intestato a {RESELLER_NAME.upper()} relativo al periodo 01/10/2026 - 31/10/2026.\n"
        "Lo trova in allegato e nella sezione Documenti del servizio di Internet Banking.\n\n"
        "Questa è una comunicazione automatica: la preghiamo di non rispondere.\n\n"
        "Banca Tiberina S.p.A.\n"
    )
    html = "<html><body><p>" + _esc(text).replace("\n\n", "</p><p>") + "</p></body></html>\n"
    b = f"=_{_hex(seed, 32)}"
    body = _multi(
        f'multipart/mixed; boundary="{b}a"',
        [
            _multi(
                f'multipart/alternative; boundary="{b}b"',
                [
                    _text("text/plain; charset=utf-8", text, "quoted-printable"),
                    _text("text/html; charset=utf-8", html, "quoted-printable"),
                ],
            ),
            _binary(
                [
                    ("Content-Type", 'application/pdf; name="EC_000000123456_20261031.pdf"'),
                    ("Content-Disposition", 'attachment; filename="EC_000000123456_20261031.pdf"'),
                    ("Content-Transfer-Encoding", "base64"),
                ],
                bank_statement_pdf(),
            ),
        ],
    )
    headers = [
        *_arrival(f"bounces@{domain}", f"out2.{domain}", "198.51.100.88", date, dkim_domain=domain),
        ("Date", _date(date)),
        ("From", f"Banca Tiberina <noreply@{domain}>"),
        ("To", ADMIN),
        ("Subject", "Estratto conto disponibile - rapporto n. 000000123456"),
        ("Message-ID", f"<{_hex(seed, 24)}@{domain}>"),
        ("Auto-Submitted", "auto-generated"),
        ("MIME-Version", "1.0"),
    ]
    return _root(headers, body)


# --- decorations: customers' mail as real clients shape it -----------------------------------

CLIENTS = ("gmail", "outlook", "apple")


def _gmail_cid(seed: object, prefix: str = "ii") -> str:
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    number = int(_hex(seed, 16), 16)
    return prefix + "_" + "".join(letters[(number >> (5 * i)) % 36] for i in range(11))


def _outlook_cid(filename: str, seed: object) -> str:
    return f"{filename}@01DB{_hex(seed, 4).upper()}.{_hex(('t', seed), 8).upper()}"


def _apple_uuid(seed: object) -> str:
    h = _hex(seed, 32).upper()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def inline_images(
    images: Sequence[tuple[str, bytes]], client: str = "gmail", seed: object = ""
) -> list[InlineImage]:
    """Content-IDs as each client makes them: Gmail `ii_…`, Outlook `image001.png@01DB….…`,
    Apple Mail a UUID. Use them in the HTML as `cid:` + content_id."""
    out = []
    for number, (filename, data) in enumerate(images):
        kind = "image/jpeg" if filename.lower().endswith((".jpg", ".jpeg")) else "image/png"
        if client == "outlook":
            cid = _outlook_cid(filename, seed)  # one time stamp for all of a message's images
        elif client == "apple":
            cid = _apple_uuid((seed, number, filename))
        else:
            cid = _gmail_cid((seed, number, filename))
        out.append(InlineImage(filename, data, cid, kind))
    return out


def _image_tags(images: Sequence[InlineImage]) -> str:
    tags = []
    for image in images:
        with Image.open(io.BytesIO(image.data)) as picture:
            width, height = picture.size
        if width > 600:  # a pasted photo is shown scaled down
            width, height = 600, height * 600 // width
        tags.append(
            f'<img src="cid:{image.content_id}" alt="{image.filename}" width="{width}" '
            f'height="{height}">'
        )
    return "".join(tags)


def _attachment_part(
    client: str, filename: str, mime_type: str, data: bytes, seed: object, when: datetime
) -> MIMEPart:
    if client == "gmail":
        cid = _gmail_cid((seed, filename), "f")
        headers = [
            ("Content-Type", f'{mime_type}; name="{filename}"'),
            ("Content-Disposition", f'attachment; filename="{filename}"'),
            ("Content-Transfer-Encoding", "base64"),
            ("Content-ID", f"<{cid}>"),
            ("X-Attachment-Id", cid),
        ]
    elif client == "outlook":
        stamp = format_datetime(when.astimezone(UTC).replace(tzinfo=UTC), usegmt=True)
        headers = [
            ("Content-Type", f'{mime_type}; name="{filename}"'),
            ("Content-Description", filename),
            (
                "Content-Disposition",
                f'attachment; filename="{filename}"; size={len(data)};\n\tcreation-date="{stamp}";'
                f'\n\tmodification-date="{stamp}"',
            ),
            ("Content-Transfer-Encoding", "base64"),
        ]
    else:
        headers = [
            ("Content-Type", f"{mime_type};\n\tname={filename};\n\tx-unix-mode=0644"),
            ("Content-Disposition", f"attachment;\n\tfilename={filename}"),
            ("Content-Transfer-Encoding", "base64"),
        ]
    return _binary(headers, data)


def _inline_part(client: str, image: InlineImage, when: datetime) -> MIMEPart:
    if client == "gmail":
        headers = [
            ("Content-Type", f'{image.mime_type}; name="{image.filename}"'),
            ("Content-Disposition", f'inline; filename="{image.filename}"'),
            ("Content-Transfer-Encoding", "base64"),
            ("Content-ID", f"<{image.content_id}>"),
            ("X-Attachment-Id", image.content_id),
        ]
    elif client == "outlook":
        stamp = format_datetime(when.astimezone(UTC).replace(tzinfo=UTC), usegmt=True)
        headers = [
            ("Content-Type", f'{image.mime_type}; name="{image.filename}"'),
            ("Content-Description", image.filename),
            (
                "Content-Disposition",
                f'inline; filename="{image.filename}"; size={len(image.data)};\n\t'
                f'creation-date="{stamp}";\n\tmodification-date="{stamp}"',
            ),
            ("Content-ID", f"<{image.content_id}>"),
            ("Content-Transfer-Encoding", "base64"),
        ]
    else:
        headers = [
            ("Content-Transfer-Encoding", "base64"),
            ("Content-Disposition", f"inline;\n\tfilename={image.filename}"),
            (
                "Content-Type",
                f"{image.mime_type};\n\tx-unix-mode=0644;\n\tname={image.filename};"
                f"\n\tx-apple-part-url={image.content_id}",
            ),
            ("Content-Id", f"<{image.content_id}>"),
        ]
    return _binary(headers, image.data)


def _html_from_text(text: str, images: Sequence[InlineImage], client: str) -> str:
    """The HTML body: the text with each `[cid:<filename>]` marker replaced by its image."""
    by_name: dict[str, list[InlineImage]] = {}
    for image in images:
        by_name.setdefault(image.filename, []).append(image)
    out = []
    for line in text.split("\n"):
        marker = line.strip()
        if marker.startswith("[cid:") and marker.endswith("]"):
            name = marker[5:-1]
            out.append(_image_tags(by_name[name][:1]))
            by_name[name] = by_name[name][1:]
        else:
            out.append(_esc(line))
    if client == "gmail":
        return '<div dir="ltr">' + "".join(f"<div>{x or '<br>'}</div>" for x in out) + "</div>\n"
    if client == "apple":
        return (
            '<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
            '<body dir="auto">' + "<br>".join(out) + "</body></html>"
        )
    paragraphs = "\n".join(
        f'<p class="MsoNormal">{x or "<o:p>&nbsp;</o:p>"}<o:p></o:p></p>' for x in out
    )
    return (
        '<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office'
        ':office" xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.'
        'microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">\n<head>\n'
        '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">\n'
        '<meta name="Generator" content="Microsoft Word 15 (filtered medium)">\n<style><!--\n'
        "p.MsoNormal, li.MsoNormal, div.MsoNormal\n\t{margin:0cm;\n\tfont-size:11.0pt;\n\t"
        'font-family:"Calibri",sans-serif;}\n--></style>\n</head>\n<body lang="IT" '
        f'link="#0563C1" vlink="#954F72" style="word-wrap:break-word">\n<div class="WordSection1">'
        f"\n{paragraphs}\n</div>\n</body>\n</html>\n"
    )


def related_email(
    *,
    sender: str,
    subject: str,
    text: str,
    images: Sequence[tuple[str, bytes]] = (),
    attachments: Sequence[tuple[str, str, bytes]] = (),
    client: str = "gmail",
    to: str = ADMIN,
    date: datetime = datetime(2026, 11, 20, 15, 41, 7, tzinfo=ROME),
    in_reply_to: str | None = None,
) -> bytes:
    """An HTML message with inline images in multipart/related, structured as `client` does:

    gmail: [mixed:] related[alternative[plain, html], images] [, attachments]
    outlook: [mixed _005_:] related _004_ (type=multipart/alternative)[alternative _000_
    [plain, html], image001.png …] [, attachments], iso-8859-1 quoted-printable
    apple (iPhone Mail): [mixed:] alternative[plain, related(type=text/html)[html, images]]

    `text` is the plain body; a line `[cid:<filename>]` marks where an image sits (Outlook
    leaves exactly that in the plain part). `images` are (filename, bytes); `attachments`
    (filename, MIME type, bytes).
    """
    if client not in CLIENTS:
        raise ValueError(f"unknown client {client!r}: {', '.join(CLIENTS)}")
    seed = ("related", sender, subject, date, client)
    inline = inline_images(images, client, seed)
    html = _html_from_text(text, inline, client)
    plain = text
    if client != "outlook":  # Gmail and Apple write no marker in the plain text
        plain = "\n".join(x for x in text.split("\n") if not x.strip().startswith("[cid:"))
        plain = plain.replace("\n\n\n", "\n\n")
    address = _address(sender)
    image_parts = [_inline_part(client, image, date) for image in inline]
    files = [_attachment_part(client, n, t, d, seed, date) for n, t, d in attachments]
    if client == "gmail":
        bounds = [_gmail_boundary(seed, n) for n in range(3)]
        content: MIMEPart = _multi(
            f'multipart/alternative; boundary="{bounds[2]}"',
            [
                _gmail_text("plain", plain),
                _gmail_text("html", html),
            ],
        )
        if image_parts:
            content = _multi(f'multipart/related; boundary="{bounds[1]}"', [content, *image_parts])
        if files:
            content = _multi(f'multipart/mixed; boundary="{bounds[0]}"', [content, *files])
        message_id = _gmail_message_id(seed)
        headers = [
            *_google_sent(sender, date, seed, "mime-version:from:date:message-id:subject:to"),
            ("MIME-Version", "1.0"),
            *([("References", in_reply_to), ("In-Reply-To", in_reply_to)] if in_reply_to else []),
            ("From", sender),
            ("Date", _date(date)),
            ("Message-ID", message_id),
            ("Subject", _encoded_word(subject)),
            ("To", to),
        ]
        return _root(headers, content)
    if client == "outlook":
        message_id, tail, server = _outlook_ids(address, seed)
        content = _multi(
            f'multipart/alternative;\n\tboundary="_000_{tail}_"',
            [_outlook_text_part(plain), _outlook_text_part(html, "html")],
        )
        if image_parts:
            content = _multi(
                f'multipart/related;\n\tboundary="_004_{tail}_";\n\ttype="multipart/alternative"',
                [content, *image_parts],
            )
        if files:
            content = _multi(f'multipart/mixed;\n\tboundary="_005_{tail}_"', [content, *files])
        headers = [
            *_microsoft_sent(sender, date, seed, server),
            ("From", f"{_display(sender)} <{address}>"),
            ("To", f'"{_address(to)}" <{_address(to)}>'),
            ("Subject", _encoded_word(subject, "iso-8859-1")),
            ("Thread-Topic", _encoded_word(subject, "iso-8859-1")),
            ("Thread-Index", _thread_index(seed)),
            ("Date", _date_utc(date)),
            ("Message-ID", message_id),
            *([("References", in_reply_to), ("In-Reply-To", in_reply_to)] if in_reply_to else []),
            ("Accept-Language", "it-IT, en-US"),
            ("Content-Language", "it-IT"),
            ("X-MS-Has-Attach", "yes" if files or image_parts else ""),
            ("X-MS-TNEF-Correlator", ""),
            ("msip_labels", ""),
        ]
        return _root(
            headers, content, [("MIME-Version", "1.0"), ("X-OriginatorOrg", _domain(sender))]
        )
    # Apple iPhone Mail
    bound = f"Apple-Mail-{_apple_uuid(seed)}"
    html_part = _text("text/html;\n\tcharset=utf-8", html, "quoted-printable")
    if image_parts:
        html_part = _multi(
            f'multipart/related;\n\ttype="text/html";\n\tboundary={bound}-2',
            [html_part, *image_parts],
        )
    content = _multi(
        f"multipart/alternative; boundary={bound}-1",
        [_text("text/plain;\n\tcharset=utf-8", plain, "quoted-printable"), html_part],
    )
    if files:
        content = _multi(f"multipart/mixed; boundary={bound}-0", [content, *files])
    headers = [
        *_arrival(
            address,
            f"smtp.{_domain(sender)}",
            "192.0.2.140",
            date + timedelta(seconds=5),
        ),
        *[(n, v) for n, v in content.raw_items()],
        ("Content-Transfer-Encoding", "7bit"),
        ("From", sender),
        ("Mime-Version", "1.0 (1.0)"),
        ("Date", _date(date)),
        ("Subject", _encoded_word(subject)),
        ("Message-Id", f"<{_apple_uuid(('id', seed))}@{_domain(sender)}>"),
        *([("References", in_reply_to), ("In-Reply-To", in_reply_to)] if in_reply_to else []),
        ("To", to),
        ("X-Mailer", "iPhone Mail (22B83)"),
    ]
    message = EmailMessage(policy=POLICY)
    for name, value in headers:
        message.set_raw(name, _mailboxes(name, value))
    message.set_payload(_stored(content))
    return message.as_bytes()


def _signature(name: str, phone: str, images: Sequence[str], client: str) -> str:
    markers = "".join(f"[cid:{n}]\n" for n in images)
    dash = "-- \n" if client == "gmail" else ""
    return f"\n{dash}{name}\nTel. {phone}\n{markers}"


def customer_question(
    customer: str = "Francesca Bruno <francesca.bruno@gmail.com>",
    code: str = "LM3454931",
    *,
    date: datetime = datetime(2026, 11, 20, 15, 41, 7, tzinfo=ROME),
) -> bytes:
    """(a) A customer's plain question from Gmail, no document: the Italian flag (24x16) in
    the signature is the only image, inline in multipart/related."""
    text = (
        f"Buongiorno,\nho pagato ieri l'ordine {code} con bonifico ma non ho ancora ricevuto "
        "la fattura.\nDevo mandare io la contabile o la vedete voi? E il contratto va firmato "
        "a mano\no posso usare la firma digitale?\n\nGrazie\n"
        + _signature(_display(customer), "+39 347 123 4567", ["image.png"], "gmail")
    )
    return related_email(
        sender=customer,
        subject=f"Domanda su ordine {code}",
        text=text,
        images=[("image.png", flag_png())],
        client="gmail",
        date=date,
    )


def customer_receipt_with_signature(
    receipt_pdf: bytes,
    customer: str = "Andrea Gallo <a.gallo@galloconsulting.it>",
    code: str = "LM3454935",
    *,
    client: str = "outlook",
    filename: str = "Contabile bonifico.pdf",
    date: datetime = datetime(2026, 11, 20, 16, 2, 55, tzinfo=ROME),
) -> bytes:
    """(b) A customer's e-mail with the receipt PDF attached and, in the signature, the
    company logo (200x60), the flag and social icons: only the PDF is a document. Outlook
    names them image001.png…; Gmail calls every pasted image image.png."""
    names = (
        ["image001.png", "image002.png", "image003.png", "image004.png"]
        if client == "outlook"
        else ["image.png"] * 4
    )
    pictures = [logo_png("GALLO CONSULTING"), flag_png(), social_icon_png("linkedin"),
                social_icon_png("facebook")]  # fmt: skip
    text = (
        f"Buongiorno,\nin allegato la contabile del bonifico per l'ordine {code}.\n\n"
        "Cordiali saluti\n" + _signature(_display(customer), "+39 06 9876 5432", names, client)
    )
    return related_email(
        sender=customer,
        subject=f"Contabile pagamento ordine {code}",
        text=text,
        images=list(zip(names, pictures, strict=True)),
        attachments=[(filename, "application/pdf", receipt_pdf)],
        client=client,
        date=date,
    )


def customer_pasted_photo(
    photo: bytes,
    customer: str = "Chiara Mancini <chiara.mancini@libero.it>",
    code: str = "LM3454940",
    *,
    client: str = "apple",
    date: datetime = datetime(2026, 11, 20, 18, 22, 40, tzinfo=ROME),
) -> bytes:
    """(c) A customer who pastes the photo of the receipt into the body: a large inline JPEG
    (pass `scans.photo(receipt_pdf)`) referenced by cid, which IS the document. `apple`
    (iPhone Mail: related inside alternative, IMG_xxxx.jpeg) or `gmail` (the Android app:
    alternative inside related, IMG_<date>_<time>.jpg)."""
    filename = "IMG_2041.jpeg" if client == "apple" else "IMG_20261120_182201.jpg"
    text = (
        f"Buonasera, ecco la ricevuta del pagamento dell'ordine {code}\n\n[cid:{filename}]\n\n"
        + ("Inviato da iPhone\n" if client == "apple" else "")
    )
    return related_email(
        sender=customer,
        subject=f"Ricevuta ordine {code}",
        text=text,
        images=[(filename, photo)],
        client=client,
        date=date,
    )


# --- the registry ---------------------------------------------------------------------------


def _parts(data: bytes) -> list[Message]:
    return [p for p in message_from_bytes(data, policy=POLICY).walk() if not p.is_multipart()]


def _images_of(data: bytes) -> tuple[tuple[str, str], ...]:
    """(filename, Content-ID) of every image part."""
    return tuple(
        (part.get_filename() or "", str(part.get("Content-ID", "")).strip("<>"))
        for part in _parts(data)
        if part.get_content_maintype() == "image"
    )


def samples(receipt_pdf: bytes | None = None, photo: bytes | None = None) -> list[Sample]:
    """One message of each kind with what a correct reader concludes. `receipt_pdf` and `photo`
    default to an Intesa receipt for the order and `scans.photo` of it (slow: ~1 s)."""
    from tests.docgen.receipts import default_spec, make_receipt_pdf
    from tests.docgen.scans import photo as take_photo

    if receipt_pdf is None:
        receipt_pdf = make_receipt_pdf(default_spec(["LM3454935"], Decimal("24.40")), "intesa")
    if photo is None:
        photo = take_photo(
            make_receipt_pdf(default_spec(["LM3454940"], Decimal("24.40")), "intesa")
        )
    out = [
        Sample("autoreply-gmail-vacation", gmail_vacation(), "autoreply"),
        Sample("autoreply-outlook-oof", outlook_out_of_office(), "autoreply", ("LM3454902",)),
        Sample(
            "autoreply-exchange-oof-no-auto-submitted",
            outlook_out_of_office(auto_submitted=False),
            "autoreply",
            ("LM3454902",),
        ),
        Sample("autoreply-aruba", provider_autoresponder(), "autoreply", ("LM3454911",)),
        Sample(
            "autoreply-libero",
            provider_autoresponder(
                "Sara Colombo <sara.colombo@libero.it>", "LM3454912", provider="libero"
            ),
            "autoreply",
            ("LM3454912",),
        ),
        Sample("autoreply-no-header", silent_out_of_office(), "autoreply", ("LM3454915",)),
        Sample("dsn-postfix-bounce", postfix_bounce(), "dsn", ("LM3454898",)),
        Sample("dsn-postfix-delayed", delayed_dsn(), "dsn", ("LM3454923",)),
        Sample("dsn-exchange-ndr", exchange_ndr(), "dsn", ("LM3454902",)),
        Sample(
            "dsn-exchange-ndr-full-original",
            exchange_ndr(full_original=True),
            "dsn",
            ("LM3454902",),
        ),
        Sample("dsn-gmail", gmail_bounce(), "dsn", ("LM3454927",)),
        Sample("bulk-supplier-newsletter", newsletter("supplier"), "bulk"),
        Sample("bulk-bank-marketing", newsletter("bank"), "bulk"),
        Sample("bulk-mailing-list", mailing_list_post(), "bulk"),
        Sample("spam-fake-invoice", spam_invoice(), "spam"),
        Sample("spam-phishing", spam_phishing(), "spam"),
        Sample("supplier-invoice-hosting", supplier_invoice("hosting"), "supplier"),
        Sample(
            "supplier-invoice-telco", supplier_invoice("telco", number="Z0123456789"), "supplier"
        ),
        Sample("supplier-statement", supplier_statement(), "supplier"),
        Sample("supplier-bank-statement", bank_statement_notice(), "supplier"),
    ]
    question = customer_question()
    out.append(
        Sample("customer-question-flag", question, "customer", ("LM3454931",),
               decorations=_images_of(question))
    )  # fmt: skip
    for client in ("outlook", "gmail"):
        data = customer_receipt_with_signature(receipt_pdf, client=client)
        out.append(
            Sample(
                f"customer-receipt-signature-{client}",
                data,
                "customer",
                ("LM3454935",),
                (("receipt", "Contabile bonifico.pdf", ""),),
                _images_of(data),
            )
        )
    for client in ("apple", "gmail"):
        data = customer_pasted_photo(photo, client=client)
        (image,) = _images_of(data)
        out.append(
            Sample(
                f"customer-pasted-photo-{client}",
                data,
                "customer",
                ("LM3454940",),
                (("receipt", *image),),
            )
        )
    return out
