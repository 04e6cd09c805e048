"""How long a mailbox is paid for: pure, no I/O."""

from __future__ import annotations

from datetime import date


def years_after(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def paid_until(today: date, current: date | None, years: int) -> date:
    """A renewal extends a mailbox still running from its expiry, a lapsed one from today,
    so no paid day is lost and none is given twice."""
    start = current if current is not None and current >= today else today
    return years_after(start, years)
