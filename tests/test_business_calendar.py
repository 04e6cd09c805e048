"""The business calendar: working days (Italian national holidays, Rome's 29 June, extra
closures), office hours, payment windows and documents deadlines, across weekends, holidays and
the DST changes of Europe/Rome.

Holidays are written out literally here, never read from the `holidays` package, so that a
regression in the package (a holiday dropped, moved or added) makes these tests fail.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config import Settings
from pipeline.rules.business_calendar import BusinessCalendar, business_calendar

ROME = ZoneInfo("Europe/Rome")
CAL = BusinessCalendar(ROME)  # Rome office: 09:00-18:00, closed on 29 June
NATIONAL = BusinessCalendar(ROME, subdivision=None)  # national holidays only


def at(text: str) -> datetime:
    """An aware datetime from an ISO string with its offset."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, text
    return moment


def window(calendar: BusinessCalendar, arrival: str) -> tuple[str, str]:
    got = calendar.payment_window(at(arrival))
    return got.not_before.isoformat(), got.due_by.isoformat()


def documents_due(calendar: BusinessCalendar, arrival: str, hours: int = 72) -> str:
    return calendar.after_working_hours(at(arrival), hours).isoformat()


# --- Payment window: office-hour boundaries, weekends -----------------------------------------

PAYMENT_CASES = [
    # Wednesday 2026-05-13, a plain working day.
    pytest.param(
        "2026-05-13T08:59:59+02:00",
        "2026-05-13T09:00:00+02:00",
        "2026-05-13T09:30:00+02:00",
        id="working-day-08:59:59-waits-for-09:00",
    ),
    pytest.param(
        "2026-05-13T09:00:00+02:00",
        "2026-05-13T09:00:00+02:00",
        "2026-05-13T09:30:00+02:00",
        id="working-day-09:00:00-is-open",
    ),
    pytest.param(
        "2026-05-13T17:59:59+02:00",
        "2026-05-13T17:59:59+02:00",
        "2026-05-13T18:29:59+02:00",
        id="working-day-17:59:59-is-open-due-after-closing",
    ),
    pytest.param(
        "2026-05-13T18:00:00+02:00",
        "2026-05-14T09:00:00+02:00",
        "2026-05-14T09:30:00+02:00",
        id="working-day-18:00:00-is-closed-next-day",
    ),
    pytest.param(
        "2026-05-13T23:59:59+02:00",
        "2026-05-14T09:00:00+02:00",
        "2026-05-14T09:30:00+02:00",
        id="working-day-23:59:59-next-day",
    ),
    pytest.param(
        "2026-05-13T00:00:00+02:00",
        "2026-05-13T09:00:00+02:00",
        "2026-05-13T09:30:00+02:00",
        id="working-day-midnight-same-day",
    ),
    pytest.param(
        "2026-05-13T12:34:56.789000+02:00",
        "2026-05-13T12:34:56.789000+02:00",
        "2026-05-13T13:04:56.789000+02:00",
        id="working-day-microseconds-kept",
    ),
    # Weekend: Friday 2026-05-15, Saturday 16, Sunday 17, Monday 18.
    pytest.param(
        "2026-05-15T17:59:59+02:00",
        "2026-05-15T17:59:59+02:00",
        "2026-05-15T18:29:59+02:00",
        id="friday-17:59:59-is-open",
    ),
    pytest.param(
        "2026-05-15T19:00:00+02:00",
        "2026-05-18T09:00:00+02:00",
        "2026-05-18T09:30:00+02:00",
        id="friday-19:00-monday",
    ),
    pytest.param(
        "2026-05-16T10:00:00+02:00",
        "2026-05-18T09:00:00+02:00",
        "2026-05-18T09:30:00+02:00",
        id="saturday-office-time-monday",
    ),
    pytest.param(
        "2026-05-16T00:00:00+02:00",
        "2026-05-18T09:00:00+02:00",
        "2026-05-18T09:30:00+02:00",
        id="saturday-midnight-monday",
    ),
    pytest.param(
        "2026-05-17T08:00:00+02:00",
        "2026-05-18T09:00:00+02:00",
        "2026-05-18T09:30:00+02:00",
        id="sunday-before-opening-monday",
    ),
    pytest.param(
        "2026-05-17T23:59:59+02:00",
        "2026-05-18T09:00:00+02:00",
        "2026-05-18T09:30:00+02:00",
        id="sunday-23:59:59-monday",
    ),
    # The example of the business rules: Christmas Eve at closing time, then Christmas (Fri),
    # the weekend, Saint Stephen's on Saturday.
    pytest.param(
        "2026-12-24T18:00:00+01:00",
        "2026-12-28T09:00:00+01:00",
        "2026-12-28T09:30:00+01:00",
        id="christmas-eve-18:00-monday-28",
    ),
    # New Year: 1 January 2027 is a Friday, then the weekend.
    pytest.param(
        "2026-12-31T18:30:00+01:00",
        "2027-01-04T09:00:00+01:00",
        "2027-01-04T09:30:00+01:00",
        id="new-years-eve-18:30-monday-4",
    ),
    pytest.param(
        "2026-12-31T17:00:00+01:00",
        "2026-12-31T17:00:00+01:00",
        "2026-12-31T17:30:00+01:00",
        id="new-years-eve-17:00-is-open",
    ),
    # Epiphany: 6 January 2027 is a Wednesday.
    pytest.param(
        "2027-01-05T18:00:00+01:00",
        "2027-01-07T09:00:00+01:00",
        "2027-01-07T09:30:00+01:00",
        id="epiphany-eve-18:00-thursday-7",
    ),
    pytest.param(
        "2027-01-05T20:15:00+01:00",
        "2027-01-07T09:00:00+01:00",
        "2027-01-07T09:30:00+01:00",
        id="epiphany-eve-evening-thursday-7",
    ),
    pytest.param(
        "2027-01-06T08:00:00+01:00",
        "2027-01-07T09:00:00+01:00",
        "2027-01-07T09:30:00+01:00",
        id="epiphany-morning-thursday-7",
    ),
    # An arrival given in UTC is judged, and answered, in Rome's time.
    pytest.param(
        "2026-05-13T15:59:59+00:00",
        "2026-05-13T17:59:59+02:00",
        "2026-05-13T18:29:59+02:00",
        id="utc-arrival-17:59:59-rome-is-open",
    ),
    pytest.param(
        "2026-05-13T16:00:00+00:00",
        "2026-05-14T09:00:00+02:00",
        "2026-05-14T09:30:00+02:00",
        id="utc-arrival-18:00-rome-is-closed",
    ),
]


