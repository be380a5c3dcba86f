"""Working-day calendar: due times across weekends, public holidays, closed days and clock changes.

Every expected value is worked out by hand and written as local time with its UTC offset, so a
wrong offset (08:00 drifting to 07:00 or 09:00 after a clock change) fails as loudly as a wrong day.
Dates used: 2026-03-29 and 2026-10-25 are the EU clock changes (Sundays); Easter Sunday 2026 is
5 April; 2024-05-17 is a Friday followed by Whit Monday 20 May.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.scheduler.calendar import WorkingCalendar

WEEK = ["mon", "tue", "wed", "thu", "fri"]
ALL_DAYS = [*WEEK, "sat", "sun"]

CALENDARS = {
    # As in app.yaml: Norwegian holidays plus Christmas Eve and New Year's Eve closed.
    "oslo": WorkingCalendar.from_settings(
        "Europe/Oslo", "08:00", "16:00", WEEK, "NO", None, [date(2026, 12, 24), date(2026, 12, 31)]
    ),
    "oslo-no-holidays": WorkingCalendar.from_settings("Europe/Oslo", "08:00", "16:00", WEEK, None, None, []),
    "oslo-24x7": WorkingCalendar.from_settings("Europe/Oslo", "00:00", "24:00", ALL_DAYS, None, None, []),
    "stockholm": WorkingCalendar.from_settings("Europe/Stockholm", "08:00", "16:00", WEEK, "SE", None, []),
    # Midsummer Eve is no public holiday in the `holidays` library; desks close it by hand.
    "stockholm-midsummer": WorkingCalendar.from_settings(
        "Europe/Stockholm", "08:00", "16:00", WEEK, "SE", None, [date(2026, 6, 19)]
    ),
    "bavaria": WorkingCalendar.from_settings("Europe/Berlin", "08:00", "16:00", WEEK, "DE", "BY", []),
    "berlin": WorkingCalendar.from_settings("Europe/Berlin", "08:00", "16:00", WEEK, "DE", "BE", []),
    # Lower-case codes, as people type them.
    "oslo-lowercase": WorkingCalendar.from_settings("Europe/Oslo", "08:00", "16:00", WEEK, "no", None, []),
    "bavaria-lowercase": WorkingCalendar.from_settings("Europe/Berlin", "08:00", "16:00", WEEK, "de", "by", []),
}


def at(iso: str) -> datetime:
    """An aware instant from ISO text with its offset, e.g. 2026-03-13T15:30+01:00."""
    moment = datetime.fromisoformat(iso)
    assert moment.tzinfo is not None
    return moment


def local(calendar: str, moment: datetime) -> str:
    """How a person in the calendar's zone reads `moment`: local time with its UTC offset."""
    assert moment.tzinfo is UTC, "the calendar returns UTC instants"
    return moment.astimezone(ZoneInfo(CALENDARS[calendar].timezone)).isoformat(timespec="minutes")


