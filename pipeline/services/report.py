"""The nightly report: figures of one business day read from the database, written as HTML,
CSV and a PNG chart under data/reports/, and e-mailed to ops once per day."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config import Settings
from pipeline.outbox import Attachment, enqueue_ops
from pipeline.rendering import renderer_of
from pipeline.rules.business_calendar import business_calendar
from pipeline.rules.promises import LATE
from pipeline.rules.report import DailyReport, LateLine, chart_png, report_csv, state_labels
from pipeline.rules.statuses import PaymentStatus
from pipeline.sla import documents_clocks, sla_items
from pipeline.store.db import Store
from pipeline.store.models import Order, Payment, ReviewItem

log = logging.getLogger(__name__)
DECIDED = (PaymentStatus.CONFIRMED, PaymentStatus.DUPLICATE, PaymentStatus.REJECTED)
CHART_CID = "report-chart@pecflow"


@dataclass(frozen=True)
class ReportFiles:
    report: DailyReport
    html: Path
    csv: Path
    chart: Path
    emailed_to: str | None


def yesterday(settings: Settings, now: datetime) -> date:
    """The day a nightly report is about: the one before `now`, in the office's time zone."""
    return now.astimezone(settings.zone).date() - timedelta(days=1)


def collect(session: Session, settings: Settings, day: date, now: datetime) -> DailyReport:
    zone = settings.zone
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    counts = dict(
        session.execute(select(Order.state, func.count()).group_by(Order.state)).tuples().all()
    )
    confirmed = session.scalar(
        select(func.count()).where(
            Payment.status == "confirmed", Payment.decided_at >= start, Payment.decided_at < end
        )
    )
    to_review = session.scalar(
        select(func.count()).where(
            ReviewItem.payment_id.is_not(None),
            ReviewItem.created_at >= start,
            ReviewItem.created_at < end,
        )
    )
    waiting = session.scalar(select(func.count()).where(ReviewItem.status == "open"))
    due = session.execute(
        select(Payment.status, Payment.decided_at, Payment.due_by).where(
            Payment.due_by >= start, Payment.due_by < end
        )
    ).all()
    on_time = [p for p in due if p.status in DECIDED and p.decided_at and p.decided_at <= p.due_by]
    calendar = business_calendar(settings)
    clocks = [
        c
        for c in documents_clocks(session, calendar, settings, due_from=start)
        if start <= c.due_by < end
    ]
    handled = [c for c in clocks if c.fulfilled_at is not None and c.fulfilled_at <= c.due_by]
    late = [
        LateLine(i.kind, i.ref, i.due_by.astimezone(zone), i.detail)
        for i in sla_items(session, settings, now)
        if i.status == LATE
    ]
    return DailyReport(
        day=day,
        generated_at=now.astimezone(zone),
        orders_by_state={state: counts.get(state, 0) for state in state_labels()},
        payments_confirmed=confirmed or 0,
        payments_to_review=to_review or 0,
        reviews_waiting=waiting or 0,
        payments_due=len(due),
        payments_on_time=len(on_time),
        documents_due=len(clocks),
        documents_on_time=len(handled),
        late=late,
    )


def make_report(store: Store, settings: Settings, day: date, now: datetime) -> ReportFiles:
    """Write the day's files (again, if asked again) and queue its e-mail (only once)."""
    with store.unit() as session:
        report = collect(session, settings, day, now)
        renderer = renderer_of(session)
    folder = settings.reports_dir
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    chart = chart_png(report)
    base = {"report": report, "labels": state_labels(), "footer": settings.mail.company_footer}
    paths = ReportFiles(
        report,
        folder / f"{day.isoformat()}.html",
        folder / f"{day.isoformat()}.csv",
        folder / f"{day.isoformat()}.png",
        settings.mail.ops_address or None,
    )
    table = report_csv(report).encode()
    page = renderer.email("nightly_report", {**base, "chart_src": paths.chart.name})
    for path, data in (
        (paths.chart, chart),
        (paths.csv, table),
        (paths.html, page.html.encode("utf-8")),
    ):
        try:
            path.write_bytes(data)
        except OSError as exc:
            if exc.filename is None:  # a write on a full disk names no file
                exc.filename = str(path)
            raise
    with store.unit() as session:
        row = enqueue_ops(
            session,
            settings,
            key=f"report:{day.isoformat()}",
            kind="nightly_report",
            context={**base, "chart_src": f"cid:{CHART_CID}"},
            now=now,
            batch_id=None,
            attachments=[
                Attachment(paths.chart.name, "image/png", chart, CHART_CID),
                Attachment(paths.csv.name, "text/csv", table),
            ],
        )
    if row is None:
        log.warning("report %s: mail.ops_address is empty, so it is not e-mailed", day)
    return paths


def figures(store: Store, settings: Settings, day: date | None, now: datetime) -> DailyReport:
    """The nightly report's figures of a day (today so far when None), as the console shows
    them, without writing files or queueing the e-mail."""
    with store.unit() as session:
        return collect(session, settings, day or now.astimezone(settings.zone).date(), now)


def figures_chart(store: Store, settings: Settings, day: date | None, now: datetime) -> bytes:
    return chart_png(figures(store, settings, day, now))
