"""The matcher confirms only exact, unambiguous payments; everything else goes to a human."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from parsers.proof import Proof, ProofReading
from pipeline.rules.matching import (
    Confirm,
    Evidence,
    OrderView,
    Review,
    ReviewReason,
    decide,
    pays_reseller,
)
from pipeline.rules.states import OrderState

ORDERS = {
    3454898: OrderView(3454898, OrderState.AWAITING_PAYMENT, Decimal("24.40")),
    3454899: OrderView(3454899, OrderState.AWAITING_PAYMENT, Decimal("36.60")),
    3385660: OrderView(3385660, OrderState.PROCESSING, Decimal("24.40")),
}
PAID = ProofReading(Proof.EXECUTED, ("eseguito",))


def _decide(receipt: list[str], amount: str | None, message: list[str] | None = None):
    value = Decimal(amount) if amount else None
    return decide(Evidence(receipt, message or [], value, PAID), ORDERS)


def _reason(decision: object) -> ReviewReason:
    assert isinstance(decision, Review), decision
    return decision.reason


def test_one_awaiting_order_with_the_exact_total_is_confirmed() -> None:
    assert _decide(["LM3454898"], "24.40") == Confirm({3454898: Decimal("24.40")})


def test_two_orders_paid_by_their_sum_are_both_confirmed() -> None:
    decision = _decide(["LM3454898", "LM3454899"], "61.00")
    assert decision == Confirm({3454898: Decimal("24.40"), 3454899: Decimal("36.60")})


def test_a_code_only_in_the_subject_is_enough() -> None:
    assert isinstance(_decide([], "24.40", ["LM3454898"]), Confirm)


def test_everything_else_goes_to_review_with_its_reason() -> None:
    assert _reason(_decide([], "24.40")) is ReviewReason.NO_CODE
    assert _reason(_decide(["LM9999999"], "24.40")) is ReviewReason.UNKNOWN_CODE
    assert _reason(_decide(["LM3454898"], "24.41")) is ReviewReason.AMOUNT_MISMATCH
    assert _reason(_decide(["LM3454898", "LM3454899"], "24.40")) is ReviewReason.AMOUNT_MISMATCH
    assert _reason(_decide(["LM3454898"], None)) is ReviewReason.NO_AMOUNT
    assert _reason(_decide(["LM3385660"], "24.40")) is ReviewReason.ALREADY_PAID
    conflict = _decide(["LM3454898"], "24.40", ["LM3454899"])
    assert _reason(conflict) is ReviewReason.CODE_CONFLICT


def test_a_mismatch_proposes_the_order_for_the_human() -> None:
    decision = _decide(["LM3454898"], "20.00")
    assert isinstance(decision, Review)
    assert decision.proposed_order_id == 3454898


def test_a_receipt_paying_someone_else_is_never_confirmed() -> None:
    wrong = decide(Evidence(["LM3454898"], [], Decimal("24.40"), PAID, pays_reseller=False), ORDERS)
    assert _reason(wrong) is ReviewReason.WRONG_BENEFICIARY


def test_the_reseller_is_recognised_by_iban_or_postal_account() -> None:
    ours = ["IT60X0542811101000000123456"]
    assert pays_reseller(["IT02L1234512345123456789012", ours[0]], [], ours, "")
    assert not pays_reseller(["IT02L1234512345123456789012"], [], ours, "")
    assert pays_reseller([], ["000012345678"], ours, "12345678")
    assert not pays_reseller([], ["000087654321"], ours, "12345678")
    assert not pays_reseller([], [], ours, "")


def test_no_code_proposes_the_single_candidate_only() -> None:
    one = decide(Evidence([], [], Decimal("24.40"), PAID, candidates=[3454898]), ORDERS)
    assert isinstance(one, Review)
    assert (one.reason, one.proposed_order_id) == (ReviewReason.NO_CODE, 3454898)
    two = decide(Evidence([], [], Decimal("24.40"), PAID, candidates=[3454898, 3454800]), ORDERS)
    assert isinstance(two, Review)
    assert two.proposed_order_id is None


def test_a_document_that_proves_no_payment_is_never_confirmed() -> None:
    """Everything else right (our order, its exact total, our IBAN): without proof, review."""
    cases = {
        ProofReading(Proof.INSTRUCTIONS, ("importo da versare",)): ReviewReason.NOT_A_RECEIPT,
        ProofReading(Proof.NONE): ReviewReason.NOT_A_RECEIPT,
        ProofReading(Proof.NOT_EXECUTED, ("prenotato",)): ReviewReason.NOT_EXECUTED,
    }
    for proof, reason in cases.items():
        decision = decide(Evidence(["LM3454898"], [], Decimal("24.40"), proof), ORDERS)
        assert isinstance(decision, Review) and decision.reason is reason
        assert decision.proposed_order_id == 3454898  # ops see which order it is about
        assert all(word in decision.detail for word in proof.words)


def test_a_receipt_dated_after_it_arrived_is_a_transfer_booked_for_later() -> None:
    later = Evidence(["LM3454898"], [], Decimal("24.40"), PAID,
                     executed_on=date(2027, 3, 20), arrived_on=date(2026, 11, 20))  # fmt: skip
    assert _reason(decide(later, ORDERS)) is ReviewReason.NOT_EXECUTED


def test_a_payment_executed_before_the_order_existed_is_another_payment() -> None:
    """Last year's transfer of the same amount, on a statement, pays no new renewal."""
    orders = {3454898: replace(ORDERS[3454898], ordered_on=date(2026, 11, 20))}
    old = Evidence(["LM3454898"], [], Decimal("24.40"), PAID, executed_on=date(2025, 3, 12))
    decision = decide(old, orders)
    assert _reason(decision) is ReviewReason.PAID_BEFORE_ORDER
    same_day = Evidence(["LM3454898"], [], Decimal("24.40"), PAID, executed_on=date(2026, 11, 20))
    assert isinstance(decide(same_day, orders), Confirm)
