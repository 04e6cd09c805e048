"""The generated set that reading and matching are judged on, and the judging.

Every kind of mail a real amministrazione mailbox gets is a group, in the forms it comes in
(a text PDF, a scan, a phone photo, a whole e-mail), each case with orders of its own:
bank receipts in every layout; online banks' English receipts; account statements; paper
bollettini; pages that carry everything a matcher looks for and prove no payment; PDFs holding
several documents; identity documents photographed; digitally signed contracts; the mail that
needs nobody (auto-replies, bounces, newsletters, spam, suppliers); customers' mail with logos
and flags in it; one case per review reason; hostile files. Every case says what a correct
pecflow does with it, so a run over the set can be scored.

What a case expects is a list of clauses joined by "; ":
  confirm LM… [LM…]        exactly these orders paid by it, and no review item
  review <reason> | review *   in review with that reason (or any), nothing confirmed
  quarantined | ignored <noise>   that outcome; an ignored one opens no review item
  attach LM… <kind>        a document of the kind filed to the order
  expires LM… <date>       the order's identity document read with this expiry
  signed valid|invalid|unverified   its contract's digital signature verdict
  reply <kind> | no-reply  the sender answered with that e-mail, or not answered at all
  items <reason>[,<reason>…]   the review items it opened: exactly one of each reason
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from tests.docgen import noise, signatures
from tests.docgen.bollettini import bollettino_for, paper_bollettino_pdf
from tests.docgen.bundles import bundle_pdf, scanned_bundle_pdf, signed_contract_pdf, typical_bundle
from tests.docgen.hostile import encrypted_pdf, executable_as_pdf, truncated_pdf, zero_byte
from tests.docgen.ids import identity_image, identity_spec_for
from tests.docgen.messages import make_email
from tests.docgen.orders import OrderSpec, make_order
from tests.docgen.paperwork import contract_pdf
from tests.docgen.proofless import pending_transfer_pdf, portal_summary_pdf, transfer_form_png
from tests.docgen.receipts import (
    LAYOUTS,
    ONLINE_LAYOUTS,
    STRANGER_IBAN,
    TRICKY_LAYOUTS,
    ReceiptSpec,
    default_spec,
    make_receipt_pdf,
)
from tests.docgen.scans import blank_photo_png, image_only_pdf, photo, scan, scan_png
from tests.docgen.statements import statement_pdf, statement_spec

ALL_LAYOUTS = LAYOUTS + TRICKY_LAYOUTS
# (net, total) of the portal's products, and a large order for the thousands separator.
NETS = ["20.00", "30.00", "45.00", "60.00", "90.00", "150.00", "1000.00"]
PEOPLE = [
    ("Rossi", "Mario"), ("Esposito", "Giulia"), ("Ferrari", "Luca"), ("Colombo", "Sara"),
    ("Ricci", "Marco"), ("Marino", "Elena"), ("Greco", "Paolo"), ("Bruno", "Francesca"),
    ("Gallo", "Andrea"), ("Conti", "Valentina"), ("De Luca", "Nicolò"), ("Mancini", "Chiara"),
]  # fmt: skip
SCAN_VARIANTS = ("scan", "sideways", "upside-down-pdf", "photo")
FORMS = ("text", "scan", "photo", "mail")
# The reasons pecflow gives to mail that needs nobody, by the generator's name for the kind.
NOISE_REASONS = {
    "autoreply": "automatic reply",
    "dsn": "delivery status notification",
    "bulk": "bulk mail",
    "spam": "spam",
    "supplier": "supplier's invoice or statement",
}


@dataclass(frozen=True)
class Case:
    name: str  # the drop file's name; cases are processed in name order
    group: str  # the kind of mail: receipt, statement, adversarial, noise, ...
    form: str  # text, scan, photo (the document's), mail (the message is the case)
    data: bytes
    expect: str  # clauses, see the module's docstring


@dataclass
class Evaluation:
    orders: list[OrderSpec] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)


@dataclass(frozen=True)
class Size:
    """How much of each group to build: the whole set for the bench, less for the suite."""

    layouts: tuple[str, ...] = ALL_LAYOUTS
    scan_layouts: tuple[str, ...] = ALL_LAYOUTS
    amounts_per_layout: int = 3
    images: int = 99  # at most this many OCR'd cases in each of the newer groups


FULL = Size()
QUICK = Size(scan_layouts=("intesa", "bollettino", "table_fees"), amounts_per_layout=2, images=1)


class _Builder:
    def __init__(self, size: Size) -> None:
        self.size = size
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

    def spec(
        self, order: OrderSpec, amount: Decimal | None = None, **overrides: Any
    ) -> ReceiptSpec:
        """A receipt's content paying the order (its total unless `amount`), by its applicant."""
        payer = f"{order.first_name} {order.last_name}"
        return default_spec([order.code], amount or order.total, payer=payer, **overrides)

    def receipt(
        self, order: OrderSpec, layout: str, amount: Decimal | None = None, **overrides: Any
    ) -> bytes:
        return make_receipt_pdf(self.spec(order, amount, **overrides), layout)

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

    def add(self, name: str, group: str, form: str, data: bytes, expect: str) -> None:
        self.set.cases.append(Case(name, group, form, data, expect))

    def add_mail(
        self,
        name: str,
        expect: str,
        order: OrderSpec | None,
        attachments: list[tuple[str, bytes]],
        group: str = "review",
        form: str = "text",
        **mail: str,
    ) -> None:
        self.add(f"{name}.eml", group, form, self.mail(name, order, attachments, **mail), expect)

    def images(self, items: list[Any]) -> list[Any]:
        """The first `size.images` of the OCR'd variants: OCR is what costs time."""
        return items[: self.size.images]


