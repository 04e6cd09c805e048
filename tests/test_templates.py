"""Every e-mail template, in every variant, rendered with hostile data and checked for safety.

Each kind gets the context its producer builds (`order_context` plus the keys of
`pipeline.fulfilment`, `pipeline.paperwork`, `pipeline.process._answer`,
`pipeline.services.scheduled`, `pipeline.services.report`, `pipeline.incidents`, and the
`footer`/`office_address`/`guide_url` that
`outbox._write` adds), so a missing key fails here as a Jinja UndefinedError (StrictUndefined).
Each generated example is rendered through every variant of every kind. The names, mailbox,
user-id, password, subject, footer, addresses and details are drawn from accents, apostrophes,
ampersands, quotes, markup, emoji and strings of hundreds of characters; amounts are Decimals
with two places from 0 to 99,999.99.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

import mailer.outbound
from mailer.outbound.render import PAPERS, RenderedEmail, render
from parsers.codes import order_code
from pipeline.incidents import FAILING_BATCHES, IMAP_UNREACHABLE, TITLES
from pipeline.outbox import PRODUCT_LABELS, order_context
from pipeline.rules import replies
from pipeline.rules.money import expected_total
from pipeline.rules.report import DailyReport, LateLine, state_labels
from pipeline.sla import SlaItem
from pipeline.store.models import Incident

ROME = ZoneInfo("Europe/Rome")
CONTRACT, IDENTITY = "contract", "identity_document"
ORDER_CODE = re.compile(r"LM\d{7}")
CHART_SRC = "cid:report-chart@pecflow"

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- generated data -------------------------------------------------------------------------

HOSTILE = (
    "Nicolò",
    "Šimić",
    "àèéìòù ÀÈÉÌÒÙ",
    "D'Angelo",
    "Rossi & Figli",
    'Il "Bello"',
    "<script>alert(1)</script>",
    "</td></table>",
    "</p></body></html>",
    "<!-- x -->",
    "<![CDATA[ x ]]>",
    "&amp; &#39; &lt;",
    "{{ order.code }} {% if x %}",
    "😀 🇮🇹 👩‍💻",
    "\u00a0non\u00a0breaking",
    "riga 1\r\nBcc: spam@example.com",
    "tab\there",
    "a > b < c",
    "x' onmouseover='alert(1)",
    '"><img src=x onerror=alert(1)>',
)
_CHARS = st.characters(blacklist_categories=("Cs", "Cc"))
_WORD = st.sampled_from(HOSTILE)
hostile = st.one_of(
    _WORD,
    st.lists(_WORD | st.text(_CHARS, min_size=1, max_size=12), min_size=1, max_size=8).map(
        " ".join
    ),
    st.text(_CHARS, min_size=1, max_size=300),
    # hundreds of characters
    st.lists(_WORD, min_size=25, max_size=60).map("".join),
)
addresses = st.emails() | hostile
cents = st.sampled_from([0, 1, 99, 100, 99_999, 100_000, 123_456, 9_999_999]) | st.integers(
    0, 9_999_999
)
amounts = cents.map(lambda c: Decimal(c).scaleb(-2))  # two places: 0.00 .. 99999.99
VAT_RATES = {"22.00": "22", "10.00": "10", "5.00": "5", "4.00": "4", "0.00": "0"}
moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2040, 12, 31)).map(
    lambda moment: moment.replace(tzinfo=ROME)
)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))
REASONS = (
    "OCR could not read page 1",
    "encrypted PDF",
    "corrupt PDF",
    "unreadable image",
    "too large: 31457280 bytes",
    "too many pages: 80",
    "winmail.dat attachment",
    "named or declared a PDF but is not one",
    "unsupported content application/x-msdownload",
    "empty file",
)


@dataclass(frozen=True)
class Inputs:
    oid: int
    first_name: str
    last_name: str
    product: str
    mailbox: str
    user_id: str
    password: str
    footer: str
    office_address: str
    guide_url: str
    subject: str
    detail: str
    net: Decimal
    vat_rate: Decimal
    method: str
    due_by: datetime
    received_at: datetime
    expires_on: date
    expired_on: date
    problems: tuple[str, ...]
    advice: str


inputs = st.builds(
    Inputs,
    oid=st.integers(1, 9_999_999),
    first_name=hostile,
    last_name=hostile,
    product=st.sampled_from(sorted(PRODUCT_LABELS)) | hostile,
    mailbox=addresses,
    user_id=hostile,
    password=hostile,
    footer=hostile,
    office_address=addresses,
    guide_url=st.sampled_from(["https://example.it/guida?a=1&b=2#x"]) | hostile,
    subject=hostile,
    detail=hostile,
    net=amounts,
    vat_rate=st.sampled_from(sorted(VAT_RATES)).map(Decimal),
    method=st.sampled_from(["bonifico", "carta"]),
    due_by=moments,
    received_at=moments,
    expires_on=days,
    expired_on=days,
    problems=st.lists(st.sampled_from(REASONS), min_size=1, max_size=4).map(
        lambda reasons: tuple(replies.problems(reasons))
    ),
    advice=st.integers(1, 64 * 1024 * 1024).map(replies.advice),
)

# The same variant with plain ASCII strings: what the HTML's tags must look like.
PLAIN = {
    "first_name": "Mario",
    "last_name": "Rossi",
    "product": "standard",
    "mailbox": "mario.rossi@legalmail.it",
    "user_id": "U12345",
    "password": "Segreta123",
    "footer": "Visura SpA",
    "office_address": "ordini@visura.it",
    "guide_url": "https://example.it/guida",
    "subject": "Documenti ordine",
    "detail": "waiting for review",
}

# --- the variants and what each must show ---------------------------------------------------


@dataclass
class Case:
    kind: str
    context: dict[str, Any]
    values: list[str]  # generated strings, shown verbatim (escaped in HTML)
    fragments: list[str]  # codes, dates, amounts, the variant's own wording
    subject_code: str | None  # the order code the subject must carry
    subject_values: list[str] = field(default_factory=list)
    dynamic_attrs: dict[tuple[str, str], str] = field(default_factory=dict)


def when(moment: datetime) -> str:
    return moment.strftime("%d/%m/%Y alle %H:%M")


def day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def italian(amount: Decimal) -> str:
    """1234.56 -> 1.234,56, written out independently of pipeline.rules.money."""
    units, rest = divmod(int(amount * 100), 100)
    digits, groups = str(units), []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    return ".".join(groups) + f",{rest:02d}"


def _order(i: Inputs, **changes: Any) -> SimpleNamespace:
    values = {
        "code": order_code(i.oid),
        "first_name": i.first_name,
        "last_name": i.last_name,
        "product": i.product,
        "mailbox": i.mailbox,
        "net_amount": i.net,
        "vat_rate": i.vat_rate,
        "total_amount": expected_total(i.net, i.vat_rate, i.method),
        "user_id": None,
        "expires_on": None,
    }
    values.update(changes)
    return SimpleNamespace(**values)


def _outbox(i: Inputs) -> dict[str, Any]:
    """What outbox._write adds to every context."""
    return {"footer": i.footer, "office_address": i.office_address, "guide_url": i.guide_url}


def _customer(i: Inputs, order: SimpleNamespace, extra: dict[str, Any]) -> dict[str, Any]:
    """outbox.enqueue: the order's context, the producer's keys, then _write's."""
    return {"order": order_context(order), **extra, **_outbox(i)}


