"""Request lists: the one filter, sort, column catalogue and pagination every list of requests uses.

The web list page, saved views, CSV exports and the status board read requests through this module
(search's results are to follow), so a filter means the same everywhere and every list is cut by the same access
rule: `filter_clause` always starts from `Policy.request_clause` (an agent's zone lists at AGENT level,
"mine" as the requester), and only then narrows by the filter. Nothing here decides who sees what.

A list is asked for by a URL query (`ListQuery.from_query`, `RequestFilter.from_query`): repeated keys or
commas give several values of one filter (any of them matches), different filters all apply. A value
that cannot be read is refused with a sentence naming the field and the form it expects (`FilterError`,
every problem at once); nothing is half-applied.

Pages are cut by keyset ("cursor") pagination: the next page starts after the last row's sort value and
number, so page 2,000 costs what page 1 costs, and rows added meanwhile neither repeat nor vanish. Each
page first selects its numbers (walking an index in the list's order when the sort allows: `page_query`),
then reads those rows. Counting
every match is what would not stay fast at 100,000 requests, so `count_requests` counts at most
`COUNT_CAP` rows and says "more" beyond that.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, ColumnElement, and_, case, exists, false, func, literal, or_, select, tuple_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from bot.access import Actor, Level
from bot.config import AppConfig, Category
from bot.desk.search import matching_clause, parse
from bot.desk.status import OPEN, STATUSES
from bot.desk.unit import Unit
from bot.errors import DeskError
from bot.i18n import N_, _, current, ngettext
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

COLUMNS = ("number", "title", "zone", "team", "status", "priority", "assignee", "requester", "category",
           "created", "updated", "due", "sla")
"""Every column a list may show, in the order the chooser offers them."""

COLUMN_NAMES = {
    "number": N_("Number"),
    "title": N_("Title"),
    "zone": "",  # the organisation's own word for a zone (`column_name`)
    "team": N_("Team"),
    "status": N_("Status"),
    "priority": N_("Priority"),
    "assignee": N_("Assignee"),
    "requester": N_("Requester"),
    "category": N_("Category"),
    "created": N_("Created"),
    "updated": N_("Updated"),
    "due": N_("Due"),
    "sla": N_("SLA"),
}

DEFAULT_COLUMNS = ("number", "title", "zone", "status", "priority", "assignee", "updated")

SORTS = ("number", "title", "zone", "team", "status", "priority", "assignee", "requester", "category",
         "created", "updated", "due")
"""The columns a list may be sorted by (the SLA state is shown and filtered on, not sorted: it is worked out
from two clocks per request, which no index orders)."""

DEFAULT_SORT = "updated"
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
EXPORT_BATCH_LIMIT = 2000  # rows an export reads at a time
COUNT_CAP = 10_000
"""`count_requests` stops counting here: beyond it, a list says "more than 10,000"."""

_FAR = datetime(9999, 12, 31, tzinfo=UTC)  # "no due time" sorts after every due time
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


def column_name(config: AppConfig, column: str) -> str:
    """A column's heading in the language being spoken (the zone column says the organisation's word)."""
    if column == "zone":
        return config.organisation.zone_word
    return _(COLUMN_NAMES[column])


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
        found = cls._parse(query, config, problems)
        if problems:
            raise FilterError(problems)
        return found

    @classmethod
    def _parse(cls, query: QueryValues, config: AppConfig, problems: list[str]) -> RequestFilter:
        scope = _one(query, "scope") or "all"
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
            values = _many(query, name, lower=True)
            for value in values:
                if value not in allowed:
                    problems.append(_(refusal, value=value[:40], zone=config.organisation.zone_noun))
            return tuple(v for v in values if v in allowed)

        zones = known("zone", zone_ids, N_("There is no {zone} called '{value}' here."))
        teams = known("team", team_ids, N_("'{value}' is not a team of this desk."))
        statuses = _many(query, "status", lower=True)
        for value in statuses:
            if value not in STATUSES and value not in STATUS_GROUPS:
                problems.append(_("'{value}' is not a status. Statuses: {allowed}.", value=value[:40],
                                  allowed=", ".join(("open", "closed", *STATUSES))))
        priorities = _many(query, "priority", lower=True)
        for value in priorities:
            if value not in levels:
                problems.append(_("'{value}' is not a priority. Priorities: {allowed}.", value=value[:40],
                                  allowed=", ".join(levels)))
        category_values = known("category", categories, N_("'{value}' is not a category of this desk."))
        people = {}
        for name in ("assignee", "requester"):
            values = _many(query, name, lower=True)
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
        labels = _many(query, "label", lower=True)
        for value in labels:
            if not _LABEL.match(value):
                problems.append(_("'{value}' is not a label: a label is one word of letters, digits, '-' or '_' "
                                  "(at most 40).", value=value[:40]))
        sla = _many(query, "sla", lower=True)
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
        text = " ".join((_one(query, "q") or "").split())
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


def _one(query: QueryValues, name: str) -> str | None:
    values = [v.strip() for v in _raw(query, name) if v.strip()]
    return values[-1] if values else None


def _many(query: QueryValues, name: str, *, lower: bool = False) -> tuple[str, ...]:
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
    value = _one(query, name)
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


# -- sort and columns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sort:
    """A list's order: one of `SORTS`, ascending or descending, ties broken by the number the same way."""

    key: str = DEFAULT_SORT
    descending: bool = True

    def to_query(self) -> list[tuple[str, str]]:
        """The query parameters of this order (the default left out)."""
        if self == Sort():
            return []
        return [("sort", self.key), ("dir", "desc" if self.descending else "asc")]

    def flipped(self) -> Sort:
        """The same key the other way round."""
        return replace(self, descending=not self.descending)


