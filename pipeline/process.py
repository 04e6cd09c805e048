"""One archived message through parse -> match -> decide, written as a single unit of work."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config import Settings
from parsers.classify import DocumentKind, classify_text
from parsers.codes import find_order_codes, order_id
from parsers.documents import QUARANTINED, READ, UNREADABLE, ParseLimits, read_attachment
from parsers.facts import extract_payment_facts
from parsers.mime import Attachment, ParsedMessage, bare_file, parse_message
from parsers.sandbox import Limits, Rejected, run_limited
from pipeline.archive import Archive
from pipeline.matching import (
    Confirm,
    Evidence,
    OrderView,
    Review,
    ReviewReason,
    decide,
    payment_fingerprint,
    pays_reseller,
)
from pipeline.order_documents import documents_step
from pipeline.orders import Actor, change_state
from pipeline.payments import confirm_payment
from pipeline.states import OrderState
from pipeline.store.models import Document, Message, Order, Payment, ReviewItem

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    outcome: str
    reason: str | None = None
    orders: list[int] = field(default_factory=list)
    documents_for: list[int] = field(default_factory=list)


def parse_limits(settings: Settings) -> ParseLimits:
    limits = settings.limits
    sandbox = Limits(limits.parse_timeout_seconds, limits.parse_memory_mb * 1024 * 1024)
    return ParseLimits(limits.max_attachment_bytes, limits.max_pages, sandbox)


def _parse(raw: bytes, message: Message, limits: ParseLimits) -> ParsedMessage:
    if message.raw_format == "file":
        return bare_file(raw, message.facts.get("filename"))
    return run_limited(parse_message, (raw,), limits.sandbox)


def process_message(
    session: Session,
    message: Message,
    archive: Archive,
    settings: Settings,
    actor: Actor,
    now: datetime,
) -> Outcome:
    """Decide what one message means and write all of it; the caller owns the transaction."""
    limits = parse_limits(settings)
    if message.size > settings.limits.max_message_bytes:
        return _finish(
            message, Outcome("quarantined", f"message too large ({message.size} bytes)"), now
        )
    try:
        parsed = _parse(archive.get(message.sha256), message, limits)
    except Rejected as exc:
        return _finish(message, Outcome("quarantined", f"unreadable message: {exc.reason}"), now)
    message.subject = parsed.subject[:2000] or None
    message.sender = parsed.sender[:998] if parsed.sender else None
    if parsed.pec:
        message.facts = {**message.facts, "pec": parsed.pec}
    if parsed.pec_receipt:
        return _finish(
            message, Outcome("ignored", f"PEC service receipt: {parsed.pec_receipt}"), now
        )
    run = _Run(session, message, archive, settings, actor, now)
    return _finish(message, run.handle(parsed, limits), now)


def _finish(message: Message, outcome: Outcome, now: datetime) -> Outcome:
    message.outcome = outcome.outcome
    message.reason = outcome.reason
    message.processed_at = now
    return outcome


class _Run:
    """The writes for one message; kept together so each rule has one place."""

    def __init__(
        self,
        session: Session,
        message: Message,
        archive: Archive,
        settings: Settings,
        actor: Actor,
        now: datetime,
    ) -> None:
        self.session = session
        self.message = message
        self.archive = archive
        self.settings = settings
        self.actor = actor
        self.now = now
        self.reviews: list[str] = []
        self.confirmed: list[int] = []
        self.documents_for: list[int] = []

    def handle(self, parsed: ParsedMessage, limits: ParseLimits) -> Outcome:
        message_codes = find_order_codes(f"{parsed.subject}\n{parsed.body_text}")
        documents = [self._document(att, limits) for att in parsed.attachments]
        useful = 0
        for document in documents:
            if document.status != READ:
                continue
            if document.kind == DocumentKind.PAYMENT_RECEIPT:
                useful += 1
                self._payment(document, message_codes)
            elif document.kind in (DocumentKind.CONTRACT, DocumentKind.IDENTITY_DOCUMENT):
                useful += 1
                self._attach_to_order(document, message_codes)
        if not useful:
            self._no_useful_document(documents)
        if any(d.status == QUARANTINED for d in documents) and not useful and not self.reviews:
            reasons = "; ".join(
                f"{d.filename or 'part ' + str(d.part_index)}: {d.reason}"
                for d in documents
                if d.status == QUARANTINED
            )
            return Outcome("quarantined", reasons)
        if self.reviews:
            return Outcome("review", "; ".join(self.reviews), self.confirmed, self.documents_for)
        return Outcome("processed", None, self.confirmed, self.documents_for)

    def _document(self, attachment: Attachment, limits: ParseLimits) -> Document:
        reading = read_attachment(attachment, limits)
        sha = self.archive.put(attachment.data)
        kind = classify_text(reading.text) if reading.text else DocumentKind.OTHER
        document = Document(
            message_id=self.message.id,
            part_index=attachment.index,
            filename=attachment.filename,
            declared_type=attachment.declared_type[:255],
            media_type=attachment.media_type,
            size=len(attachment.data),
            sha256=sha,
            kind=kind.value,
            status=reading.status,
            reason=reading.reason,
            text_method=reading.method,
            text_confidence=reading.confidence,
            text=reading.text,
            pages=reading.pages,
        )
        self.session.add(document)
        self.session.flush()
        return document

    def _review(
        self,
        reason: ReviewReason,
        detail: str,
        *,
        document: Document | None = None,
        payment: Payment | None = None,
        proposed: int | None = None,
    ) -> None:
        self.reviews.append(f"{reason.value}: {detail}")
        self.session.add(
            ReviewItem(
                reason=reason.value,
                detail=detail,
                status="open",
                message_id=self.message.id,
                document_id=document.id if document else None,
                payment_id=payment.id if payment else None,
                proposed_order_id=proposed,
                created_at=self.now,
                batch_id=self.actor.batch_id,
            )
        )

    def _no_useful_document(self, documents: list[Document]) -> None:
        unreadable = [d for d in documents if d.status == UNREADABLE]
        if unreadable:
            first = unreadable[0]
            self._review(ReviewReason.UNREADABLE, first.reason or "unreadable", document=first)
        elif not any(d.status == QUARANTINED for d in documents):
            self._review(
                ReviewReason.NO_DOCUMENT, "no payment receipt, contract or identity document found"
            )

    def _payment(self, document: Document, message_codes: list[str]) -> None:
        facts = extract_payment_facts(document.text or "")
        fingerprint = payment_fingerprint(facts.cro, facts.trn, document.sha256)
        earlier = self.session.scalar(
            select(Payment).where(Payment.fingerprint == fingerprint).limit(1)
        )
        payment = Payment(
            message_id=self.message.id,
            document_id=document.id,
            fingerprint=fingerprint,
            amount=facts.amount,
            execution_date=facts.execution_date,
            value_date=facts.value_date,
            payer=_clip(facts.payer, 300),
            beneficiary=_clip(facts.beneficiary, 300),
            iban=next(
                (i for i in facts.ibans if i in self.settings.reseller.ibans),
                facts.ibans[0] if facts.ibans else None,
            ),
            cro=facts.cro,
            trn=facts.trn,
            causale=facts.causale,
            codes=facts.codes,
            status="review",
            received_at=self.message.received_at,
        )
        self.session.add(payment)
        self.session.flush()
        if earlier is not None:
            payment.status = "duplicate"
            self._review(
                ReviewReason.DUPLICATE,
                f"the same payment as payment {earlier.id}",
                document=document,
                payment=payment,
            )
            return
        codes = sorted({*facts.codes, *message_codes})
        orders = {
            o.id: o
            for o in self.session.scalars(
                select(Order).where(Order.id.in_([order_id(c) for c in codes])).with_for_update()
            )
        }
        views = {i: OrderView(i, OrderState(o.state), o.total_amount) for i, o in orders.items()}
        reseller = self.settings.reseller
        evidence = Evidence(
            facts.codes,
            message_codes,
            facts.amount,
            facts.amount_candidates,
            pays_reseller=pays_reseller(
                facts.ibans, facts.postal_accounts, reseller.ibans, reseller.postal_account
            ),
            candidates=[] if codes else self._candidates(facts.amount, document.text or ""),
        )
        decision = decide(evidence, views)
        payment.decided_at = self.now
        if isinstance(decision, Review):
            self._review(
                decision.reason,
                decision.detail,
                document=document,
                payment=payment,
                proposed=decision.proposed_order_id,
            )
            return
        self._confirm(payment, decision, orders)
        if len(decision.allocations) == 1:
            document.order_id = next(iter(decision.allocations))

    def _candidates(self, amount: Decimal | None, receipt: str) -> list[int]:
        """Orders awaiting exactly this amount whose applicant is named on the receipt.

        The whole text is searched, not the payer field, so that no layout hides the name.
        """
        if amount is None:
            return []
        payer_words = _plain(receipt)
        return [
            order.id
            for order in self.session.scalars(
                select(Order).where(
                    Order.state == OrderState.AWAITING_PAYMENT.value, Order.total_amount == amount
                )
            )
            if order.last_name
            and _plain(order.last_name) in payer_words
            and _plain(order.first_name or "") in payer_words
        ]

    def _confirm(self, payment: Payment, decision: Confirm, orders: dict[int, Order]) -> None:
        confirm_payment(
            self.session,
            self.settings,
            payment,
            decision.allocations,
            orders,
            self.actor,
            self.now,
            f"payment {payment.id} of {payment.amount} EUR matched",
        )
        self.confirmed.extend(decision.allocations)

    def _attach_to_order(self, document: Document, message_codes: list[str]) -> None:
        """By the code on it or in the message, else by the sender's address; then the
        order's documents may suspend or resume it."""
        codes = find_order_codes(document.text or "") or message_codes
        if codes:
            known = [c for c in codes if self.session.get(Order, order_id(c)) is not None]
            if len(known) != 1:
                self._review(
                    ReviewReason.UNKNOWN_CODE if not known else ReviewReason.CODE_CONFLICT,
                    f"a {document.kind} naming {', '.join(codes)}",
                    document=document,
                )
                return
            order = self.session.get_one(Order, order_id(known[0]), with_for_update=True)
        else:
            senders = self._orders_of_sender()
            if len(senders) != 1:
                self._review(
                    ReviewReason.NO_CODE,
                    f"a {document.kind} without an order code",
                    document=document,
                )
                return
            order = senders[0]
        document.order_id = order.id
        self.documents_for.append(order.id)
        self.session.flush()
        kinds = set(
            self.session.scalars(
                select(Document.kind).where(Document.order_id == order.id, Document.status == READ)
            )
        )
        step = documents_step(OrderState(order.state), kinds)
        if step is not None:
            change_state(
                self.session,
                order,
                step[0],
                step[1],
                self.actor,
                self.now,
                message_id=self.message.id,
            )

    def _orders_of_sender(self) -> list[Order]:
        """Open new-mailbox orders whose communications address wrote this message."""
        if not self.message.sender:
            return []
        return list(
            self.session.scalars(
                select(Order).where(
                    func.lower(Order.email) == self.message.sender.lower(),
                    Order.order_type == "acquisto",
                    Order.state != OrderState.FULFILLED.value,
                )
            )
        )


def _plain(text: str) -> str:
    """Lower case without accents, so that Nicolò matches NICOLO on a bank's receipt."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in folded if not unicodedata.combining(c))


def _clip(value: str | None, size: int) -> str | None:
    return value[:size] if value else None