def test_payment_cases_are_distinct() -> None:
    """The table has no duplicated arrival (a copy-paste would hide a missing case)."""
    arrivals = [case.values[0] for case in PAYMENT_CASES]
    assert len(arrivals) == len(set(arrivals))


@pytest.mark.parametrize(("arrival", "not_before", "due_by"), PAYMENT_CASES)
def test_payment_window_table(arrival: str, not_before: str, due_by: str) -> None:
    """Payment window at each office-hour boundary, weekends, Christmas, New Year, Epiphany:
    exact not_before and due_by, with Rome's offset."""
    assert window(CAL, arrival) == (not_before, due_by)


# --- Holidays, written out literally ------------------------------------------------------------

# Italian national holidays of 2026 and 2027, with the next working day of those falling Monday
# to Friday (None: Saturday or Sunday, closed anyway).
NATIONAL_HOLIDAYS: list[tuple[date, date | None, str]] = [
    (date(2026, 1, 1), date(2026, 1, 2), "2026 New Year's Day (Thu)"),
    (date(2026, 1, 6), date(2026, 1, 7), "2026 Epiphany (Tue)"),
    (date(2026, 4, 5), None, "2026 Easter Sunday"),
    (date(2026, 4, 6), date(2026, 4, 7), "2026 Easter Monday"),
    (date(2026, 4, 25), None, "2026 Liberation Day (Sat)"),
    (date(2026, 5, 1), date(2026, 5, 4), "2026 Labour Day (Fri)"),
    (date(2026, 6, 2), date(2026, 6, 3), "2026 Republic Day (Tue)"),
    (date(2026, 8, 15), None, "2026 Assumption (Sat)"),
    (date(2026, 10, 4), None, "2026 Saint Francis (Sun), a holiday again from 2026"),
    (date(2026, 11, 1), None, "2026 All Saints (Sun)"),
    (date(2026, 12, 8), date(2026, 12, 9), "2026 Immaculate Conception (Tue)"),
    (date(2026, 12, 25), date(2026, 12, 28), "2026 Christmas (Fri)"),
    (date(2026, 12, 26), None, "2026 Saint Stephen (Sat)"),
    (date(2027, 1, 1), date(2027, 1, 4), "2027 New Year's Day (Fri)"),
    (date(2027, 1, 6), date(2027, 1, 7), "2027 Epiphany (Wed)"),
    (date(2027, 3, 28), None, "2027 Easter Sunday"),
    (date(2027, 3, 29), date(2027, 3, 30), "2027 Easter Monday"),
    (date(2027, 4, 25), None, "2027 Liberation Day (Sun)"),
    (date(2027, 5, 1), None, "2027 Labour Day (Sat)"),
    (date(2027, 6, 2), date(2027, 6, 3), "2027 Republic Day (Wed)"),
    (date(2027, 8, 15), None, "2027 Assumption (Sun)"),
    (date(2027, 10, 4), date(2027, 10, 5), "2027 Saint Francis (Mon)"),
    (date(2027, 11, 1), date(2027, 11, 2), "2027 All Saints (Mon)"),
    (date(2027, 12, 8), date(2027, 12, 9), "2027 Immaculate Conception (Wed)"),
    (date(2027, 12, 25), None, "2027 Christmas (Sat)"),
    (date(2027, 12, 26), None, "2027 Saint Stephen (Sun)"),
]
# Rome's patron saints, Peter and Paul: a closure of the office in province RM only.
ROME_CLOSURES: list[tuple[date, date, str]] = [
    (date(2026, 6, 29), date(2026, 6, 30), "2026 Saints Peter and Paul (Mon)"),
    (date(2027, 6, 29), date(2027, 6, 30), "2027 Saints Peter and Paul (Tue)"),
]