def _amount_fragments(context: dict[str, Any]) -> list[str]:
    order = context["order"]
    return [
        f"€ {italian(order['net_amount'])}",
        f"€ {italian(order['vat_amount'])}",
        f"€ {italian(order['total_amount'])}",
        f"IVA {VAT_RATES[str(order['vat_rate'])]}%",
    ]


def payment_received(i: Inputs, *, mailbox: bool = True) -> Case:
    order = _order(i, mailbox=i.mailbox if mailbox else "")
    context = _customer(i, order, {})
    o = context["order"]
    shown = [o["customer_name"], o["product_label"], i.office_address, i.footer]
    return Case(
        "payment_received",
        context,
        [*shown, i.mailbox] if mailbox else shown,
        [order.code, *_amount_fragments(context), "In lavorazione"],
        order.code,
    )


def documents_received(i: Inputs, missing: list[str]) -> Case:
    order = _order(i)
    # fulfilment.mark_ready when nothing is missing, paperwork._tell otherwise.
    extra = {"missing": missing, "expired_on": None, "due_by": None if missing else i.due_by}
    context = _customer(i, order, extra)
    o = context["order"]
    values = [o["customer_name"], o["product_label"], i.mailbox, i.footer]
    if not missing:
        return Case(
            "documents_received",
            context,
            values,
            [order.code, f"La casella sarà attivata entro il {when(i.due_by)}"],
            order.code,
        )
    return Case(
        "documents_received",
        context,
        [*values, i.office_address],
        [order.code, "manca ancora", *(PAPERS[m] for m in missing)],
        order.code,
        ["ne manca ancora uno" if len(missing) == 1 else f"ne mancano ancora {len(missing)}"],
    )


