"""Which orders a receipt pays, or why a human must decide: pure, no I/O.

A wrong match confirms a stranger's payment, so every rule here errs towards review.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from parsers.codes import order_code, order_id
from parsers.proof import Proof, ProofReading
from pipeline.rules.states import OrderState


class ReviewReason(StrEnum):
    NO_CODE = "no_code"
    UNKNOWN_CODE = "unknown_code"
    AMOUNT_MISMATCH = "amount_mismatch"
    NO_AMOUNT = "no_amount"
    CODE_CONFLICT = "code_conflict"
    ALREADY_PAID = "already_paid"
    WRONG_BENEFICIARY = "wrong_beneficiary"
    DUPLICATE = "duplicate"
    UNREADABLE = "unreadable"
    NO_DOCUMENT = "no_document"
    NOT_A_RECEIPT = "not_a_receipt"  # instructions to pay, or nothing showing money moved
    NOT_EXECUTED = "not_executed"  # a transfer booked, awaiting authorisation, revoked, rejected
    PAID_BEFORE_ORDER = "paid_before_order"  # executed before the order it names existed
    SIGNATURE_INVALID = "signature_invalid"  # a contract whose digital signature fails


@dataclass(frozen=True)
class OrderView:
    """What matching may know of an order."""

    id: int
    state: OrderState
    total: Decimal
    # A payment already matched to it, waiting for the office to open to be confirmed.
    scheduled_payment: int | None = None
    ordered_on: date | None = None  # the day the portal created it (office time)


@dataclass(frozen=True)
class Evidence:
    """What one receipt and the message around it say."""

    receipt_codes: list[str]
    message_codes: list[str]
    amount: Decimal | None
    proof: ProofReading  # whether the document shows that money moved
    amount_candidates: list[Decimal] = field(default_factory=list)
    pays_reseller: bool = True
    # Orders awaiting payment whose total is the amount and whose applicant is the payer.
    candidates: list[int] = field(default_factory=list)
    executed_on: date | None = None  # the payment's execution date, as printed
    # When the receipt reached us, for a receipt (not a statement's movement): an execution
    # date after it is a transfer booked for later.
    arrived_on: date | None = None


@dataclass(frozen=True)
class Confirm:
    allocations: dict[int, Decimal]


@dataclass(frozen=True)
class Review:
    reason: ReviewReason
    detail: str
    proposed_order_id: int | None = None


Decision = Confirm | Review


def payment_fingerprint(cro: str | None, trn: str | None, document_sha256: str) -> str:
    """The same transfer seen twice has one fingerprint: the bank's reference, else the bytes."""
    reference = (trn or cro or "").upper()
    basis = f"ref:{reference}" if reference else f"doc:{document_sha256}"
    return hashlib.sha256(basis.encode()).hexdigest()


def pays_reseller(
    ibans: list[str], postal_accounts: list[str], reseller_ibans: list[str], postal_account: str
) -> bool:
    """Only a receipt that shows one of the reseller's IBANs or its postal account pays us."""
    ours = {i.replace(" ", "").upper() for i in reseller_ibans}
    account = postal_account.lstrip("0")
    return bool(ours & set(ibans)) or bool(
        account and any(a.lstrip("0") == account for a in postal_accounts)
    )


def _named_one(evidence: Evidence, orders: dict[int, OrderView]) -> int | None:
    """The one existing order the evidence names, to propose to ops."""
    named = {order_id(c) for c in evidence.receipt_codes or evidence.message_codes}
    known = [oid for oid in named if oid in orders]
    return known[0] if len(known) == 1 else None