def test_holiday_table_is_consistent() -> None:
    """The literal table itself: a next working day is given exactly for Mon-Fri holidays."""
    for day, following, name in NATIONAL_HOLIDAYS + ROME_CLOSURES:
        assert (following is not None) == (day.weekday() < 5), name


@pytest.mark.parametrize(
    "day", [pytest.param(day, id=name) for day, _, name in NATIONAL_HOLIDAYS + ROME_CLOSURES]
)
def test_holiday_is_not_a_working_day(day: date) -> None:
    """Every national holiday of 2026-2027 (and Rome's 29 June) is closed for a Rome office."""
    assert not CAL.is_working_day(day)
    assert not CAL.is_working_time(datetime.combine(day, time(10), ROME))


@pytest.mark.parametrize(
    ("day", "following"),
    [
        pytest.param(day, following, id=name)
        for day, following, name in NATIONAL_HOLIDAYS + ROME_CLOSURES
        if following is not None
    ],
)
def test_receipt_on_a_weekday_holiday_waits_for_the_next_working_day(
    day: date, following: date
) -> None:
    """A receipt at 10:00 on a Mon-Fri holiday gets 09:00 (due 09:30) of the next working day."""
    got = CAL.payment_window(datetime.combine(day, time(10), ROME))
    assert got.not_before == datetime.combine(following, time(9), ROME)
    assert got.due_by == datetime.combine(following, time(9, 30), ROME)
    assert CAL.next_working_day(day) == following


def test_saint_francis_2027_is_a_monday_holiday() -> None:
    """4 October 2027 (Monday): a payment that day is confirmed from Tuesday 5 at 09:00."""
    assert window(CAL, "2027-10-04T11:00:00+02:00") == (
        "2027-10-05T09:00:00+02:00",
        "2027-10-05T09:30:00+02:00",
    )
    assert window(CAL, "2027-10-01T18:00:00+02:00") == (  # Friday evening: past Monday too
        "2027-10-05T09:00:00+02:00",
        "2027-10-05T09:30:00+02:00",
    )
    assert CAL.is_working_day(date(2027, 10, 5))


@pytest.mark.parametrize("day", [pytest.param(day, id=name) for day, _, name in ROME_CLOSURES])
def test_29_june_is_open_without_a_subdivision(day: date) -> None:
    """Saints Peter and Paul close only the Rome office: with subdivision None it is a working
    day and a receipt at 10:00 is processed at once."""
    arrival = datetime.combine(day, time(10), ROME)
    assert NATIONAL.is_working_day(day)
    assert NATIONAL.payment_window(arrival).not_before == arrival
    assert not CAL.is_working_day(day)


def test_another_province_closes_on_its_own_patron() -> None:
    """Milan (MI) closes on Saint Ambrose, 7 December (Monday in 2026), not on 29 June."""
    milan = BusinessCalendar(ROME, subdivision="MI")
    assert not milan.is_working_day(date(2026, 12, 7))
    assert milan.is_working_day(date(2026, 6, 29))
    assert CAL.is_working_day(date(2026, 12, 7))


def _weekdays(start: date, end: date) -> list[date]:
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return [day for day in days if day.weekday() < 5]


@pytest.mark.parametrize(
    ("calendar", "closed"),
    [
        pytest.param(
            CAL,
            {day for day, following, _ in NATIONAL_HOLIDAYS + ROME_CLOSURES if following},
            id="rome",
        ),
        pytest.param(
            NATIONAL, {day for day, following, _ in NATIONAL_HOLIDAYS if following}, id="national"
        ),
    ],
)
def test_no_other_weekday_is_closed_in_2026_2027(
    calendar: BusinessCalendar, closed: set[date]
) -> None:
    """Monday to Friday of 2026-2027, the closed days are exactly the literal table: a holiday
    added by mistake (e.g. 4 November, 24 December, 2 November) fails too."""
    weekdays = _weekdays(date(2026, 1, 1), date(2027, 12, 31))
    got = {day for day in weekdays if not calendar.is_working_day(day)}
    assert sorted(got) == sorted(closed)


def test_weekends_are_never_working_days() -> None:
    """Every Saturday and Sunday of 2026 is closed, also with no subdivision."""
    day = date(2026, 1, 3)  # a Saturday
    while day.year == 2026:
        for weekend_day in (day, day + timedelta(days=1)):
            assert not CAL.is_working_day(weekend_day), weekend_day
            assert not NATIONAL.is_working_day(weekend_day), weekend_day
        day += timedelta(days=7)


# --- Extra closures ----------------------------------------------------------------------------


