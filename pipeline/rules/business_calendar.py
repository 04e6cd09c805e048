"""The reseller's promises in time: working days, office hours, when a payment may be confirmed
and when it is due, when an order's documents are due. Pure: no clock, no I/O.

Holidays come from the `holidays` package, so that a change in the law (4 October is a national
holiday again from 2026) arrives with an update rather than an edit here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from config.italy import italy

if TYPE_CHECKING:
    from holidays import HolidayBase

    from config import Settings


SEARCH_DAYS = 3 * 366  # no office is closed for three years: beyond, the settings are wrong


@cache
def _holidays(subdivision: str | None, year: int) -> HolidayBase:
    return italy()(subdiv=subdivision, years=year)


@dataclass(frozen=True)
class PaymentWindow:
    not_before: datetime  # not confirmed earlier: the office is closed until then
    due_by: datetime  # still open afterwards: late


@dataclass(frozen=True)
class BusinessCalendar:
    zone: ZoneInfo
    opens: time = time(9)
    closes: time = time(18)
    subdivision: str | None = "RM"  # a province of `holidays.Italy`: its patron's day closes
    closures: frozenset[date] = frozenset()
    payment_minutes: int = 30

    def __post_init__(self) -> None:
        if not self.opens < self.closes:
            raise ValueError("the office must open before it closes")

    def is_working_day(self, day: date) -> bool:
        closed = day in _holidays(self.subdivision, day.year) or day in self.closures
        return day.weekday() < 5 and not closed

    def is_working_time(self, at: datetime) -> bool:
        local = self.local(at)
        return self.is_working_day(local.date()) and self.opens <= local.time() < self.closes

    def local(self, at: datetime) -> datetime:
        if at.tzinfo is None:
            raise ValueError("naive datetime: the business calendar needs aware times")
        return at.astimezone(self.zone)

    def next_working_day(self, day: date) -> date:
        """The first working day after `day`."""
        for ahead in range(1, SEARCH_DAYS):
            candidate = day + timedelta(days=ahead)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {SEARCH_DAYS} days of {day}: check the closures")

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself while the office is open, else the moment it next opens."""
        local = self.local(at)
        if self.is_working_time(local):
            return local
        day = local.date()
        if not (self.is_working_day(day) and local.time() < self.opens):
            day = self.next_working_day(day)
        return datetime.combine(day, self.opens, self.zone)

    def payment_window(self, arrival: datetime) -> PaymentWindow:
        """Processed within the minutes promised from arrival in office hours; otherwise from
        the next opening (so after 18:00 or on a holiday: 09:00, due 09:30, of the next working
        day)."""
        not_before = self.next_opening(arrival)
        due_by = not_before.astimezone(UTC) + timedelta(minutes=self.payment_minutes)
        return PaymentWindow(not_before, due_by.astimezone(self.zone))

    def after_working_hours(self, start: datetime, hours: int) -> datetime:
        """When `hours` hours that fall on working days have passed since `start`: 72 from a
        working day's 10:00 is 10:00 three working days later. Hours are counted on the clock
        on the wall, so a day with a DST change still counts 24."""
        cursor = self.local(start).replace(tzinfo=None)
        remaining = timedelta(hours=hours)
        for _ in range(SEARCH_DAYS + hours // 24):
            midnight = datetime.combine(cursor.date() + timedelta(days=1), time())
            if self.is_working_day(cursor.date()):
                if remaining <= midnight - cursor:
                    return (cursor + remaining).replace(tzinfo=self.zone)
                remaining -= midnight - cursor
            cursor = midnight
        raise ValueError(f"no {hours} working hours within {SEARCH_DAYS} days: check the closures")

    def started_before(self, due_from: datetime, hours: int) -> datetime:
        """A moment such that `hours` working hours from any time before it end before
        `due_from`: counting back from `due_from`'s day, midnight of the working day before
        the whole working days those hours fill. What may be due from `due_from` on started
        since (the report's look-back)."""
        day, needed = self.local(due_from).date(), -(-hours // 24) + 1
        for _ in range(SEARCH_DAYS + hours // 24):
            day -= timedelta(days=1)
            needed -= self.is_working_day(day)
            if needed == 0:
                return datetime.combine(day, time(), self.zone)
        raise ValueError(f"no {hours} working hours within {SEARCH_DAYS} days: check the closures")


def business_calendar(settings: Settings) -> BusinessCalendar:
    rules = settings.calendar
    return BusinessCalendar(
        settings.zone,
        rules.opens,
        rules.closes,
        rules.subdivision or None,
        frozenset(rules.closures),
        rules.payment_minutes,
    )
