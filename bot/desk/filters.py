"""What a request list may be narrowed by, and the SQL that narrows it: the one filter every list of
requests uses (`RequestFilter`), read from a URL query, and `filter_clause`, which always starts from
`Policy.request_clause` (an agent's zone lists at AGENT level, "mine" as the requester) and only then
narrows by the filter. Nothing here decides who sees what.

The web list page, saved views, CSV exports and the status board filter through this module
(`bot.desk.listing` sorts and pages what it selects; `bot.desk.board` groups it by status), so a filter
means the same everywhere. Repeated keys or commas give several values of one filter (any of them
matches), different filters all apply. A value that cannot be read is refused with a sentence naming the
field and the form it expects (`FilterError`, every problem at once); nothing is half-applied.

A request's SLA state (`sla_state`, `sla_clause`) is said here once, for lists, the board and filters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, false, or_, select

from bot.access import Actor, Level
from bot.config import AppConfig, Category
from bot.desk.search import matching_clause, parse
from bot.desk.status import OPEN, STATUSES
from bot.desk.unit import Unit
from bot.errors import DeskError
from bot.i18n import N_, _
from bot.model import Label, Request, SlaClock
from bot.scheduler.sla import BREACHED, MET_IN_TIME, RUNNING

# -- the vocabulary ----------------------------------------------------------------------------------

SCOPES = ("all", "queue", "mine", "assigned", "team", "zone")
"""Which list: everything one may see, the open work of one's zones, one's own requests, those assigned to
one, those of one's teams, those of one's zones."""

SCOPE_NAMES = {
    "all": N_("Everything I may see"),
    "queue": N_("Queue"),
    "mine": N_("My requests"),
    "assigned": N_("Assigned to me"),
    "team": N_("My teams"),
    "zone": "",  # says the organisation's word for a zone (`scope_name`)
}

STATUS_GROUPS = {"open": OPEN, "closed": frozenset(STATUSES) - OPEN}
"""Status filter values that stand for several statuses."""

SLA_STATES = ("running", "paused", "breached", "met")
SLA_NAMES = {
    # Translators: the SLA state of a request: its clock runs.
    "running": N_("running"),
    # Translators: the SLA state of a request: its clock stands still (waiting on the requester, or not open).
    "paused": N_("paused"),
    # Translators: the SLA state of a request: a target was missed.
    "breached": N_("breached"),
    # Translators: the SLA state of a request: every target was met in time.
    "met": N_("met"),
}

ME, NOBODY = "me", "none"

_EMAIL = re.compile(r"^[^@\s,]{1,200}@[^@\s,]{1,200}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_LABEL = re.compile(r"^[\w-]{1,40}$")
_TEXT_LIMIT = 200
_VALUES_LIMIT = 50  # values of one filter


class FilterError(DeskError):
    """A list asked for with values that cannot be read: every problem, each a sentence for its reader."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = tuple(problems)


QueryValues = Mapping[str, Any]
"""A URL query: aiohttp's and multidict's `MultiDict` (repeated keys read with `getall`), or a plain mapping."""


def scope_name(config: AppConfig, scope: str) -> str:
    """A scope's name in the language being spoken."""
    if scope == "zone":
        return _("Requests of my {zone}", zone=config.organisation.zone_noun)
    return _(SCOPE_NAMES[scope])


def list_timezone(config: AppConfig) -> ZoneInfo:
    """The time zone whose days the date filters mean: the default calendar's, as the pages show times."""
    calendar = config.calendars.get("default") or next(iter(config.calendars.values()), None)
    return ZoneInfo(calendar.timezone if calendar else "UTC")


