"""A message read in full before anything is decided: its MIME and the text of each attachment.

Reading touches no database, so a batch reads several messages at once across the sandbox's
workers and then decides them one at a time, in order.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from parsers.documents import DocumentReading, ParseLimits, read_attachment
from parsers.mime import (
    Attachment,
    ParsedMessage,
    bare_file,
    parse_message,
    parse_message_file,
)
from parsers.sandbox import Rejected, Sandbox


@dataclass(frozen=True)
class MessageReading:
    parsed: ParsedMessage | None = None
    rejected: str | None = None  # why the message itself cannot be read
    documents: tuple[DocumentReading, ...] = ()  # one per attachment, in order


def read_message(
    size: int,
    stored: str | bytes,
    bare_filename: str | None,
    limits: ParseLimits,
    sandbox: Sandbox,
    *,
    bare: bool = False,
    received_at: datetime | None = None,
) -> MessageReading:
    """`stored`: the archived message's path, read by a worker (so the batch never holds a
    message's bytes), or the bytes where none is written (a dry run's new messages).
    `bare`: a file dropped without a message around it. An oversized message is never
    loaded. `received_at`: when it arrived, the moment its signatures are checked for."""
    if size > limits.max_message_bytes:
        return MessageReading(rejected=f"message too large ({size} bytes)")
    try:
        parsed = sandbox.run(parse_stored, (stored, bare, bare_filename), limits.timeout_seconds)
    except Rejected as exc:
        return MessageReading(rejected=f"unreadable message: {exc.reason}")
    if parsed.pec_receipt or parsed.noise:
        return MessageReading(parsed)  # nothing in it is read: a bounce carries our own mail
    # A file attached many times over is read once: a hostile message cannot cost more for it.
    keys = [_same_reading(a) for a in parsed.attachments]
    read: dict[tuple[str, str, str, bytes], DocumentReading] = {}
    for key, attachment in zip(keys, parsed.attachments, strict=True):
        if key not in read:
            read[key] = read_attachment(attachment, limits, sandbox, received_at)
    return MessageReading(parsed, documents=tuple(read[key] for key in keys))


def parse_stored(stored: str | bytes, bare: bool, filename: str | None) -> ParsedMessage:
    """In a worker: the message's bytes are read here, from the archive, not handed over."""
    if bare:
        return bare_file(Path(stored).read_bytes() if isinstance(stored, str) else stored, filename)
    return parse_message_file(Path(stored)) if isinstance(stored, str) else parse_message(stored)


def _same_reading(attachment: Attachment) -> tuple[str, str, str, bytes]:
    """What a reading depends on: the bytes, the types, and the name's extensions only."""
    suffixes = "".join(PurePosixPath(attachment.filename or "").suffixes[-2:]).lower()
    digest = hashlib.sha256(attachment.data).digest()
    return suffixes, attachment.declared_type, attachment.media_type, digest
