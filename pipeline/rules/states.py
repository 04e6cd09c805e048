"""Order states, their portal labels, and the only moves allowed between them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OrderState(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    PROCESSING = "processing"
    SUSPENDED = "suspended"
    FULFILLED = "fulfilled"

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS: dict[OrderState, str] = {
    OrderState.AWAITING_PAYMENT: "Inserito",
    OrderState.PROCESSING: "In lavorazione",
    OrderState.SUSPENDED: "Sospeso",
    OrderState.FULFILLED: "Evaso e soddisfatto",
}

# A renewal needs no documents, so a paid renewal goes straight to fulfilled.
ALLOWED: frozenset[tuple[OrderState, OrderState]] = frozenset(
    {
        (OrderState.AWAITING_PAYMENT, OrderState.PROCESSING),
        (OrderState.AWAITING_PAYMENT, OrderState.FULFILLED),
        (OrderState.PROCESSING, OrderState.SUSPENDED),
        (OrderState.SUSPENDED, OrderState.PROCESSING),
        (OrderState.PROCESSING, OrderState.FULFILLED),
    }
)

# How far along each state is; an import never moves an order to a lower rank.
RANK: dict[OrderState, int] = {
    OrderState.AWAITING_PAYMENT: 0,
    OrderState.PROCESSING: 1,
    OrderState.SUSPENDED: 1,
    OrderState.FULFILLED: 2,
}


class IllegalTransition(Exception):
    """A state change the business does not allow; never written."""


@dataclass(frozen=True)
class Transition:
    from_state: OrderState
    to_state: OrderState
    cause: str


def transition(current: OrderState, target: OrderState, cause: str) -> Transition:
    """Check a move and describe it; raises rather than let a wrong state be written."""
    if (current, target) not in ALLOWED:
        raise IllegalTransition(f"{current.value} -> {target.value} is not allowed ({cause})")
    return Transition(current, target, cause)


def initial_state(payment_status: str) -> OrderState:
    """Where an imported order starts: paid ones are already being processed."""
    return OrderState.PROCESSING if payment_status == "paid" else OrderState.AWAITING_PAYMENT
