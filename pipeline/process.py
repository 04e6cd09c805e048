"""One archived message through parse -> match -> decide, written as a single unit of work."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config import Settings
from parsers.classify import STATEMENT, DocumentKind
from parsers.codes import find_order_codes, order_id
from parsers.documents import (
    QUARANTINED,
    READ,
    SKIPPED,
    UNREADABLE,
    DocumentReading,
    ParseLimits,
)
from parsers.facts import (
    PaymentFacts,
    Reseller,
    extract_payment_facts,
    extract_statement_facts,
)
from parsers.identity import LATEST_DATE, expiry
from parsers.mime import MAX_NESTING, MAX_PARTS, Attachment, ParsedMessage
from parsers.noise import NOT_FOR_US
from parsers.parts import Part, split_parts
from parsers.proof import Proof
from parsers.reading import MessageReading
from pipeline.archive import Archive
from pipeline.orders import Actor
from pipeline.outbox import Mail, enqueue_to
from pipeline.paperwork import apply_papers
from pipeline.payments import confirm_payment, schedule_payment
from pipeline.review_items import open_review
from pipeline.rules import replies
from pipeline.rules.business_calendar import business_calendar
from pipeline.rules.matching import (
    Confirm,
    Evidence,
    OrderView,
    Review,
    ReviewReason,
    decide,
    payment_fingerprint,
    pays_reseller,
)
from pipeline.rules.states import OrderState
from pipeline.rules.statuses import MessageOutcome, OrderType, PaymentStatus, payment_transition
from pipeline.store.models import (
    Document,
    Message,
    Order,
    Payment,
    PaymentOrder,
    ReviewItem,
)

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    outcome: MessageOutcome
    reason: str | None = None
    orders: list[int] = field(default_factory=list)
    documents_for: list[int] = field(default_factory=list)
    scheduled: list[int] = field(default_factory=list)  # confirmed when the office opens


def parse_limits(settings: Settings) -> ParseLimits:
    limits, roots = settings.limits, settings.signatures.trust_roots
    return ParseLimits(
        limits.max_message_bytes,
        limits.max_attachment_bytes,
        limits.max_pages,
        limits.parse_timeout_seconds,
        roots.read_bytes() if roots is not None else b"",
    )


def process_message(
    session: Session,
    message: Message,
    reading: MessageReading,
    archive: Archive,
    settings: Settings,
    actor: Actor,
    now: datetime,
) -> Outcome:
    """Decide what one read message means and write all of it; the caller owns the
    transaction."""
    parsed = reading.parsed
    if reading.rejected or parsed is None:
        return _finish(message, Outcome(MessageOutcome.QUARANTINED, reading.rejected), now)
    message.subject = parsed.subject[:2000] or None
    message.sender = parsed.sender[:998] if parsed.sender else None
    if parsed.pec:
        message.facts = {**message.facts, "pec": parsed.pec}
    if parsed.pec_receipt:
        return _finish(
            message,
            Outcome(MessageOutcome.IGNORED, f"PEC service receipt: {parsed.pec_receipt}"),
            now,
        )
    if parsed.noise:
        return _finish(message, Outcome(MessageOutcome.IGNORED, parsed.noise), now)
    run = _Run(session, message, archive, settings, actor, now)
    return _finish(message, run.handle(parsed, reading.documents), now)


def _finish(message: Message, outcome: Outcome, now: datetime) -> Outcome:
    message.outcome = outcome.outcome
    message.reason = outcome.reason
    message.processed_at = now
    return outcome


@dataclass
class _Opened:
    item: ReviewItem
    count: int = 1


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
        # One review item per distinct problem (reason, detail, file), however many parts
        # share it.
        self.reviews: dict[tuple[ReviewReason, str, str | None], _Opened] = {}
        self.confirmed: list[int] = []
        self.scheduled: list[int] = []
        self.window = business_calendar(settings).payment_window(message.received_at)
        self.documents_for: list[int] = []
        # The codes on each page of instructions to pay (the portal's summary), for the reply.
        self.instructions: list[list[str]] = []

    def handle(self, parsed: ParsedMessage, readings: tuple[DocumentReading, ...]) -> Outcome:
        message_codes = find_order_codes(f"{parsed.subject}\n{parsed.body_text}")
        if parsed.beyond_limit:
            names = ", ".join(parsed.beyond_names)
            more = parsed.beyond_limit - len(parsed.beyond_names)
            self._review(
                ReviewReason.UNREADABLE,
                f"{parsed.beyond_limit} part(s) past the MIME limits ({MAX_PARTS} parts, "
                f"{MAX_NESTING} levels) left unread: "
                f"{names}{f' and {more} more' if more else ''}",
            )
        parts = [
            found
            for att, reading in zip(parsed.attachments, readings, strict=True)
            for found in self._documents(att, reading)
        ]
        documents = [document for document, _ in parts]
        receipts = {
            document.id: self._facts(document, part, message_codes)
            for document, part in parts
            if document.status == READ and document.kind == DocumentKind.PAYMENT_RECEIPT
        }
        if not self.reviews and self._not_for_us(documents, receipts, message_codes):
            return Outcome(MessageOutcome.IGNORED, NOT_FOR_US)
        useful = 0
        for document in documents:
            if document.status != READ:
                continue
            if document.id in receipts:
                useful += 1
                self._payment(document, receipts[document.id], message_codes)
            elif document.kind in (DocumentKind.CONTRACT, DocumentKind.IDENTITY_DOCUMENT):
                useful += 1
                self._attach_to_order(document, message_codes)
        for oid in dict.fromkeys([*self.confirmed, *self.documents_for]):
            order = self.session.get_one(Order, oid, with_for_update=True)
            apply_papers(
                self.session,
                self.settings,
                order,
                self.actor,
                self.now,
                cause=f"m{self.message.id}",
                message_id=self.message.id,
            )
        if not useful:
            self._no_useful_document(documents)
            problems = replies.problems([d.reason for d in documents if d.reason])
            if problems:
                advice = replies.advice(self.settings.limits.max_attachment_bytes)
                self._reply(
                    parsed, "unreadable_reply", message_codes, problems=problems, advice=advice
                )
        elif useful == len(self.instructions):
            # Only the portal's summary or the like: the customer believes they sent proof.
            codes = [code for codes in self.instructions for code in codes]
            self._reply(parsed, "receipt_missing", [*codes, *message_codes])
        if any(d.status == QUARANTINED for d in documents) and not useful and not self.reviews:
            reasons = "; ".join(
                f"{d.filename or 'part ' + str(d.part_index)}: {d.reason}"
                for d in documents
                if d.status == QUARANTINED
            )
            return Outcome(MessageOutcome.QUARANTINED, reasons)
        done = (self.confirmed, self.documents_for, self.scheduled)
        if self.reviews:
            return Outcome(MessageOutcome.REVIEW, "; ".join(self._said_reviews()), *done)
        held = None
        if self.scheduled:  # said on the message, so that ops see why nothing moved yet
            opens = self.window.not_before.astimezone(self.settings.zone)
            held = f"office closed: confirmed from {opens:%d/%m/%Y %H:%M}"
        return Outcome(MessageOutcome.PROCESSED, held, *done)

    def _facts(self, document: Document, part: Part, message_codes: list[str]) -> PaymentFacts:
        """A receipt's facts; a statement's from the one movement that pays the reseller."""
        layout = "\n".join(page.layout or page.text for page in part.pages)
        if document.subtype != STATEMENT:
            return extract_payment_facts(document.text or "", layout)
        reseller = self.settings.reseller
        return extract_statement_facts(
            document.text or "",
            layout,
            Reseller.of(reseller.ibans, reseller.name),
            message_codes,
        )

    def _not_for_us(
        self, documents: list[Document], receipts: dict[int, PaymentFacts], message_codes: list[str]
    ) -> bool:
        """A supplier's invoice or statement to the office: no order code anywhere, a sender who
        is not a customer, and only invoices, or statements of the reseller's own account. A
        customer's statement whose payment was not found still goes to a person."""
        kept = [d for d in documents if d.status != SKIPPED]
        if message_codes or not kept or any(d.status != READ for d in kept):
            return False
        for document in kept:
            facts = receipts.get(document.id)
            own_account = facts is not None and facts.reseller_account
            if document.kind != DocumentKind.INVOICE and not own_account:
                return False
            barcodes = "\n".join(document.facts.get("barcodes", []))
            if find_order_codes(f"{document.text or ''}\n{barcodes}"):
                return False
        return not self._customer(self.message.sender)

    def _customer(self, address: str | None) -> bool:
        """Whether an order names this address, or the PEC mailbox it certified."""
        certified = (self.message.facts.get("pec") or {}).get("certified_sender")
        addresses = {a.lower() for a in (address, certified) if a}
        return bool(addresses) and (
            self.session.scalar(
                select(Order.id).where(func.lower(Order.email).in_(addresses)).limit(1)
            )
            is not None
        )

    def _documents(
        self, attachment: Attachment, reading: DocumentReading
    ) -> list[tuple[Document, Part]]:
        """One row per document in the file: a PDF may hold a contract and an identity
        document scanned together, each then filed to its order on its own."""
        sha = self.archive.put(attachment.data)
        parts = split_parts(reading)
        documents = []
        signed = _signature_facts(reading)  # the file's, for each document in it
        for part in parts:
            kind = part.classification
            facts: dict[str, Any] = {"barcodes": list(part.barcodes)} if part.barcodes else {}
            facts.update(signed)
            if kind.kind is DocumentKind.IDENTITY_DOCUMENT:
                facts.update(self._validity(part.text))
            document = Document(
                message_id=self.message.id,
                part_index=attachment.index,
                first_page=part.first_page,
                last_page=part.last_page if len(parts) > 1 else None,
                filename=attachment.filename,
                declared_type=attachment.declared_type[:255],
                media_type=attachment.media_type,
                size=len(attachment.data),
                sha256=sha,
                kind=kind.kind.value,
                subtype=kind.subtype,
                status=reading.status,
                reason=reading.reason,
                facts=facts,
                text_method=reading.method,
                text_confidence=reading.confidence,
                text=part.text if part.pages else None,
                pages=len(part.pages) or None,
            )
            self.session.add(document)
            documents.append((document, part))
        self.session.flush()
        return documents

    def _validity(self, text: str) -> dict[str, str]:
        """An identity document's expiry, where it was read from, and whether it had passed
        when the message arrived."""
        found = expiry(text)
        arrived = self.message.received_at.astimezone(self.settings.zone).date()
        if found is None or (found.read_from == LATEST_DATE and found.day < arrived):
            return {}  # the latest date read is no expiry when it has passed: birth, issue
        expires = found.day.isoformat()
        return {"expires": expires, "expiry_read_from": found.read_from} | (
            {"expired_on": expires} if found.day < arrived else {}
        )

    def _review(
        self,
        reason: ReviewReason,
        detail: str,
        *,
        document: Document | None = None,
        payment: Payment | None = None,
        proposed: int | None = None,
    ) -> None:
        # The same problem in the same bytes: copies of one file, one item for them all.
        key = (reason, detail, document.sha256 if document else None)
        opened = self.reviews.get(key)
        if opened is not None:
            opened.count += 1
            return
        self.reviews[key] = _Opened(
            open_review(
                self.session,
                reason,
                detail,
                now=self.now,
                batch_id=self.actor.batch_id,
                message_id=self.message.id,
                document_id=document.id if document else None,
                payment_id=payment.id if payment else None,
                proposed_order_id=proposed,
            )
        )

    def _said_reviews(self) -> list[str]:
        """The message's reason; an item shared by several parts says how many."""
        said = []
        for (reason, detail, _), opened in self.reviews.items():
            if opened.count > 1:
                opened.item.detail = f"{detail} ({opened.count} parts of the message alike)"
            said.append(f"{reason.value}: {opened.item.detail}")
        return said

    def _no_useful_document(self, documents: list[Document]) -> None:
        unreadable = [d for d in documents if d.status == UNREADABLE]
        if unreadable:
            first = unreadable[0]
            self._review(ReviewReason.UNREADABLE, first.reason or "unreadable", document=first)
        elif not any(d.status == QUARANTINED for d in documents):
            self._review(
                ReviewReason.NO_DOCUMENT, "no payment receipt, contract or identity document found"
            )

    def _reply(self, parsed: ParsedMessage, kind: str, codes: list[str], **context: object) -> None:
        """Tell the sender what was wrong with what they sent (never a program, never us),
        naming the order when the message names exactly one that exists."""
        own = {self.settings.mail.from_address.lower(), self.settings.mail.ops_address.lower()}
        if not replies.may_answer(parsed.sender, parsed.automatic, own):
            return
        known = list(dict.fromkeys(self._known(codes)))
        code = known[0] if len(known) == 1 else None
        mail = Mail(
            f"{kind}:{self.message.id}",
            kind,
            parsed.sender or "",
            {
                "subject": parsed.subject or "(senza oggetto)",
                "received_at": self.message.received_at.astimezone(self.settings.zone),
                "code": code,
                **context,
            },
        )
        enqueue_to(
            self.session,
            self.settings,
            mail,
            now=self.now,
            batch_id=self.actor.batch_id,
            order_id=order_id(code) if code else None,
        )

    def _payment(self, document: Document, facts: PaymentFacts, message_codes: list[str]) -> None:
        # A booked transfer's CRO is the executed one's too: only proof gives a payment its
        # reference, so that the real receipt coming later is not taken for a duplicate.
        proven = facts.proof.proof is Proof.EXECUTED
        fingerprint = payment_fingerprint(
            facts.cro if proven else None, facts.trn if proven else None, document.sha256
        )
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
            status=PaymentStatus.REVIEW,
            received_at=self.message.received_at,
            not_before=self.window.not_before,
            due_by=self.window.due_by,
        )
        self.session.add(payment)
        self.session.flush()
        if earlier is not None:
            payment.status = payment_transition(payment.status, PaymentStatus.DUPLICATE)
            payment.decided_at = self.now
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
        scheduled = dict(
            self.session.execute(
                select(PaymentOrder.order_id, PaymentOrder.payment_id)
                .join(Payment)
                .where(PaymentOrder.order_id.in_(orders), Payment.status == PaymentStatus.SCHEDULED)
            )
            .tuples()
            .all()
        )
        zone = self.settings.zone
        views = {
            i: OrderView(
                i,
                OrderState(o.state),
                o.total_amount,
                scheduled.get(i),
                o.created_at.astimezone(zone).date(),
            )
            for i, o in orders.items()
        }
        reseller = self.settings.reseller
        evidence = Evidence(
            facts.codes,
            message_codes,
            facts.amount,
            facts.proof,
            facts.amount_candidates,
            pays_reseller=facts.names_reseller
            or pays_reseller(
                facts.ibans, facts.postal_accounts, reseller.ibans, reseller.postal_account
            ),
            candidates=[] if codes else self._candidates(facts.amount, document.text or ""),
            executed_on=facts.execution_date,
            # A statement's movements are booked: its dates are not a transfer's plan.
            arrived_on=None
            if document.subtype == STATEMENT
            else self.message.received_at.astimezone(zone).date(),
        )
        decision = decide(evidence, views)
        payment.decided_at = self.now
        if isinstance(decision, Review):
            if facts.proof.proof is Proof.INSTRUCTIONS:
                self.instructions.append(facts.codes)
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
        words = _plain(receipt)
        return [
            order.id
            for order in self.session.scalars(
                select(Order).where(
                    Order.state == OrderState.AWAITING_PAYMENT.value, Order.total_amount == amount
                )
            )
            if _names(order, words)
        ]

    def _confirm(self, payment: Payment, decision: Confirm, orders: dict[int, Order]) -> None:
        """Now if the office is open, else when it opens (pipeline.rules.business_calendar)."""
        if self.now < self.window.not_before:
            schedule_payment(self.session, payment, decision.allocations, self.now)
            self.scheduled.extend(decision.allocations)
            return
        confirm_payment(
            self.session,
            self.settings,
            payment,
            decision.allocations,
            orders,
            self.actor,
            self.now,
            f"payment {payment.id} of {payment.amount} EUR matched",
            papers_later=True,
        )
        self.confirmed.extend(decision.allocations)

    def _attach_to_order(self, document: Document, message_codes: list[str]) -> None:
        """By the code in its QR code or barcode, else on it, else in the message; without a
        code, by the sender's address and the applicant's name."""
        barcodes = find_order_codes("\n".join(document.facts.get("barcodes", [])))
        codes = barcodes or find_order_codes(document.text or "") or message_codes
        if codes:
            known = self._known(codes)
            if len(known) != 1:
                self._review(
                    ReviewReason.UNKNOWN_CODE if not known else ReviewReason.CODE_CONFLICT,
                    f"a {document.kind} naming {', '.join(codes)}",
                    document=document,
                )
                return
            order = self.session.get_one(Order, order_id(known[0]), with_for_update=True)
        else:
            candidates = self._orders_by_sender_or_name(document.text or "")
            if len(candidates) != 1:
                self._review(
                    ReviewReason.NO_CODE,
                    f"a {document.kind} without an order code"
                    + (f" ({len(candidates)} open orders fit it)" if candidates else ""),
                    document=document,
                )
                return
            order = candidates[0]
        if document.facts.get("signature_valid") is False:
            # Signed digitally, and the signature fails (altered, expired, untrusted): not the
            # signed contract until a person has looked at it.
            self._review(
                ReviewReason.SIGNATURE_INVALID,
                f"a {document.kind} whose digital signature is not valid: "
                f"{document.facts.get('signature_reason')}",
                document=document,
                proposed=order.id,
            )
            return
        document.order_id = order.id
        self.documents_for.append(order.id)

    def _known(self, codes: list[str]) -> list[str]:
        """The codes of orders that exist."""
        return [c for c in codes if self.session.get(Order, order_id(c)) is not None]

    def _orders_by_sender_or_name(self, text: str) -> list[Order]:
        """Open new-mailbox orders whose communications address wrote this message, narrowed
        by the applicant's name on the document; without such an order, the paid orders
        waiting for documents whose applicant is named on it."""
        open_orders = select(Order).where(
            Order.order_type == OrderType.NEW_MAILBOX, Order.state != OrderState.FULFILLED.value
        )
        sender = self.message.sender
        by_sender = (
            list(self.session.scalars(open_orders.where(func.lower(Order.email) == sender.lower())))
            if sender
            else []
        )
        words = _plain(text)
        if by_sender:
            return by_sender if len(by_sender) == 1 else [o for o in by_sender if _names(o, words)]
        waiting = open_orders.where(
            Order.state.in_([OrderState.PROCESSING.value, OrderState.SUSPENDED.value])
        )
        return [o for o in self.session.scalars(waiting) if _names(o, words)]


