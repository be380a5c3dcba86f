"""What a report is asked for (filters, period kind, date range) and which requests it counts for its reader.

Every figure counts the requests `counted` selects: the reader's `Policy.analytics_clause` (what they
may read one by one, narrowed to the zones they manage and their own teams), then the query's filters
on the request as it is now (its zone, team, category, channel and assignee), so a transferred request
counts for the zone holding it. A filter naming a zone or team outside the reader's figures is answered
like a page that does not exist, as anything else one may not see is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_, or_

from bot.access import Actor, AnalyticsScope, Policy
from bot.analytics.periods import DEFAULT_DAYS, DEFAULT_KIND, Periods, build_periods, parse_day
from bot.config import AppConfig, CalendarSettings, Category, Zone
from bot.errors import DeskError
from bot.i18n import _
from bot.model import Request

FILTERS = ("zone", "team", "category", "channel", "assignee")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_EMAIL = re.compile(r"^[^@\s]{1,200}@[^@\s]{1,200}$")


class NoFigures(DeskError):
    """Nothing here for this reader: no figures at all, or a filter naming what their figures do not cover.
    Adapters answer it as they answer an address that does not exist (404)."""

    def __init__(self) -> None:
        super().__init__(_("There is no page at this address. Check the link, or start again from the front page."))


@dataclass(frozen=True)
class Query:
    """A report as asked for: filters (None: all), the kind of period, and the range of local dates."""

    zone: str | None = None
    team: str | None = None
    category: str | None = None
    channel: str | None = None
    assignee: str | None = None
    period: str = DEFAULT_KIND
    first: date | None = None
    last: date | None = None

    @classmethod
    def parse(cls, values: Mapping[str, str]) -> Query:
        """From a page's query string (`zone`, `team`, `category`, `channel`, `assignee`, `period`, `from`,
        `to` as ISO dates); blank means not given. A date that is no date is refused (DeskError)."""
        def given(name: str) -> str | None:
            value = (values.get(name) or "").strip()
            return value or None

        first, last = given("from"), given("to")
        assignee = given("assignee")
        return cls(zone=given("zone"), team=given("team"), category=given("category"), channel=given("channel"),
                   assignee=assignee.lower() if assignee else None, period=given("period") or DEFAULT_KIND,
                   first=parse_day(first, "from") if first else None, last=parse_day(last, "to") if last else None)

    def params(self) -> dict[str, str]:
        """The query string that asks for this report again (what is not given is left out)."""
        found = {name: getattr(self, name) for name in FILTERS}
        found["period"] = self.period
        found["from"] = self.first.isoformat() if self.first else None
        found["to"] = self.last.isoformat() if self.last else None
        return {k: v for k, v in found.items() if v}


def counted(policy: Policy, config: AppConfig, actor: Actor, query: Query) -> ColumnElement[bool]:
    """A WHERE clause over `Request`: the requests the query's figures count for this reader.

    Raises `NoFigures` when the reader has no figures, or a filter names a zone, team or category their
    figures do not cover (or is not even shaped like one).
    """
    scope = policy.analytics_scope(actor)
    if not scope:
        raise NoFigures()
    where = [policy.analytics_clause(actor)]
    if query.zone is not None:
        if query.zone not in scope.zones:
            raise NoFigures()
        where.append(Request.zone_id == query.zone)
    if query.team is not None:
        if query.team not in scope.named_teams:
            raise NoFigures()
        where.append(Request.team_id == query.team)
    if query.category is not None:
        where.append(_category_clause(config, zones_in_view(config, scope, query), query.category))
    if query.channel is not None:
        if not _SLUG.match(query.channel):
            raise NoFigures()
        where.append(Request.origin_platform == query.channel)
    if query.assignee is not None:
        if not _EMAIL.match(query.assignee):
            raise NoFigures()
        where.append(Request.assignee_email == query.assignee)
    return and_(*where)


def zones_in_view(config: AppConfig, scope: AnalyticsScope, query: Query) -> list[Zone]:
    """The zones a report's figures may come from, in `app.yaml` order: the one filtered on (or the team's),
    else every zone of the reader's figures."""
    wanted = set(scope.zones)
    if query.zone is not None:
        wanted &= {query.zone}
    team = config.team(query.team) if query.team else None
    if team is not None:
        wanted &= {team.zone}
    return [z for z in config.zones if z.id in wanted]


def _category_clause(config: AppConfig, zones: list[Zone], category_id: str) -> ColumnElement[bool]:
    """Requests of the category or any category under it, in each zone in view that has it."""
    parts = []
    for zone in zones:
        found = zone.category(category_id)
        if found is not None:
            ids = sorted({c.id for c in _subtree(found)})
            parts.append(and_(Request.zone_id == zone.id, Request.category_id.in_(ids)))
    if not parts:
        raise NoFigures()
    return or_(*parts)


def _subtree(category: Category) -> Iterator[Category]:
    yield category
    for child in category.children:
        yield from _subtree(child)


def timezone_for(config: AppConfig, zones: list[Zone]) -> str:
    """The time zone a report's days follow: the calendar's of its one zone, else the default calendar's."""
    if len(zones) == 1:
        name = zones[0].calendar
    else:
        name = "default" if "default" in config.calendars else next(iter(config.calendars), "default")
    return config.calendars.get(name, CalendarSettings()).timezone


def periods_for(query: Query, timezone: str, today: date) -> Periods:
    """The periods of the query: its range (default: the four weeks up to `today`) cut by its kind."""
    last = query.last or (today if query.first is None else max(query.first, today))
    first = query.first or last - timedelta(days=DEFAULT_DAYS - 1)
    return build_periods(query.period, first, last, timezone)