# -- the filter ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFilter:
    """Which requests a list holds, within what its reader may see. Empty tuples: no filter on that field.

    `assignees` and `requesters` take e-mails, "me" (the reader) and, for assignees, "none" (nobody);
    `statuses` takes statuses and the groups "open" and "closed"; `labels` are the reader's own personal
    labels (nobody else's are ever looked at); date ranges are days in the organisation's time zone,
    both ends included.
    """

    scope: str = "all"
    zones: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    requesters: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    sla: tuple[str, ...] = ()
    created_from: date | None = None
    created_to: date | None = None
    due_from: date | None = None
    due_to: date | None = None
    text: str = ""

    @classmethod
    def from_query(cls, query: QueryValues, config: AppConfig) -> RequestFilter:
        """The filter a URL query asks for; raises `FilterError` naming every value that cannot be read."""
        problems: list[str] = []
        found = cls.parse_into(query, config, problems)
        if problems:
            raise FilterError(problems)
        return found

    @classmethod
    def parse_into(cls, query: QueryValues, config: AppConfig, problems: list[str]) -> RequestFilter:
        scope = one_value(query, "scope") or "all"
        if scope not in SCOPES:
            problems.append(_("'{value}' is not a list. Lists: {allowed}.", value=scope[:40],
                              allowed=", ".join(SCOPES)))
            scope = "all"
        zone_ids = [z.id for z in config.zones]
        team_ids = [t.id for t in config.teams]
        categories = {c for z in config.zones for c in z.category_ids()}
        levels = list(config.priority.levels)

        def known(name: str, allowed: Iterable[str], refusal: str) -> tuple[str, ...]:
            allowed = set(allowed)
            values = values_of(query, name, lower=True)
            for value in values:
                if value not in allowed:
                    problems.append(_(refusal, value=value[:40], zone=config.organisation.zone_noun))
            return tuple(v for v in values if v in allowed)

        zones = known("zone", zone_ids, N_("There is no {zone} called '{value}' here."))
        teams = known("team", team_ids, N_("'{value}' is not a team of this desk."))
        statuses = values_of(query, "status", lower=True)
        for value in statuses:
            if value not in STATUSES and value not in STATUS_GROUPS:
                problems.append(_("'{value}' is not a status. Statuses: {allowed}.", value=value[:40],
                                  allowed=", ".join(("open", "closed", *STATUSES))))
        priorities = values_of(query, "priority", lower=True)
        for value in priorities:
            if value not in levels:
                problems.append(_("'{value}' is not a priority. Priorities: {allowed}.", value=value[:40],
                                  allowed=", ".join(levels)))
        category_values = known("category", categories, N_("'{value}' is not a category of this desk."))
        people = {}
        for name in ("assignee", "requester"):
            values = values_of(query, name, lower=True)
            for value in values:
                if value == ME or (value == NOBODY and name == "assignee") or _EMAIL.match(value):
                    continue
                if name == "assignee":
                    problems.append(_("'{value}' is not an assignee: give an e-mail address, 'me' or 'none'.",
                                      value=value[:40]))
                else:
                    problems.append(_("'{value}' is not a requester: give an e-mail address or 'me'.",
                                      value=value[:40]))
            people[name] = values
        labels = values_of(query, "label", lower=True)
        for value in labels:
            if not _LABEL.match(value):
                problems.append(_("'{value}' is not a label: a label is one word of letters, digits, '-' or '_' "
                                  "(at most 40).", value=value[:40]))
        sla = values_of(query, "sla", lower=True)
        for value in sla:
            if value not in SLA_STATES:
                problems.append(_("'{value}' is not an SLA state. States: {allowed}.", value=value[:40],
                                  allowed=", ".join(SLA_STATES)))
        days = {name: _day(query, name, problems) for name in ("created_from", "created_to", "due_from", "due_to")}
        for first, last in (("created_from", "created_to"), ("due_from", "due_to")):
            start, end = days[first], days[last]
            if start is not None and end is not None and start > end:
                problems.append(_("The range {first} to {last} ends before it starts.",
                                  first=start.isoformat(), last=end.isoformat()))
        text = " ".join((one_value(query, "q") or "").split())
        searched = parse(text) if text and not re.fullmatch(r"#?\d{1,12}", text) else None
        if searched is not None and searched.problem:  # too long, or no word to look for
            problems.append(searched.problem)
            text = text[:_TEXT_LIMIT]
        return cls(scope=scope, zones=zones, teams=teams, statuses=statuses, assignees=people["assignee"],
                   requesters=people["requester"], categories=category_values, priorities=priorities,
                   labels=labels, sla=sla, created_from=days["created_from"], created_to=days["created_to"],
                   due_from=days["due_from"], due_to=days["due_to"], text=text)

    def to_query(self) -> list[tuple[str, str]]:
        """The URL query that asks for this filter again (the empty parts left out), in a stable order."""
        out: list[tuple[str, str]] = []
        if self.scope != "all":
            out.append(("scope", self.scope))
        for name, values in (("zone", self.zones), ("team", self.teams), ("status", self.statuses),
                             ("assignee", self.assignees), ("requester", self.requesters),
                             ("category", self.categories), ("priority", self.priorities),
                             ("label", self.labels), ("sla", self.sla)):
            out.extend((name, v) for v in values)
        for name in ("created_from", "created_to", "due_from", "due_to"):
            day: date | None = getattr(self, name)
            if day is not None:
                out.append((name, day.isoformat()))
        if self.text:
            out.append(("q", self.text))
        return out

    @property
    def narrowed(self) -> bool:
        """Whether anything beyond the scope narrows the list."""
        return bool(self.to_query()[1 if self.scope != "all" else 0:])


