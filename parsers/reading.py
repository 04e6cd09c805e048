"""A message read in full before anything is decided: its MIME and the text of each attachment.

Reading touches no database, so a batch reads several messages at once across the sandbox's
workers and then decides them one at a time, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from parsers.documents import DocumentReading, ParseLimits, read_attachment
from parsers.mime import ParsedMessage, bare_file, parse_message
from parsers.sandbox import Rejected, Sandbox


@dataclass(frozen=True)
class MessageReading:
    parsed: ParsedMessage | None = None
    rejected: str | None = None  # why the message itself cannot be read
    documents: tuple[DocumentReading, ...] = ()  # one per attachment, in order


def read_message(
    size: int,
    load: Callable[[], bytes],
    bare_filename: str | None,
    limits: ParseLimits,
    sandbox: Sandbox,
    *,
    bare: bool = False,
    received_at: datetime | None = None,
) -> MessageReading:
    """`bare`: a file dropped without a message around it. An oversized message is never
    loaded. `received_at`: when it arrived, the moment its signatures are checked for."""
    if size > limits.max_message_bytes:
        return MessageReading(rejected=f"message too large ({size} bytes)")
    if bare:
        parsed = bare_file(load(), bare_filename)
    else:
        try:
            parsed = sandbox.run(parse_message, (load(),), limits.timeout_seconds)
        except Rejected as exc:
            return MessageReading(rejected=f"unreadable message: {exc.reason}")
    if parsed.pec_receipt or parsed.noise:
        return MessageReading(parsed)  # nothing in it is read: a bounce carries our own mail
    documents = tuple(read_attachment(a, limits, sandbox, received_at) for a in parsed.attachments)
    return MessageReading(parsed, documents=documents)
