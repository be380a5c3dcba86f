"""Each zone's working-day calendar, built once per configuration, and a step back in working time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from bot.config import AppConfig, CalendarSettings
from bot.scheduler.calendar import WorkingCalendar

_SEARCH_LIMIT_DAYS = 3660


def calendar_from_settings(settings: CalendarSettings) -> WorkingCalendar:
    """The calendar an `app.yaml` entry describes."""
    start, end = settings.hours.split("-")
    return WorkingCalendar.from_settings(settings.timezone, start, end, settings.weekdays, settings.country,
                                         settings.subdivision, settings.closed)


class Calendars:
    """The calendars of one configuration, by zone; they never change.

    The zones' calendars are built at once: the first one loads the public-holiday tables (tens of
    milliseconds), which would otherwise land on the first request filed after start.
    """

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self._built: dict[str, WorkingCalendar] = {}
        for zone in config.zones:
            self.named(zone.calendar)

    def named(self, name: str) -> WorkingCalendar:
        """The calendar called `name` in `app.yaml` (UTC office hours if it is not defined)."""
        found = self._built.get(name)
        if found is None:
            settings = self.config.calendars.get(name, CalendarSettings())
            found = self._built[name] = calendar_from_settings(settings)
        return found

    def of_zone(self, zone_id: str) -> WorkingCalendar:
        """The calendar a zone names (the default one for an unknown zone)."""
        zone = self.config.zone(zone_id)
        return self.named(zone.calendar if zone is not None else "default")


def working_hours_before(calendar: WorkingCalendar, t: datetime, hours: float) -> datetime:
    """The latest instant from which `hours` of working time pass until `t` ("4 working hours before")."""
    t = t.astimezone(UTC)
    remaining = timedelta(hours=hours)
    day = t.astimezone(calendar.zone).date()
    for _ in range(_SEARCH_LIMIT_DAYS):
        interval = calendar.working_hours(day)
        if interval is not None:
            opens, closes = interval
            end = min(closes, t)
            if end > opens:
                if remaining <= end - opens:
                    return end - remaining
                remaining -= end - opens
        day -= timedelta(days=1)
    raise ValueError("this calendar has no working time in the ten years before the deadline")


def local_moment(calendar: WorkingCalendar, day: date, at: time) -> datetime:
    """A local wall-clock time on a local date, as a UTC instant."""
    return datetime.combine(day, at, tzinfo=calendar.zone).astimezone(UTC)