def _unproven(evidence: Evidence, orders: dict[int, OrderView]) -> Review:
    """A document that proves no payment, with the one order it names proposed to ops."""
    proposed = _named_one(evidence, orders)
    said = ", ".join(f"'{word}'" for word in evidence.proof.words)
    if evidence.proof.proof is Proof.NOT_EXECUTED:
        return Review(
            ReviewReason.NOT_EXECUTED, f"the transfer was not executed: it says {said}", proposed
        )
    if evidence.proof.proof is Proof.INSTRUCTIONS:
        return Review(
            ReviewReason.NOT_A_RECEIPT,
            f"instructions to pay, not the receipt of a payment: it says {said}",
            proposed,
        )
    return Review(
        ReviewReason.NOT_A_RECEIPT,
        "nothing on it shows an executed payment (no execution date, CRO, TRN or bank "
        "reference, no 'eseguito')",
        proposed,
    )


def decide(evidence: Evidence, orders: dict[int, OrderView]) -> Decision:
    """Confirm only one awaiting order with the exact total, or several with the exact sum,
    and only on a document that shows the payment executed."""
    if not evidence.proof.executed:
        return _unproven(evidence, orders)
    executed, arrived = evidence.executed_on, evidence.arrived_on
    if executed and arrived and executed > arrived:
        return Review(
            ReviewReason.NOT_EXECUTED,
            f"to be executed on {executed:%d/%m/%Y}, after it reached us: booked for later",
            _named_one(evidence, orders),
        )
    if not evidence.pays_reseller:
        return Review(
            ReviewReason.WRONG_BENEFICIARY,
            "the receipt shows none of the reseller's IBANs nor its postal account",
        )
    codes = evidence.receipt_codes or evidence.message_codes
    if evidence.receipt_codes and not set(evidence.message_codes) <= set(evidence.receipt_codes):
        return Review(
            ReviewReason.CODE_CONFLICT,
            f"the message names {', '.join(evidence.message_codes)}, "
            f"the receipt {', '.join(evidence.receipt_codes)}",
        )
    if not codes:
        single = evidence.candidates[0] if len(evidence.candidates) == 1 else None
        hint = f"; {order_code(single)} has this payer and this total" if single else ""
        return Review(
            ReviewReason.NO_CODE,
            f"no LM order code on the receipt nor in the message{hint}",
            single,
        )
    unknown = [code for code in codes if order_id(code) not in orders]
    if unknown:
        return Review(ReviewReason.UNKNOWN_CODE, f"no order {', '.join(unknown)}")
    named = [orders[order_id(code)] for code in codes]
    earlier = [o for o in named if executed and o.ordered_on and executed < o.ordered_on]
    if executed and earlier:
        first = earlier[0]
        return Review(
            ReviewReason.PAID_BEFORE_ORDER,
            f"executed on {executed:%d/%m/%Y}, before {order_code(first.id)} was ordered on "
            f"{first.ordered_on:%d/%m/%Y}: another payment",
            first.id,
        )
    settled = [o for o in named if o.state is not OrderState.AWAITING_PAYMENT]
    if settled:
        first = settled[0]
        return Review(
            ReviewReason.ALREADY_PAID,
            f"{order_code(first.id)} is {first.state.value}, not awaiting payment",
            first.id,
        )
    scheduled = [o for o in named if o.scheduled_payment is not None]
    if scheduled:
        first = scheduled[0]
        return Review(
            ReviewReason.ALREADY_PAID,
            f"payment {first.scheduled_payment} already pays {order_code(first.id)} "
            "(confirmed when the office opens)",
            first.id,
        )
    proposed = named[0].id if len(named) == 1 else None
    if evidence.amount is None:
        seen = ", ".join(str(c) for c in evidence.amount_candidates) or "none"
        return Review(
            ReviewReason.NO_AMOUNT, f"no unambiguous amount (amounts seen: {seen})", proposed
        )
    expected = sum((o.total for o in named), Decimal("0"))
    if evidence.amount != expected:
        return Review(
            ReviewReason.AMOUNT_MISMATCH,
            f"paid {evidence.amount}, the order total is {expected}",
            proposed,
        )
    return Confirm({o.id: o.total for o in named})
