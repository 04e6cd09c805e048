"""The mail edges the shell hands to the use cases: mailer/'s IMAP mailbox, drop folder and
SMTP sender (loaded when a command first asks for them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.sources import MailEdges

if TYPE_CHECKING:
    from config import Settings
    from pipeline.sources import Source


def sources(settings: Settings) -> list[Source]:
    """The mailbox (when one is configured), then the drop folder."""
    from mailer.inbound.drop_folder import DropFolderSource
    from mailer.inbound.imap import ImapSource

    found: list[Source] = [ImapSource(settings.imap)] if settings.imap.host else []
    return [*found, DropFolderSource(settings.paths.drop_folder)]


def mail_edges() -> MailEdges:
    from mailer.inbound.imap import ImapMailbox
    from mailer.outbound.smtp import build_email, send_pending

    return MailEdges(
        sources=sources,
        mailbox=ImapMailbox,
        send_pending=send_pending,
        build_email=build_email,
    )