def _raw(query: QueryValues, name: str) -> list[str]:
    getall = getattr(query, "getall", None)
    if getall is not None:
        return [str(v) for v in getall(name, [])]
    value = query.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def one_value(query: QueryValues, name: str) -> str | None:
    """The last non-blank value of a key, stripped (None without one)."""
    values = [v.strip() for v in _raw(query, name) if v.strip()]
    return values[-1] if values else None


def values_of(query: QueryValues, name: str, *, lower: bool = False) -> tuple[str, ...]:
    """Every value of a repeated key, commas splitting values too; blanks and repeats dropped."""
    seen: dict[str, None] = {}
    for raw in _raw(query, name):
        for part in raw.split(","):
            value = part.strip().lower() if lower else part.strip()
            if value:
                seen.setdefault(value, None)
    return tuple(seen)[:_VALUES_LIMIT]


_DAY_FIELDS = {
    "created_from": N_("created from"),
    "created_to": N_("created to"),
    "due_from": N_("due from"),
    "due_to": N_("due to"),
}


def _day(query: QueryValues, name: str, problems: list[str]) -> date | None:
    value = one_value(query, name)
    if value is None:
        return None
    try:
        found = date.fromisoformat(value)
        if not date(1970, 1, 1) <= found <= date(9000, 12, 31) or len(value) != 10:
            raise ValueError(value)
        return found
    except ValueError:
        problems.append(_("The '{field}' date '{value}' is not a date; write it as YYYY-MM-DD, for example 2026-03-31.",
                          field=_(_DAY_FIELDS[name]), value=value[:40]))
        return None


# -- the clauses --------------------------------------------------------------------------------------


def filter_clause(unit: Unit, actor: Actor, flt: RequestFilter, *, text_first: bool = False) -> ColumnElement[bool]:
    """A WHERE clause over `Request`: what the filter selects among what the actor may see in its scope.

    Always includes `Policy.request_clause`: at AGENT level for the queue and the assigned, team and zone
    lists, at REQUESTER level for everything else ("mine" is what the actor filed or had filed for them).
    `text_first`: the text's matches are found first, in a subquery of their own (see `_page`).
    """
    policy, config = unit.policy, unit.config
    minimum = Level.AGENT if flt.scope in ("queue", "assigned", "team", "zone") else Level.REQUESTER
    where: list[ColumnElement[bool]] = [policy.request_clause(actor, minimum)]
    if flt.scope == "queue":
        where.append(Request.status.in_(sorted(OPEN)))
    elif flt.scope == "mine":
        where.append(Request.requester_email == actor.email)
    elif flt.scope == "assigned":
        where.append(Request.assignee_email == actor.email)
    elif flt.scope == "team":
        where.append(Request.team_id.in_(sorted(actor.teams)) if actor.teams else false())
    if flt.zones:
        where.append(Request.zone_id.in_(flt.zones))
    if flt.teams:
        where.append(Request.team_id.in_(flt.teams))
    if flt.statuses:
        wanted: set[str] = set()
        for value in flt.statuses:
            wanted |= STATUS_GROUPS.get(value, {value})
        where.append(Request.status.in_(sorted(wanted)))
    if flt.assignees:
        where.append(_people(Request.assignee_email, flt.assignees, actor))
    if flt.requesters:
        where.append(_people(Request.requester_email, flt.requesters, actor))
    if flt.categories:
        where.append(_categories(config, flt.categories))
    if flt.priorities:
        where.append(Request.priority.in_(flt.priorities))
    if flt.labels:
        # The reader's own labels only: nobody else's personal labels are ever looked at.
        mine = select(Label.request_id).where(Label.owner_email == actor.email, Label.label.in_(flt.labels))
        where.append(Request.id.in_(mine.scalar_subquery()))
    if flt.sla:
        where.append(or_(*(sla_clause(state) for state in flt.sla)))
    tz = list_timezone(config)
    if flt.created_from:
        where.append(Request.created_at >= _start(flt.created_from, tz))
    if flt.created_to:
        where.append(Request.created_at < _start(flt.created_to + timedelta(days=1), tz))
    if flt.due_from:
        where.append(Request.deadline >= _start(flt.due_from, tz))
    if flt.due_to:
        where.append(Request.deadline < _start(flt.due_to + timedelta(days=1), tz))
    if flt.text:
        found = _text(unit, actor, flt.text)
        # `text_first`: the matching requests are found first, once (a subquery no planner may fold into a
        # walk), then ordered; for words few requests have, walking every request asking each is slower.
        where.append(Request.id.in_(select(Request.id).where(found).offset(0)) if text_first else found)
    return and_(*where)


