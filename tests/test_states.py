"""The state machine: only the business's moves, each with its portal label."""

from __future__ import annotations

import itertools

import pytest

from pipeline.rules.states import ALLOWED, IllegalTransition, OrderState, transition


def test_labels_are_the_portal_ones() -> None:
    assert [s.label for s in OrderState] == [
        "Inserito",
        "In lavorazione",
        "Sospeso",
        "Evaso e soddisfatto",
    ]


@pytest.mark.parametrize(("a", "b"), list(itertools.product(OrderState, OrderState)))
def test_only_allowed_moves_pass(a: OrderState, b: OrderState) -> None:
    if (a, b) in ALLOWED:
        assert transition(a, b, "cause").to_state is b
    else:
        with pytest.raises(IllegalTransition):
            transition(a, b, "cause")


def test_a_fulfilled_order_never_moves_again() -> None:
    assert not [pair for pair in ALLOWED if pair[0] is OrderState.FULFILLED]
