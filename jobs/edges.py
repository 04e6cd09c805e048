"""The mail edges the shell hands to the use cases: mailer/'s IMAP mailbox, drop folder and
SMTP sender (loaded when a command first asks for them; the IMAP client only when a mailbox is
configured or checked)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.sources import MailEdges

if TYPE_CHECKING:
    from config import Settings
    from config.settings import ImapSettings
    from pipeline.sources import Mailbox, Source


def sources(settings: Settings) -> list[Source]:
    """The mailbox (when one is configured), then the drop folder."""
    from mailer.inbound.drop_folder import DropFolderSource

    found: list[Source] = []
    if settings.imap.host:
        from mailer.inbound.imap import ImapSource

        found.append(ImapSource(settings.imap))
    return [*found, DropFolderSource(settings.paths.drop_folder)]


def mailbox(settings: ImapSettings) -> Mailbox:
    from mailer.inbound.imap import ImapMailbox

    return ImapMailbox(settings)


def mail_edges() -> MailEdges:
    from mailer.outbound.smtp import build_email, send_pending

    return MailEdges(
        sources=sources,
        mailbox=mailbox,
        send_pending=send_pending,
        build_email=build_email,
    )