def _media_type(name: str) -> str:
    extension = name.rpartition(".")[2].lower()
    return {
        "pdf": "application/pdf",
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "p7m": "application/pkcs7-mime",
    }[extension]


def _customer(order: OrderSpec) -> str:
    return f"{order.first_name} {order.last_name} <{order.email}>"


def build(size: Size = FULL) -> Evaluation:
    """The whole set by default; `QUICK` is the test suite's."""
    b = _Builder(size)
    _receipts(b)
    _english(b)
    _statements(b)
    _paper_bollettini(b)
    _adversarial(b)
    _bundles(b)
    _identity_photos(b)
    _signed_contracts(b)
    _noise(b)
    _decorated(b)
    _review_cases(b)
    _hostile_cases(b)
    _floods(b)
    return b.set


def _photographed(variant: str, pdf: bytes, seed: int) -> tuple[str, bytes, str]:
    """The attachment's name, bytes and form for one way of scanning a document."""
    if variant == "scan":
        return "scansione.png", scan_png(pdf, noise=0.002, seed=seed), "scan"
    if variant == "sideways":
        return "scan.png", scan_png(pdf, rotate=90, noise=0.002, seed=seed), "scan"
    if variant == "upside-down-pdf":
        return "scansione.pdf", image_only_pdf(scan(pdf, rotate=180, seed=seed)), "scan"
    return "IMG_0001.jpg", photo(pdf, skew=(seed % 13) - 6.5, seed=seed), "photo"


def _receipts(b: _Builder) -> None:
    """Bank receipts in every layout, as text PDFs and as scans and photos."""
    for n, layout in enumerate(b.size.layouts):
        for m in range(b.size.amounts_per_layout):
            order = b.order()
            pdf = b.receipt(order, layout)
            if m % 2:
                b.add(f"t{n:02d}{m}-{layout}.pdf", "receipt", "text", pdf, f"confirm {order.code}")
            else:
                b.add_mail(f"t{n:02d}{m}-{layout}", f"confirm {order.code}", order,
                           [("contabile.pdf", pdf)], group="receipt")  # fmt: skip
    for n, layout in enumerate(b.size.scan_layouts):
        for variant in SCAN_VARIANTS:
            order = b.order(net="20.00")
            name, data, form = _photographed(variant, b.receipt(order, layout), int(order.order_id))
            b.add_mail(f"s{n:02d}-{variant}-{layout}", f"confirm {order.code}", order,
                       [(name, data)], group="receipt", form=form)  # fmt: skip


