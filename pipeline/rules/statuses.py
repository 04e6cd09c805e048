"""The statuses besides an order's state, one kind each, and the only moves allowed between a
payment's and between an outbox e-mail's. The store's CHECK constraints are built from these
enums, so a value not listed here is never written."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from pipeline.rules.states import IllegalTransition


class OrderType(StrEnum):
    NEW_MAILBOX = "acquisto"
    RENEWAL = "rinnovo"


class MessageOutcome(StrEnum):
    RECEIVED = "received"  # archived, not read yet
    FAILED = "failed"  # reading or deciding it raised: read again by the next run
    PROCESSED = "processed"
    REVIEW = "review"
    IGNORED = "ignored"
    QUARANTINED = "quarantined"


# The messages a run has still to read: nothing final has been decided about them.
UNREAD = (MessageOutcome.RECEIVED, MessageOutcome.FAILED)


class DocumentStatus(StrEnum):
    """What reading a document came to (parsers/documents.py); its column has no CHECK yet."""

    READ = "read"
    UNREADABLE = "unreadable"
    QUARANTINED = "quarantined"
    SKIPPED = "skipped"  # not a document: a detached signature, a contact card


class PaymentStatus(StrEnum):
    REVIEW = "review"  # a person decides (also the status it is written with, before deciding)
    DUPLICATE = "duplicate"
    SCHEDULED = "scheduled"  # matched, confirmed when the office opens (payment.not_before)
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # the SMTP transaction has started
    SENT = "sent"
    FAILED = "failed"
    UNSURE = "unsure"  # may or may not have reached the server: ops decide


class BatchStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"  # its process died before it finished


class Role(StrEnum):
    """What a web console user may do: read everything, or also act."""

    VIEWER = "viewer"
    OPERATOR = "operator"


class ReviewStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    REJECTED = "rejected"


# Confirmed and rejected are final. A duplicate or a payment in review is confirmed or
# rejected only by ops; a scheduled one whose orders were settled meanwhile goes to review.
PAYMENT_ALLOWED: frozenset[tuple[PaymentStatus, PaymentStatus]] = frozenset(
    {
        (PaymentStatus.REVIEW, PaymentStatus.DUPLICATE),
        (PaymentStatus.REVIEW, PaymentStatus.SCHEDULED),
        (PaymentStatus.REVIEW, PaymentStatus.CONFIRMED),
        (PaymentStatus.REVIEW, PaymentStatus.REJECTED),
        (PaymentStatus.DUPLICATE, PaymentStatus.CONFIRMED),
        (PaymentStatus.DUPLICATE, PaymentStatus.REJECTED),
        (PaymentStatus.SCHEDULED, PaymentStatus.CONFIRMED),
        (PaymentStatus.SCHEDULED, PaymentStatus.REVIEW),
    }
)

# Sent is final: no customer is written twice. Failed and unsure e-mails go back to pending
# only by ops' hand (`outbox retry`, a rerun), which also makes a waiting one due now.
OUTBOX_ALLOWED: frozenset[tuple[OutboxStatus, OutboxStatus]] = frozenset(
    {
        (OutboxStatus.PENDING, OutboxStatus.SENDING),
        (OutboxStatus.PENDING, OutboxStatus.FAILED),  # it cannot even be built (unsealed)
        (OutboxStatus.PENDING, OutboxStatus.PENDING),
        (OutboxStatus.SENDING, OutboxStatus.SENT),
        (OutboxStatus.SENDING, OutboxStatus.PENDING),  # a temporary failure: tried again later
        (OutboxStatus.SENDING, OutboxStatus.FAILED),
        (OutboxStatus.SENDING, OutboxStatus.UNSURE),
        (OutboxStatus.FAILED, OutboxStatus.PENDING),
        (OutboxStatus.UNSURE, OutboxStatus.PENDING),
    }
)

S = TypeVar("S", PaymentStatus, OutboxStatus)


def _checked(what: str, allowed: frozenset[tuple[S, S]], current: str, target: S) -> S:
    """`current` as the column holds it: a StrEnum member equals its string."""
    if (current, target) not in allowed:
        raise IllegalTransition(f"{what} {current} -> {target} is not allowed")
    return target


def payment_transition(current: str, target: PaymentStatus) -> PaymentStatus:
    """The payment's new status; raises rather than let a wrong one be written."""
    return _checked("payment", PAYMENT_ALLOWED, current, target)


def outbox_transition(current: str, target: OutboxStatus) -> OutboxStatus:
    """The e-mail's new status; raises rather than let a wrong one be written."""
    return _checked("e-mail", OUTBOX_ALLOWED, current, target)