def _start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def _people(column: Any, values: tuple[str, ...], actor: Actor) -> ColumnElement[bool]:
    emails = sorted({actor.email if v == ME else v for v in values if v != NOBODY})
    parts: list[ColumnElement[bool]] = [column.in_(emails)] if emails else []
    if NOBODY in values:
        parts.append(column.is_(None))
    return or_(*parts)


def _categories(config: AppConfig, wanted: tuple[str, ...]) -> ColumnElement[bool]:
    """Requests of a category or any category under it, in each zone that has it."""
    parts = []
    for zone in config.zones:
        ids: set[str] = set()
        for category_id in wanted:
            found = zone.category(category_id)
            if found is not None:
                ids |= {c.id for c in _subtree(found)}
        if ids:
            parts.append(and_(Request.zone_id == zone.id, Request.category_id.in_(sorted(ids))))
    return or_(*parts) if parts else false()


def _subtree(category: Category) -> Iterable[Category]:
    yield category
    for child in category.children:
        yield from _subtree(child)


def _text(unit: Unit, actor: Actor, text: str) -> ColumnElement[bool]:
    """The words anywhere search finds them for this person (`bot.desk.search.matching_clause`: the request,
    its replies and form answers, and its internal notes where they may read notes), through the search
    index; "#42" is request 42, and "42" that number or those words."""
    number = text.lstrip("#")
    if number.isdigit() and len(number) <= 12:
        if text.startswith("#"):
            return Request.id == int(number)
        return or_(Request.id == int(number), matching_clause(unit.policy, actor, text))
    return matching_clause(unit.policy, actor, text)


def sla_clause(state: str) -> ColumnElement[bool]:
    """A WHERE clause over `Request`: its SLA state (`SLA_STATES`), as `sla_state` works it out from its clocks.

    breached: a target was missed; running: none missed and a clock runs; paused: none missed, none runs,
    one stands still; met: it has clocks and every one was met in time. A request without clocks has none.
    """
    def clock(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
        return exists().where(SlaClock.request_id == Request.id, *conditions)

    breached = clock(BREACHED)
    running = clock(RUNNING, SlaClock.paused_at.is_(None))
    if state == "breached":
        return breached
    if state == "running":
        return and_(~breached, running)
    if state == "paused":
        return and_(~breached, ~running, clock(RUNNING, SlaClock.paused_at.is_not(None)))
    if state == "met":
        return and_(clock(), ~clock(~MET_IN_TIME))
    raise ValueError(state)


def sla_state(clocks: Iterable[Any]) -> str | None:
    """A request's SLA state from its clocks (None without any), the same rule as `sla_clause`: `SlaClock`
    objects or rows with their `met_at`, `breached_at` and `paused_at`."""
    found = list(clocks)
    if not found:
        return None
    if any(c.breached_at is not None for c in found):
        return "breached"
    unmet = [c for c in found if c.met_at is None]
    if any(c.paused_at is None for c in unmet):
        return "running"
    if unmet:
        return "paused"
    return "met"