def _english(b: _Builder) -> None:
    """Online banks' app receipts in English: `Payment sent`, `€24.40`, `12 Mar 2027`."""
    for n, layout in enumerate(ONLINE_LAYOUTS):
        for m, net in enumerate(("20.00", "1000.00")):
            order = b.order(net=net)
            b.add_mail(f"e{n}{m}-{layout}", f"confirm {order.code}", order,
                       [("receipt.pdf", b.receipt(order, layout))], group="english")  # fmt: skip
    for n, (layout, variant) in enumerate(
        b.images(list(itertools.product(ONLINE_LAYOUTS, ("scan", "photo"))))
    ):
        order = b.order(net="30.00")
        name, data, form = _photographed(variant, b.receipt(order, layout), int(order.order_id))
        b.add_mail(f"e9{n}-{variant}-{layout}", f"confirm {order.code}", order,
                   [(name, data)], group="english", form=form)  # fmt: skip


def _statements(b: _Builder) -> None:
    """Account statements: the payment is one row among many, the balance is large."""
    shapes = [
        ("lista_movimenti", "iban", ()),
        ("lista_movimenti", "name", ("same_amount_elsewhere",)),
        ("estratto_conto", "iban", ("same_amount_incoming",)),
        ("estratto_conto", "name", ()),
        ("app", "name", ("same_amount_elsewhere", "same_amount_incoming")),
        ("app", "iban", ()),
        ("lista_movimenti", "iban", ("other_order",)),
        ("estratto_conto", "iban", ("other_order", "same_amount_elsewhere")),
    ]
    for n, (layout, mention, distractors) in enumerate(shapes):
        order = b.order()
        pdf = statement_pdf(statement_spec(order, distractors=distractors, mention=mention), layout)
        # Another order paid on the same statement: the customer names theirs in the subject.
        subject = f"pagamento ordine {order.code}" if "other_order" in distractors else "contabile"
        b.add_mail(f"m{n}-{layout}-{mention}", f"confirm {order.code}", order,
                   [("movimenti.pdf", pdf)], group="statement", subject=subject)  # fmt: skip
    shots = itertools.product(("lista_movimenti", "estratto_conto", "app"), ("scan", "photo"))
    for n, (layout, variant) in enumerate(b.images(list(shots))):
        order = b.order()
        pdf = statement_pdf(statement_spec(order, others=7), layout)
        name, data, form = _photographed(variant, pdf, int(order.order_id))
        b.add_mail(f"m9{n}-{variant}-{layout}", f"confirm {order.code}", order,
                   [(name, data)], group="statement", form=form)  # fmt: skip


def _paper_bollettini(b: _Builder) -> None:
    """The counter's stamped receipt stub: account and amount one digit a box."""
    variants = itertools.product(("123", "451"), (False, True), ("scan", "photo"))
    for n, (form, zeros, shot) in enumerate(b.images(list(variants))):
        order = b.order(payment_method="bollettino")
        slip = paper_bollettino_pdf(bollettino_for(order, form=form, leading_zeros=zeros))
        name, data, how = _photographed(shot, slip, int(order.order_id))
        b.add_mail(f"p{n}-td{form}-{shot}", f"confirm {order.code}", order, [(name, data)],
                   group="bollettino", form=how, subject=f"versamento {order.code}")  # fmt: skip