def test_extra_closure_dates_close_the_office() -> None:
    """Closures given to the calendar (24 and 31 December 2026, both Thursdays) are not working
    days, and payments move past them."""
    calendar = BusinessCalendar(ROME, closures=frozenset({date(2026, 12, 24), date(2026, 12, 31)}))
    assert not calendar.is_working_day(date(2026, 12, 24))
    assert not calendar.is_working_day(date(2026, 12, 31))
    assert calendar.is_working_day(date(2026, 12, 23))
    assert CAL.is_working_day(date(2026, 12, 24))  # the default calendar is unaffected
    assert window(calendar, "2026-12-23T18:00:00+01:00") == (
        "2026-12-28T09:00:00+01:00",
        "2026-12-28T09:30:00+01:00",
    )
    assert window(calendar, "2026-12-30T17:59:00+01:00") == (
        "2026-12-30T17:59:00+01:00",
        "2026-12-30T18:29:00+01:00",
    )
    assert window(calendar, "2026-12-30T18:00:00+01:00") == (
        "2027-01-04T09:00:00+01:00",
        "2027-01-04T09:30:00+01:00",
    )
    assert calendar.next_working_day(date(2026, 12, 30)) == date(2027, 1, 4)


def test_a_closure_on_a_weekend_or_holiday_changes_nothing() -> None:
    """A closure on a Saturday or on Christmas leaves the following Monday open."""
    calendar = BusinessCalendar(ROME, closures=frozenset({date(2026, 5, 16), date(2026, 12, 25)}))
    assert window(calendar, "2026-05-15T19:00:00+02:00")[0] == "2026-05-18T09:00:00+02:00"
    assert window(calendar, "2026-12-24T18:00:00+01:00")[0] == "2026-12-28T09:00:00+01:00"


def test_calendar_from_settings() -> None:
    """`business_calendar(settings)` takes closures and an empty subdivision (no local
    closure) from the [calendar] section."""
    calendar = business_calendar(Settings(calendar={"closures": ["2026-12-24"], "subdivision": ""}))
    assert calendar.zone == ROME
    assert calendar.subdivision is None
    assert calendar.closures == frozenset({date(2026, 12, 24)})
    assert not calendar.is_working_day(date(2026, 12, 24))
    assert calendar.is_working_day(date(2026, 6, 29))  # no province: 29 June is open
    assert window(calendar, "2026-12-23T18:00:00+01:00") == (
        "2026-12-28T09:00:00+01:00",
        "2026-12-28T09:30:00+01:00",
    )
    assert window(calendar, "2026-06-29T10:00:00+02:00") == (
        "2026-06-29T10:00:00+02:00",
        "2026-06-29T10:30:00+02:00",
    )


def test_calendar_from_default_settings_is_rome() -> None:
    """Default settings: Europe/Rome, 09:00-18:00, 30 minutes, 29 June closed."""
    calendar = business_calendar(Settings())
    assert calendar == BusinessCalendar(ROME)
    assert not calendar.is_working_day(date(2026, 6, 29))


def test_calendar_from_settings_hours_and_minutes() -> None:
    """Opening hours and the payment minutes of the settings reach the calendar."""
    calendar = business_calendar(
        Settings(calendar={"opens": "08:30", "closes": "17:00", "payment_minutes": 45})
    )
    assert window(calendar, "2026-05-13T08:00:00+02:00") == (
        "2026-05-13T08:30:00+02:00",
        "2026-05-13T09:15:00+02:00",
    )
    assert window(calendar, "2026-05-13T17:00:00+02:00") == (
        "2026-05-14T08:30:00+02:00",
        "2026-05-14T09:15:00+02:00",
    )


# --- Daylight saving time ----------------------------------------------------------------------
# Europe/Rome: 2026-03-29 (Sunday) 02:00+01:00 -> 03:00+02:00; 2026-10-25 (Sunday) 03:00+02:00
# -> 02:00+01:00.

SPRING_0230 = datetime(2026, 3, 29, 2, 30, tzinfo=ROME)  # does not exist: read as +01:00
AUTUMN_0230_FIRST = datetime(2026, 10, 25, 2, 30, tzinfo=ROME)  # fold 0: +02:00
AUTUMN_0230_SECOND = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ROME)  # fold 1: +01:00


def test_dst_instants_are_what_the_tests_think() -> None:
    """Sanity of the DST fixtures: the offsets of Rome around the two changes of 2026."""
    assert SPRING_0230.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert AUTUMN_0230_FIRST.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert AUTUMN_0230_SECOND.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


