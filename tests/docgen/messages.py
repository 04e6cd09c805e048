"""E-mails as customers send them, PEC transport envelopes around them, and PEC receipts.

Everything is built with the stdlib `email` package and serialised with CRLF (policy SMTP).
Boundaries, PEC identifiers and the dummy signatures derive from the content, so the same
call returns the same bytes (Message-ID aside, when none is given).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage, Message, MIMEPart
from email.mime.application import MIMEApplication
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr
from typing import cast
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

# CRLF like SMTP, but lines folded only past 998 characters, as many mailers do: CPython's
# folder otherwise moves a subject of 70-78 characters whole onto a continuation line.
POLICY = SMTP.clone(max_line_length=998)
ROME = ZoneInfo("Europe/Rome")
ADMIN = "amministrazione@visura.it"
ADMIN_PEC = "amministrazione@pec.visura.it"
DEFAULT_DATE = datetime(2026, 11, 20, 10, 12, tzinfo=ROME)

PEC_RECEIPT_KINDS: tuple[str, ...] = (
    "accettazione",
    "non-accettazione",
    "presa-in-carico",
    "avvenuta-consegna",
    "errore-consegna",
    "preavviso-errore-consegna",
    "rilevazione-virus",
)
# Subject prefixes from the PEC technical rules (DM 2 novembre 2005).
PEC_RECEIPT_TITLES: dict[str, str] = {
    "accettazione": "ACCETTAZIONE",
    "non-accettazione": "AVVISO DI NON ACCETTAZIONE",
    "presa-in-carico": "PRESA IN CARICO",
    "avvenuta-consegna": "CONSEGNA",
    "errore-consegna": "AVVISO DI MANCATA CONSEGNA",
    "preavviso-errore-consegna": "AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO",
    "rilevazione-virus": "PROBLEMA DI SICUREZZA",
}
_PROVIDERS: dict[str, tuple[str, str]] = {  # name -> (mail domain, gestore-emittente)
    "legalmail": ("legalmail.it", "LEGALMAIL"),
    "aruba": ("pec.aruba.it", "ARUBA PEC S.p.A."),
    "poste": ("postecert.it", "POSTECERT S.p.A."),
    "namirial": ("sicurezzapostale.it", "NAMIRIAL S.p.A."),
}


def _hash(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def _domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "example.it"


def _provider(provider: str) -> tuple[str, str]:
    key = provider.lower().split()[0]
    return _PROVIDERS.get(key, (f"{key}.it", provider.upper()))


def _fix_boundaries(message: Message, seed: str) -> None:
    """Stable boundaries for the parts we made; parsed inner messages keep theirs."""
    for number, part in enumerate(message.walk()):
        if part.get_content_maintype() == "multipart" and part.get_boundary() is None:
            part.set_boundary(f"----=_Part_{number}_{_hash(seed, number)[:24]}")


def _received(sender: str, when: datetime, to: str) -> str:
    """What the reseller's MX prepends; pecflow's drop folder may read arrival time from it."""
    domain = _domain(sender)
    octet = int(_hash(domain)[:2], 16) % 250 + 2
    return (
        f"from smtp.{domain} (smtp.{domain} [192.0.2.{octet}]) by mx.visura.it (Postfix) "
        f"with ESMTPS id 4N{_hash(sender, when)[:9].upper()} for <{parseaddr(to)[1]}>; "
        f"{format_datetime(when)}"
    )


def _needs_raw_name(filename: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in filename)


def _attach(message: EmailMessage, filename: str, mime_type: str, data: bytes) -> None:
    maintype, _, subtype = mime_type.partition("/")
    if not _needs_raw_name(filename):
        message.add_attachment(
            data, maintype=maintype, subtype=subtype or "octet-stream", filename=filename
        )
        return
    # Control characters cannot go in a quoted filename; senders encode them per RFC 2231.
    part = MIMEApplication(data, subtype or "octet-stream")
    part.replace_header("Content-Type", f"{maintype}/{subtype or 'octet-stream'}")
    del part["MIME-Version"]
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", filename))
    if message.get_content_maintype() != "multipart":
        message.make_mixed()
    message.attach(cast(EmailMessage, part))  # a compat32 part keeps its header verbatim


def make_email(
    *,
    sender: str,
    subject: str,
    body: str,
    to: str = ADMIN,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    date: datetime | None = None,
    message_id: str | None = None,
    received: datetime | None = None,
    html: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """A customer's message: text (and optional HTML) body, attachments as (name, type, data).

    `received` adds the Received header the mail server would prepend (the arrival time,
    unlike `date`, which the sender controls). Without `message_id` a fresh one is made, so
    two calls are two distinct messages.
    """
    when = date or DEFAULT_DATE
    message = EmailMessage(policy=POLICY)
    if received is not None:
        message["Return-Path"] = f"<{parseaddr(sender)[1]}>"
        message["Received"] = _received(sender, received, to)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    message["Message-ID"] = message_id or make_msgid(domain=_domain(sender))
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body, cte=None if body.isascii() else "quoted-printable")
    if html is not None:
        message.add_alternative(html, subtype="html")
    for filename, mime_type, data in attachments:
        _attach(message, filename, mime_type, data)
    _fix_boundaries(message, str(message["Message-ID"]))
    return message.as_bytes()


def make_forward(
    original: bytes,
    *,
    sender: str,
    to: str = ADMIN,
    note: str = "",
    date: datetime | None = None,
    message_id: str | None = None,
) -> bytes:
    """A colleague forwarding a customer's message as an attachment (message/rfc822)."""
    inner = message_from_bytes(original, policy=POLICY)
    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"Fwd: {inner['Subject']}"
    message["Date"] = format_datetime(date or DEFAULT_DATE)
    message["Message-ID"] = message_id or make_msgid(domain=_domain(sender))
    message.set_content(note or "Inoltro la mail del cliente con la contabile.")
    message.add_attachment(inner, filename="messaggio-inoltrato.eml")
    _fix_boundaries(message, str(message["Message-ID"]))
    return message.as_bytes()


