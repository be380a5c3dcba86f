"""Working-day calendars: working hours, weekdays, public holidays and closed days, in one time zone.

Pure arithmetic on aware datetimes, used by SLA timers, reminders and auto-close. Working hours are
local wall-clock times (08:00 stays 08:00 across daylight-saving changes); every instant this module
returns is aware and in UTC. Durations are real elapsed time, so a working day that spans a
daylight-saving change is an hour longer or shorter than usual.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

WEEKDAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names accepted by `WorkingCalendar.from_settings`, in `date.weekday()` order (Mon=0)."""

# A calendar whose weekdays are all eaten by holidays and closed days would make every search
# below run forever; no real calendar goes this long without a working day.
_SEARCH_LIMIT_DAYS = 3660

_SUMS_KEPT = 1024
_ONE_DAY = timedelta(days=1)
_MIDNIGHT = time(0, 0)
_CLOCK = re.compile(r"(\d{2}):(\d{2})")


@dataclass(frozen=True)
class WorkingCalendar:
    """When a desk is open: one interval of local working hours on given weekdays, minus closed days.

    `end` is exclusive; `end == time(0)` means midnight at the end of the day (written "24:00" in
    settings). A day is a working day when its weekday is in `weekdays` (Mon=0 .. Sun=6), it is not a
    public holiday of `country` (and `subdivision`) per the `holidays` library, and it is not in
    `closed`. Build one with `from_settings` (strings, as in `app.yaml`) or directly; both validate.
    """

    timezone: str = "UTC"
    start: time = time(8, 0)
    end: time = time(16, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    country: str | None = None
    subdivision: str | None = None
    closed: frozenset[date] = frozenset()
    zone: ZoneInfo = field(init=False, repr=False, compare=False)
    # Recent answers of `add_working_hours`: a group of filings asks the same sums (one instant, the
    # same targets) a hundred times over.
    _sums: dict[tuple[datetime, float | timedelta], datetime] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", _zone(self.timezone))
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("working hours are local wall-clock times; give them without a time zone")
        if self.end != _MIDNIGHT and self.end <= self.start:
            raise ValueError(
                f"the end of the working day ({_clock(self.end)}) must come after its start ({_clock(self.start)})"
            )
        weekdays = frozenset(self.weekdays)
        if not weekdays:
            raise ValueError("a calendar needs at least one working weekday")
        if any(not isinstance(w, int) or isinstance(w, bool) or not 0 <= w <= 6 for w in weekdays):
            raise ValueError("weekdays are numbers from 0 (Monday) to 6 (Sunday)")
        object.__setattr__(self, "weekdays", weekdays)
        closed = frozenset(self.closed)
        if any(isinstance(d, datetime) or not isinstance(d, date) for d in closed):
            raise ValueError("closed days are dates (YYYY-MM-DD), not times")
        object.__setattr__(self, "closed", closed)
        country, subdivision = _region(self.country, self.subdivision)
        object.__setattr__(self, "country", country)
        object.__setattr__(self, "subdivision", subdivision)

    @classmethod
    def from_settings(
        cls,
        tz: str,
        start: str = "08:00",
        end: str = "16:00",
        weekdays: Iterable[str] = ("mon", "tue", "wed", "thu", "fri"),
        country: str | None = None,
        subdivision: str | None = None,
        closed: Iterable[date] = (),
    ) -> WorkingCalendar:
        """Build a calendar from settings as written in `app.yaml`; raise ValueError saying what is wrong.

        `start` and `end` are "HH:MM" local times ("24:00" allowed as end), `weekdays` are names from
        `WEEKDAY_NAMES` (any case), `country` an ISO 3166 code known to the `holidays` library (any
        case, e.g. "NO"), `subdivision` one of that country's subdivisions (e.g. "BY" for Germany).
        """
        if isinstance(weekdays, str):
            raise ValueError("weekdays must be a list of day names, e.g. [mon, tue, wed, thu, fri]")
        numbers: set[int] = set()
        for name in weekdays:
            key = str(name).strip().lower()
            if key not in WEEKDAY_NAMES:
                raise ValueError(f"unknown weekday '{name}' (use {', '.join(WEEKDAY_NAMES)})")
            numbers.add(WEEKDAY_NAMES.index(key))
        return cls(
            timezone=tz,
            start=_parse_clock(start, "start", allow_midnight_end=False),
            end=_parse_clock(end, "end", allow_midnight_end=True),
            weekdays=frozenset(numbers),
            country=country,
            subdivision=subdivision,
            closed=frozenset(closed),
        )

    # -- days ---------------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """Whether the local calendar date `d` is a working day.

        Given an aware datetime instead of a date, its local date in this calendar's zone is used.
        """
        if isinstance(d, datetime):
            d = _utc(d).astimezone(self.zone).date()
        return (
            d.weekday() in self.weekdays
            and d not in self.closed
            and (self.country is None or d not in _public_holidays(self.country, self.subdivision, d.year))
        )

    def working_hours(self, d: date) -> tuple[datetime, datetime] | None:
        """The working interval [start, end) of local date `d` as UTC instants, or None if `d` is closed."""
        if not self.is_working_day(d):
            return None
        return self._interval(d)

    # -- instants -----------------------------------------------------------------------------

    def is_working_moment(self, t: datetime) -> bool:
        """Whether the aware instant `t` falls inside working hours of a working day (end excluded)."""
        t = _utc(t)
        d = t.astimezone(self.zone).date()
        if not self.is_working_day(d):
            return False
        opens, closes = self._interval(d)
        return opens <= t < closes

    def next_working_moment(self, t: datetime) -> datetime:
        """The first working instant at or after `t`, in UTC.

        That is `t` itself when it is a working moment; otherwise the start of the next working
        interval (the end of the day is exclusive, so 16:00 sharp on a 08:00-16:00 day moves on).
        """
        t = _utc(t)
        d = t.astimezone(self.zone).date()
        if self.is_working_day(d):
            opens, closes = self._interval(d)
            if t < closes:
                return max(t, opens)
        return self._interval(self._working_day_after(d))[0]

    def add_working_hours(self, t: datetime, hours: float | timedelta) -> datetime:
        """The earliest instant, in UTC, by which `hours` of working time have passed since `t`.

        Only time inside working intervals counts; `t` may be outside working time. The result can
        be the exact end of a working day (Friday 14:00 + 2 h on 08:00-16:00 is Friday 16:00, not
        Monday 08:00). Zero hours gives `t` back. Negative amounts are refused.
        """
        key = (t, hours)
        found = self._sums.get(key)
        if found is None:
            found = self._add_working_hours(t, hours)
            if len(self._sums) >= _SUMS_KEPT:
                self._sums.clear()
            self._sums[key] = found
        return found

    def _add_working_hours(self, t: datetime, hours: float | timedelta) -> datetime:
        t = _utc(t)
        remaining = _duration(hours)
        if not remaining:
            return t
        d = t.astimezone(self.zone).date()
        if not self.is_working_day(d):
            d = self._working_day_after(d)
        while True:
            opens, closes = self._interval(d)
            begin = max(t, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
            d = self._working_day_after(d)

    def add_working_days(self, t: datetime, n: int) -> datetime:
        """The same local clock time `n` working days later, in UTC.

        Counting starts from `m = next_working_moment(t)`: the result is the `n`-th working day after
        `m`'s local date, at `m`'s local wall-clock time (so 10:00 stays 10:00 across a
        daylight-saving change). Hence Tuesday 10:00 + 1 is Wednesday 10:00, Friday 17:00 + 1 is
        Tuesday 08:00 (via Monday 08:00), and Saturday + 0 is Monday at opening. Negative `n` is refused.
        """
        if isinstance(n, bool) or not isinstance(n, int):
            raise ValueError("the number of working days must be a whole number")
        if n < 0:
            raise ValueError("the number of working days cannot be negative")
        m = self.next_working_moment(t).astimezone(self.zone)
        d = m.date()
        for _ in range(n):
            d = self._working_day_after(d)
        return datetime.combine(d, m.timetz().replace(tzinfo=None), tzinfo=self.zone).astimezone(UTC)

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time that passes from instant `a` to instant `b`; zero when `b` is not after `a`.

        This is the SLA clock: it runs only inside working intervals of working days.
        """
        a, b = _utc(a), _utc(b)
        total = timedelta(0)
        if b <= a:
            return total
        d = a.astimezone(self.zone).date()
        last = b.astimezone(self.zone).date()
        while d <= last:
            if self.is_working_day(d):
                opens, closes = self._interval(d)
                begin, finish = max(a, opens), min(b, closes)
                if begin < finish:
                    total += finish - begin
            d += _ONE_DAY
        return total

    def working_days_between(self, a: datetime, b: datetime) -> int:
        """How many whole working days have passed from `a` to `b`; zero when `b` is not after `a`.

        Precisely: the largest `n >= 0` with `add_working_days(a, n) <= b`, so "auto-close after N
        working days" is `working_days_between(resolved_at, now) >= N`.
        """
        b = _utc(b)
        m = self.next_working_moment(a)
        if b < m:
            return 0
        local = m.astimezone(self.zone)
        clock = local.timetz().replace(tzinfo=None)
        d, last = local.date(), b.astimezone(self.zone).date()
        count = 0
        latest = d  # the count-th working day after m's date
        day = d + _ONE_DAY
        while day <= last:
            if self.is_working_day(day):
                count += 1
                latest = day
            day += _ONE_DAY
        if count and b < datetime.combine(latest, clock, tzinfo=self.zone):
            count -= 1
        return count

    # -- internals ----------------------------------------------------------------------------

    def _interval(self, d: date) -> tuple[datetime, datetime]:
        """Working hours of local date `d` as UTC instants (whether or not `d` is a working day)."""
        opens = datetime.combine(d, self.start, tzinfo=self.zone)
        if self.end == _MIDNIGHT:
            closes = datetime.combine(d + _ONE_DAY, _MIDNIGHT, tzinfo=self.zone)
        else:
            closes = datetime.combine(d, self.end, tzinfo=self.zone)
        return opens.astimezone(UTC), closes.astimezone(UTC)

    def _working_day_after(self, d: date) -> date:
        """The first working day strictly after local date `d`."""
        for _ in range(_SEARCH_LIMIT_DAYS):
            d += _ONE_DAY
            if self.is_working_day(d):
                return d
        raise ValueError(f"this calendar has no working day in the ten years after {d - _SEARCH_LIMIT_DAYS * _ONE_DAY}")


def _utc(t: datetime) -> datetime:
    """`t` as UTC; naive datetimes are refused because their instant is unknown."""
    if not isinstance(t, datetime):
        raise ValueError(f"expected a datetime, got {type(t).__name__}")
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("expected a timezone-aware datetime (naive times are ambiguous)")
    return t.astimezone(UTC)


def _duration(hours: float | timedelta) -> timedelta:
    """A non-negative, finite amount of working time."""
    if isinstance(hours, timedelta):
        amount = hours
    elif isinstance(hours, bool) or not isinstance(hours, int | float) or not math.isfinite(hours):
        raise ValueError(f"expected a number of working hours, got {hours!r}")
    else:
        amount = timedelta(hours=hours)
    if amount < timedelta(0):
        raise ValueError("working hours to add cannot be negative")
    return amount


def _zone(name: str) -> ZoneInfo:
    """The zone called `name`, or a ValueError a person can act on."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
        raise ValueError(f"unknown time zone '{name}' (use an IANA name such as Europe/Oslo)") from None


def _clock(t: time) -> str:
    """A working-hours bound as people write it."""
    return "24:00" if t == _MIDNIGHT else t.strftime("%H:%M")


def _parse_clock(text: str, which: str, *, allow_midnight_end: bool) -> time:
    """Parse "HH:MM"; "24:00" only as the end of the day."""
    match = _CLOCK.fullmatch(str(text).strip())
    if match:
        hour, minute = int(match[1]), int(match[2])
        if allow_midnight_end and (hour, minute) == (24, 0):
            return _MIDNIGHT
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise ValueError(f"the {which} of the working day must be a time like 08:00, got '{text}'")


def _region(country: str | None, subdivision: str | None) -> tuple[str | None, str | None]:
    """Canonical (country, subdivision) codes for the `holidays` library, or a clear ValueError."""
    if country is None or not str(country).strip():
        if subdivision is not None and str(subdivision).strip():
            raise ValueError(f"subdivision '{subdivision}' needs a country (e.g. country: DE, subdivision: BY)")
        return None, None
    code = str(country).strip().upper()
    supported = holidays.list_supported_countries()
    if code not in supported:
        raise ValueError(
            f"unknown country '{country}' for public holidays (use a two-letter ISO code such as NO, SE or DE)"
        )
    if subdivision is None or not str(subdivision).strip():
        return code, None
    wanted = str(subdivision).strip()
    known: list[str] = list(supported[code])
    for candidate in known:
        if candidate.lower() == wanted.lower():
            return code, candidate
    try:  # the library also accepts aliases, e.g. "Cataluña" for Spain's CT
        holidays.country_holidays(code, subdiv=wanted)
    except NotImplementedError:
        listed = ", ".join(known) if known else "none"
        raise ValueError(f"unknown subdivision '{subdivision}' for country {code} (known: {listed})") from None
    return code, wanted


@lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """Public holidays falling in `year` (neighbouring years are read too: observed days can spill over)."""
    found: set[date] = set()
    for y in (year - 1, year, year + 1):
        if 1 <= y <= 9999:
            found.update(d for d in holidays.country_holidays(country, subdiv=subdivision, years=y) if d.year == year)
    return frozenset(found)
