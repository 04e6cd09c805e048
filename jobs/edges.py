"""The mail edges the shell hands to the use cases: mailer/'s IMAP mailbox, drop folder and
SMTP sender (loaded when a command first asks for them)."""

from __future__ import annotations

from pipeline.sources import MailEdges


def mail_edges() -> MailEdges:
    from mailer.inbound.drop_folder import list_drop_folder, open_dropped
    from mailer.inbound.imap import ImapMailbox
    from mailer.outbound.smtp import build_email, send_pending

    return MailEdges(
        mailbox=ImapMailbox,
        list_drop_folder=list_drop_folder,
        open_dropped=open_dropped,
        send_pending=send_pending,
        build_email=build_email,
    )