# calendar, filed at, working hours, due (local, with offset)
ADD_HOURS = [
    ("oslo", "2026-03-13T15:30+01:00", 2, "2026-03-16T09:30+01:00"),  # Friday 15:30: half an hour, rest Monday
    ("oslo", "2026-03-13T14:30+00:00", 2, "2026-03-16T09:30+01:00"),  # same instant given in UTC
    ("oslo", "2026-03-14T11:00+01:00", 2, "2026-03-16T10:00+01:00"),  # filed Saturday: clock starts Monday 08:00
    ("oslo", "2026-03-13T14:00+01:00", 2, "2026-03-13T16:00+01:00"),  # due exactly at closing, not Monday
    ("oslo", "2026-03-16T07:00+01:00", 1, "2026-03-16T09:00+01:00"),  # filed before opening
    ("oslo", "2026-03-16T15:45+01:00", timedelta(minutes=30), "2026-03-17T08:15+01:00"),
    ("oslo", "2026-03-16T10:00+01:00", 0.5, "2026-03-16T10:30+01:00"),
    ("oslo", "2026-03-16T10:00+01:00", 0, "2026-03-16T10:00+01:00"),
    # Spring forward on Sunday 29 March: Monday still opens at 08:00 local, now UTC+2.
    ("oslo", "2026-03-27T15:00+01:00", 4, "2026-03-30T11:00+02:00"),
    # Fall back on Sunday 25 October: Monday still opens at 08:00 local, now UTC+1.
    ("oslo", "2026-10-23T15:00+02:00", 4, "2026-10-26T11:00+01:00"),
    # 17 May (Friday) and Whit Monday 20 May 2024: Thursday afternoon is due Tuesday.
    ("oslo", "2024-05-16T15:00+02:00", 2, "2024-05-21T09:00+02:00"),
    # Easter: Maundy Thursday, Good Friday and Easter Monday are Norwegian holidays.
    ("oslo", "2026-04-01T15:00+02:00", 2, "2026-04-07T09:00+02:00"),
    ("oslo-lowercase", "2026-04-01T15:00+02:00", 2, "2026-04-07T09:00+02:00"),
    # Christmas: 24 December closed by the desk, 25 a holiday, then the weekend.
    ("oslo", "2026-12-23T15:00+01:00", 2, "2026-12-28T09:00+01:00"),
    # New Year: 31 December closed by the desk, 1 January 2027 (Friday) a holiday, then the weekend.
    ("oslo", "2026-12-30T15:00+01:00", 2, "2027-01-04T09:00+01:00"),
    # Without holidays, Christmas Eve and Christmas Day are ordinary Thursday and Friday.
    ("oslo-no-holidays", "2026-12-23T15:00+01:00", 2, "2026-12-24T09:00+01:00"),
    # 1,000 hours = 125 days of 8 hours = 25 full weeks from Monday 5 January: Friday 26 June, closing.
    ("oslo-no-holidays", "2026-01-05T08:00+01:00", 1000, "2026-06-26T16:00+02:00"),
    # Sweden has no Maundy Thursday holiday.
    ("stockholm", "2026-04-01T15:00+02:00", 2, "2026-04-02T09:00+02:00"),
    # Midsummer Eve (Friday 19 June 2026) is a working day unless closed; Midsummer Day is a Saturday.
    ("stockholm", "2026-06-18T15:00+02:00", 2, "2026-06-19T09:00+02:00"),
    ("stockholm-midsummer", "2026-06-18T15:00+02:00", 2, "2026-06-22T09:00+02:00"),
    # Christmas Day (Friday 25 December 2026) is a Swedish holiday; Christmas Eve is not.
    ("stockholm", "2026-12-24T15:00+01:00", 2, "2026-12-28T09:00+01:00"),
    # Epiphany (Tuesday 6 January 2026) is a holiday in Bavaria, not in Berlin.
    ("bavaria", "2026-01-05T15:00+01:00", 2, "2026-01-07T09:00+01:00"),
    ("bavaria-lowercase", "2026-01-05T15:00+01:00", 2, "2026-01-07T09:00+01:00"),
    ("berlin", "2026-01-05T15:00+01:00", 2, "2026-01-06T09:00+01:00"),
    # A round-the-clock desk feels the clock changes: 3 hours after midnight is 04:00 or 02:00 local.
    ("oslo-24x7", "2026-03-29T00:00+01:00", 3, "2026-03-29T04:00+02:00"),
    ("oslo-24x7", "2026-10-25T00:00+02:00", 3, "2026-10-25T02:00+01:00"),
]


@pytest.mark.parametrize(("calendar", "filed", "hours", "due"), ADD_HOURS)
def test_due_after_working_hours(calendar: str, filed: str, hours: float | timedelta, due: str) -> None:
    assert local(calendar, CALENDARS[calendar].add_working_hours(at(filed), hours)) == due


# calendar, from, working days, due (local, with offset)
ADD_DAYS = [
    ("oslo", "2026-03-16T10:00+01:00", 1, "2026-03-17T10:00+01:00"),
    ("oslo", "2026-03-13T10:00+01:00", 5, "2026-03-20T10:00+01:00"),  # a working week
    ("oslo", "2026-04-01T10:00+02:00", 1, "2026-04-07T10:00+02:00"),  # over Norwegian Easter
    ("oslo", "2026-04-01T10:00+02:00", 2, "2026-04-08T10:00+02:00"),
    ("stockholm", "2026-04-01T10:00+02:00", 1, "2026-04-02T10:00+02:00"),  # Swedish Easter starts Friday
    ("stockholm", "2026-04-01T10:00+02:00", 2, "2026-04-07T10:00+02:00"),
    # Auto-close three working days after Tuesday 22 December: 23rd, (24-27 closed), 28th, 29th.
    ("oslo", "2026-12-22T11:00+01:00", 3, "2026-12-29T11:00+01:00"),
    # Same local clock time across the clock changes.
    ("oslo", "2026-03-27T10:00+01:00", 1, "2026-03-30T10:00+02:00"),
    ("oslo", "2026-10-23T10:00+02:00", 1, "2026-10-26T10:00+01:00"),
    # Outside working time, counting starts at the next opening.
    ("oslo", "2026-03-13T17:00+01:00", 1, "2026-03-17T08:00+01:00"),  # Friday evening -> Monday 08:00 -> Tuesday
    ("oslo", "2026-03-13T07:00+01:00", 1, "2026-03-16T08:00+01:00"),  # Friday before opening -> Friday 08:00 -> Monday
    ("oslo", "2026-03-14T12:00+01:00", 0, "2026-03-16T08:00+01:00"),  # Saturday + 0 -> Monday opening
]


