"""The payments' and the outbox's moves: only those the code makes, none back from a final one."""

from __future__ import annotations

import itertools

import pytest

from pipeline.rules.states import IllegalTransition
from pipeline.rules.statuses import (
    OUTBOX_ALLOWED,
    PAYMENT_ALLOWED,
    OutboxStatus,
    PaymentStatus,
    outbox_transition,
    payment_transition,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("a", "b"), list(itertools.product(PaymentStatus, PaymentStatus)))
def test_only_the_allowed_payment_moves_pass(a: PaymentStatus, b: PaymentStatus) -> None:
    if (a, b) in PAYMENT_ALLOWED:
        assert payment_transition(a.value, b) is b
    else:
        with pytest.raises(IllegalTransition, match=f"payment {a} -> {b}"):
            payment_transition(a.value, b)


@pytest.mark.parametrize(("a", "b"), list(itertools.product(OutboxStatus, OutboxStatus)))
def test_only_the_allowed_outbox_moves_pass(a: OutboxStatus, b: OutboxStatus) -> None:
    if (a, b) in OUTBOX_ALLOWED:
        assert outbox_transition(a.value, b) is b
    else:
        with pytest.raises(IllegalTransition, match=f"e-mail {a} -> {b}"):
            outbox_transition(a.value, b)


def test_a_confirmed_or_rejected_payment_never_moves_again() -> None:
    final = {PaymentStatus.CONFIRMED, PaymentStatus.REJECTED}
    assert not [pair for pair in PAYMENT_ALLOWED if pair[0] in final]


def test_a_sent_email_never_moves_again() -> None:
    assert not [pair for pair in OUTBOX_ALLOWED if pair[0] is OutboxStatus.SENT]
    with pytest.raises(IllegalTransition):
        outbox_transition("sent", OutboxStatus.PENDING)


def test_an_email_is_sent_only_from_sending() -> None:
    """`sending` is committed before the SMTP transaction: a crash in it leaves a trace."""
    assert [a for a, b in OUTBOX_ALLOWED if b is OutboxStatus.SENT] == [OutboxStatus.SENDING]


def test_every_status_takes_part_in_a_move() -> None:
    assert {s for pair in PAYMENT_ALLOWED for s in pair} == set(PaymentStatus)
    assert {s for pair in OUTBOX_ALLOWED for s in pair} == set(OutboxStatus)
