"""The lists behind the figures: which SLA targets were breached, what requesters wrote with their rating,
and how old today's backlog is.

The figures count requests (`bot.analytics.query.counted`); these name them, so each row must also be a
request its reader may open one by one (`Policy.request_clause` at READER level): a zone manager who is in
no team of a private one counts its requests where decision 0002 lets them, but never reads their titles or
comments here. Each list is computed by the database and capped (`LIMIT`). The two lists walk an index of
their order, newest first, and stop at the cap (`sla_clocks.breached_at`, `surveys.answered_at`, migration
0020), instead of sorting every clock or survey of the range: at 100,000 requests a year's breaches took
310 ms sorted, 2 ms walked.

- **breaches**: SLA targets of requests filed in the range whose clock breached, newest breach first.
- **comments**: answered surveys in the range with a comment, newest first, with their rating.
- **backlog age**: the requests of the figures that are open now, by time since filing, in five bands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Join, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from bot.access import Actor, Level
from bot.analytics.measures import reading
from bot.analytics.periods import Periods
from bot.analytics.query import Query, counted, periods_for, timezone_for, zones_in_view
from bot.catalog.forms import csv_text
from bot.desk.status import OPEN
from bot.desk.unit import Unit
from bot.i18n import N_
from bot.model import Request, SlaClock, Survey

LIMIT = 50
# Bands of the backlog's age: (identifier, upper bound, the words a page shows). The last has no bound.
AGE_BANDS: tuple[tuple[str, timedelta | None, str], ...] = (
    ("under_1_day", timedelta(days=1), N_("Under a day")),
    ("1_to_3_days", timedelta(days=3), N_("1 to 3 days")),
    ("3_to_7_days", timedelta(days=7), N_("3 to 7 days")),
    ("1_to_4_weeks", timedelta(days=28), N_("1 to 4 weeks")),
    ("over_4_weeks", None, N_("Over 4 weeks")),
)


@dataclass(frozen=True)
class Breach:
    """One SLA target that breached."""

    number: int
    title: str
    zone_id: str
    kind: str
    target_hours: float
    filed_at: datetime
    breached_at: datetime


@dataclass(frozen=True)
class SurveyComment:
    """What a requester wrote with their rating."""

    number: int
    title: str
    rating: int
    comment: str
    answered_at: datetime


@dataclass(frozen=True)
class Details:
    """The named lists of one report for one reader."""

    breaches: list[Breach]
    comments: list[SurveyComment]
    backlog_age: list[tuple[str, str, int]]  # (identifier, words, open requests)

    @property
    def backlog(self) -> int:
        """Open requests in all bands together."""
        return sum(n for _id, _words, n in self.backlog_age)


async def build_details(unit: Unit, actor: Actor, query: Query) -> Details:
    """The lists of the query's report as this reader may read them (NoFigures as `build_report` raises it)."""
    counts = counted(unit.policy, unit.config, actor, query)
    where = and_(counts, unit.policy.request_clause(actor, Level.READER))
    zones = zones_in_view(unit.config, unit.policy.analytics_scope(actor), query)
    timezone = timezone_for(unit.config, zones)
    now = unit.clock.now()
    periods = periods_for(query, timezone, now.astimezone(ZoneInfo(timezone)).date())
    async with reading(unit) as session:
        return Details(await breaches(session, where, periods), await comments(session, where, periods),
                       await backlog_age(session, counts, now))


class _ReadFirst(Join):
    """A join whose left table is read first: the clocks or surveys, newest first, each then joined to its
    request.

    SQLite's planner drives such a join from the requests of the range (by zone and filing) and sorts all
    their clocks or surveys to keep 50, whatever the LIMIT; walking the index of the order and stopping at
    50 is what the index is for. SQLite's documented way to fix a join's order is CROSS JOIN; elsewhere
    this is a plain join (PostgreSQL weighs the LIMIT itself)."""

    inherit_cache = True