def _adversarial(b: _Builder) -> None:
    """Pages with the right code, the exact amount and our IBAN that prove no payment."""
    for n, (variant, method) in enumerate(
        itertools.product(("riepilogo", "lista_ordini", "email"), ("bonifico", "bollettino"))
    ):
        order = b.order(payment_method=method)
        b.add_mail(f"a0{n}-summary-{variant}-{method}",
                   "review not_a_receipt; reply receipt_missing", order,
                   [("riepilogo.pdf", portal_summary_pdf(order, method, variant=variant))],
                   group="adversarial")  # fmt: skip
    statuses = ("prenotato", "in_attesa", "da_autorizzare", "revocato", "annullato", "rifiutato",
                "stornato")  # fmt: skip
    layouts = itertools.cycle(("intesa", "unicredit", "bpm", "poste", "corporate", "english"))
    for n, status in enumerate(statuses):
        order = b.order()
        pdf = pending_transfer_pdf(order, status, next(layouts))
        b.add_mail(f"a1{n}-{status}", "review not_executed; no-reply", order,
                   [("contabile.pdf", pdf)], group="adversarial")  # fmt: skip
    order = b.order()
    b.add_mail("a20-form-browser", "review not_a_receipt", order,
               [("bonifico.png", transfer_form_png(order, "browser"))], group="adversarial",
               form="scan")  # fmt: skip
    order = b.order(payment_method="bollettino")
    unpaid = paper_bollettino_pdf(bollettino_for(order), stamped=False)
    b.add_mail("a21-unstamped-slip", "review *", order,
               [("bollettino.png", scan_png(unpaid, noise=0.002, seed=21))], group="adversarial",
               form="scan")  # fmt: skip
    for n, variant in enumerate(b.images(["photo", "scan"])):
        order = b.order()
        summary = portal_summary_pdf(order, "bonifico")
        name, data, form = _photographed(variant, summary, int(order.order_id))
        b.add_mail(f"a3{n}-summary-{variant}", "review *", order, [(name, data)],
                   group="adversarial", form=form)  # fmt: skip


def _bundles(b: _Builder) -> None:
    """One PDF holding several documents: each part filed to the order on its own."""
    expectations = {
        "contract_id": "attach {c} contract; attach {c} identity_document",
        "receipt_contract": "confirm {c}; attach {c} contract",
        "receipt_contract_id": "confirm {c}; attach {c} contract; attach {c} identity_document",
    }
    for n, (kind, expect) in enumerate(expectations.items()):
        order = b.order()
        parts, _ = typical_bundle(order, kind)
        b.add_mail(f"b{n}-{kind}", expect.format(c=order.code), order,
                   [("documenti.pdf", bundle_pdf(parts))], group="bundled",
                   subject=f"documenti ordine {order.code}")  # fmt: skip
    for n, kind in enumerate(b.images(["contract_id", "receipt_contract"])):
        order = b.order()
        parts, _ = typical_bundle(order, kind)
        scanned = scanned_bundle_pdf(parts, int(order.order_id))
        b.add_mail(f"b9{n}-{kind}-scan", expectations[kind].format(c=order.code), order,
                   [("scansione.pdf", scanned)], group="bundled", form="scan",
                   subject=f"documenti ordine {order.code}")  # fmt: skip


def _identity_photos(b: _Builder) -> None:
    """Identity documents photographed: recognised by layout or MRZ, the expiry read."""
    ways = (("photo", "poor"), ("photo", "good"), ("scan", "good"))
    shots = [(kind, *way) for kind in ("cie", "passaporto", "patente") for way in ways]
    for n, (kind, form, quality) in enumerate(b.images(shots)):
        order = b.order()
        spec = identity_spec_for(order, kind)
        image = identity_image(spec, form=form, quality=quality, seed=int(order.order_id))
        name = "documento.jpg" if form == "photo" else "documento.png"
        b.add_mail(f"i{n}-{kind}-{form}-{quality}",
                   f"attach {order.code} identity_document; expires {order.code} {spec.expires}",
                   order, [(name, image)], group="identity", form=form,
                   subject=f"documento d'identità ordine {order.code}")  # fmt: skip


