"""Mail that needs nobody: automatic replies, bounces, bulk mail, spam. Pure: headers and text in,
a reason out.

Such mail is set aside before its attachments are read: a bounce carries our own e-mail back,
contract included, and must never be read as the customer's papers; an out-of-office reply to
our e-mail names the order, and must never reach a person or get an answer.
"""

from __future__ import annotations

import re
from email.message import Message

from parsers.vocabulary import vocabulary

SPAM = "marked as spam by the mail server"
BOUNCE = "delivery status notification (a bounce or delay notice)"
READ_RECEIPT = "read receipt"
AUTOREPLY = "automatic reply (out of office)"
BULK = "newsletter or bulk mail"
AUTOMATIC = "sent by a program (Auto-Submitted), with no document"
NOT_FOR_US = "a supplier's invoice or statement: no order code, and the sender is not a customer"

_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|r|fw|fwd|i|inoltra|aw|wg|tr)\s*:\s*)+", re.IGNORECASE)
_ROBOT = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)
AUTOREPLY_TEXT_REACH = 400  # characters at the start of a body where an out-of-office says so


def _header(message: Message, name: str) -> str:
    return str(message.get(name) or "").strip().lower()


def _starts(text: str, words: tuple[str, ...]) -> bool:
    return any(text.startswith(word) for word in words)


def spam(envelope: Message, subject: str) -> bool:
    """The receiving server's verdict (SpamAssassin, rspamd and most filters write these)."""
    return (
        _header(envelope, "X-Spam-Flag").startswith("yes")
        or _header(envelope, "X-Spam-Status").startswith("yes")
        or _starts(subject.strip().lower(), vocabulary().noise["spam_subjects"])
    )


def automatic(message: Message) -> bool:
    """Written by a program, never to be answered: RFC 3834's Auto-Submitted, the
    autoresponders' own headers, Precedence and the list headers."""
    return (
        (_header(message, "Auto-Submitted") or "no") != "no"
        or _header(message, "Precedence") in ("bulk", "junk", "list", "auto_reply")
        or any(name in message for name in _PROGRAM_HEADERS)
    )


_PROGRAM_HEADERS = ("List-Id", "List-Unsubscribe", "X-Autoreply", "X-Autorespond")


def noise(
    message: Message, subject: str, body: str, sender: str | None, attached: bool
) -> str | None:
    """Why the message needs nobody, or None. `attached`: it carries a file that may be a
    document (decorations do not count). What the headers of a program say holds whatever
    is attached; what a subject or a body says only of a message with nothing attached, since
    a customer may write "Assente la ricevuta? Eccola" over a receipt."""
    words = vocabulary().noise
    report = str(message.get_param("report-type") or "").lower()
    if message.get_content_type() == "multipart/report":
        return READ_RECEIPT if report == "disposition-notification" else BOUNCE
    if _ROBOT.match(sender or "") or _starts(subject.strip().lower(), words["bounce_subjects"]):
        return BOUNCE
    auto = _header(message, "Auto-Submitted") or "no"
    if (
        auto.startswith("auto-replied")
        or message.get("X-Autoreply") is not None
        or message.get("X-Autorespond") is not None
        or _header(message, "Precedence") == "auto_reply"
    ):
        return AUTOREPLY
    if attached:
        return None
    topic = _REPLY_PREFIX.sub("", subject).strip().lower()
    if (
        _header(message, "X-Auto-Response-Suppress") in ("all", "oof")
        or _starts(topic, words["autoreply_subjects"])
        or _opens_with(body, words["autoreply_texts"])
    ):
        return AUTOREPLY
    listed = message.get("List-Unsubscribe") is not None or message.get("List-Id") is not None
    if listed or _header(message, "Precedence") in ("bulk", "list", "junk"):
        return BULK
    return AUTOMATIC if auto != "no" else None


def _opens_with(body: str, phrases: tuple[str, ...]) -> bool:
    """One of the phrases in the body's first characters, where an out-of-office says so."""
    opening = " ".join(body[:AUTOREPLY_TEXT_REACH].lower().split())
    return any(phrase in opening for phrase in phrases)
