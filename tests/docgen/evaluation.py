"""The generated set that reading and matching are judged on, and the judging.

Receipts in every bank layout and the bollettino, as text PDFs, as scans (upright, on their
side, on their head inside an image-only PDF) and as phone photos, each paying an order of its
own; then the cases a correct pecflow must send to review, each with its reason, and hostile
files it must quarantine. Every case says the outcome a correct pecflow gives it, so a run over
the set can be scored: confirmed (rightly), confirmed wrongly, or in review for which reason.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Engine, select

from tests.docgen.hostile import encrypted_pdf, executable_as_pdf, truncated_pdf, zero_byte
from tests.docgen.messages import make_email
from tests.docgen.orders import OrderSpec, make_order
from tests.docgen.receipts import (
    LAYOUTS,
    STRANGER_IBAN,
    TRICKY_LAYOUTS,
    ReceiptSpec,
    default_spec,
    make_receipt_pdf,
)
from tests.docgen.scans import blank_photo_png, image_only_pdf, photo, scan, scan_png

ALL_LAYOUTS = LAYOUTS + TRICKY_LAYOUTS
# (net, total) of the portal's products, and a large order for the thousands separator.
NETS = ["20.00", "30.00", "45.00", "60.00", "90.00", "150.00", "1000.00"]
PEOPLE = [
    ("Rossi", "Mario"), ("Esposito", "Giulia"), ("Ferrari", "Luca"), ("Colombo", "Sara"),
    ("Ricci", "Marco"), ("Marino", "Elena"), ("Greco", "Paolo"), ("Bruno", "Francesca"),
    ("Gallo", "Andrea"), ("Conti", "Valentina"), ("De Luca", "Nicolò"), ("Mancini", "Chiara"),
]  # fmt: skip
SCAN_VARIANTS = ("scan", "sideways", "upside-down-pdf", "photo")


@dataclass(frozen=True)
class Case:
    name: str  # the drop file's name; cases are processed in name order
    group: str  # text, scan, photo, review, hostile
    data: bytes
    expect: str  # "confirm LM… [LM…]", "review <reason>" or "quarantined"


@dataclass
class Evaluation:
    orders: list[OrderSpec] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)


class _Builder:
    def __init__(self) -> None:
        self.set = Evaluation()
        self._ids = itertools.count(3470001)
        self._people = itertools.cycle(PEOPLE)
        self._nets = itertools.cycle(NETS)

    def order(self, **options: str) -> OrderSpec:
        last, first = next(self._people)
        options = {"last_name": last, "first_name": first, "net": next(self._nets), **options}
        spec = make_order(str(next(self._ids)), **options)
        self.set.orders.append(spec)
        return spec

    def receipt(
        self, order: OrderSpec, layout: str, amount: Decimal | None = None, **overrides: object
    ) -> bytes:
        """A receipt paying the order (its total unless `amount`), by its applicant."""
        payer = f"{order.first_name} {order.last_name}"
        spec: ReceiptSpec = default_spec(
            [order.code], amount or order.total, payer=payer, **overrides
        )
        return make_receipt_pdf(spec, layout)

    def mail(
        self,
        name: str,
        order: OrderSpec | None,
        attachments: list[tuple[str, bytes]],
        subject: str = "contabile pagamento",
        body: str = "In allegato la contabile.",
    ) -> bytes:
        """The customer's e-mail (a stranger's without `order`)."""
        return make_email(
            sender=order.email if order else "cliente@example.it",
            subject=subject,
            body=body,
            attachments=[(n, _media_type(n), d) for n, d in attachments],
            message_id=f"<eval-{name}@example.it>",
        )

    def add(self, name: str, group: str, data: bytes, expect: str) -> None:
        self.set.cases.append(Case(name, group, data, expect))

    def add_mail(
        self,
        name: str,
        expect: str,
        order: OrderSpec | None,
        attachments: list[tuple[str, bytes]],
        group: str = "review",
        **mail: str,
    ) -> None:
        self.add(f"{name}.eml", group, self.mail(name, order, attachments, **mail), expect)


def _media_type(name: str) -> str:
    return {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg"}[name[-3:]]


def build(layouts: tuple[str, ...] = ALL_LAYOUTS, scan_layouts: tuple[str, ...] = ALL_LAYOUTS,
          amounts_per_layout: int = 3) -> Evaluation:  # fmt: skip
    """The whole set by default; fewer layouts make a quicker one for the test suite."""
    b = _Builder()
    for n, layout in enumerate(layouts):
        for m in range(amounts_per_layout):
            order = b.order()
            pdf = b.receipt(order, layout)
            if m % 2:
                b.add(f"t{n:02d}{m}-{layout}.pdf", "text", pdf, f"confirm {order.code}")
            else:
                b.add_mail(f"t{n:02d}{m}-{layout}", f"confirm {order.code}", order,
                           [("contabile.pdf", pdf)], group="text")  # fmt: skip
    for n, layout in enumerate(scan_layouts):
        for variant in SCAN_VARIANTS:
            order = b.order(net="20.00")
            name, data, group = _scanned(variant, b.receipt(order, layout), int(order.order_id))
            b.add_mail(f"s{n:02d}-{variant}-{layout}", f"confirm {order.code}", order,
                       [(name, data)], group=group)  # fmt: skip
    _review_cases(b)
    _hostile_cases(b)
    return b.set


def _scanned(variant: str, pdf: bytes, seed: int) -> tuple[str, bytes, str]:
    """The attachment's name, bytes and group for one way of scanning a receipt."""
    if variant == "scan":
        return "scansione.png", scan_png(pdf, noise=0.002, seed=seed), "scan"
    if variant == "sideways":
        return "scan.png", scan_png(pdf, rotate=90, noise=0.002, seed=seed), "scan"
    if variant == "upside-down-pdf":
        return "scansione.pdf", image_only_pdf(scan(pdf, rotate=180, seed=seed)), "scan"
    return "IMG_0001.jpg", photo(pdf, skew=(seed % 13) - 6.5, seed=seed), "photo"


