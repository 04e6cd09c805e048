"""What the documents on file mean for a paid order: pure, no I/O.

A new mailbox needs the signed contract and a valid identity document of the applicant. A
contract without one, or an identity document that had expired when it arrived, suspends the
order with that cause; the missing piece arriving later resumes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pipeline.rules.states import OrderState

CONTRACT, IDENTITY = "contract", "identity_document"


@dataclass(frozen=True)
class Paper:
    kind: str
    expired_on: date | None = None  # an identity document read as expired when it arrived
    arrived_at: datetime | None = None


def complete_since(papers: list[Paper]) -> datetime | None:
    """When the order first had both a contract and a valid identity document: the clock of
    the documents' promise (72 working hours to fulfilment) starts there."""
    contracts = [p.arrived_at for p in papers if p.kind == CONTRACT and p.arrived_at]
    identities = [
        p.arrived_at for p in papers if p.kind == IDENTITY and not p.expired_on and p.arrived_at
    ]
    if not contracts or not identities:
        return None
    return max(min(contracts), min(identities))


def documents_step(state: OrderState, papers: list[Paper]) -> tuple[OrderState, str] | None:
    """The move the documents call for, with its cause, or None."""
    contract = any(p.kind == CONTRACT for p in papers)
    identities = [p for p in papers if p.kind == IDENTITY]
    valid_identity = any(p.expired_on is None for p in identities)
    expired = [p.expired_on for p in identities if p.expired_on is not None]
    if state is OrderState.PROCESSING and not valid_identity and (expired or contract):
        if expired:
            return OrderState.SUSPENDED, f"identity document expired on {max(expired):%d/%m/%Y}"
        return OrderState.SUSPENDED, "signed contract received without an identity document"
    if state is OrderState.SUSPENDED and valid_identity:
        if contract:
            return OrderState.PROCESSING, "contract and identity document both received"
        return OrderState.PROCESSING, "a valid identity document received"
    return None


def missing_papers(papers: list[Paper]) -> list[str]:
    """What a new mailbox still needs before it can be activated, in the order to ask for it."""
    missing = [] if any(p.kind == CONTRACT for p in papers) else [CONTRACT]
    if not any(p.kind == IDENTITY and p.expired_on is None for p in papers):
        missing.append(IDENTITY)
    return missing


def expired_identity(papers: list[Paper]) -> date | None:
    """The latest expiry of the expired identity documents on file, if any."""
    return max((p.expired_on for p in papers if p.expired_on), default=None)