_NATURAL_DESC = frozenset({"number", "created", "updated", "priority"})  # newest and most urgent first


def sort_for(key: str) -> Sort:
    """The order a column's heading link first asks for: newest/most urgent first, text A to Z, due soonest."""
    return Sort(key, key in _NATURAL_DESC)


@dataclass(frozen=True)
class ListQuery:
    """Everything a list page asks for: the filter, the order, the columns and where the page starts."""

    filter: RequestFilter = field(default_factory=RequestFilter)
    sort: Sort = field(default_factory=Sort)
    columns: tuple[str, ...] = DEFAULT_COLUMNS
    after: Cursor | None = None

    @classmethod
    def from_query(cls, query: QueryValues, config: AppConfig) -> ListQuery:
        """The list a URL query asks for (`sort`, `dir`, `col`, `after` besides the filter's keys); raises
        `FilterError` naming every value that cannot be read."""
        problems: list[str] = []
        flt = RequestFilter._parse(query, config, problems)
        key = (_one(query, "sort") or DEFAULT_SORT).lower()
        if key not in SORTS:
            problems.append(_("A list cannot be sorted by '{value}'. Sort by: {allowed}.", value=key[:40],
                              allowed=", ".join(SORTS)))
            key = DEFAULT_SORT
        direction = (_one(query, "dir") or "").lower()
        if direction not in ("", "asc", "desc"):
            problems.append(_("'{value}' is not an order: write asc or desc.", value=direction[:40]))
        sort = Sort(key, direction == "desc") if direction in ("asc", "desc") else sort_for(key)
        if key == DEFAULT_SORT and not direction:
            sort = Sort()
        columns = _many(query, "col", lower=True)
        for value in columns:
            if value not in COLUMNS:
                problems.append(_("'{value}' is not a column. Columns: {allowed}.", value=value[:40],
                                  allowed=", ".join(COLUMNS)))
        chosen = tuple(c for c in columns if c in COLUMNS) or DEFAULT_COLUMNS
        after = None
        token = _one(query, "after")
        if token is not None:
            after = Cursor.decode(token)
            if after is None:
                problems.append(_("This page's link is broken: start again from the first page."))
        if problems:
            raise FilterError(problems)
        return cls(flt, sort, chosen, after)

    def to_query(self, *, page: bool = False) -> list[tuple[str, str]]:
        """The URL query of this list (with `page`, also where this page starts)."""
        out = self.filter.to_query() + self.sort.to_query()
        if self.columns != DEFAULT_COLUMNS:
            out.extend(("col", c) for c in self.columns)
        if page and self.after is not None:
            out.append(("after", self.after.encode()))
        return out


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