DST_PAYMENT_CASES = [
    pytest.param(
        at("2026-03-27T17:50:00+01:00"),
        "2026-03-27T17:50:00+01:00",
        "2026-03-27T18:20:00+01:00",
        id="spring-friday-17:50",
    ),
    pytest.param(
        at("2026-03-27T18:00:00+01:00"),
        "2026-03-30T09:00:00+02:00",
        "2026-03-30T09:30:00+02:00",
        id="spring-friday-18:00",
    ),
    pytest.param(
        at("2026-03-28T12:00:00+01:00"),
        "2026-03-30T09:00:00+02:00",
        "2026-03-30T09:30:00+02:00",
        id="spring-saturday",
    ),
    pytest.param(
        SPRING_0230,
        "2026-03-30T09:00:00+02:00",
        "2026-03-30T09:30:00+02:00",
        id="spring-sunday-02:30-nonexistent",
    ),
    pytest.param(
        at("2026-03-29T01:30:00+00:00"),
        "2026-03-30T09:00:00+02:00",
        "2026-03-30T09:30:00+02:00",
        id="spring-sunday-03:30+02:00-as-utc",
    ),
    pytest.param(
        at("2026-03-30T08:59:59+02:00"),
        "2026-03-30T09:00:00+02:00",
        "2026-03-30T09:30:00+02:00",
        id="spring-monday-08:59:59",
    ),
    pytest.param(
        at("2026-10-23T17:50:00+02:00"),
        "2026-10-23T17:50:00+02:00",
        "2026-10-23T18:20:00+02:00",
        id="autumn-friday-17:50",
    ),
    pytest.param(
        at("2026-10-23T19:00:00+02:00"),
        "2026-10-26T09:00:00+01:00",
        "2026-10-26T09:30:00+01:00",
        id="autumn-friday-19:00",
    ),
    pytest.param(
        at("2026-10-24T12:00:00+02:00"),
        "2026-10-26T09:00:00+01:00",
        "2026-10-26T09:30:00+01:00",
        id="autumn-saturday",
    ),
    pytest.param(
        AUTUMN_0230_FIRST,
        "2026-10-26T09:00:00+01:00",
        "2026-10-26T09:30:00+01:00",
        id="autumn-sunday-02:30-first",
    ),
    pytest.param(
        AUTUMN_0230_SECOND,
        "2026-10-26T09:00:00+01:00",
        "2026-10-26T09:30:00+01:00",
        id="autumn-sunday-02:30-second",
    ),
    pytest.param(
        at("2026-10-26T08:59:59+01:00"),
        "2026-10-26T09:00:00+01:00",
        "2026-10-26T09:30:00+01:00",
        id="autumn-monday-08:59:59",
    ),
]


@pytest.mark.parametrize(("arrival", "not_before", "due_by"), DST_PAYMENT_CASES)
def test_payment_window_around_dst(arrival: datetime, not_before: str, due_by: str) -> None:
    """Around the DST changes the window keeps local office hours, with the right offset
    (+01:00 in winter, +02:00 in summer), and 30 real minutes."""
    got = CAL.payment_window(arrival)
    assert (got.not_before.isoformat(), got.due_by.isoformat()) == (not_before, due_by)
    assert got.due_by - got.not_before == timedelta(minutes=30)
    assert got.due_by.astimezone(UTC) - got.not_before.astimezone(UTC) == timedelta(minutes=30)


DST_DOCUMENT_CASES = [
    pytest.param(
        "2026-03-27T10:00:00+01:00", 72, "2026-04-01T10:00:00+02:00", id="spring-friday-72"
    ),
    pytest.param(
        "2026-03-27T10:00:00+01:00", 24, "2026-03-30T10:00:00+02:00", id="spring-friday-24"
    ),
    pytest.param(
        "2026-03-28T15:00:00+01:00", 72, "2026-04-02T00:00:00+02:00", id="spring-saturday-72"
    ),
    pytest.param(
        "2026-03-29T01:30:00+00:00", 24, "2026-03-31T00:00:00+02:00", id="spring-sunday-24"
    ),
    pytest.param(
        "2026-10-23T10:00:00+02:00", 72, "2026-10-28T10:00:00+01:00", id="autumn-friday-72"
    ),
    pytest.param(
        "2026-10-23T10:00:00+02:00", 24, "2026-10-26T10:00:00+01:00", id="autumn-friday-24"
    ),
    pytest.param(
        "2026-10-25T00:30:00+00:00", 72, "2026-10-29T00:00:00+01:00", id="autumn-sunday-72"
    ),
]


@pytest.mark.parametrize(("arrival", "hours", "due"), DST_DOCUMENT_CASES)
def test_documents_due_around_dst(arrival: str, hours: int, due: str) -> None:
    """Working hours are counted on the wall clock: the weekend of a DST change does not shift
    the clock time of the deadline, only its offset."""
    assert documents_due(CAL, arrival, hours) == due


def test_documents_hours_are_wall_clock_hours_on_a_dst_working_day() -> None:
    """A working day with a DST change still counts 24 wall-clock hours (Rome changes on
    Sundays, so an office in Asia/Jerusalem, which springs forward on Friday 2026-03-27 at
    02:00, shows it): the deadline keeps the clock time, 23 real hours later."""
    zone = ZoneInfo("Asia/Jerusalem")
    calendar = BusinessCalendar(zone, subdivision=None)
    thursday = at("2026-03-26T10:00:00+02:00")
    due = calendar.after_working_hours(thursday, 24)
    assert due.isoformat() == "2026-03-27T10:00:00+03:00"
    assert utc(due) - utc(thursday) == timedelta(hours=23)
    friday = at("2026-03-27T00:00:00+02:00")
    assert calendar.after_working_hours(friday, 24).isoformat() == "2026-03-28T00:00:00+03:00"
    assert calendar.after_working_hours(friday, 12).isoformat() == "2026-03-27T12:00:00+03:00"