def _review_cases(b: _Builder) -> None:
    """One case per review reason, each with orders of its own; and the two that must confirm
    around them (the first copy of a duplicate, one transfer for two orders)."""
    order = b.order()
    stranger = b.receipt(
        order, "intesa", beneficiary="Altra Ditta S.r.l.", beneficiary_iban=STRANGER_IBAN
    )
    b.add_mail("r01-stranger", "review wrong_beneficiary", order, [("c.pdf", stranger)])
    ghost = make_order("3479999")  # never imported
    b.add_mail("r02-unknown", "review unknown_code", None, [("c.pdf", b.receipt(ghost, "bpm"))])
    order = b.order(net="30.00")
    short = b.receipt(order, "unicredit", amount=Decimal("24.40"))
    b.add_mail("r03-short", "review amount_mismatch", order, [("c.pdf", short)])
    one, other = b.order(), b.order()
    b.add_mail(
        "r04-conflict",
        "review code_conflict",
        one,
        [("c.pdf", b.receipt(one, "fineco"))],
        subject=f"pagamento ordine {other.code}",
    )
    paid = b.order(payment_method="carta")
    again = b.receipt(paid, "english", amount=paid.total)
    b.add_mail("r05-paid", "review already_paid", paid, [("c.pdf", again)])
    order = b.order()
    pdf = b.receipt(order, "poste_bonifico")
    b.add_mail("r06a-first", f"confirm {order.code}", order, [("c.pdf", pdf)], group="text")
    b.add_mail("r06b-again", "review duplicate", order, [("ricevuta.pdf", pdf)], subject="reinvio")
    order = b.order(net="45.00", last_name="Bianchi", first_name="Chiara")
    no_code = make_receipt_pdf(default_spec([], order.total, payer="Chiara Bianchi"), "intesa")
    b.add_mail(
        "r07-no-code",
        "review no_code",
        order,
        [("c.pdf", no_code)],
        subject="pagamento",
        body="Buongiorno, ho pagato.",
    )
    b.add_mail("r08-blank", "review unreadable", None, [("foto.png", blank_photo_png())])
    b.add_mail("r09-nothing", "review no_document", None, [], body="Ho pagato ieri.")
    one, other = b.order(net="20.00"), b.order(net="30.00")
    payer = f"{one.first_name} {one.last_name}"
    both = default_spec([one.code, other.code], one.total + other.total, payer=payer)
    b.add_mail(
        "r10-two-orders",
        f"confirm {one.code} {other.code}",
        one,
        [("c.pdf", make_receipt_pdf(both, "intesa"))],
        group="text",
    )