def _sort_expr(config: AppConfig, key: str) -> Any:
    """What a sort key orders by: never NULL, so that a cursor can say where a page ends."""
    if key == "number":
        return Request.id
    if key == "title":
        return func.lower(Request.title)
    if key == "zone":
        return Request.zone_id
    if key == "team":
        return func.coalesce(Request.team_id, "")
    if key == "status":
        return case({s: i for i, s in enumerate(STATUSES)}, value=Request.status, else_=len(STATUSES))
    if key == "priority":
        levels = config.priority.levels
        return case({p: i for i, p in enumerate(levels)}, value=Request.priority, else_=-1)
    if key == "assignee":
        return func.coalesce(Request.assignee_email, "")
    if key == "requester":
        return func.lower(Request.requester_name)
    if key == "category":
        return func.coalesce(Request.category_id, "")
    if key == "created":
        return Request.created_at
    if key == "updated":
        return Request.updated_at
    if key == "due":
        return func.coalesce(Request.deadline, literal(_FAR, Request.deadline.type))
    raise ValueError(key)


def _sort_value(config: AppConfig, key: str, request: Any) -> Any:
    """The value `_sort_expr` has for one row (what a cursor carries)."""
    if key == "number":
        return request.id
    if key == "title":
        return request.title.lower()
    if key == "zone":
        return request.zone_id
    if key == "team":
        return request.team_id or ""
    if key == "status":
        return STATUSES.index(request.status) if request.status in STATUSES else len(STATUSES)
    if key == "priority":
        levels = config.priority.levels
        return levels.index(request.priority) if request.priority in levels else -1
    if key == "assignee":
        return request.assignee_email or ""
    if key == "requester":
        return request.requester_name.lower()
    if key == "category":
        return request.category_id or ""
    if key == "created":
        return request.created_at
    if key == "updated":
        return request.updated_at
    if key == "due":
        return request.deadline or _FAR
    raise ValueError(key)