# --- PEC ------------------------------------------------------------------------------------


def _daticert(
    kind: str,
    *,
    sender: str,
    recipients: list[str],
    subject: str,
    provider: str,
    identifier: str,
    msgid: str,
    when: datetime,
    error: str = "nessuno",
    error_detail: str | None = None,
    delivered_to: str | None = None,
) -> bytes:
    """The certification data as providers write it (Postacert.dtd structure)."""

    def kind_of(address: str) -> str:
        return "certificato" if "pec" in address or "legalmail" in address else "esterno"

    recipients_xml = "".join(
        f'    <destinatari tipo="{kind_of(r)}">{escape(r)}</destinatari>\n' for r in recipients
    )
    extra = ""
    if delivered_to:
        extra += f"    <consegna>{escape(delivered_to)}</consegna>\n"
    if error_detail:
        extra += f"    <errore-esteso>{escape(error_detail)}</errore-esteso>\n"
    offset = when.strftime("%z") or "+0100"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE postacert SYSTEM "Postacert.dtd">\n'
        f'<postacert tipo="{kind}" errore="{error}">\n'
        "  <intestazione>\n"
        f"    <mittente>{escape(sender)}</mittente>\n"
        f"{recipients_xml}"
        f"    <risposte>{escape(sender)}</risposte>\n"
        f"    <oggetto>{escape(subject)}</oggetto>\n"
        "  </intestazione>\n"
        "  <dati>\n"
        f"    <gestore-emittente>{escape(_provider(provider)[1])}</gestore-emittente>\n"
        f'    <data zona="{offset}">\n'
        f"      <giorno>{when:%d/%m/%Y}</giorno>\n"
        f"      <ora>{when:%H:%M:%S}</ora>\n"
        "    </data>\n"
        f"    <identificativo>{escape(identifier)}</identificativo>\n"
        f"    <msgid>{escape(msgid)}</msgid>\n"
        f"{extra}"
        "  </dati>\n"
        "</postacert>\n"
    ).encode()


def _dummy_signature(seed: str, size: int = 1536) -> bytes:
    """Bytes shaped like a DER PKCS#7 blob (SEQUENCE header); nobody verifies them here."""
    body = b""
    counter = 0
    while len(body) < size:
        body += hashlib.sha256(f"{seed}|{counter}".encode()).digest()
        counter += 1
    return b"\x30\x82" + size.to_bytes(2, "big") + body[:size]