def _signed_contracts(b: _Builder) -> None:
    """Contracts signed digitally: opened, read, filed, their signature's verdict recorded."""
    made: list[tuple[str, str, Callable[[bytes], bytes], str]] = [
        ("der", "contratto.pdf.p7m", signatures.p7m, "valid"),
        ("base64", "contratto.pdf.p7m", lambda pdf: signatures.p7m(pdf, encoding="base64"),
         "valid"),
        ("pem", "contratto.pdf.p7m", lambda pdf: signatures.p7m(pdf, encoding="pem"), "valid"),
        ("twice", "contratto.pdf.p7m.p7m", signatures.p7m_twice, "valid"),
        ("parallel", "contratto.pdf.p7m", lambda pdf: signatures.p7m_twice(pdf, nested=False),
         "valid"),
        # Another contract put in after signing: still a readable PDF, the signature broken.
        ("tampered", "contratto.pdf.p7m",
         lambda pdf: signatures.tampered_p7m(pdf, altered=contract_pdf(None, "Ignoto", "x@y.it")),
         "invalid"),
        ("expired", "contratto.pdf.p7m", lambda pdf: signatures.p7m(pdf, "expired"), "invalid"),
        ("selfsigned", "contratto.pdf.p7m", lambda pdf: signatures.p7m(pdf, "selfsigned"),
         "invalid"),
        ("pades", "contratto_firmato.pdf", signatures.pades_pdf, "valid"),
    ]  # fmt: skip
    for n, (how, filename, sign, verdict) in enumerate(made):
        order = b.order()
        signed = sign(signed_contract_pdf(order))
        # A signature that fails keeps the contract from the order until a person looks.
        filed = "review signature_invalid"
        if verdict == "valid":
            filed = f"attach {order.code} contract"
        subject = f"contratto firmato digitalmente {order.code}"
        b.add_mail(f"c{n}-{how}", f"{filed}; signed {verdict}", order, [(filename, signed)],
                   group="signed", subject=subject)  # fmt: skip


def _noise(b: _Builder) -> None:
    """Mail that needs nobody; the auto-replies and bounces from customers, naming their
    orders (each its own: a mailbox answers one message once)."""
    from_customers: list[tuple[str, Callable[[str, str], bytes], str]] = [
        ("autoreply-gmail", noise.gmail_vacation, "autoreply"),
        ("autoreply-outlook", noise.outlook_out_of_office, "autoreply"),
        ("autoreply-exchange-bare",
         lambda who, code: noise.outlook_out_of_office(who, code, auto_submitted=False),
         "autoreply"),
        ("autoreply-aruba", noise.provider_autoresponder, "autoreply"),
        ("autoreply-libero",
         lambda who, code: noise.provider_autoresponder(who, code, provider="libero"),
         "autoreply"),
        ("autoreply-no-header", noise.silent_out_of_office, "autoreply"),
        ("dsn-postfix", noise.postfix_bounce, "dsn"),
        ("dsn-delayed", noise.delayed_dsn, "dsn"),
        ("dsn-exchange", lambda who, code: noise.exchange_ndr(who, code, full_original=True),
         "dsn"),
        ("dsn-gmail", noise.gmail_bounce, "dsn"),
    ]  # fmt: skip
    made = []
    for name, write, kind in from_customers:
        order = b.order()
        made.append((name, write(_customer(order), order.code), kind))
    made += [
        ("bulk-newsletter", noise.newsletter("supplier"), "bulk"),
        ("bulk-bank", noise.newsletter("bank"), "bulk"),
        ("bulk-list", noise.mailing_list_post(), "bulk"),
        ("spam-invoice", noise.spam_invoice(), "spam"),
        ("spam-phishing", noise.spam_phishing(), "spam"),
        ("supplier-hosting", noise.supplier_invoice("hosting"), "supplier"),
        ("supplier-telco", noise.supplier_invoice("telco", number="Z0123456789"), "supplier"),
        ("supplier-statement", noise.supplier_statement(), "supplier"),
        ("supplier-bank", noise.bank_statement_notice(), "supplier"),
    ]
    for n, (name, data, kind) in enumerate(made):
        b.add(f"n{n:02d}-{name}.eml", "noise", "mail", data, f"ignored {kind}; no-reply")


