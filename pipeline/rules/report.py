"""The nightly ops report as plain values, a CSV and a chart.

Kept free of database and mail I/O so the figures can be checked in tests and the same report
can feed the e-mail body, its CSV attachment and its inline chart without drifting apart.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from pipeline.rules.money import format_percent
from pipeline.rules.states import OrderState

LATE_KINDS = frozenset({"payment", "documents"})
CHART_SIZE_INCHES = (5.0, 2.5)
CHART_DPI = 96


def _is_aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.tzinfo.utcoffset(moment) is not None


@dataclass(frozen=True)
class LateLine:
    """One SLA miss, so ops can chase it by reference without opening the database."""

    kind: str
    ref: str
    due_by: datetime
    detail: str

    def __post_init__(self) -> None:
        # A naive deadline would be formatted in an unknown zone and could not be sorted
        # against the aware ones.
        if self.kind not in LATE_KINDS:
            raise ValueError(f"unknown late kind {self.kind!r}")
        if not _is_aware(self.due_by):
            raise ValueError(f"due_by of {self.ref!r} must be timezone-aware")


@dataclass(frozen=True)
class DailyReport:
    """Figures of one business day, gathered once so every output shows the same numbers."""

    day: date
    generated_at: datetime
    orders_by_state: dict[str, int]
    payments_confirmed: int
    payments_to_review: int
    reviews_waiting: int
    payments_due: int
    payments_on_time: int
    documents_due: int
    documents_on_time: int
    late: list[LateLine]

    def __post_init__(self) -> None:
        # A wrong query should fail the job loudly rather than mail ops a plausible lie.
        if not _is_aware(self.generated_at):
            raise ValueError("generated_at must be timezone-aware")
        known = {state.value for state in OrderState}
        unknown = set(self.orders_by_state) - known
        if unknown:
            raise ValueError(f"unknown order states: {sorted(unknown)}")
        counts = {
            **{f"orders_by_state[{k}]": v for k, v in self.orders_by_state.items()},
            "payments_confirmed": self.payments_confirmed,
            "payments_to_review": self.payments_to_review,
            "reviews_waiting": self.reviews_waiting,
            "payments_due": self.payments_due,
            "payments_on_time": self.payments_on_time,
            "documents_due": self.documents_due,
            "documents_on_time": self.documents_on_time,
        }
        for name, value in counts.items():
            if value < 0:
                raise ValueError(f"{name} is negative: {value}")
        if self.payments_on_time > self.payments_due:
            raise ValueError("more payments on time than due")
        if self.documents_on_time > self.documents_due:
            raise ValueError("more documents on time than due")

    def count(self, state: OrderState) -> int:
        """A state with no orders may be missing from the query result; it still shows as 0."""
        return self.orders_by_state.get(state.value, 0)

    @property
    def payments_compliance(self) -> float | None:
        return compliance(self.payments_on_time, self.payments_due)

    @property
    def documents_compliance(self) -> float | None:
        return compliance(self.documents_on_time, self.documents_due)

    @property
    def payments_percent(self) -> Decimal | None:
        """For the templates' `percent` filter, which takes a Decimal percentage."""
        return compliance_percent(self.payments_on_time, self.payments_due)

    @property
    def documents_percent(self) -> Decimal | None:
        """For the templates' `percent` filter, which takes a Decimal percentage."""
        return compliance_percent(self.documents_on_time, self.documents_due)


def compliance(on_time: int, due: int) -> float | None:
    """Share handled in time; None when nothing was due, since 0 % or 100 % would both lie."""
    if on_time < 0 or due < 0 or on_time > due:
        raise ValueError(f"impossible SLA figures: {on_time} on time of {due} due")
    if due == 0:
        return None
    return on_time / due


def _truncated_ratio(on_time: int, due: int, exponent: Decimal) -> Decimal | None:
    # Rounded down so a single miss never shows up as a perfect 100.
    if compliance(on_time, due) is None:
        return None
    ratio = Decimal(on_time) / Decimal(due)
    return ratio.quantize(exponent, rounding=ROUND_DOWN).normalize()


def compliance_percent(on_time: int, due: int) -> Decimal | None:
    """Percentage with one decimal, rounded down so 100 only ever means nothing was late."""
    ratio = _truncated_ratio(on_time, due, Decimal("0.001"))
    return None if ratio is None else (ratio * 100).quantize(Decimal("0.1"))


def state_labels() -> dict[str, str]:
    """The templates' `labels`, in workflow order so every report lists states alike."""
    return {state.value: state.label for state in OrderState}


def _csv_ratio(on_time: int, due: int) -> str:
    ratio = _truncated_ratio(on_time, due, Decimal("0.0001"))
    return "" if ratio is None else format(ratio, "f")


def report_csv(report: DailyReport) -> str:
    """The attachment ops paste into spreadsheets: one figure per row, always in the same order."""
    rows: list[tuple[str, str, str]] = [
        ("report", "day", report.day.isoformat()),
        ("report", "generated_at", report.generated_at.isoformat()),
    ]
    rows += [("orders", state.value, str(report.count(state))) for state in OrderState]
    rows += [
        ("payments", "confirmed", str(report.payments_confirmed)),
        ("payments", "to_review", str(report.payments_to_review)),
        ("review", "waiting", str(report.reviews_waiting)),
        ("sla", "payments_due", str(report.payments_due)),
        ("sla", "payments_on_time", str(report.payments_on_time)),
        ("sla", "payments_compliance", _csv_ratio(report.payments_on_time, report.payments_due)),
        ("sla", "documents_due", str(report.documents_due)),
        ("sla", "documents_on_time", str(report.documents_on_time)),
        (
            "sla",
            "documents_compliance",
            _csv_ratio(report.documents_on_time, report.documents_due),
        ),
    ]
    rows += [("late", line.ref, line.due_by.isoformat()) for line in report.late]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(("section", "key", "value"))
    writer.writerows(rows)
    return buffer.getvalue()


def _percent_text(value: Decimal | None) -> str:
    return "n/d" if value is None else f"{format_percent(value)}%"


def chart_png(report: DailyReport) -> bytes:
    """Inline chart for the e-mail; built on a private Figure so threads share no pyplot state."""
    figure = Figure(figsize=CHART_SIZE_INCHES, dpi=CHART_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    states = list(OrderState)
    # Reversed so the workflow reads top to bottom.
    labels = [state.label for state in reversed(states)]
    counts = [report.count(state) for state in reversed(states)]
    bars = axes.barh(labels, counts, color="#4477aa")
    axes.bar_label(bars, padding=3, fontsize=8)
    # With all counts at zero matplotlib would pick a meaningless -0.05..0.05 axis.
    axes.set_xlim(0, max(1, *counts) * 1.15)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_title(
        "Ordini per stato\n"
        f"Puntualità: pagamenti {_percent_text(report.payments_percent)}, "
        f"documenti {_percent_text(report.documents_percent)}",
        fontsize=9,
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=CHART_DPI, metadata={"Software": None})
    return buffer.getvalue()
