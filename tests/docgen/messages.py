"""E-mails as customers send them, PEC transport envelopes around them, and PEC receipts."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid


def make_email(
    *,
    sender: str,
    subject: str,
    body: str,
    to: str = "amministrazione@visura.it",
    attachments: list[tuple[str, str, bytes]] | None = None,
    date: datetime | None = None,
    message_id: str | None = None,
    received: datetime | None = None,
) -> bytes:
    message = EmailMessage(policy=SMTP)
    if received is not None:
        message["Received"] = f"from mx.example.it by mail.visura.it; {format_datetime(received)}"
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(date or datetime(2026, 11, 20, 9, 12, tzinfo=UTC))
    message["Message-ID"] = message_id or make_msgid(domain="example.it")
    message.set_content(body)
    for filename, media_type, data in attachments or []:
        maintype, subtype = media_type.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def _daticert(kind: str, sender: str, subject: str, identifier: str, when: datetime) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<postacert tipo="{kind}" errore="nessuno"><intestazione>'
        f"<mittente>{sender}</mittente>"
        '<destinatari tipo="certificato">amministrazione@pec.visura.it</destinatari>'
        f"<risposte>{sender}</risposte><oggetto>{subject}</oggetto></intestazione>"
        "<dati><gestore-emittente>Legalmail</gestore-emittente>"
        f'<data zona="+0100"><giorno>{when:%d/%m/%Y}</giorno><ora>{when:%H:%M:%S}</ora></data>'
        f"<identificativo>{identifier}</identificativo>"
        f"<msgid>&lt;{identifier}&gt;</msgid></dati></postacert>"
    ).encode()


def make_pec_envelope(
    inner: bytes,
    *,
    certified_sender: str,
    identifier: str,
    date: datetime,
    provider: str = "Legalmail",
) -> bytes:
    from email import message_from_bytes

    original = message_from_bytes(inner, _class=EmailMessage, policy=SMTP)
    subject = str(original["Subject"])
    content = EmailMessage(policy=SMTP)
    content.set_content(
        f"Messaggio di posta certificata\nIl giorno {date:%d/%m/%Y} alle ore {date:%H:%M:%S} "
        f'il messaggio "{subject}" è stato inviato da "{certified_sender}".\n'
    )
    content.add_alternative(
        f"<p>Messaggio di posta certificata da {certified_sender}</p>", subtype="html"
    )
    content.add_attachment(
        _daticert("posta-certificata", certified_sender, subject, identifier, date),
        maintype="application",
        subtype="xml",
        filename="daticert.xml",
    )
    content.add_attachment(original, filename="postacert.eml")
    envelope = EmailMessage(policy=SMTP)
    envelope["From"] = (
        f'"Per conto di: {certified_sender}" <posta-certificata@{provider.lower()}.it>'
    )
    envelope["To"] = "amministrazione@pec.visura.it"
    envelope["Subject"] = f"POSTA CERTIFICATA: {subject}"
    envelope["Date"] = format_datetime(date)
    envelope["Message-ID"] = f"<{identifier}>"
    envelope["X-Trasporto"] = "posta-certificata"
    envelope["X-Riferimento-Message-ID"] = str(original["Message-ID"])
    envelope.make_mixed()
    envelope.attach(content)
    envelope.add_attachment(
        os.urandom(64), maintype="application", subtype="pkcs7-signature", filename="smime.p7s"
    )
    return envelope.as_bytes()


def make_pec_receipt(
    kind: str, *, subject: str = "Pagamento LM3454898", date: datetime | None = None
) -> bytes:
    when = date or datetime(2026, 11, 20, 9, 13, tzinfo=UTC)
    titles = {
        "accettazione": "ACCETTAZIONE",
        "avvenuta-consegna": "CONSEGNA",
        "non-accettazione": "AVVISO DI NON ACCETTAZIONE",
    }
    message = EmailMessage(policy=SMTP)
    message["From"] = "posta-certificata@legalmail.it"
    message["To"] = "amministrazione@pec.visura.it"
    message["Subject"] = f"{titles.get(kind, kind.upper())}: {subject}"
    message["Date"] = format_datetime(when)
    message["Message-ID"] = make_msgid(domain="legalmail.it")
    message["X-Ricevuta"] = kind
    message.set_content(f'Ricevuta di {kind} del messaggio "{subject}".')
    message.add_attachment(
        _daticert(
            kind, "amministrazione@pec.visura.it", subject, "opec0001.20261120091300.00001", when
        ),
        maintype="application",
        subtype="xml",
        filename="daticert.xml",
    )
    return message.as_bytes()