def _decorated(b: _Builder) -> None:
    """Customers' mail with logos, flags and icons in it: decided on the real documents."""
    order = b.order()
    question = noise.customer_question(_customer(order), order.code)
    b.add("d0-question.eml", "decorated", "mail", question, "review no_document; no-reply")
    for n, client in enumerate(("outlook", "gmail")):
        order = b.order()
        data = noise.customer_receipt_with_signature(
            b.receipt(order, "intesa"), _customer(order), order.code, client=client
        )
        b.add(f"d1{n}-receipt-{client}.eml", "decorated", "mail", data, f"confirm {order.code}")
    for n, client in enumerate(b.images(["apple", "gmail"])):
        order = b.order(net="20.00")
        shot = photo(b.receipt(order, "intesa"), seed=int(order.order_id))
        data = noise.customer_pasted_photo(shot, _customer(order), order.code, client=client)
        b.add(f"d2{n}-pasted-{client}.eml", "decorated", "photo", data, f"confirm {order.code}")


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
    b.add_mail("r06a-first", f"confirm {order.code}", order, [("c.pdf", pdf)], group="receipt")
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
        group="receipt",
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


def _floods(b: _Builder) -> None:
    """One receipt attached hundreds of times: the order confirmed once, one review item for
    all the copies, and the parts past the MIME limit named in one more."""
    order = b.order()
    copies = [(f"ricevuta_{n:03}.pdf", b.receipt(order, "intesa")) for n in range(600)]
    b.add_mail(
        "f0-copies", f"confirm {order.code}; items unreadable,duplicate", order, copies,
        group="flood",
    )  # fmt: skip
    for n, variant in enumerate(b.images(["scan", "photo"])):
        order = b.order()
        name, data, form = _photographed(variant, b.receipt(order, "intesa"), int(order.order_id))
        copies = [(f"{n:02}_{name}", data) for n in range(40)]
        b.add_mail(
            f"f{n + 1}-{variant}-copies", f"confirm {order.code}; items duplicate", order, copies,
            group="flood", form=form,
        )  # fmt: skip


# --- judging --------------------------------------------------------------------------------


@dataclass
class Outcomes:
    """What pecflow made of each message, read back from its database."""

    messages: dict[str, tuple[int, str, str | None]]  # case name -> (id, outcome, reason)
    confirmed: dict[int, set[str]]  # message -> order codes its payments confirmed
    reviews: dict[int, set[str]]  # message -> review reasons
    review_items: dict[int, Counter[str]]  # message -> review items opened, by reason
    documents: dict[int, list[tuple[str, str | None, dict[str, Any]]]]  # (kind, code, facts)
    replies: dict[int, set[str]]  # message -> kinds of e-mail answering its sender


def read_outcomes(engine: Engine) -> Outcomes:
    from pipeline.store.models import (
        Document,
        Message,
        OutboxMessage,
        Payment,
        PaymentOrder,
        ReviewItem,
    )

    found = Outcomes({}, {}, {}, {}, {}, {})
    with engine.connect() as conn:
        for mid, source_id, outcome, reason in conn.execute(
            select(Message.id, Message.source_id, Message.outcome, Message.reason)
        ):
            found.messages[source_id.rpartition("@")[0] or source_id] = (mid, outcome, reason)
        for mid, oid in conn.execute(
            select(Payment.message_id, PaymentOrder.order_id)
            .join(PaymentOrder, PaymentOrder.payment_id == Payment.id)
            .where(Payment.status == "confirmed")
        ):
            found.confirmed.setdefault(mid, set()).add(f"LM{oid:07d}")
        for mid, reason in conn.execute(select(ReviewItem.message_id, ReviewItem.reason)):
            found.reviews.setdefault(mid, set()).add(reason)
            found.review_items.setdefault(mid, Counter())[reason] += 1
        for mid, kind, oid, facts in conn.execute(
            select(Document.message_id, Document.kind, Document.order_id, Document.facts)
        ):
            code = f"LM{oid:07d}" if oid is not None else None
            found.documents.setdefault(mid, []).append((kind, code, facts or {}))
        for (key,) in conn.execute(select(OutboxMessage.idempotency_key)):
            kind, _, rest = key.partition(":")
            if rest.isdigit():  # keyed by the message it answers
                found.replies.setdefault(int(rest), set()).add(kind)
    return found


