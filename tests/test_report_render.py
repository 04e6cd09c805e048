"""Nightly ops report: CSV, chart and e-mail agree on the figures and survive odd input."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import warnings
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mailer.outbound.render import render
from pipeline.rules.report import (
    DailyReport,
    LateLine,
    chart_png,
    compliance,
    compliance_percent,
    report_csv,
    state_labels,
)
from pipeline.rules.states import OrderState

ROME = timezone(timedelta(hours=1))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _report(**changes: Any) -> DailyReport:
    values: dict[str, Any] = {
        "day": date(2026, 11, 23),
        "generated_at": datetime(2026, 11, 24, 2, 30, tzinfo=ROME),
        "orders_by_state": {
            "awaiting_payment": 3,
            "processing": 11,
            "suspended": 2,
            "fulfilled": 47,
        },
        "payments_confirmed": 5,
        "payments_to_review": 1,
        "reviews_waiting": 4,
        "payments_due": 20,
        "payments_on_time": 19,
        "documents_due": 8,
        "documents_on_time": 6,
        "late": [
            LateLine("payment", "payment 17", datetime(2026, 11, 23, 18, 0, tzinfo=ROME), "CRO"),
            LateLine("documents", "LM0001234", datetime(2026, 11, 23, 9, 5, tzinfo=ROME), "x"),
        ],
    }
    values.update(changes)
    return DailyReport(**values)


def _context(report: DailyReport, chart_src: str | None = "cid:chart-1@pecflow") -> dict[str, Any]:
    return {
        "report": report,
        "labels": state_labels(),
        "chart_src": chart_src,
        "footer": "Visura S.p.A.",
    }


def _csv_rows(report: DailyReport) -> list[list[str]]:
    return list(csv.reader(io.StringIO(report_csv(report))))


def _figures(report: DailyReport) -> dict[tuple[str, str], str]:
    rows = _csv_rows(report)
    assert rows[0] == ["section", "key", "value"]
    assert all(len(row) == 3 for row in rows)
    return {(section, key): value for section, key, value in rows[1:]}


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs))

    def handle_data(self, data: str) -> None:
        self.text += data


def _parse(html: str) -> _Html:
    parser = _Html()
    parser.feed(html)
    return parser


def test_csv_round_trips_through_csv_reader_with_every_figure_in_a_stable_order() -> None:
    report = _report()
    rows = _csv_rows(report)
    assert [(section, key) for section, key, _ in rows[1:]] == [
        ("report", "day"),
        ("report", "generated_at"),
        ("orders", "awaiting_payment"),
        ("orders", "processing"),
        ("orders", "suspended"),
        ("orders", "fulfilled"),
        ("payments", "confirmed"),
        ("payments", "to_review"),
        ("review", "waiting"),
        ("sla", "payments_due"),
        ("sla", "payments_on_time"),
        ("sla", "payments_compliance"),
        ("sla", "documents_due"),
        ("sla", "documents_on_time"),
        ("sla", "documents_compliance"),
        ("late", "payment 17"),
        ("late", "LM0001234"),
    ]
    figures = _figures(report)
    assert figures[("report", "day")] == "2026-11-23"
    assert datetime.fromisoformat(figures[("report", "generated_at")]) == report.generated_at
    assert figures[("orders", "awaiting_payment")] == "3"
    assert figures[("orders", "processing")] == "11"
    assert figures[("orders", "suspended")] == "2"
    assert figures[("orders", "fulfilled")] == "47"
    assert figures[("payments", "confirmed")] == "5"
    assert figures[("payments", "to_review")] == "1"
    assert figures[("review", "waiting")] == "4"
    assert figures[("sla", "payments_due")] == "20"
    assert figures[("sla", "payments_on_time")] == "19"
    assert float(figures[("sla", "payments_compliance")]) == pytest.approx(0.95)
    assert figures[("sla", "documents_due")] == "8"
    assert figures[("sla", "documents_on_time")] == "6"
    assert float(figures[("sla", "documents_compliance")]) == pytest.approx(0.75)
    due_by = datetime.fromisoformat(figures[("late", "LM0001234")])
    assert due_by == datetime(2026, 11, 23, 9, 5, tzinfo=ROME)
    assert due_by.utcoffset() == timedelta(hours=1)
    assert report_csv(report) == report_csv(_report())


def test_csv_shows_missing_states_as_zero_and_survives_commas_and_quotes_in_refs() -> None:
    hostile_ref = 'LM1, "quoted"\nnext line'
    late = [LateLine("documents", hostile_ref, datetime(2026, 11, 23, 9, 0, tzinfo=ROME), "")]
    figures = _figures(_report(orders_by_state={"fulfilled": 1}, late=late))
    assert figures[("orders", "awaiting_payment")] == "0"
    assert figures[("orders", "fulfilled")] == "1"
    assert ("late", hostile_ref) in figures


def test_compliance_is_none_when_nothing_was_due_and_a_ratio_otherwise() -> None:
    assert compliance(0, 0) is None
    assert compliance(3, 4) == 0.75
    assert compliance(0, 4) == 0.0
    assert compliance_percent(0, 0) is None
    assert compliance_percent(2, 3) == Decimal("66.6")
    # One miss in two thousand must not show as a perfect score.
    assert compliance_percent(1999, 2000) == Decimal("99.9")
    assert compliance_percent(5, 5) == Decimal("100.0")
    with pytest.raises(ValueError):
        compliance(5, 4)
    with pytest.raises(ValueError):
        compliance(-1, 4)


def test_nothing_due_is_empty_in_csv_and_n_d_in_html_and_text() -> None:
    report = _report(payments_due=0, payments_on_time=0, documents_due=0, documents_on_time=0)
    figures = _figures(report)
    assert figures[("sla", "payments_compliance")] == ""
    assert figures[("sla", "documents_compliance")] == ""
    email = render("nightly_report", _context(report))
    assert "Pagamenti: 0 in tempo su 0 in scadenza (n/d)" in email.text
    assert "in scadenza (n/d)" in email.text.split("Documenti", 1)[1]
    html_text = _parse(email.html).text
    assert html_text.count("n/d") == 2
    assert "%" not in html_text.split("Puntualità (SLA)", 1)[1].split("In ritardo", 1)[0]


def test_emails_show_percentages_the_italian_way_with_date_subject() -> None:
    report = _report(payments_due=3, payments_on_time=2)
    email = render("nightly_report", _context(report))
    assert email.subject == "pecflow: rapporto del 23/11/2026"
    assert "(66,6%)" in email.text
    assert "(75%)" in email.text
    html_text = _parse(email.html).text
    assert "66,6%" in html_text
    assert "75%" in html_text
    assert "n/d" not in html_text


def test_emails_list_orders_by_italian_label_and_late_items_with_local_deadline() -> None:
    report = _report()
    email = render("nightly_report", _context(report))
    html_text = _parse(email.html).text
    for state in OrderState:
        assert f"{state.label}: {report.orders_by_state[state.value]}" in email.text
        assert state.label in html_text
    assert "payment 17 (pagamento), scadenza 23/11/2026 18:00: CRO" in email.text
    assert "LM0001234 (documenti), scadenza 23/11/2026 09:05" in email.text
    assert "23/11/2026 09:05" in html_text
    assert "Elementi in attesa: 4" in email.text


def test_html_escapes_hostile_ref_and_detail_of_a_late_item() -> None:
    hostile = "<script>alert('x')</script>"
    late = [LateLine("payment", hostile, datetime(2026, 11, 23, 9, 0, tzinfo=ROME), hostile)]
    email = render("nightly_report", _context(_report(late=late)))
    parsed = _parse(email.html)
    assert "script" not in parsed.tags
    assert parsed.text.count(hostile) == 2
    assert "&lt;script&gt;" in email.html
    assert hostile in email.text


def test_html_has_the_chart_only_when_a_chart_src_is_given() -> None:
    with_chart = _parse(render("nightly_report", _context(_report(), "cid:chart-1@pecflow")).html)
    assert [image["src"] for image in with_chart.images] == ["cid:chart-1@pecflow"]
    assert with_chart.images[0]["alt"]
    without = render("nightly_report", _context(_report(), None))
    assert _parse(without.html).images == []
    assert "cid:" not in without.html


@pytest.mark.parametrize(
    "report",
    [
        _report(),
        _report(
            orders_by_state={},
            payments_confirmed=0,
            payments_to_review=0,
            reviews_waiting=0,
            payments_due=0,
            payments_on_time=0,
            documents_due=0,
            documents_on_time=0,
            late=[],
        ),
    ],
    ids=["with-data", "all-zero"],
)
def test_chart_is_a_small_valid_png_and_the_same_bytes_each_time(report: DailyReport) -> None:
    with warnings.catch_warnings():
        # matplotlib only warns about a degenerate all-zero axis; treat that as a failure.
        warnings.simplefilter("error")
        png = chart_png(report)
    assert png.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == (480, 240)
        assert "Software" not in image.info
        image.verify()
    assert chart_png(report) == png


def test_chart_changes_with_the_figures() -> None:
    assert chart_png(_report()) != chart_png(_report(orders_by_state={"fulfilled": 1}))


@pytest.mark.integration  # a fresh interpreter, in a subprocess
def test_chart_does_not_load_pyplot() -> None:
    # A fresh interpreter, because another test in the same run might import pyplot.
    code = (
        "import sys\n"
        "from tests.test_report_render import _report\n"
        "from pipeline.rules.report import chart_png\n"
        "chart_png(_report())\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot loaded'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr


def test_impossible_reports_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        _report(generated_at=datetime(2026, 11, 24, 2, 30))
    with pytest.raises(ValueError, match="unknown order states"):
        _report(orders_by_state={"cancelled": 1})
    with pytest.raises(ValueError, match="negative"):
        _report(reviews_waiting=-1)
    with pytest.raises(ValueError, match="on time"):
        _report(documents_due=1, documents_on_time=2)
    with pytest.raises(ValueError, match="aware"):
        LateLine("payment", "payment 1", datetime(2026, 11, 23, 9, 0), "")
    with pytest.raises(ValueError, match="kind"):
        LateLine("invoice", "x", datetime(2026, 11, 23, 9, 0, tzinfo=ROME), "")


_counts = st.integers(min_value=0, max_value=10**9)


@st.composite
def _sla(draw: st.DrawFn) -> tuple[int, int]:
    due = draw(_counts)
    return due, draw(st.integers(min_value=0, max_value=due))


@settings(max_examples=60, deadline=None)
@given(
    orders=st.fixed_dictionaries({state.value: _counts for state in OrderState}),
    confirmed=_counts,
    to_review=_counts,
    waiting=_counts,
    payments=_sla(),
    documents=_sla(),
    refs=st.lists(st.text(max_size=20), max_size=5),
)
def test_any_non_negative_counts_render_everywhere_and_reach_the_csv(
    orders: dict[str, int],
    confirmed: int,
    to_review: int,
    waiting: int,
    payments: tuple[int, int],
    documents: tuple[int, int],
    refs: list[str],
) -> None:
    late = [
        LateLine("payment", ref, datetime(2026, 11, 23, 9, 0, tzinfo=ROME), ref) for ref in refs
    ]
    report = _report(
        orders_by_state=orders,
        payments_confirmed=confirmed,
        payments_to_review=to_review,
        reviews_waiting=waiting,
        payments_due=payments[0],
        payments_on_time=payments[1],
        documents_due=documents[0],
        documents_on_time=documents[1],
        late=late,
    )
    rows = _csv_rows(report)
    figures = {(section, key): value for section, key, value in rows[1:]}
    for state, count in orders.items():
        assert figures[("orders", state)] == str(count)
    assert figures[("payments", "confirmed")] == str(confirmed)
    assert figures[("payments", "to_review")] == str(to_review)
    assert figures[("review", "waiting")] == str(waiting)
    assert figures[("sla", "payments_due")] == str(payments[0])
    assert figures[("sla", "payments_on_time")] == str(payments[1])
    assert figures[("sla", "documents_due")] == str(documents[0])
    assert figures[("sla", "documents_on_time")] == str(documents[1])
    for key, (due, on_time) in {"payments": payments, "documents": documents}.items():
        value = figures[("sla", f"{key}_compliance")]
        if due == 0:
            assert value == ""
        else:
            assert 0.0 <= float(value) <= on_time / due
    assert [row[1] for row in rows if row[0] == "late"] == refs
    email = render("nightly_report", _context(report))
    assert f"Confermati: {confirmed}\n" in email.text
    assert f"Elementi in attesa: {waiting}\n" in email.text
    assert all(ref in email.text for ref in refs)
    assert "script" not in _parse(email.html).tags