def _hostile_cases(b: _Builder) -> None:
    receipt = b.receipt(b.order(), "intesa")
    for n, (name, data) in enumerate(
        [
            ("contabile.pdf", encrypted_pdf()),
            ("ricevuta.pdf", executable_as_pdf()),
            ("vuoto.pdf", zero_byte()),
            ("meta.pdf", truncated_pdf(receipt)),
        ]
    ):
        b.add_mail(f"h{n}-{name[:-4]}", "quarantined", None, [(name, data)], group="hostile")


@dataclass
class Scorecard:
    """Per group: how many cases, how many right, and every wrong one with what happened."""

    total: Counter[str] = field(default_factory=Counter)
    right: Counter[str] = field(default_factory=Counter)
    wrong_confirmations: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def share(self, *groups: str) -> float:
        total = sum(self.total[group] for group in groups)
        return sum(self.right[group] for group in groups) / total if total else 1.0

    def lines(self) -> list[str]:
        return [
            f"{group:8} {self.right[group]:3}/{self.total[group]:<3} right "
            f"({self.share(group):.1%})"
            for group in sorted(self.total)
        ]


def judge(engine: Engine, cases: list[Case]) -> Scorecard:
    """What pecflow made of each case, against what it should have."""
    from pipeline.store.models import Message, Payment, PaymentOrder, ReviewItem

    card = Scorecard()
    with engine.connect() as conn:
        messages = {
            source_id.rpartition("@")[0] or source_id: (mid, outcome)
            for mid, source_id, outcome in conn.execute(
                select(Message.id, Message.source_id, Message.outcome)
            )
        }
        confirmed: dict[int, set[str]] = {}
        for mid, oid in conn.execute(
            select(Payment.message_id, PaymentOrder.order_id)
            .join(PaymentOrder, PaymentOrder.payment_id == Payment.id)
            .where(Payment.status == "confirmed")
        ):
            confirmed.setdefault(mid, set()).add(f"LM{oid:07d}")
        reasons: dict[int, set[str]] = {}
        for mid, reason in conn.execute(select(ReviewItem.message_id, ReviewItem.reason)):
            reasons.setdefault(mid, set()).add(reason)
    for case in cases:
        card.total[case.group] += 1
        mid, outcome = messages.get(case.name, (0, "missing"))
        got = confirmed.get(mid, set())
        verb, _, what = case.expect.partition(" ")
        if verb == "confirm":
            right = got == set(what.split()) and not reasons.get(mid)
        elif verb == "review":
            right = outcome == "review" and not got and what in reasons.get(mid, set())
        else:
            right = outcome == case.expect and not got
        if got and not (verb == "confirm" and got == set(what.split())):
            card.wrong_confirmations.append(f"{case.name}: confirmed {sorted(got)}")
        if right:
            card.right[case.group] += 1
        else:
            card.misses.append(
                f"{case.name}: expected {case.expect}, got {outcome} "
                f"{sorted(got) or sorted(reasons.get(mid, set()))}"
            )
    return card
