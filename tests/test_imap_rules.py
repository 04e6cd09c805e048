"""The mailbox's rules that need no server."""

from __future__ import annotations

from mailer.inbound.imap import may_hold_new
from pipeline.sources import FolderStatus


def test_uidnext_says_whether_anything_can_be_new_above_the_cursor() -> None:
    def at(uidnext: int) -> FolderStatus:
        return FolderStatus("INBOX", 7, 100, uidnext)

    assert not may_hold_new(at(101), 100)  # the cursor at the top: no SEARCH
    assert may_hold_new(at(102), 100)  # one arrived (or arrived and went: SEARCH tells)
    assert may_hold_new(at(0), 100)  # the server did not say: SEARCH