@pytest.mark.parametrize(("calendar", "start", "days", "due"), ADD_DAYS)
def test_due_after_working_days(calendar: str, start: str, days: int, due: str) -> None:
    assert local(calendar, CALENDARS[calendar].add_working_days(at(start), days)) == due


# calendar, from, to, working time on the SLA clock
ELAPSED = [
    ("oslo", "2026-03-13T14:00+01:00", "2026-03-16T10:00+01:00", timedelta(hours=4)),  # over a weekend
    ("oslo", "2026-03-13T13:00+00:00", "2026-03-16T10:00+01:00", timedelta(hours=4)),  # start given in UTC
    ("oslo", "2026-05-13T14:00+02:00", "2026-05-15T10:00+02:00", timedelta(hours=4)),  # over Ascension Day
    ("oslo", "2026-03-13T17:00+01:00", "2026-03-16T07:00+01:00", timedelta(0)),  # all outside hours
    ("oslo", "2026-03-16T12:00+01:00", "2026-03-16T10:00+01:00", timedelta(0)),  # end before start
    # Six working days of 8 hours across each clock change: no hour gained or lost.
    ("oslo", "2026-03-23T08:00+01:00", "2026-03-30T16:00+02:00", timedelta(hours=48)),
    ("oslo", "2026-10-19T08:00+02:00", "2026-10-26T16:00+01:00", timedelta(hours=48)),
    # Round the clock, the weekend of a clock change is 47 or 49 hours long.
    ("oslo-24x7", "2026-03-28T00:00+01:00", "2026-03-30T00:00+02:00", timedelta(hours=47)),
    ("oslo-24x7", "2026-10-24T00:00+02:00", "2026-10-26T00:00+01:00", timedelta(hours=49)),
]


@pytest.mark.parametrize(("calendar", "start", "end", "elapsed"), ELAPSED)
def test_working_time_between(calendar: str, start: str, end: str, elapsed: timedelta) -> None:
    assert CALENDARS[calendar].working_time_between(at(start), at(end)) == elapsed


# calendar, resolved at, now, whole working days passed (auto-close after N working days)
DAYS_PASSED = [
    ("oslo", "2026-04-01T10:00+02:00", "2026-04-07T09:59+02:00", 0),  # Easter in between
    ("oslo", "2026-04-01T10:00+02:00", "2026-04-07T10:00+02:00", 1),
    ("oslo", "2026-04-01T10:00+02:00", "2026-04-08T10:00+02:00", 2),
    ("oslo", "2026-03-13T10:00+01:00", "2026-03-20T10:00+01:00", 5),
    ("oslo", "2026-03-13T17:00+01:00", "2026-03-16T12:00+01:00", 0),  # resolved Friday evening
    ("oslo", "2026-03-13T17:00+01:00", "2026-03-17T08:00+01:00", 1),
    ("oslo", "2026-03-14T10:00+01:00", "2026-03-15T18:00+01:00", 0),  # a weekend
    ("oslo", "2026-03-27T10:00+01:00", "2026-03-30T10:00+02:00", 1),  # same wall clock after spring forward
    ("oslo", "2026-03-16T12:00+01:00", "2026-03-13T12:00+01:00", 0),  # now before resolved
]


@pytest.mark.parametrize(("calendar", "start", "end", "days"), DAYS_PASSED)
def test_working_days_between(calendar: str, start: str, end: str, days: int) -> None:
    assert CALENDARS[calendar].working_days_between(at(start), at(end)) == days


# calendar, asked at, next moment someone is at the desk
NEXT_OPEN = [
    ("oslo", "2026-03-16T16:00+01:00", "2026-03-17T08:00+01:00"),  # closing time is already closed
    ("oslo", "2026-03-16T15:59+01:00", "2026-03-16T15:59+01:00"),
    ("oslo", "2026-03-16T07:59+01:00", "2026-03-16T08:00+01:00"),
    ("oslo", "2026-03-16T08:00+01:00", "2026-03-16T08:00+01:00"),
    ("oslo", "2026-03-13T16:00+01:00", "2026-03-16T08:00+01:00"),  # Friday closing -> Monday
    ("oslo", "2026-03-29T12:00+02:00", "2026-03-30T08:00+02:00"),  # Sunday of spring forward
    ("oslo", "2026-04-01T16:00+02:00", "2026-04-07T08:00+02:00"),  # into Easter
    ("oslo", "2026-04-01T14:00+00:00", "2026-04-07T08:00+02:00"),  # 16:00 local, asked in UTC
]