# --- Documents due ------------------------------------------------------------------------------

DOCUMENT_CASES = [
    # Week of Monday 2026-05-11.
    pytest.param(
        "2026-05-12T10:00:00+02:00", 72, "2026-05-15T10:00:00+02:00", id="tuesday-10:00-72"
    ),
    pytest.param(
        "2026-05-12T10:00:00+02:00", 24, "2026-05-13T10:00:00+02:00", id="tuesday-10:00-24"
    ),
    pytest.param(
        "2026-05-12T20:00:00+02:00", 72, "2026-05-15T20:00:00+02:00", id="tuesday-20:00-72"
    ),
    pytest.param(
        "2026-05-11T00:00:00+02:00", 72, "2026-05-14T00:00:00+02:00", id="monday-00:00-72"
    ),
    pytest.param(
        "2026-05-14T10:00:00+02:00", 72, "2026-05-19T10:00:00+02:00", id="thursday-10:00-72"
    ),
    pytest.param(
        "2026-05-15T10:00:00+02:00", 72, "2026-05-20T10:00:00+02:00", id="friday-10:00-72"
    ),
    pytest.param(
        "2026-05-15T10:00:00+02:00", 24, "2026-05-18T10:00:00+02:00", id="friday-10:00-24"
    ),
    pytest.param(
        "2026-05-15T23:59:59+02:00", 72, "2026-05-20T23:59:59+02:00", id="friday-23:59:59-72"
    ),
    pytest.param("2026-05-16T10:00:00+02:00", 72, "2026-05-21T00:00:00+02:00", id="saturday-72"),
    pytest.param("2026-05-16T10:00:00+02:00", 24, "2026-05-19T00:00:00+02:00", id="saturday-24"),
    pytest.param("2026-05-17T23:00:00+02:00", 72, "2026-05-21T00:00:00+02:00", id="sunday-72"),
    # Across Christmas 2026 (Fri 25, Sat 26) and New Year 2027 (Fri 1).
    pytest.param(
        "2026-12-23T10:00:00+01:00", 72, "2026-12-29T10:00:00+01:00", id="christmas-wed-72"
    ),
    pytest.param(
        "2026-12-24T10:00:00+01:00", 24, "2026-12-28T10:00:00+01:00", id="christmas-eve-24"
    ),
    pytest.param(
        "2026-12-24T10:00:00+01:00", 72, "2026-12-30T10:00:00+01:00", id="christmas-eve-72"
    ),
    pytest.param(
        "2026-12-25T10:00:00+01:00", 72, "2026-12-31T00:00:00+01:00", id="christmas-day-72"
    ),
    pytest.param(
        "2026-12-30T15:00:00+01:00", 72, "2027-01-05T15:00:00+01:00", id="new-year-wed-72"
    ),
    pytest.param(
        "2026-12-31T15:00:00+01:00", 72, "2027-01-07T15:00:00+01:00", id="new-year-eve-72"
    ),
    pytest.param(
        "2027-01-05T09:30:00+01:00", 24, "2027-01-07T09:30:00+01:00", id="epiphany-eve-24"
    ),
    # 29 June 2026 (Monday) is closed in Rome.
    pytest.param("2026-06-26T10:00:00+02:00", 72, "2026-07-02T10:00:00+02:00", id="rome-patron-72"),
    # An arrival in UTC is counted on Rome's wall clock.
    pytest.param("2026-05-12T08:00:00+00:00", 72, "2026-05-15T10:00:00+02:00", id="utc-arrival-72"),
]


@pytest.mark.parametrize(("arrival", "hours", "due"), DOCUMENT_CASES)
def test_documents_due_table(arrival: str, hours: int, due: str) -> None:
    """Documents are due 72 working hours after arrival (warning at 24): the same clock time
    three working days later; from a non-working day, counted from 00:00 of the next one."""
    assert documents_due(CAL, arrival, hours) == due


def test_documents_due_with_an_extra_closure() -> None:
    """An extra closure is skipped like a holiday by the documents count."""
    calendar = BusinessCalendar(ROME, closures=frozenset({date(2026, 5, 13)}))
    assert documents_due(calendar, "2026-05-12T10:00:00+02:00") == "2026-05-18T10:00:00+02:00"
    assert documents_due(calendar, "2026-05-13T10:00:00+02:00") == "2026-05-19T00:00:00+02:00"


# --- Custom office hours ------------------------------------------------------------------------

EARLY = BusinessCalendar(ROME, opens=time(8, 30), closes=time(17))