def documents_missing(i: Inputs, missing: list[str], expired: bool) -> Case:
    order = _order(i)
    expired_on = i.expired_on if expired else None
    extra = {"missing": missing, "expired_on": expired_on, "due_by": None}
    context = _customer(i, order, extra)
    o = context["order"]
    fragments = [order.code, "è stato sospeso", *(PAPERS[m] for m in missing)]
    if expired:
        fragments.append(f"Il documento d'identità inviato è scaduto il {day(i.expired_on)}")
    return Case(
        "documents_missing",
        context,
        [o["customer_name"], o["product_label"], i.mailbox, i.office_address, i.footer],
        fragments,
        order.code,
        ["ordine sospeso"],
    )


DELIVERY_WORDING = {
    "separate": "la password le arriva con un messaggio separato, subito dopo questo",
    "provider": "La password le sarà comunicata direttamente dal gestore Legalmail",
    "same": "Conservi la password in un luogo sicuro",
}


def activation(i: Inputs, delivery: str) -> Case:
    order = _order(i, user_id=i.user_id, expires_on=i.expires_on)
    password = i.password if delivery == "same" else None
    context = _customer(i, order, {"delivery": delivery, "password": password})
    values = [context["order"]["customer_name"], i.mailbox, i.user_id, i.guide_url, i.footer]
    return Case(
        "activation",
        context,
        [*values, i.password] if password else values,
        [order.code, day(i.expires_on), DELIVERY_WORDING[delivery]],
        order.code,
        [i.mailbox],
        {("a", "href"): i.guide_url},
    )


def activation_password(i: Inputs) -> Case:
    order = _order(i, user_id=i.user_id, expires_on=i.expires_on)
    context = _customer(i, order, {"delivery": "separate", "password": i.password})
    return Case(
        "activation_password",
        context,
        [context["order"]["customer_name"], i.mailbox, i.user_id, i.password, i.footer],
        ["ecco la password provvisoria"],
        order.code,
    )


def renewal_done(i: Inputs) -> Case:
    order = _order(i, expires_on=i.expires_on)
    context = _customer(i, order, {})
    o = context["order"]
    return Case(
        "renewal_done",
        context,
        [o["customer_name"], i.mailbox, o["product_label"], i.footer],
        [order.code, f"La nuova scadenza è il {day(i.expires_on)}", *_amount_fragments(context)],
        order.code,
        [i.mailbox],
    )


def unreadable_reply(i: Inputs, with_code: bool) -> Case:
    code = order_code(i.oid) if with_code else None
    # process._answer: no order in the context, so the greeting is "Gentile Cliente".
    context = {
        "subject": i.subject,
        "received_at": i.received_at,
        "problems": list(i.problems),
        "advice": i.advice,
        "code": code,
        **_outbox(i),
    }
    fragments = ["Gentile Cliente,", f"il {when(i.received_at)} con oggetto"]
    fragments.append(code if code else "(LM seguito da 7 cifre)")
    return Case(
        "unreadable_reply",
        context,
        [i.subject, *i.problems, i.advice, i.office_address, i.footer],
        fragments,
        code,
        [f"(ordine {code})"] if code else [],
    )


