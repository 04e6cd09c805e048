"""A raw message as content: subject, sender, body text and attachments, PEC envelopes opened.

Nothing here trusts the message: broken charsets fall back, names are cleaned for display
only (files are stored by content hash, never by the sender's name), nesting is bounded.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field
from email import message_from_bytes
from email.feedparser import BytesFeedParser
from email.header import decode_header, make_header
from email.message import Message
from email.utils import parseaddr
from pathlib import Path

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from PIL import Image

from parsers.noise import SPAM, automatic, noise, spam
from parsers.sniff import SIGNED_ENVELOPE, sniff

FEED_CHUNK = 1024 * 1024
MAX_DEPTH = 3  # forwarded messages opened inside one another
MAX_NESTING = 30  # multipart levels, against hostile nesting
MAX_PARTS = 500
BEYOND_NAMED = 10  # parts left unread past the limits that the message's reason names
PEC_RECEIPTS = frozenset(
    {
        "accettazione",
        "non-accettazione",
        "presa-in-carico",
        "avvenuta-consegna",
        "errore-consegna",
        "preavviso-errore-consegna",
        "rilevazione-virus",
    }
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# An image shown inside the body (a cid: reference, or inline) this small is a logo, a flag, an
# icon or a signature, not a document: a pasted photo or scan of a page is large both ways.
DECORATION_MIN_SIDE = 250
DECORATION_MAX_PIXELS = 300_000


@dataclass(frozen=True)
class Attachment:
    index: int
    filename: str | None
    declared_type: str
    media_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str | None
    subject: str
    sender: str | None
    body_text: str
    attachments: list[Attachment] = field(default_factory=list)
    pec_receipt: str | None = None
    pec: dict[str, str] = field(default_factory=dict)
    # Written by a program (an auto-reply, a bounce, a list): never answered, to avoid loops.
    automatic: bool = False
    # Why the message needs nobody (spam, a bounce, an auto-reply, bulk mail), or None.
    noise: str | None = None
    decorations: int = 0  # images in the body too small to be documents (logos, flags)
    # Parts past MAX_PARTS or MAX_NESTING, left unread: how many, and the first names.
    beyond_limit: int = 0
    beyond_names: tuple[str, ...] = ()


def decode_text(value: str | None) -> str:
    """An RFC 2047 header as text; a broken one as its raw characters."""
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(value)))
    except (LookupError, UnicodeError, ValueError):
        return str(value)


def safe_filename(name: str | None) -> str | None:
    """A display name with no path, no control characters, at most 200 characters."""
    if not name:
        return None
    name = unicodedata.normalize("NFC", decode_text(name))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL.sub("", name).strip().lstrip(".")
    return name[:200] or None


def part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def _html_to_text(html: str) -> str:
    html = re.sub(r"(?is)<(script|style).*?</\1>", " ", html)
    html = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>", "\n", html)
    return re.sub(r"<[^>]+>", " ", html)


class _Walker:
    """Collects body text and attachments across nested messages, numbering parts in order."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.html: list[str] = []
        self.attachments: list[Attachment] = []
        self.decorations = 0
        self.parts = 0
        self.beyond = 0
        self.beyond_names: list[str] = []

    def walk(self, part: Message, depth: int, nesting: int = 0, related: bool = False) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS or nesting > MAX_NESTING:
            self._left_unread(part)
            return
        content_type = part.get_content_type()
        filename = safe_filename(part.get_filename())
        if content_type == "message/rfc822":
            inner = part.get_payload()
            if depth < MAX_DEPTH and isinstance(inner, list) and isinstance(inner[0], Message):
                self.walk(inner[0], depth + 1, nesting + 1)
            else:
                self._attach(part, filename, content_type)
        elif part.is_multipart():
            related = content_type == "multipart/related"
            for sub in part.get_payload():
                if isinstance(sub, Message):
                    self.walk(sub, depth, nesting + 1, related)
        elif _decoration(part, related):
            self.decorations += 1
        elif filename or "attachment" in (part.get("Content-Disposition") or "").lower():
            self._attach(part, filename, content_type)
        elif content_type == "text/plain":
            self.texts.append(part_text(part))
        elif content_type == "text/html":
            self.html.append(_html_to_text(part_text(part)))
        else:
            self._attach(part, filename, content_type)

    def _left_unread(self, part: Message) -> None:
        """Counted and, for the first few, named: never dropped without a word."""
        self.beyond += 1
        name = safe_filename(part.get_filename()) or part.get_content_type()
        if len(self.beyond_names) < BEYOND_NAMED:
            self.beyond_names.append(name)

    def _attach(self, part: Message, filename: str | None, declared: str) -> None:
        if isinstance(part.get_payload(), list):  # a message kept whole past the depth bound
            data = part.as_bytes()
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
        # A .p7m's name is the one word its base64 form has that it is a signed envelope.
        signed = (filename or "").lower().endswith(".p7m")
        media = sniff(data, SIGNED_ENVELOPE if signed else declared)
        self.attachments.append(Attachment(len(self.attachments), filename, declared, media, data))

    @property
    def body(self) -> str:
        return "\n".join(self.texts) if self.texts else "\n".join(self.html)


