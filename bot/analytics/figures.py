"""The figures, each defined once here and computed by the database per period: volume and backlog, first
response and resolution times, SLA attainment, satisfaction.

Every function reads `analytics_facts` alone (`bot.analytics.facts`: one row per counted thing with its
request's dimensions as they are now) and takes the requests to count as a WHERE clause over those facts
(`bot.analytics.query.counted`, the reader's access and the filters, moved onto the facts by
`facts.over_facts`) and the report's `Periods`, and returns one row per period (per
period and SLA target for attainment). Each runs a few aggregate statements; what comes back to Python
is a handful of numbers per period, however many requests there are. Durations are read from the measures
kept when each request was answered or resolved (`bot.analytics.measuring`), in calendar and working time.

Definitions (what the page's help texts say in words):

- **filed**: requests filed in the period. **resolved**, **closed**, **reopened**, **cancelled**: status
  moves to that status in the period (a request resolved twice counts twice). **open at the end**: requests
  in an open status (new, assigned, accepted, in progress, waiting, reopened) at the period's end, replayed
  from the history: +1 when filed, -1 when resolved or cancelled, +1 when reopened.
- **first response**: from filing to an agent's first public reply, for requests first answered in the
  period (notes, claims and status changes are no response).
- **resolution**: from filing to the request's latest resolution, for requests whose latest resolution
  falls in the period (a reopened request counts again once resolved again, with its whole time).
- Both in **calendar time** (every second from filing) and in **working time**: only the working hours of
  the calendar of the zone holding the request at each moment, leaving out the time it stood paused as its
  SLA clocks do (waiting on the requester, on an approval where its SLA rule says so, and resolved until
  reopened). A request filed outside working hours or on a holiday starts counting when they next begin.
- **SLA attainment**: the request's SLA clocks (`bot.scheduler.sla`, working time, paused while waiting on
  the requester) of requests filed in the period, per target: met in time, breached, still running;
  cancelled requests left out. Attainment is met in time / (met in time + breached).
- **satisfaction**: surveys sent in the period (withdrawn ones, for reopened requests, left out): how many
  were answered, the share answered, the average rating and how many gave each rating from 1 to 5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.analytics import facts
from bot.analytics.measures import per_period, spreads
from bot.analytics.periods import Period, Periods
from bot.model import AnalyticsFact

# Status moves counted as volume; those that close (-1) or open (+1) a request again for the backlog.
MOVES = ("resolved", "closed", "reopened", "cancelled")
CLOSING = ("resolved", "cancelled")
REOPENING = ("reopened",)
RATINGS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Volume:
    """How many requests came, moved and stayed open in one period."""

    period: Period
    filed: int
    resolved: int
    closed: int
    reopened: int
    cancelled: int
    open_at_end: int


@dataclass(frozen=True)
class Durations:
    """How long something took for the requests of one period, in seconds: `median` and `p90` in calendar
    time, `working_median` and `working_p90` in working time (see `bot.analytics.measuring`)."""

    period: Period
    count: int
    median: float | None
    p90: float | None
    working_median: float | None = None
    working_p90: float | None = None


@dataclass(frozen=True)
class Attainment:
    """SLA clocks of one target (a zone's clock kind and its hours) for requests filed in one period."""

    period: Period
    zone_id: str
    kind: str
    target_hours: float
    met: int
    breached: int
    running: int

    @property
    def clocks(self) -> int:
        """Every clock counted."""
        return self.met + self.breached + self.running

    @property
    def attainment(self) -> float | None:
        """Share of decided clocks met in time; None while none is decided."""
        decided = self.met + self.breached
        return self.met / decided if decided else None


@dataclass(frozen=True)
class Satisfaction:
    """Surveys sent in one period, and what the requesters answered."""

    period: Period
    sent: int
    ratings: tuple[int, ...]  # how many answered 1, 2, 3, 4, 5

    @property
    def answered(self) -> int:
        """Surveys answered."""
        return sum(self.ratings)

    @property
    def response_rate(self) -> float | None:
        """Share of surveys answered; None when none was sent."""
        return self.answered / self.sent if self.sent else None

    @property
    def average(self) -> float | None:
        """The average rating; None when nobody answered."""
        answered = self.answered
        return sum(r * n for r, n in zip(RATINGS, self.ratings, strict=True)) / answered if answered else None


F = AnalyticsFact
_CODES = {"filed": facts.FILED, **facts.MOVES}
_NAMES = {code: name for name, code in _CODES.items()}


async def volume(session: AsyncSession, where: ColumnElement[bool], periods: Periods) -> list[Volume]:
    """Filed, resolved, closed, reopened and cancelled per period, and what was open at each period's end."""
    size = len(periods.periods)
    counted: dict[str, list[int]] = {name: [0] * size for name in _CODES}

    def rows(inside: ColumnElement[bool]) -> Select[Any]:
        return (select(F.fact, func.count()).where(where, F.fact.in_(sorted(_CODES.values())), inside)
                .group_by(F.fact))

    for fact, count, index in await session.execute(per_period(session, periods, F.at, rows)):
        counted[_NAMES[int(fact)]][int(index)] = int(count)
    open_now = await _open_before(session, where, periods)
    found = []
    for p in periods.periods:
        i = p.index
        open_now += (counted["filed"][i] - sum(counted[s][i] for s in CLOSING)
                     + sum(counted[s][i] for s in REOPENING))
        found.append(Volume(p, counted["filed"][i], counted["resolved"][i], counted["closed"][i],
                            counted["reopened"][i], counted["cancelled"][i], open_now))
    return found


async def _open_before(session: AsyncSession, where: ColumnElement[bool], periods: Periods) -> int:
    """Requests open when the range starts, replayed from filings and status moves before it."""
    closing = [_CODES[s] for s in CLOSING]
    opening = [facts.FILED, *(_CODES[s] for s in REOPENING)]
    found = await session.scalar(select(func.sum(case((F.fact.in_(closing), -1), else_=1)))
                                 .where(where, F.fact.in_(sorted(closing + opening)), F.at < periods.start_second))
    return int(found or 0)


async def _durations(session: AsyncSession, where: ColumnElement[bool], periods: Periods,
                     fact: int) -> tuple[list[Durations], Durations]:
    """Per period of the measured moment, and over the whole range, the percentiles of the measures kept at
    write time: calendar (`a`) and working time (`b`), per period and together, in one read."""
    def rows(inside: ColumnElement[bool]) -> Select[Any]:
        return select(F.a, F.b).where(where, F.fact == fact, inside)

    several = len(periods.periods) > 1
    (by_calendar, by_working), totals = await spreads(session, periods, F.at, rows, 2, whole=several)
    found = [Durations(p, c.count, c.median, c.p90, w.median, w.p90)
             for p, c, w in zip(periods.periods, by_calendar, by_working, strict=True)]
    if not several:
        return found, found[0]
    c, w = totals
    return found, Durations(Period(0, periods.first, periods.last, periods.start, periods.end), c.count, c.median,
                            c.p90, w.median, w.p90)


async def first_responses(session: AsyncSession, where: ColumnElement[bool],
                          periods: Periods) -> tuple[list[Durations], Durations]:
    """From filing to the first public reply by an agent, for requests first answered in each period and in
    the whole range."""
    return await _durations(session, where, periods, facts.FIRST_RESPONSE)


async def resolutions(session: AsyncSession, where: ColumnElement[bool],
                      periods: Periods) -> tuple[list[Durations], Durations]:
    """From filing to the latest resolution, for requests whose latest resolution falls in each period and in
    the whole range."""
    return await _durations(session, where, periods, facts.RESOLUTION)


async def first_response(session: AsyncSession, where: ColumnElement[bool], periods: Periods) -> list[Durations]:
    """From filing to the first public reply by an agent, for requests first answered in each period."""
    return (await first_responses(session, where, periods))[0]


async def resolution(session: AsyncSession, where: ColumnElement[bool], periods: Periods) -> list[Durations]:
    """From filing to the latest resolution, for requests whose latest resolution falls in each period."""
    return (await resolutions(session, where, periods))[0]


async def sla_attainment(session: AsyncSession, where: ColumnElement[bool], periods: Periods) -> list[Attainment]:
    """Per period (of the clock's start, the filing) and SLA target: clocks met in time, breached, still
    running; requests cancelled left out."""
    def rows(inside: ColumnElement[bool]) -> Select[Any]:
        return (select(F.zone_id, F.label, F.b, *(func.sum(case((F.a == state, 1), else_=0)) for state in
                                                  (facts.SLA_MET_IN_TIME, facts.SLA_BREACHED, facts.SLA_RUNNING)))
                .where(where, F.fact == facts.SLA_CLOCK, F.cancelled.is_(False), inside)
                .group_by(F.zone_id, F.label, F.b))

    found = [(int(index), zone, kind, int(target), int(met), int(breached), int(running))
             for zone, kind, target, met, breached, running, index in
             await session.execute(per_period(session, periods, F.at, rows))]
    return [Attainment(periods.periods[index], zone, kind, target / 3600, met, breached, running)
            for index, zone, kind, target, met, breached, running in sorted(found)]


async def satisfaction(session: AsyncSession, where: ColumnElement[bool], periods: Periods) -> list[Satisfaction]:
    """Per period: surveys sent (withdrawn ones left out) and how many answered each rating."""
    def rows(inside: ColumnElement[bool]) -> Select[Any]:
        return (select(F.a, F.b, func.count()).where(where, F.fact == facts.SURVEY, inside)
                .group_by(F.a, F.b))

    size = len(periods.periods)
    sent = [0] * size
    ratings = [[0] * len(RATINGS) for _period in range(size)]
    for answered, rating, count, index in await session.execute(per_period(session, periods, F.at, rows)):
        sent[int(index)] += int(count)
        if answered and rating in RATINGS:
            ratings[int(index)][rating - 1] += int(count)
    return [Satisfaction(p, sent[p.index], tuple(ratings[p.index])) for p in periods.periods]
