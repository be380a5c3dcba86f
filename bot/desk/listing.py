"""Request lists: the sort, column catalogue and pagination every list of requests uses, over the one
filter of `bot.desk.filters` (which starts every list from the reader's access: nothing here decides who
sees what).

A list is asked for by a URL query (`ListQuery.from_query`: the filter's keys, and `sort`, `dir`, `col`,
`after`); a value that cannot be read is refused with a sentence naming the field (`FilterError`, every
problem at once); nothing is half-applied.

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
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, ColumnElement, case, func, literal, select, tuple_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from bot.access import Actor
from bot.config import AppConfig
from bot.desk.filters import FilterError, QueryValues, RequestFilter, filter_clause, one_value, sla_state, values_of
from bot.desk.status import STATUSES
from bot.desk.unit import Unit
from bot.i18n import N_, _, current, ngettext
from bot.model import Request, SlaClock

# -- the vocabulary ----------------------------------------------------------------------------------

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

def column_name(config: AppConfig, column: str) -> str:
    """A column's heading in the language being spoken (the zone column says the organisation's word)."""
    if column == "zone":
        return config.organisation.zone_word
    return _(COLUMN_NAMES[column])


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
        flt = RequestFilter.parse_into(query, config, problems)
        key = (one_value(query, "sort") or DEFAULT_SORT).lower()
        if key not in SORTS:
            problems.append(_("A list cannot be sorted by '{value}'. Sort by: {allowed}.", value=key[:40],
                              allowed=", ".join(SORTS)))
            key = DEFAULT_SORT
        direction = (one_value(query, "dir") or "").lower()
        if direction not in ("", "asc", "desc"):
            problems.append(_("'{value}' is not an order: write asc or desc.", value=direction[:40]))
        sort = Sort(key, direction == "desc") if direction in ("asc", "desc") else sort_for(key)
        if key == DEFAULT_SORT and not direction:
            sort = Sort()
        columns = values_of(query, "col", lower=True)
        for value in columns:
            if value not in COLUMNS:
                problems.append(_("'{value}' is not a column. Columns: {allowed}.", value=value[:40],
                                  allowed=", ".join(COLUMNS)))
        chosen = tuple(c for c in columns if c in COLUMNS) or DEFAULT_COLUMNS
        after = None
        token = one_value(query, "after")
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