def _signed(
    headers: list[tuple[str, str]],
    text: str,
    html: str,
    attachments: list[tuple[str, bytes | Message]],
    seed: str,
) -> bytes:
    """multipart/signed around multipart/mixed (alternative text+html, then attachments)."""
    content = MIMEPart(policy=POLICY)
    content.set_content(text, cte="quoted-printable")
    content.add_alternative(html, subtype="html", cte="quoted-printable")
    content.make_mixed()
    for filename, payload in attachments:
        if isinstance(payload, bytes):
            content.add_attachment(
                payload,
                maintype="application",
                subtype="xml",
                filename=filename,
                disposition="inline",
            )
        else:
            content.add_attachment(payload, filename=filename, disposition="inline")
    signature = MIMEPart(policy=POLICY)
    signature.set_content(
        _dummy_signature(seed),
        maintype="application",
        subtype="pkcs7-signature",
        filename="smime.p7s",
    )
    envelope = EmailMessage(policy=POLICY)
    for name, value in headers:
        envelope[name] = value
    envelope["MIME-Version"] = "1.0"
    envelope["Content-Type"] = (
        'multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256'
    )
    envelope.set_payload([content, signature])
    _fix_boundaries(envelope, seed)
    return envelope.as_bytes()


def _html(text: str) -> str:
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in text.splitlines() if line)
    return f"<html><body>{paragraphs}</body></html>"


def pec_identifier(provider: str, when: datetime, seed: str) -> str:
    """A provider's message identifier, e.g. opec21010.20261120100612.12345.01.1.53@legalmail.it."""
    digits = str(int(_hash(seed)[:12], 16))
    return (
        f"opec{digits[:5]}.{when:%Y%m%d%H%M%S}.{digits[5:10]}.{digits[10:12]}.1.53"
        f"@{_provider(provider)[0]}"
    )


def make_pec_envelope(
    inner: bytes,
    *,
    certified_sender: str,
    identifier: str,
    date: datetime,
    provider: str = "Legalmail",
) -> bytes:
    """The transport envelope a PEC provider wraps around a certified message.

    Subject `POSTA CERTIFICATA: <inner subject>`, `X-Trasporto: posta-certificata`, the
    original kept as `postacert.eml`, `daticert.xml` beside it, all inside multipart/signed.
    """
    original = message_from_bytes(inner, policy=POLICY)
    subject = str(original.get("Subject", ""))
    inner_id = str(original.get("Message-ID", "")) or f"<{identifier}>"
    recipients = [a.strip() for a in str(original.get("To", ADMIN_PEC)).split(",") if a.strip()]
    recipients = [parseaddr(r)[1] or r for r in recipients]
    domain = _provider(provider)[0]
    text = (
        "Messaggio di posta certificata\n\n"
        f"Il giorno {date:%d/%m/%Y} alle ore {date:%H:%M:%S} ({date:%z}) il messaggio\n"
        f'"{subject}" è stato inviato da "{certified_sender}"\n'
        "indirizzato a:\n"
        + "".join(f"{r}\n" for r in recipients)
        + "Il messaggio originale è incluso in allegato.\n"
        f"Identificativo messaggio: {identifier}\n"
    )
    daticert = _daticert(
        "posta-certificata",
        sender=certified_sender,
        recipients=recipients,
        subject=subject,
        provider=provider,
        identifier=identifier,
        msgid=inner_id,
        when=date,
    )
    headers = [
        (
            "Received",
            f"from smtp.{domain} by mx.visura.it (Postfix) with ESMTPS; {format_datetime(date)}",
        ),
        ("Date", format_datetime(date)),
        ("Message-ID", f"<{identifier}>"),
        ("X-Riferimento-Message-ID", inner_id),
        ("X-Trasporto", "posta-certificata"),
        ("From", f'"Per conto di: {certified_sender}" <posta-certificata@{domain}>'),
        ("Reply-To", certified_sender),
        ("To", ", ".join(recipients)),
        ("Subject", f"POSTA CERTIFICATA: {subject}"),
    ]
    return _signed(
        headers,
        text,
        _html(text),
        [("daticert.xml", daticert), ("postacert.eml", original)],
        seed=identifier,
    )