@pytest.mark.parametrize(("calendar", "asked", "opens"), NEXT_OPEN)
def test_next_working_moment(calendar: str, asked: str, opens: str) -> None:
    assert local(calendar, CALENDARS[calendar].next_working_moment(at(asked))) == opens


# calendar, instant, is someone at the desk
OPEN_NOW = [
    ("oslo", "2026-05-18T08:00+02:00", True),
    ("oslo", "2026-05-18T16:00+02:00", False),
    ("oslo", "2026-05-14T10:00+02:00", False),  # Ascension Day
    ("oslo", "2026-12-24T10:00+01:00", False),  # closed by the desk
    ("oslo-no-holidays", "2026-12-24T10:00+01:00", True),
    ("stockholm", "2026-06-19T10:00+02:00", True),  # Midsummer Eve, per the library
    ("stockholm-midsummer", "2026-06-19T10:00+02:00", False),
    ("bavaria", "2026-01-06T10:00+01:00", False),
    ("berlin", "2026-01-06T10:00+01:00", True),
]


@pytest.mark.parametrize(("calendar", "instant", "open_"), OPEN_NOW)
def test_is_working_moment(calendar: str, instant: str, open_: bool) -> None:
    assert CALENDARS[calendar].is_working_moment(at(instant)) is open_


NAIVE = datetime(2026, 3, 16, 10, 0)
AWARE = at("2026-03-16T10:00+01:00")


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.is_working_moment(NAIVE),
        lambda c: c.next_working_moment(NAIVE),
        lambda c: c.add_working_hours(NAIVE, 2),
        lambda c: c.add_working_days(NAIVE, 1),
        lambda c: c.working_time_between(NAIVE, AWARE),
        lambda c: c.working_time_between(AWARE, NAIVE),
        lambda c: c.working_days_between(NAIVE, AWARE),
        lambda c: c.working_days_between(AWARE, NAIVE),
    ],
    ids=["is_working_moment", "next", "add_hours", "add_days", "between-a", "between-b", "days-a", "days-b"],
)
def test_naive_datetime_refused(call: Callable[[WorkingCalendar], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(CALENDARS["oslo"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.add_working_hours(AWARE, -1), "cannot be negative"),
        (lambda c: c.add_working_hours(AWARE, float("nan")), "number of working hours"),
        (lambda c: c.add_working_days(AWARE, -1), "cannot be negative"),
    ],
    ids=["negative-hours", "nan-hours", "negative-days"],
)
def test_bad_amounts_refused(call: Callable[[WorkingCalendar], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(CALENDARS["oslo"])


GOOD = {
    "tz": "Europe/Oslo",
    "start": "08:00",
    "end": "16:00",
    "weekdays": WEEK,
    "country": "NO",
    "subdivision": None,
    "closed": [],
}

BAD_SETTINGS = [
    ({"start": "16:00", "end": "08:00"}, r"the end of the working day \(08:00\) must come after its start \(16:00\)"),
    ({"start": "08:00", "end": "08:00"}, "must come after its start"),
    ({"start": "8am"}, "the start of the working day must be a time like 08:00, got '8am'"),
    ({"end": "25:00"}, "the end of the working day must be a time like 08:00"),
    ({"start": "24:00"}, "the start of the working day must be a time like 08:00"),
    ({"tz": "Europe/Olso"}, "unknown time zone 'Europe/Olso'"),
    ({"tz": "CET+1"}, "unknown time zone"),
    ({"tz": ""}, "unknown time zone"),
    ({"weekdays": ["mon", "funday"]}, "unknown weekday 'funday'"),
    ({"weekdays": []}, "at least one working weekday"),
    ({"weekdays": "mon"}, "must be a list of day names"),
    ({"country": "XX"}, "unknown country 'XX' for public holidays"),
    ({"country": "Norway"}, "unknown country 'Norway'"),
    ({"country": "DE", "subdivision": "XX"}, r"unknown subdivision 'XX' for country DE \(known: BB, BE, BW, BY"),
    ({"country": None, "subdivision": "BY"}, "subdivision 'BY' needs a country"),
]


@pytest.mark.parametrize(("change", "message"), BAD_SETTINGS)
def test_bad_settings_explained(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingCalendar.from_settings(**{**GOOD, **change})  # type: ignore[arg-type]