@pytest.mark.parametrize(
    ("arrival", "not_before", "due_by"),
    [
        pytest.param(
            "2026-05-13T08:29:59+02:00",
            "2026-05-13T08:30:00+02:00",
            "2026-05-13T09:00:00+02:00",
            id="08:29:59-waits",
        ),
        pytest.param(
            "2026-05-13T08:30:00+02:00",
            "2026-05-13T08:30:00+02:00",
            "2026-05-13T09:00:00+02:00",
            id="08:30:00-open",
        ),
        pytest.param(
            "2026-05-13T16:59:59+02:00",
            "2026-05-13T16:59:59+02:00",
            "2026-05-13T17:29:59+02:00",
            id="16:59:59-open",
        ),
        pytest.param(
            "2026-05-13T17:00:00+02:00",
            "2026-05-14T08:30:00+02:00",
            "2026-05-14T09:00:00+02:00",
            id="17:00:00-closed",
        ),
        pytest.param(
            "2026-05-13T17:30:00+02:00",
            "2026-05-14T08:30:00+02:00",
            "2026-05-14T09:00:00+02:00",
            id="17:30-closed-though-default-is-open",
        ),
        pytest.param(
            "2026-05-15T17:00:00+02:00",
            "2026-05-18T08:30:00+02:00",
            "2026-05-18T09:00:00+02:00",
            id="friday-17:00-monday-08:30",
        ),
    ],
)
def test_custom_office_hours_move_the_boundaries(
    arrival: str, not_before: str, due_by: str
) -> None:
    """With office hours 08:30-17:00 the boundaries follow the settings, not 09:00-18:00."""
    assert window(EARLY, arrival) == (not_before, due_by)


def test_custom_office_hours_working_time() -> None:
    """is_working_time follows the custom hours: [08:30, 17:00)."""
    assert EARLY.is_working_time(at("2026-05-13T08:30:00+02:00"))
    assert not EARLY.is_working_time(at("2026-05-13T08:29:59+02:00"))
    assert EARLY.is_working_time(at("2026-05-13T16:59:59+02:00"))
    assert not EARLY.is_working_time(at("2026-05-13T17:00:00+02:00"))
    assert CAL.is_working_time(at("2026-05-13T17:00:00+02:00"))
    assert not CAL.is_working_time(at("2026-05-13T08:30:00+02:00"))


def test_custom_payment_minutes() -> None:
    """payment_minutes sets the length of the window."""
    calendar = BusinessCalendar(ROME, payment_minutes=90)
    assert window(calendar, "2026-05-13T17:45:00+02:00") == (
        "2026-05-13T17:45:00+02:00",
        "2026-05-13T19:15:00+02:00",
    )


@pytest.mark.parametrize(
    ("opens", "closes"), [(time(18), time(9)), (time(9), time(9))], ids=["reversed", "empty"]
)
def test_office_must_open_before_it_closes(opens: time, closes: time) -> None:
    """A calendar whose office never opens is refused."""
    with pytest.raises(ValueError, match="open before"):
        BusinessCalendar(ROME, opens=opens, closes=closes)


# --- Naive datetimes ---------------------------------------------------------------------------

NAIVE = datetime(2026, 5, 13, 10, 0)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: CAL.is_working_time(NAIVE), id="is_working_time"),
        pytest.param(lambda: CAL.next_opening(NAIVE), id="next_opening"),
        pytest.param(lambda: CAL.payment_window(NAIVE), id="payment_window"),
        pytest.param(lambda: CAL.after_working_hours(NAIVE, 72), id="after_working_hours"),
        pytest.param(lambda: CAL.started_before(NAIVE, 72), id="started_before"),
        pytest.param(lambda: CAL.local(NAIVE), id="local"),
    ],
)
def test_naive_datetimes_are_refused(call: object) -> None:
    """A naive datetime is ambiguous: every time-taking method raises ValueError."""
    with pytest.raises(ValueError, match="naive"):
        call()  # type: ignore[operator]


# --- Properties ---------------------------------------------------------------------------------

MIN_UTC = datetime(2025, 1, 1)
MAX_UTC = datetime(2030, 12, 31, 23, 59, 59)

# Arrivals as instants (any offset) and as Rome wall times (so office boundaries, midnights and
# the DST nights are drawn often); converted to a mix of Rome and UTC tzinfo.
ARRIVALS = st.one_of(
    st.datetimes(MIN_UTC, MAX_UTC, timezones=st.just(UTC)),
    st.datetimes(MIN_UTC, MAX_UTC, timezones=st.just(ROME), allow_imaginary=False),
    st.builds(
        lambda day, clock: datetime.combine(day, clock, ROME),
        st.dates(MIN_UTC.date(), MAX_UTC.date()),
        st.sampled_from(
            [time(0), time(8, 59, 59), time(9), time(17, 59, 59), time(18), time(23, 59, 59)]
        ),
    ),
)
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


@PROPERTY_SETTINGS
@given(ARRIVALS)
def test_property_window_is_thirty_real_minutes(arrival: datetime) -> None:
    """due_by - not_before is exactly 30 minutes of elapsed time, both in Rome's zone."""
    got = CAL.payment_window(arrival)
    assert utc(got.due_by) - utc(got.not_before) == timedelta(minutes=30)
    assert got.not_before.tzinfo == ROME
    assert got.due_by.tzinfo == ROME