def _decoration(part: Message, related: bool) -> bool:
    """A small image shown in the body: referenced by cid: (its Content-ID, or its place in a
    multipart/related) or marked inline. Its size comes from the header alone."""
    if part.get_content_maintype() != "image":
        return False
    disposition = (part.get("Content-Disposition") or "").strip().lower()
    if not (related or part.get("Content-ID") or disposition.startswith("inline")):
        return False
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return False
    try:
        with Image.open(io.BytesIO(payload)) as image:
            width, height = image.size
    except Exception:  # unreadable or hostile: a document, for the reader to judge
        return False
    return min(width, height) < DECORATION_MIN_SIDE or width * height < DECORATION_MAX_PIXELS


def _pec_facts(envelope: Message) -> dict[str, str]:
    for part in envelope.walk():
        if (part.get_filename() or "").lower() != "daticert.xml":
            continue
        raw = part.get_payload(decode=True)
        if not isinstance(raw, bytes) or len(raw) > 65536:
            return {}
        try:
            root = ElementTree.fromstring(raw)
        except (ElementTree.ParseError, DefusedXmlException):
            return {}
        facts = {
            "certified_sender": root.findtext(".//mittente"),
            "provider": root.findtext(".//gestore-emittente"),
            "identifier": root.findtext(".//identificativo"),
            "msgid": root.findtext(".//msgid"),
            "date": " ".join(
                filter(None, (root.findtext(".//data/giorno"), root.findtext(".//data/ora")))
            ),
        }
        return {key: value.strip() for key, value in facts.items() if value}
    return {}


def _postacert(envelope: Message) -> Message | None:
    for part in envelope.walk():
        if part.get_content_type() == "message/rfc822" and (
            (part.get_filename() or "").lower() == "postacert.eml"
        ):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return inner[0]
    return None


def parse_message(raw: bytes) -> ParsedMessage:
    return _parsed(message_from_bytes(raw))


def parse_message_file(path: Path) -> ParsedMessage:
    """The same from a file, fed to the parser a chunk at a time: a large message is never
    held whole, nor split into lines all at once (each line an object)."""
    parser = BytesFeedParser()
    with path.open("rb") as handle:
        while chunk := handle.read(FEED_CHUNK):
            parser.feed(chunk)
    return _parsed(parser.close())


def _parsed(envelope: Message) -> ParsedMessage:
    receipt = (envelope.get("X-Ricevuta") or "").strip().lower() or None
    content, pec = envelope, {}
    if (envelope.get("X-Trasporto") or "").strip().lower() == "posta-certificata":
        pec = _pec_facts(envelope)
        content = _postacert(envelope) or envelope
    walker = _Walker()
    if receipt is None:
        walker.walk(content, 0)
    sender = parseaddr(decode_text(content.get("From")))[1] or None
    message_id = (envelope.get("Message-ID") or "").strip() or None
    subject = decode_text(content.get("Subject"))
    return ParsedMessage(
        message_id=message_id,
        subject=subject,
        sender=sender,
        body_text=walker.body,
        attachments=walker.attachments,
        pec_receipt=receipt,
        pec=pec,
        automatic=automatic(content),
        noise=SPAM
        if spam(envelope, subject)
        else noise(content, subject, walker.body, sender, attached=bool(walker.attachments)),
        decorations=walker.decorations,
        beyond_limit=walker.beyond,
        beyond_names=tuple(walker.beyond_names),
    )


def bare_file(data: bytes, filename: str | None = None) -> ParsedMessage:
    """A file an admin dropped without a message around it: one attachment, nothing else."""
    media = sniff(data, SIGNED_ENVELOPE if (filename or "").lower().endswith(".p7m") else None)
    return ParsedMessage(
        message_id=None,
        subject="",
        sender=None,
        body_text="",
        attachments=[Attachment(0, safe_filename(filename), media, media, data)],
    )