# -- pages --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after the row with this sort value and number, in this order."""

    key: str
    descending: bool
    value: Any
    number: int

    def encode(self) -> str:
        """A short URL-safe token."""
        value = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        raw = json.dumps([self.key, int(self.descending), value, self.number], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor | None:
        """The cursor a token stands for, or None when it is not one (edited or cut links)."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            key, descending, value, number = json.loads(raw)
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            return None
        if key not in SORTS or not isinstance(number, int) or descending not in (0, 1):
            return None
        if key in ("created", "updated", "due"):
            try:
                value = datetime.fromisoformat(value)
            except (TypeError, ValueError):
                return None
            if value.tzinfo is None:
                return None
        elif key in ("number", "status", "priority"):
            if not isinstance(value, int) or isinstance(value, bool):
                return None
        elif not isinstance(value, str):
            return None
        return cls(key, bool(descending), value, number)


@dataclass(frozen=True)
class ListRow:
    """One request as a list shows it (every column of the catalogue), for a reader who may see it."""

    number: int
    title: str
    zone_id: str
    team_id: str | None
    status: str
    priority: str
    assignee_email: str | None
    requester_email: str
    requester_name: str
    category_id: str | None
    created_at: datetime
    updated_at: datetime
    deadline: datetime | None
    sla: str | None


@dataclass(frozen=True)
class ListPage:
    """One page of a list and where the next one starts (None: this is the last)."""

    rows: list[ListRow]
    next: Cursor | None


def _after(expr: Any, sort: Sort, after: Cursor | None) -> list[ColumnElement[bool]]:
    """The condition "comes after the cursor" in the list's order (nothing for a cursor of another order)."""
    if after is None or after.key != sort.key or after.descending != sort.descending:
        return []
    if sort.key == "number":
        return [Request.id < after.number if sort.descending else Request.id > after.number]
    value = (literal(after.value, Request.updated_at.type) if isinstance(after.value, datetime)
             else literal(after.value))
    mark, last = tuple_(expr, Request.id), tuple_(value, literal(after.number))
    return [mark < last if sort.descending else mark > last]


class _Walked(ColumnElement[bool]):
    """A filter SQLite must check row by row while it walks the list's order (see `page_query`)."""

    inherit_cache = False
    type = Boolean()

    def __init__(self, clause: ColumnElement[bool]) -> None:
        self.clause = clause


@compiles(_Walked)
def _compile_walked(element: _Walked, compiler: SQLCompiler, **kw: Any) -> str:
    return "(" + str(compiler.process(element.clause, **kw)) + ")"


@compiles(_Walked, "sqlite")
def _compile_walked_sqlite(element: _Walked, compiler: SQLCompiler, **kw: Any) -> str:
    # A unary plus makes the term one no index can answer, so the planner walks the order's index.
    return "+(" + str(compiler.process(element.clause, **kw)) + ")"


PROBE = 2000
"""A text filter first looks for its page among this many requests next in the list's order (see `_page`)."""

_WALKED = frozenset({"number", "updated", "created", "title"})  # orders an index gives (the key, 0014, 0018)


def _walks(actor: Actor, flt: RequestFilter) -> bool:
    """Whether the list is better walked in its order than looked up by its filter: an agent's lists hold
    most of their zones' requests, while a requester's own (or anyone's "mine") are a few."""
    return actor.is_staff and flt.scope != "mine" and not flt.requesters


def page_query(unit: Unit, actor: Actor, flt: RequestFilter, sort: Sort, after: Cursor | None = None, *,
               text_first: bool = False) -> Any:
    """The numbers of the list's rows after the cursor, in its order (add a limit).

    Sorted by number, title or when requests were updated or filed (the usual lists), an agent's list walks
    an index in that order from the cursor on, which also holds the access rule's and common filters'
    columns (migrations 0014, 0018), and stops at the page's end: under a millisecond at 100,000 requests, page
    2,000 as page 1, and about 50 ms when nothing matches at all. SQLite's planner, which keeps no
    statistics here, would rather read every row of the agent's zones and sort them (0.2-0.4 s), so on
    SQLite the filter is written as one term no index answers (`_Walked`); PostgreSQL decides from its
    statistics. Other orders, and a requester's few requests, are found by the filter and sorted.
    """
    expr = _sort_expr(unit.config, sort.key)
    order: list[Any] = [expr.desc(), Request.id.desc()] if sort.descending else [expr.asc(), Request.id.asc()]
    where: ColumnElement[bool] = filter_clause(unit, actor, flt, text_first=text_first)
    if sort.key in _WALKED and _walks(actor, flt):
        where = _Walked(where)
    return (select(Request.id).where(where, *_after(expr, sort, after))
            .order_by(*(order[:1] if sort.key == "number" else order)))


async def list_page(unit: Unit, actor: Actor, flt: RequestFilter, sort: Sort | None = None, *,
                    after: Cursor | None = None, limit: int = PAGE_SIZE) -> ListPage:
    """One page of the list: at most `limit` rows after the cursor, and the cursor of the page after it.

    A cursor made for another order is ignored (the first page is shown).
    """
    return await _page(unit, actor, flt, sort or Sort(), after, max(1, min(limit, MAX_PAGE_SIZE)))


async def _page(unit: Unit, actor: Actor, flt: RequestFilter, sort: Sort, after: Cursor | None,
                limit: int) -> ListPage:
    query = page_query(unit, actor, flt, sort, after).limit(limit + 1)
    if not flt.text:
        rows = await _read(unit, query)
    elif sort.key not in _WALKED:  # sorted anyway: the matching requests first, then their order
        rows = await _read(unit, page_query(unit, actor, flt, sort, after, text_first=True).limit(limit + 1))
    else:  # a word many requests have is found by walking the list; a rare one is looked up first
        nearest = page_query(unit, actor, RequestFilter(), sort, after).with_only_columns(Request.id).limit(PROBE)
        probe = query.where(Request.id.in_(nearest.scalar_subquery()))
        rows = await _read(unit, probe)
        if len(rows) <= limit:
            rows = await _read(unit, page_query(unit, actor, flt, sort, after, text_first=True).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = None
    if more and rows:
        last = rows[-1]
        cursor = Cursor(sort.key, sort.descending, _sort_value(unit.config, sort.key, last[0]), last[0].id)
    return ListPage([_row(r, state) for r, state in rows], cursor)


async def iter_rows(unit: Unit, actor: Actor, flt: RequestFilter, sort: Sort | None = None, *,
                    batch: int = 500) -> AsyncIterator[ListRow]:
    """Every row of the list in order, read a page at a time (exports stream this; nothing is held whole)."""
    after: Cursor | None = None
    while True:
        page = await _page(unit, actor, flt, sort or Sort(), after, max(1, min(batch, EXPORT_BATCH_LIMIT)))
        for row in page.rows:
            yield row
        if page.next is None:
            return
        after = page.next


# What a row of a list reads: the columns of `ListRow` (plain rows, not ORM objects: an export reads many).
_LISTED = (Request.id, Request.title, Request.zone_id, Request.team_id, Request.status, Request.priority,
           Request.assignee_email, Request.requester_email, Request.requester_name, Request.category_id,
           Request.created_at, Request.updated_at, Request.deadline)


async def _read(unit: Unit, ids: Any) -> list[tuple[Any, str | None]]:
    """The rows of the numbers `ids` selects, in its order, with their SLA states (one query for the clocks)."""
    async with unit.readers() as session:
        numbers = list((await session.execute(ids)).scalars())
        if not numbers:
            return []
        found = {r.id: r for r in await session.execute(select(*_LISTED).where(Request.id.in_(numbers)))}
        clocks: dict[int, list[Any]] = {}
        for clock in await session.execute(select(SlaClock.request_id, SlaClock.met_at, SlaClock.breached_at,
                                                  SlaClock.paused_at).where(SlaClock.request_id.in_(numbers))):
            clocks.setdefault(clock.request_id, []).append(clock)
        return [(found[n], sla_state(clocks.get(n, ()))) for n in numbers if n in found]


def _row(request: Any, sla: str | None) -> ListRow:
    return ListRow(request.id, request.title, request.zone_id, request.team_id, request.status, request.priority,
                   request.assignee_email, request.requester_email, request.requester_name, request.category_id,
                   request.created_at, request.updated_at, request.deadline, sla)


@dataclass(frozen=True)
class Count:
    """How many requests a list holds, counted up to `COUNT_CAP`: `more` says there are more than `number`."""

    number: int
    more: bool

    def words(self) -> str:
        """'1 request', '10,000 or more requests'."""
        if self.more:
            return _("More than {count} requests", count=current().number(self.number))
        return ngettext("{count} request", "{count} requests", self.number)


async def count_requests(unit: Unit, actor: Actor, flt: RequestFilter, *, cap: int = COUNT_CAP) -> Count:
    """How many requests the list holds, counting at most `cap` of them (an exact count of a list of
    100,000 would cost what reading it costs)."""
    where: ColumnElement[bool] = filter_clause(unit, actor, flt)
    capped = select(Request.id).where(_Walked(where) if _walks(actor, flt) else where).limit(cap + 1).subquery()
    async with unit.readers() as session:
        found = int(await session.scalar(select(func.count()).select_from(capped)) or 0)
    return Count(min(found, cap), found > cap)
