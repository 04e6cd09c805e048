"""What the documents on file mean for a paid order: pure, no I/O.

A new mailbox needs the signed contract and the applicant's identity document. A contract
alone suspends the order (the identity document is missing); the missing piece arriving
later resumes it.
"""

from __future__ import annotations

from pipeline.states import OrderState

CONTRACT, IDENTITY = "contract", "identity_document"


def documents_step(state: OrderState, kinds: set[str]) -> tuple[OrderState, str] | None:
    """The move the documents call for, with its cause, or None."""
    complete = CONTRACT in kinds and IDENTITY in kinds
    if state is OrderState.PROCESSING and CONTRACT in kinds and not complete:
        return OrderState.SUSPENDED, "signed contract received without an identity document"
    if state is OrderState.SUSPENDED and complete:
        return OrderState.PROCESSING, "contract and identity document both received"
    return None