_RECEIPT_TEXT: dict[str, str] = {
    "accettazione": 'Ricevuta di accettazione\n\n{when} il messaggio\n"{subject}" '
    'proveniente da "{sender}"\ned indirizzato a:\n{recipient} ("posta certificata")\n'
    "è stato accettato dal sistema ed inoltrato.",
    "non-accettazione": 'Avviso di non accettazione\n\n{when} nel messaggio\n"{subject}" '
    'proveniente da "{sender}"\nè stato rilevato un problema che ne impedisce '
    "l'accettazione\na causa di: destinatario non valido.\nIl messaggio non è stato accettato.",
    "presa-in-carico": 'Ricevuta di presa in carico\n\n{when} il messaggio\n"{subject}" '
    'proveniente da "{sender}"\ned indirizzato a:\n{recipient}\n'
    "è stato accettato dal sistema di destinazione.",
    "avvenuta-consegna": 'Ricevuta di avvenuta consegna\n\n{when} il messaggio\n"{subject}" '
    'proveniente da "{sender}"\ned indirizzato a "{recipient}"\n'
    "è stato consegnato nella casella di destinazione.",
    "errore-consegna": 'Avviso di mancata consegna\n\n{when} nel messaggio\n"{subject}" '
    'proveniente da "{sender}"\ned indirizzato a "{recipient}"\n'
    "è stato rilevato un errore: 5.1.1 - casella inesistente.\n"
    "Il messaggio non è stato consegnato.",
    "preavviso-errore-consegna": "Avviso di mancata consegna per superamento tempo massimo\n\n"
    '{when} il messaggio\n"{subject}" proveniente da "{sender}"\ned indirizzato a '
    '"{recipient}"\nnon è stato consegnato entro le 12 ore dall\'accettazione.',
    "rilevazione-virus": 'Problema di sicurezza\n\n{when} nel messaggio\n"{subject}" '
    'proveniente da "{sender}"\nè stato rilevato un virus: il messaggio non è stato inoltrato.',
}
_DELIVERY_KINDS = ("avvenuta-consegna", "errore-consegna")
_RECEIPT_ERRORS: dict[str, tuple[str, str | None]] = {
    "non-accettazione": ("altro", "Destinatario non valido"),
    "errore-consegna": ("no-dest", "5.1.1 - Casella inesistente"),
    "preavviso-errore-consegna": ("no-dest", "Timeout di consegna scaduto"),
    "rilevazione-virus": ("virus", "Rilevato virus nel messaggio"),
}


def make_pec_receipt(
    kind: str,
    *,
    subject: str = "Attivazione casella PEC - ordine LM3454898",
    date: datetime | None = None,
    sender: str = ADMIN_PEC,
    recipient: str = "mario.rossi@pec.it",
    identifier: str | None = None,
    original: bytes | None = None,
    provider: str = "Legalmail",
) -> bytes:
    """A provider's service receipt (X-Ricevuta: kind) for a message the office sent.

    It carries no customer content. `avvenuta-consegna` attaches the original message as
    `postacert.eml` when given (a "ricevuta completa").
    """
    if kind not in PEC_RECEIPT_KINDS:
        raise ValueError(f"unknown PEC receipt kind {kind!r}: {', '.join(PEC_RECEIPT_KINDS)}")
    when = date or datetime(2026, 11, 20, 10, 13, 2, tzinfo=ROME)
    domain = _provider(provider)[0]
    identifier = identifier or pec_identifier(provider, when, f"{kind}|{subject}|{recipient}")
    original_id = f"<{_hash(subject, sender)[:20]}@{_domain(sender)}>"
    attachments: list[tuple[str, bytes | Message]] = []
    if original is not None:
        parsed = message_from_bytes(original, policy=POLICY)
        original_id = str(parsed.get("Message-ID", original_id))
    error, detail = _RECEIPT_ERRORS.get(kind, ("nessuno", None))
    attachments.append(
        (
            "daticert.xml",
            _daticert(
                kind,
                sender=sender,
                recipients=[recipient],
                subject=subject,
                provider=provider,
                identifier=identifier,
                msgid=original_id,
                when=when,
                error=error,
                error_detail=detail,
                delivered_to=recipient if kind in _DELIVERY_KINDS else None,
            ),
        )
    )
    if original is not None and kind == "avvenuta-consegna":
        attachments.append(("postacert.eml", message_from_bytes(original, policy=POLICY)))
    text = (
        _RECEIPT_TEXT[kind].format(
            when=f"Il giorno {when:%d/%m/%Y} alle ore {when:%H:%M:%S} ({when:%z})",
            subject=subject,
            sender=sender,
            recipient=recipient,
        )
        + f"\nIdentificativo messaggio: {identifier}\n"
    )
    headers = [
        ("Date", format_datetime(when)),
        ("Message-ID", f"<{identifier}>"),
        ("X-Ricevuta", kind),
        ("X-Riferimento-Message-ID", original_id),
        ("From", f"posta-certificata@{domain}"),
        ("To", sender),
        ("Subject", f"{PEC_RECEIPT_TITLES[kind]}: {subject}"),
    ]
    if kind == "avvenuta-consegna":
        headers.append(("X-TipoRicevuta", "completa"))
    if kind == "rilevazione-virus":
        headers.append(("X-VerificaSicurezza", "errore"))
    return _signed(headers, text, _html(text), attachments, seed=identifier)
