"""The business-hour promises as pure rules: when something arriving at a time is due, and
where a due time stands now (late, at risk, or nothing to say). `pipeline/sla.py` applies them
to the stored payments, messages and orders; the console's queue and the `sla` commands too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pipeline.rules.business_calendar import business_calendar

if TYPE_CHECKING:
    from config import Settings

LATE, AT_RISK = "late", "at_risk"


def standing(now: datetime, due_by: datetime, warn_from: datetime) -> str | None:
    """Late once due_by has passed, at risk from the warning on, else nothing to say."""
    if now > due_by:
        return LATE
    return AT_RISK if now >= warn_from else None


def payment_standing(settings: Settings, now: datetime, due_by: datetime) -> str | None:
    """A payment due then: at risk from `calendar.payment_warning_minutes` before."""
    warning = timedelta(minutes=settings.calendar.payment_warning_minutes)
    return standing(now, due_by, due_by - warning)


@dataclass(frozen=True)
class DueTimes:
    not_before: datetime  # a payment arriving then is confirmed from this time
    payment_due: datetime
    documents_warning: datetime  # papers complete then must be fulfilled by documents_due
    documents_due: datetime


def due_times(settings: Settings, arrival: datetime) -> DueTimes:
    """The business-hour promises for something arriving at `arrival`."""
    calendar, rules = business_calendar(settings), settings.calendar
    window = calendar.payment_window(arrival)
    return DueTimes(
        window.not_before,
        window.due_by,
        calendar.after_working_hours(arrival, rules.documents_warning_hours),
        calendar.after_working_hours(arrival, rules.documents_hours),
    )