@compiles(_ReadFirst, "sqlite")
def _read_first(join: _ReadFirst, compiler: SQLCompiler, **kw: Any) -> str:
    # The left side is a plain table, so the first " JOIN " is this join's own.
    return str(compiler.visit_join(join, **kw)).replace(" JOIN ", " CROSS JOIN ", 1)  # type: ignore[no-untyped-call]


async def breaches(session: AsyncSession, where: ColumnElement[bool], periods: Periods,
                   limit: int = LIMIT) -> list[Breach]:
    """SLA targets of requests filed in the range that breached, newest breach first."""
    clocks = _ReadFirst(SlaClock.__table__, Request.__table__, SlaClock.request_id == Request.id)
    query = (select(Request.id, Request.title, Request.zone_id, SlaClock.kind, SlaClock.target_hours,
                    Request.created_at, SlaClock.breached_at)
             .select_from(clocks)
             .where(where, SlaClock.breached_at.is_not(None), Request.status != "cancelled",
                    Request.created_at >= periods.start, Request.created_at < periods.end)
             .order_by(SlaClock.breached_at.desc(), Request.id.desc(), SlaClock.kind).limit(limit))
    return [Breach(int(n), title, zone, kind, float(target), filed, breached)
            for n, title, zone, kind, target, filed, breached in await session.execute(query)]


async def comments(session: AsyncSession, where: ColumnElement[bool], periods: Periods,
                   limit: int = LIMIT) -> list[SurveyComment]:
    """Answered surveys of the range with a comment, newest first."""
    surveys = _ReadFirst(Survey.__table__, Request.__table__, Survey.request_id == Request.id)
    query = (select(Request.id, Request.title, Survey.rating, Survey.comment, Survey.answered_at)
             .select_from(surveys)
             .where(where, Survey.status == "answered", Survey.comment.is_not(None), Survey.comment != "",
                    Survey.answered_at >= periods.start, Survey.answered_at < periods.end)
             .order_by(Survey.answered_at.desc(), Survey.id.desc()).limit(limit))
    return [SurveyComment(int(n), title, int(rating or 0), comment or "", answered)
            for n, title, rating, comment, answered in await session.execute(query)]


async def backlog_age(session: AsyncSession, where: ColumnElement[bool], now: datetime) -> list[tuple[str, str, int]]:
    """The figures' requests open now, by how long ago they were filed (counted, so no title is named)."""
    whens = [(Request.created_at > now - bound, ident) for ident, bound, _words in AGE_BANDS if bound is not None]
    band = case(*whens, else_=AGE_BANDS[-1][0])
    query = (select(band, func.count()).where(where, Request.status.in_(sorted(OPEN)))
             .group_by(band))
    found = {str(ident): int(n) for ident, n in await session.execute(query)}
    return [(ident, words, found.get(ident, 0)) for ident, _bound, words in AGE_BANDS]


def _utc(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


# The lists a CSV export may ask for (`table=`), with stable column identifiers as report.TABLES has them.
DETAIL_TABLES: dict[str, tuple[list[str], Callable[[Details], list[list[str]]]]] = {
    "breaches": (["number", "title", "zone", "clock", "target_hours", "filed_at", "breached_at"],
                 lambda d: [[str(b.number), b.title, b.zone_id, b.kind, f"{b.target_hours:g}", _utc(b.filed_at),
                             _utc(b.breached_at)] for b in d.breaches]),
    "comments": (["number", "title", "rating", "comment", "answered_at"],
                 lambda d: [[str(c.number), c.title, str(c.rating), c.comment, _utc(c.answered_at)]
                            for c in d.comments]),
    "backlog_age": (["age", "open_requests"], lambda d: [[ident, str(n)] for ident, _words, n in d.backlog_age]),
}


def details_csv(details: Details, table: str) -> str:
    """One of `DETAIL_TABLES` as CSV, every cell neutralised against spreadsheet formulas (titles and
    comments are the requesters' words)."""
    header, rows = DETAIL_TABLES[table]
    return csv_text(header, rows(details))