def receipt_missing(i: Inputs, with_code: bool) -> Case:
    code = order_code(i.oid) if with_code else None
    # process: sent to whoever wrote, with no order in the context ("Gentile Cliente").
    context = {"subject": i.subject, "received_at": i.received_at, "code": code, **_outbox(i)}
    fragments = ["Gentile Cliente,", f"il {when(i.received_at)} con oggetto", "non è la ricevuta"]
    fragments.append(code if code else "(LM seguito da 7 cifre)")
    return Case(
        "receipt_missing",
        context,
        [i.subject, i.office_address, i.footer],
        fragments,
        code,
        [f"(ordine {code})"] if code else [],
    )


def ready_for_activation(i: Inputs) -> Case:
    order = _order(i)
    context = {"order": order_context(order), "due_by": i.due_by, **_outbox(i)}
    o = context["order"]
    return Case(
        "ready_for_activation",
        context,
        [o["customer_name"], o["product_label"], i.mailbox, i.footer],
        [f"pecflow orders activate {order.code} --user-id USER-ID", when(i.due_by)],
        order.code,
        [when(i.due_by)],
    )


SLA_WORDING = {
    "payment": "Un pagamento non è stato lavorato entro la scadenza promessa",
    "documents": "Un ordine con i documenti completi non è stato evaso",
}


def sla_alert(i: Inputs, kind: str) -> Case:
    ref = order_code(i.oid) if kind == "documents" else f"payment {i.oid}"
    item = SlaItem(kind, f"{kind}:{i.oid}", ref, i.due_by, "late", i.detail)
    context = {"item": item, "due_by": i.due_by, **_outbox(i)}
    deadline = i.due_by.strftime("%d/%m/%Y %H:%M")
    return Case(
        "sla_alert",
        context,
        [i.detail, i.footer],
        [ref, deadline, SLA_WORDING[kind]],
        ref if kind == "documents" else None,
        [ref, f"(scadenza {deadline})"],
    )


def nightly_report(i: Inputs, chart: bool) -> Case:
    code = order_code(i.oid)
    report = DailyReport(
        day=i.due_by.date(),
        generated_at=i.received_at,
        orders_by_state={"awaiting_payment": 3, "processing": 11, "suspended": 2},
        payments_confirmed=5,
        payments_to_review=1,
        reviews_waiting=4,
        payments_due=20,
        payments_on_time=19,
        documents_due=8,
        documents_on_time=6,
        late=[
            LateLine("documents", code, i.due_by, i.detail),
            LateLine("payment", f"payment {i.oid}", i.due_by, i.subject),
        ],
    )
    base = {"report": report, "labels": state_labels(), "footer": i.footer}
    # pipeline.services.report: the e-mail shows the chart inline, the file on disk without it.
    context = {**base, "chart_src": CHART_SRC if chart else None, **_outbox(i)}
    report_day = day(report.day)
    return Case(
        "nightly_report",
        context,
        [i.detail, i.subject, i.footer],
        [code, f"payment {i.oid}", f"Rapporto pecflow del {report_day}", "95%"],
        None,
        [report_day],
        {("img", "src"): CHART_SRC} if chart else {},
    )


INCIDENT_WORDING = {
    IMAP_UNREACHABLE: "pecflow mailbox check",
    FAILING_BATCHES: "--failed-only",
}


def incident_alert(i: Inputs, kind: str) -> Case:
    """incidents.observe: the detail is an error message, cut at 2000 characters."""
    batch_id = i.oid if kind == FAILING_BATCHES else None
    incident = Incident(
        kind=kind, opened_at=i.received_at, last_seen_at=i.due_by, count=3, detail=i.detail[:2000]
    )
    context = {
        "incident": incident,
        "title": TITLES[kind],
        "opened_at": i.received_at,
        "batch_id": batch_id,
        **_outbox(i),
    }
    fragments = [when(i.received_at), "(3 esecuzioni di seguito)", INCIDENT_WORDING[kind]]
    if batch_id is not None:
        fragments.append(f"pecflow batches rerun {batch_id} --failed-only")
    return Case(
        "incident_alert",
        context,
        [i.detail, i.footer],
        fragments,
        None,
        [TITLES[kind], f"(dal {when(i.received_at)})"],
    )