def _signature_facts(reading: DocumentReading) -> dict[str, Any]:
    """The digital signatures' verdict as the document records it: who signed, whether every
    signature holds (None: not verifiable here), and why not; each signature in detail."""
    if not reading.signatures:
        return {}
    verdicts = [s.valid for s in reading.signatures]
    valid = False if False in verdicts else None if None in verdicts else True
    return {
        "signed_by": "; ".join(dict.fromkeys(s.signed_by or "?" for s in reading.signatures)),
        "signature_valid": valid,
        "signature_reason": next((s.reason for s in reading.signatures if s.reason), None),
        "signatures": [s.as_facts() for s in reading.signatures],
    }


def _names(order: Order, words: str) -> bool:
    """The applicant's first and last name both stand as words (Rossi is not Rossini) in the
    document's text, already made _plain once for all the orders tried."""
    return bool(order.last_name and order.first_name) and all(
        re.search(rf"(?<!\w){re.escape(_plain(name))}(?!\w)", words)
        for name in (order.last_name or "", order.first_name or "")
    )


def _plain(text: str) -> str:
    """Lower case without accents, so that Nicolò matches NICOLO on a bank's receipt."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in folded if not unicodedata.combining(c))


def _clip(value: str | None, size: int) -> str | None:
    return value[:size] if value else None
