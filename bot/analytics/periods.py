"""The periods of a report (days, weeks, months, or one custom range) as local dates and UTC instants,
and the SQL that says which period a time falls in.

Periods follow the local calendar of one time zone: a day starts at local midnight, a week on Monday,
a month on its first day; the first and last periods are cut to the range asked for. Each period is
[start, end) in UTC, so a day that changes to or from daylight-saving time is 23 or 25 hours long,
as its people lived it. The database never converts time zones: the boundaries are computed here and
compared in SQL (`Periods.index_of`), the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, case, literal_column
from sqlalchemy.orm import QueryableAttribute

from bot.errors import DeskError
from bot.i18n import N_, _

Column = ColumnElement[Any] | QueryableAttribute[Any]
"""A column or an expression over columns (a mapped attribute such as `AnalyticsFact.at` too)."""

DAY, WEEK, MONTH, RANGE = "day", "week", "month", "range"
KINDS = (DAY, WEEK, MONTH, RANGE)
# What each kind of period is called in the filter form.
KIND_NAMES = {DAY: N_("Day"), WEEK: N_("Week"), MONTH: N_("Month"), RANGE: N_("Whole range")}
DEFAULT_KIND = WEEK
DEFAULT_DAYS = 28
"""Without `from`, a report covers the last four weeks up to and including `to` (default: today)."""
MOST = 400
"""At most this many periods in one report (a year and more of days): a longer one asks for a longer period."""

# Dates a report may name: past these, local midnights leave what datetimes hold.
EARLIEST, LATEST = date(1970, 1, 1), date(9998, 12, 31)


@dataclass(frozen=True)
class Period:
    """One row of a report: local days `first` to `last` (inclusive), the instants [start, end) in UTC."""

    index: int
    first: date
    last: date
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Periods:
    """The periods of one report, in order, covering [start, end) without gaps."""

    kind: str
    first: date
    last: date
    timezone: str
    periods: tuple[Period, ...]

    @property
    def start(self) -> datetime:
        """The first instant of the range (local midnight of `first`, in UTC)."""
        return self.periods[0].start

    @property
    def end(self) -> datetime:
        """The instant after the range (local midnight after `last`, in UTC)."""
        return self.periods[-1].end

    def whole(self) -> Periods:
        """The same range as one period."""
        return build_periods(RANGE, self.first, self.last, self.timezone)

    @property
    def start_second(self) -> int:
        """`start` in whole seconds since 1970 UTC, as `analytics_facts.at` counts."""
        return int(self.start.timestamp())

    @property
    def end_second(self) -> int:
        """`end` in whole seconds since 1970 UTC."""
        return int(self.end.timestamp())

    def bounds(self) -> list[tuple[int, int]]:
        """Each period's [start, end) in whole seconds since 1970 UTC."""
        return [(int(p.start.timestamp()), int(p.end.timestamp())) for p in self.periods]

    def index_of(self, moment: Column) -> ColumnElement[int]:
        """SQL: the index of the period a moment in whole seconds since 1970 UTC (`analytics_facts.at`) falls
        in, for moments inside [start, end) (the caller's WHERE keeps the others out). A balanced tree of
        integer comparisons: about log2(periods) per row."""
        starts = [int(p.start.timestamp()) for p in self.periods]

        def tree(low: int, high: int) -> ColumnElement[int]:
            if high - low == 1:
                return literal_column(str(low), Integer)
            middle = (low + high) // 2
            return case((moment < starts[middle], tree(low, middle)), else_=tree(middle, high))

        return tree(0, len(starts))


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant a local day starts, in UTC."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _next_boundary(kind: str, day: date, last: date) -> date:
    """The first day of the period after the one `day` is in (never past the day after `last`)."""
    if kind == DAY:
        found = day + timedelta(days=1)
    elif kind == WEEK:
        found = day + timedelta(days=7 - day.weekday())
    elif kind == MONTH:
        found = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    else:
        found = last + timedelta(days=1)
    return min(found, last + timedelta(days=1))


def build_periods(kind: str, first: date, last: date, timezone: str) -> Periods:
    """Cut [first, last] (local dates, both included) into periods of `kind` in `timezone`.

    Refused with a sentence the reader can act on: an unknown kind, a range that ends before it
    starts, or more than `MOST` periods.
    """
    if kind not in KINDS:
        raise DeskError(_("'{period}' is not a period. Choose day, week, month or range.", period=kind))
    if last < first:
        raise DeskError(_("The range ends before it starts: choose a 'to' date on or after the 'from' date."))
    zone = ZoneInfo(timezone)
    periods: list[Period] = []
    day = first
    while day <= last:
        if len(periods) == MOST:
            raise DeskError(_("That range has more than {most} periods; choose a longer period or a shorter range.",
                              most=MOST))
        after = _next_boundary(kind, day, last)
        periods.append(Period(len(periods), day, after - timedelta(days=1), local_midnight(day, zone),
                              local_midnight(after, zone)))
        day = after
    return Periods(kind, first, last, timezone, tuple(periods))


def parse_day(value: str, which: str) -> date:
    """An ISO date (YYYY-MM-DD) from a query; `which` is 'from' or 'to', said in the refusal."""
    try:
        found = date.fromisoformat(value.strip())
        if not EARLIEST <= found <= LATEST:
            raise ValueError(value)
        return found
    except ValueError:
        if which == "from":
            raise DeskError(_("The 'from' date '{value}' is not a date; write it as YYYY-MM-DD.",
                              value=value[:40])) from None
        raise DeskError(_("The 'to' date '{value}' is not a date; write it as YYYY-MM-DD.",
                          value=value[:40])) from None