@dataclass(frozen=True)
class Variant:
    name: str
    build: Callable[[Inputs], Case]


VARIANTS = [
    Variant("payment_received", payment_received),
    Variant("payment_received/no-mailbox", lambda i: payment_received(i, mailbox=False)),
    Variant("documents_received/complete", lambda i: documents_received(i, [])),
    Variant("documents_received/contract", lambda i: documents_received(i, [CONTRACT])),
    Variant("documents_received/identity", lambda i: documents_received(i, [IDENTITY])),
    Variant("documents_received/both", lambda i: documents_received(i, [CONTRACT, IDENTITY])),
    Variant("documents_missing/identity", lambda i: documents_missing(i, [IDENTITY], False)),
    Variant(
        "documents_missing/expired",
        lambda i: documents_missing(i, [CONTRACT, IDENTITY], True),
    ),
    Variant("activation/separate", lambda i: activation(i, "separate")),
    Variant("activation/provider", lambda i: activation(i, "provider")),
    Variant("activation/same", lambda i: activation(i, "same")),
    Variant("activation_password", activation_password),
    Variant("renewal_done", renewal_done),
    Variant("unreadable_reply/code", lambda i: unreadable_reply(i, True)),
    Variant("unreadable_reply/no-code", lambda i: unreadable_reply(i, False)),
    Variant("receipt_missing/code", lambda i: receipt_missing(i, True)),
    Variant("receipt_missing/no-code", lambda i: receipt_missing(i, False)),
    Variant("ready_for_activation", ready_for_activation),
    Variant("sla_alert/payment", lambda i: sla_alert(i, "payment")),
    Variant("sla_alert/documents", lambda i: sla_alert(i, "documents")),
    Variant("nightly_report/chart", lambda i: nightly_report(i, True)),
    Variant("nightly_report/no-chart", lambda i: nightly_report(i, False)),
    Variant("incident_alert/imap", lambda i: incident_alert(i, IMAP_UNREACHABLE)),
    Variant("incident_alert/batches", lambda i: incident_alert(i, FAILING_BATCHES)),
]


def _rendered(variant: Variant, data: Inputs) -> tuple[Case, RenderedEmail]:
    case = variant.build(data)
    return case, render(case.kind, case.context)


def _every_variant(data: Inputs) -> Iterator[tuple[Variant, Case, RenderedEmail]]:
    """Each generated example goes through every variant of every kind."""
    for variant in VARIANTS:
        yield (variant, *_rendered(variant, data))


# --- reading the HTML ----------------------------------------------------------------------

VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