@PROPERTY_SETTINGS
@given(ARRIVALS)
def test_property_not_before_is_working_time_not_earlier(arrival: datetime) -> None:
    """not_before is always office time on a working day, never before the arrival, and equal
    to the arrival exactly when the arrival is in office time."""
    got = CAL.payment_window(arrival)
    assert CAL.is_working_time(got.not_before)
    assert CAL.is_working_day(got.not_before.date())
    assert CAL.opens <= got.not_before.time() < CAL.closes
    assert utc(got.not_before) >= utc(arrival)
    assert (got.not_before == arrival) == CAL.is_working_time(arrival)


@PROPERTY_SETTINGS
@given(ARRIVALS)
def test_property_not_before_is_the_first_open_moment(arrival: datetime) -> None:
    """When waiting, not_before is an opening (09:00) and no working day lies strictly between
    the arrival's day and not_before's day."""
    got = CAL.payment_window(arrival)
    if got.not_before == arrival:
        return
    assert got.not_before.time() == CAL.opens
    local_day = arrival.astimezone(ROME).date()
    day = local_day + timedelta(days=1)
    while day < got.not_before.date():
        assert not CAL.is_working_day(day), (arrival, day)
        day += timedelta(days=1)


@PROPERTY_SETTINGS
@given(ARRIVALS, ARRIVALS)
def test_property_window_is_monotone(first: datetime, second: datetime) -> None:
    """A later arrival never gets an earlier not_before nor an earlier due_by."""
    early, late = sorted((first, second), key=utc)
    a, b = CAL.payment_window(early), CAL.payment_window(late)
    assert utc(a.not_before) <= utc(b.not_before)
    assert utc(a.due_by) <= utc(b.due_by)


@PROPERTY_SETTINGS
@given(ARRIVALS)
def test_property_documents_due_after_arrival_and_warning_first(arrival: datetime) -> None:
    """Documents are due after the arrival, and the 24-hour warning comes no later than the
    72-hour deadline; both land on (or at the midnight closing) a working day."""
    due = CAL.after_working_hours(arrival, 72)
    warning = CAL.after_working_hours(arrival, 24)
    assert utc(due) > utc(arrival)
    assert utc(warning) > utc(arrival)
    assert utc(due) >= utc(warning)
    assert due.tzinfo == ROME
    for moment in (due, warning):
        last_day = moment.date() if moment.time() != time(0) else moment.date() - timedelta(1)
        assert CAL.is_working_day(last_day), (arrival, moment)


@PROPERTY_SETTINGS
@given(ARRIVALS)
def test_property_72_hours_is_24_hours_three_times(arrival: datetime) -> None:
    """On a working day, 72 working hours are 24 working hours taken three times."""
    if not CAL.is_working_day(arrival.astimezone(ROME).date()):
        return
    step = arrival
    for _ in range(3):
        step = CAL.after_working_hours(step, 24)
    assert step == CAL.after_working_hours(arrival, 72)


@PROPERTY_SETTINGS
@given(ARRIVALS, ARRIVALS)
def test_property_documents_due_is_monotone(first: datetime, second: datetime) -> None:
    """A later arrival never gets an earlier documents deadline (72) nor warning (24)."""
    early, late = sorted((first, second), key=utc)
    for hours in (24, 72):
        assert utc(CAL.after_working_hours(early, hours)) <= utc(
            CAL.after_working_hours(late, hours)
        )


@pytest.mark.parametrize(
    ("due_from", "bound"),
    [
        # Thursday's report: 72 hours from before Friday 13 end by Tuesday 17's midnight
        ("2026-11-19T00:00:00+01:00", "2026-11-13T00:00:00+01:00"),
        # a Monday: back over the weekend
        ("2026-11-23T00:00:00+01:00", "2026-11-17T00:00:00+01:00"),
        # back over a weekend and 1 January: Monday 4, Thursday 31, Wednesday 30, Tuesday 29
        ("2027-01-05T10:00:00+01:00", "2026-12-29T00:00:00+01:00"),
    ],
)
def test_started_before_goes_back_one_working_day_more_than_the_hours(
    due_from: str, bound: str
) -> None:
    assert CAL.started_before(at(due_from), 72).isoformat() == bound


@PROPERTY_SETTINGS
@given(ARRIVALS, st.sampled_from([1, 24, 25, 72]), st.integers(1, 14 * 86_400_000_000))
def test_property_what_started_before_the_bound_was_due_before(
    due_from: datetime, hours: int, earlier_us: int
) -> None:
    """The report's look-back: anything started before started_before(due_from, hours) had its
    hours done before due_from, however the days fall."""
    start = CAL.started_before(due_from, hours) - timedelta(microseconds=earlier_us)
    assert utc(CAL.after_working_hours(start, hours)) < utc(due_from)


@PROPERTY_SETTINGS
@given(ARRIVALS)
def test_property_next_opening_is_idempotent(arrival: datetime) -> None:
    """next_opening of an opening is itself."""
    opening = CAL.next_opening(arrival)
    assert CAL.next_opening(opening) == opening
    assert CAL.next_opening(opening).isoformat() == opening.isoformat()