_VERDICTS = {"valid": True, "invalid": False, "unverified": None}


def _holds(clause: str, mid: int, outcome: str, reason: str | None, seen: Outcomes) -> bool:
    verb, _, what = clause.partition(" ")
    got = seen.confirmed.get(mid, set())
    reasons = seen.reviews.get(mid, set())
    documents = seen.documents.get(mid, [])
    if verb == "confirm":
        return got == set(what.split())
    if verb == "review":
        return outcome == "review" and not got and (what == "*" or what in reasons)
    if verb == "quarantined":
        return outcome == "quarantined" and not got
    if verb == "ignored":
        said = NOISE_REASONS[what]
        return outcome == "ignored" and said in (reason or "") and not reasons and not got
    if verb == "attach":
        code, kind = what.split()
        return any(k == kind and c == code for k, c, _ in documents)
    if verb == "expires":
        code, day = what.split()
        return any(
            k == "identity_document" and c == code and f.get("expires") == day
            for k, c, f in documents
        )
    if verb == "signed":
        return any(
            k == "contract" and "signed_by" in f and f.get("signature_valid") is _VERDICTS[what]
            for k, _, f in documents
        )
    if verb == "reply":
        return what in seen.replies.get(mid, set())
    if verb == "items":
        return seen.review_items.get(mid, Counter()) == Counter(what.split(","))
    if verb == "no-reply":
        return not seen.replies.get(mid)
    raise ValueError(f"unknown clause {clause!r}")


@dataclass
class Scorecard:
    """Per group and form: how many cases, how many right, and every wrong one."""

    total: Counter[tuple[str, str]] = field(default_factory=Counter)
    right: Counter[tuple[str, str]] = field(default_factory=Counter)
    wrong_confirmations: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def share(self, groups: tuple[str, ...] = (), forms: tuple[str, ...] = ()) -> float:
        """The share right among the cases of these groups (all when empty) and forms."""
        keys = [
            key
            for key in self.total
            if (not groups or key[0] in groups) and (not forms or key[1] in forms)
        ]
        total = sum(self.total[key] for key in keys)
        return sum(self.right[key] for key in keys) / total if total else 1.0

    def table(self) -> list[str]:
        """One row per group, one column per form: right/total."""
        groups = sorted({group for group, _ in self.total})
        lines = [f"{'group':12}" + "".join(f"{form:>12}" for form in FORMS) + f"{'all':>14}"]
        for group in groups:
            cells = []
            for form in FORMS:
                total = self.total[(group, form)]
                cells.append(f"{self.right[(group, form)]:>5}/{total:<3}" if total else "")
            share = self.share((group,))
            lines.append(f"{group:12}" + "".join(f"{c:>12}" for c in cells) + f"{share:>13.1%}")
        return lines


def judge(engine: Engine, cases: list[Case]) -> Scorecard:
    """What pecflow made of each case, against what it should have."""
    seen = read_outcomes(engine)
    card = Scorecard()
    for case in cases:
        key = (case.group, case.form)
        card.total[key] += 1
        mid, outcome, reason = seen.messages.get(case.name, (0, "missing", None))
        clauses = case.expect.split("; ")
        wanted = {
            code for clause in clauses if clause.startswith("confirm ")
            for code in clause.split()[1:]
        }  # fmt: skip
        got = seen.confirmed.get(mid, set())
        if got and got != wanted:
            card.wrong_confirmations.append(f"{case.name}: confirmed {sorted(got)}")
        only_payment = wanted and all(c.startswith("confirm ") for c in clauses)
        failed = [c for c in clauses if not _holds(c, mid, outcome, reason, seen)]
        if only_payment and seen.reviews.get(mid):
            failed.append("no review item")
        if failed:
            found = sorted(got) or sorted(seen.reviews.get(mid, set()))
            card.misses.append(
                f"{case.name}: expected {case.expect}; got {outcome} {found} "
                f"(failed: {'; '.join(failed)}; {reason or ''})"
            )
        else:
            card.right[key] += 1
    return card