class _Html(HTMLParser):
    """Tags, their nesting, attributes and the (unescaped) text of a page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.shape: list[tuple[Any, ...]] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.starts: Counter[str] = Counter()
        self.open: list[str] = []
        self.errors: list[str] = []
        self.decls: list[str] = []
        self.data: list[str] = []
        self.feed(html)
        self.close()
        if self.open:
            self.errors.append(f"never closed: {self.open}")

    @property
    def text(self) -> str:
        return "".join(self.data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.shape.append(("start", tag, tuple(attrs)))
        self.attrs += [(tag, name, value) for name, value in attrs]
        self.starts[tag] += 1
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.errors.append(f"self-closed <{tag}/>")
            self.open.pop()

    def handle_endtag(self, tag: str) -> None:
        self.shape.append(("end", tag))
        if tag in VOID:
            self.errors.append(f"end tag of void element </{tag}>")
        elif not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> while open: {self.open}")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.data.append(data)

    def handle_decl(self, decl: str) -> None:
        self.decls.append(decl)

    def handle_comment(self, data: str) -> None:
        self.errors.append(f"comment <!--{data}-->")

    def handle_pi(self, data: str) -> None:
        self.errors.append(f"processing instruction <?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.errors.append(f"declaration <![{data}]>")


def _structure(page: _Html, case: Case) -> list[tuple[Any, ...]]:
    """The page's tags and attributes, with the settings' URLs (guide, chart) as placeholders."""
    shape: list[tuple[Any, ...]] = []
    for event in page.shape:
        if event[0] == "start":
            tag, attrs = event[1], event[2]
            attrs = tuple(
                (name, "<url>" if case.dynamic_attrs.get((tag, name)) == value else value)
                for name, value in attrs
            )
            event = ("start", tag, attrs)
        shape.append(event)
    return shape


ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


# --- the properties ------------------------------------------------------------------------


def test_every_template_kind_has_a_variant_here() -> None:
    """A new template kind must be added to VARIANTS, so that it is checked too."""
    folder = Path(mailer.outbound.__file__).parent / "templates"
    kinds = {path.name.removesuffix(".subject.j2") for path in folder.glob("*.subject.j2")}
    assert kinds == {v.name.partition("/")[0] for v in VARIANTS}


@pytest.mark.slow  # 60 examples, each through every variant: 1-2 s
@EXAMPLES
@given(data=inputs)
def test_subject_is_one_nonempty_line_carrying_the_order_code(data: Inputs) -> None:
    """No CR/LF whatever the data; the order code (LM + 7 digits) wherever there is an order,
    and in unreadable_reply when the message named one."""
    for variant, case, email in _every_variant(data):
        subject = email.subject
        assert subject.strip(), variant.name
        assert "\r" not in subject, variant.name
        assert "\n" not in subject, variant.name
        if case.subject_code is not None:
            assert ORDER_CODE.fullmatch(case.subject_code), variant.name
            assert case.subject_code in subject, variant.name
        for value in case.subject_values:
            assert " ".join(value.split()) in subject, variant.name


@pytest.mark.slow  # 60 examples, each through every variant: 1-2 s
@EXAMPLES
@given(data=inputs)
def test_html_is_well_formed_and_its_tags_do_not_depend_on_the_data(data: Inputs) -> None:
    """Balanced tags, one html/head/body, no script, and the very tags and attributes of the
    same variant rendered with plain ASCII strings: the data creates no tag or attribute."""
    plain_data = replace(data, **PLAIN)
    for variant, case, email in _every_variant(data):
        page = _Html(email.html)
        assert page.errors == [], variant.name
        assert page.decls == ["DOCTYPE html"], variant.name
        once = (page.starts["html"], page.starts["head"], page.starts["body"])
        assert once == (1, 1, 1), variant.name
        assert "script" not in page.starts, variant.name
        plain_case, plain = _rendered(variant, plain_data)
        assert _structure(page, case) == _structure(_Html(plain.html), plain_case), variant.name
        assert email.html.count("<") == plain.html.count("<"), variant.name
        assert email.html.count(">") == plain.html.count(">"), variant.name
        for (tag, name), url in case.dynamic_attrs.items():
            assert (tag, name, url) in page.attrs, variant.name


@pytest.mark.slow  # 60 examples, each through every variant: 1-2 s
@EXAMPLES
@given(data=inputs)
def test_every_value_is_escaped_in_the_html_and_readable_in_its_text(data: Inputs) -> None:
    """The raw HTML holds each value escaped (no raw `<`, `&`, quotes from the data), and the
    text the parser reads back holds it verbatim."""
    for variant, case, email in _every_variant(data):
        text = _Html(email.html).text
        for value in case.values:
            assert str(escape(value)) in email.html, (variant.name, value)
            assert value in text, (variant.name, value)


@pytest.mark.slow  # 60 examples, each through every variant: 1-2 s
@EXAMPLES
@given(data=inputs)
def test_plain_text_keeps_every_value_verbatim_without_html_escapes(data: Inputs) -> None:
    """Values as given (no &amp;, &#39;, &lt;), and nothing but the values brings markup."""
    for variant, case, email in _every_variant(data):
        rest = email.text
        for value in case.values:
            assert value in email.text, (variant.name, value)
        for value in sorted(case.values, key=len, reverse=True):
            rest = rest.replace(value, "")
        assert ENTITY.search(rest) is None, variant.name
        assert "<" not in rest, variant.name
        assert ">" not in rest, variant.name


@pytest.mark.slow  # 60 examples, each through every variant: 1-2 s
@EXAMPLES
@given(data=inputs)
def test_codes_dates_amounts_and_the_variant_wording_appear_in_text_and_html(
    data: Inputs,
) -> None:
    """The order code, dates as dd/mm/yyyy (alle HH:MM), amounts as € 1.234,56, the papers
    asked for and the sentence of the variant (delivery, SLA kind, incident kind)."""
    for variant, case, email in _every_variant(data):
        text = _Html(email.html).text
        for fragment in case.fragments:
            assert fragment in email.text, (variant.name, fragment)
            assert fragment in text, (variant.name, fragment)


@pytest.mark.slow  # 60 examples a kind: ~1 s
@pytest.mark.parametrize("kind", [payment_received, renewal_done], ids=lambda k: k.__name__)
@settings(max_examples=60, deadline=None, database=None)
@given(data=inputs)
def test_amounts_are_written_in_italian_notation_on_their_own_lines(
    kind: Callable[[Inputs], Case], data: Inputs
) -> None:
    """Imponibile, IVA and Totale, each with its own amount as 1.234,56 (never 1,234.56)."""
    case = kind(replace(data, **PLAIN))
    email = render(case.kind, case.context)
    order = case.context["order"]
    net, vat, total = (italian(order[key]) for key in ("net_amount", "vat_amount", "total_amount"))
    rate = VAT_RATES[str(order["vat_rate"])]
    lines = email.text.splitlines()
    assert f"  Imponibile: € {net}" in lines
    assert f"  IVA {rate}%: € {vat}" in lines
    assert f"  Totale:     € {total}" in lines
    text = _Html(email.html).text
    assert f"Imponibile€ {net}" in text
    assert f"IVA {rate}%€ {vat}" in text
    assert f"Totale€ {total}" in text
    for amount in (order["net_amount"], order["total_amount"]):
        if amount >= 1000:
            english = f"{amount:,.2f}"
            assert english not in email.text
            assert english not in text


# --- one worked example each for the ops e-mails -------------------------------------------

EXAMPLE = Inputs(
    oid=1234,
    first_name="Nicolò",
    last_name="D'Angelo-Šimić",
    product="standard_pro",
    mailbox="nicolo.dangelo@legalmail.it",
    user_id="U-0001234",
    password="x<y&z'\"",
    footer="Visura S.p.A. & Figli - <Ufficio PEC>",
    office_address="ordini@visura.it",
    guide_url="https://example.it/guida?a=1&b=2",
    subject="Re: ordine LM0001234 <urgente>",
    detail="waiting for review for LM0001234 <script>alert(1)</script>",
    net=Decimal("12345.60"),
    vat_rate=Decimal("22.00"),
    method="bonifico",
    due_by=datetime(2026, 11, 23, 18, 0, tzinfo=ROME),
    received_at=datetime(2026, 11, 24, 2, 30, tzinfo=ROME),
    expires_on=date(2029, 11, 23),
    expired_on=date(2025, 1, 31),
    problems=tuple(replies.problems(["encrypted PDF"])),
    advice=replies.advice(10 * 1024 * 1024),
)


def test_sla_alert_example_for_a_late_order() -> None:
    email = render("sla_alert", sla_alert(EXAMPLE, "documents").context)
    assert email.subject == "pecflow: in ritardo l'evasione LM0001234 (scadenza 23/11/2026 18:00)"
    assert "Stato:       waiting for review for LM0001234 <script>alert(1)</script>" in email.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert "Visura S.p.A. &amp; Figli - &lt;Ufficio PEC&gt;" in email.html


def test_nightly_report_example_with_late_lines() -> None:
    email = render("nightly_report", nightly_report(EXAMPLE, True).context)
    assert email.subject == "pecflow: rapporto del 23/11/2026"
    assert "  - LM0001234 (documenti), scadenza 23/11/2026 18:00:" in email.text
    assert "Pagamenti: 19 in tempo su 20 in scadenza (95%)" in email.text
    assert f'<img src="{CHART_SRC}"' in email.html
    assert "<td>Re: ordine LM0001234 &lt;urgente&gt;</td>" in email.html
