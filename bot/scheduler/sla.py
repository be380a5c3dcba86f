"""Service levels: which rule applies to a request, its clocks in working time, and attainment reports.

A request matched by one of its zone's SLA rules (the first that matches on priority, category and
team, in the order `app.yaml` lists them) gets two clocks, first response and resolution, each
started when the request was filed and counted in the zone's working time. A clock pauses while the
request waits on its requester (and on an approval when the rule says so) or is not open, and resumes
where it stopped. First response is met when an agent first replies; resolution when the request is
resolved (a reopen resumes it, the time spent resolved not counting).

This module keeps the clocks (`sync_clocks`, called in the transaction of every change) and says
when each needs looking at next; `bot.scheduler` arms a timer for that and sends the warning
(less than 20% of the time left) and the breach notice. What a clock's state means for attainment
(`MET_IN_TIME`, `BREACHED`, `RUNNING`) is said once here, and `bot.analytics` counts with it;
`sla_report` and `sla_breaches` read it per zone, always with the caller's access clause.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, case, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import store
from bot.config import SlaRule, Zone
from bot.desk.status import OPEN
from bot.model import Request, SlaClock
from bot.scheduler.calendar import WorkingCalendar

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
CLOCK_KINDS = (FIRST_RESPONSE, RESOLUTION)
WARN_FRACTION = 0.8
"""A warning goes out once this share of the target has passed (less than 20% left)."""


def rule_for(zone: Zone, request: Request) -> SlaRule | None:
    """The first of the zone's rules matching the request's priority, category (or a parent) and team."""
    lineage = _lineage(zone, request.category_id)
    for rule in zone.sla:
        if rule.priority is not None and rule.priority != request.priority:
            continue
        if rule.category is not None and rule.category not in lineage:
            continue
        if rule.team is not None and rule.team != request.team_id:
            continue
        return rule
    return None


def pauses(request: Request, rule: SlaRule) -> bool:
    """Whether the request's clocks stand still now: waiting on its requester (or approval), or not open."""
    if request.status not in OPEN:
        return True
    if request.status != "waiting":
        return False
    return request.waiting_reason == "requester" or (request.waiting_reason == "approval" and rule.pause_on_approval)


@dataclass
class NewClock:
    """A clock of a request filed in this transaction: worked out like a stored one, then inserted with
    its group's (`store.defer`) instead of as an ORM object, since nothing reads it before commit."""

    request_id: int
    kind: str
    target_hours: float
    started_at: datetime
    paused_at: datetime | None = None
    paused_hours: float = 0.0
    due_at: datetime | None = None
    met_at: datetime | None = None
    breached_at: datetime | None = None
    warned_at: datetime | None = None


Clock = SlaClock | NewClock
_INSERT = insert(cast(Table, SlaClock.__table__))


def deadline_of(clock: Clock, calendar: WorkingCalendar) -> datetime:
    """When the clock's target is used up: its start plus target and paused time, in working time."""
    return calendar.add_working_hours(clock.started_at, clock.target_hours + clock.paused_hours)


def warning_of(clock: Clock, calendar: WorkingCalendar) -> datetime:
    """When less than 20% of the clock's target is left."""
    return calendar.add_working_hours(clock.started_at, clock.target_hours * WARN_FRACTION + clock.paused_hours)


def next_check(clock: Clock, calendar: WorkingCalendar) -> datetime | None:
    """When the scheduler should look at this clock next (warning, then breach); None if it needs nothing."""
    if clock.met_at is not None or clock.paused_at is not None or clock.breached_at is not None:
        return None
    if clock.warned_at is None:
        return warning_of(clock, calendar)
    return clock.due_at or deadline_of(clock, calendar)


@dataclass(frozen=True)
class ClockCheck:
    """A clock that the scheduler should look at, and when."""

    kind: str
    due_at: datetime


async def sync_clocks(session: AsyncSession, request: Request, zone: Zone, calendar: WorkingCalendar,
                      now: datetime, *, fresh: bool = False) -> list[ClockCheck]:
    """Bring the request's clocks up to date after a change; return the checks the scheduler should arm.

    `fresh`: the request was created in this transaction, so it has no clocks yet (saves a query; its
    clocks are inserted with the rest of the transaction's, just before commit).
    """
    clocks: dict[str, SlaClock] = {}
    if not fresh:
        rows = await session.execute(select(SlaClock).where(SlaClock.request_id == request.id))
        clocks = {c.kind: c for c in rows.scalars()}
    rule = rule_for(zone, request)
    if rule is None:
        for stored in clocks.values():
            if stored.met_at is None and stored.breached_at is None:
                await session.delete(stored)  # no target applies any more (priority lowered, moved zone)
        return []
    paused = pauses(request, rule)
    checks: list[ClockCheck] = []
    new: list[NewClock] = []
    for kind, target in ((FIRST_RESPONSE, rule.first_response_hours), (RESOLUTION, rule.resolution_hours)):
        clock: Clock | None = clocks.get(kind)
        if clock is None:
            clock = NewClock(request.id, kind, target, request.created_at)
            new.append(clock)
        _update(clock, request, target, paused, calendar, now)
        when = next_check(clock, calendar)
        if when is not None and request.status in OPEN:
            checks.append(ClockCheck(kind, when))
    # Unset times (not paused, met, warned...) are left out: NULL by the table's own definition.
    store.defer(session, _INSERT, [{key: value for key, value in vars(clock).items() if value is not None}
                                   for clock in new])
    return checks


def _met_at(kind: str, request: Request) -> datetime | None:
    if kind == FIRST_RESPONSE:
        return request.first_response_at
    return request.resolved_at if request.status in {"resolved", "closed"} else None


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _update(clock: Clock, request: Request, target: float, paused: bool, calendar: WorkingCalendar,
            now: datetime) -> None:
    met = _met_at(clock.kind, request)
    if clock.met_at is not None and met is None:
        # Reopened: the clock runs again from now; the time it spent resolved does not count.
        clock.paused_hours += _hours(calendar.working_time_between(clock.met_at, now))
        clock.met_at = None
    if clock.met_at is not None:
        return
    if clock.target_hours != target:
        clock.target_hours = target  # priority, category or team changed: the new target, same start
    if clock.paused_at is not None and (not paused or met is not None):
        clock.paused_hours += _hours(calendar.working_time_between(clock.paused_at, met or now))
        clock.paused_at = None
    if clock.paused_at is None:
        clock.due_at = deadline_of(clock, calendar)
    if met is not None:
        clock.met_at = met
        if clock.due_at is not None and met > clock.due_at and clock.breached_at is None:
            clock.breached_at = clock.due_at  # met late while no scheduler ran: it was breached all the same
        return
    if paused and clock.paused_at is None:
        clock.paused_at = now


def _lineage(zone: Zone, category_id: str | None) -> set[str]:
    """The category and its parents: a rule for 'hardware' covers 'laptop'."""
    if category_id is None:
        return set()

    def path(nodes: Sequence[object], trail: list[str]) -> list[str] | None:
        for node in nodes:
            node_id = getattr(node, "id", "")
            if node_id == category_id:
                return [*trail, node_id]
            found = path(getattr(node, "children", ()), [*trail, node_id])
            if found:
                return found
        return None

    return set(path(zone.categories, []) or [category_id])


# ----------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class SlaRow:
    """Attainment of one clock kind for one zone and team over a period (clocks started in it)."""

    zone_id: str
    team_id: str | None
    kind: str
    clocks: int
    met: int
    met_in_time: int
    breached: int
    running: int

    @property
    def attainment(self) -> float | None:
        """Share of decided clocks (met or breached) met in time; None when none is decided yet."""
        decided = self.met_in_time + self.breached
        return self.met_in_time / decided if decided else None


@dataclass(frozen=True)
class Breach:
    """One breached clock, for lists of what went wrong."""

    request_id: int
    title: str
    zone_id: str
    team_id: str | None
    kind: str
    due_at: datetime | None
    breached_at: datetime
    met_at: datetime | None


# A clock is decided once met or breached, and then is one of these; until then it is running (paused or not).
MET_IN_TIME: ColumnElement[bool] = and_(SlaClock.met_at.is_not(None), SlaClock.breached_at.is_(None))
"""Met before its deadline."""
BREACHED: ColumnElement[bool] = SlaClock.breached_at.is_not(None)
"""Its deadline passed first (met late, or not met yet)."""
RUNNING: ColumnElement[bool] = and_(SlaClock.met_at.is_(None), SlaClock.breached_at.is_(None))
"""Neither met nor breached yet (it may be paused)."""


def _scope(zone_ids: Collection[str], visible: ColumnElement[bool]) -> ColumnElement[bool]:
    return and_(Request.zone_id.in_(sorted(zone_ids)), visible, Request.status != "cancelled")


async def sla_report(session: AsyncSession, zone_ids: Collection[str], since: datetime, until: datetime, *,
                     visible: ColumnElement[bool]) -> list[SlaRow]:
    """Attainment per zone, team and clock kind for clocks started in [since, until).

    `visible` is the reader's access clause (`Policy.request_clause(actor, Level.READER)`), so a figure
    never counts a request its reader may not see. Cancelled requests are left out.
    """
    query = (
        select(
            Request.zone_id, Request.team_id, SlaClock.kind, func.count(),
            func.sum(case((SlaClock.met_at.is_not(None), 1), else_=0)),
            func.sum(case((MET_IN_TIME, 1), else_=0)),
            func.sum(case((BREACHED, 1), else_=0)),
            func.sum(case((RUNNING, 1), else_=0)),
        )
        .join(Request, Request.id == SlaClock.request_id)
        .where(_scope(zone_ids, visible), SlaClock.started_at >= since, SlaClock.started_at < until)
        .group_by(Request.zone_id, Request.team_id, SlaClock.kind)
        .order_by(Request.zone_id, Request.team_id, SlaClock.kind)
    )
    rows = await session.execute(query)
    return [SlaRow(zone, team, kind, int(n), int(met or 0), int(ok or 0), int(bad or 0), int(running or 0))
            for zone, team, kind, n, met, ok, bad, running in rows]


async def sla_breaches(session: AsyncSession, zone_ids: Collection[str], since: datetime, until: datetime, *,
                       visible: ColumnElement[bool], limit: int = 500) -> list[Breach]:
    """Clocks breached in [since, until), newest first, among requests the reader may see."""
    query = (
        select(Request.id, Request.title, Request.zone_id, Request.team_id, SlaClock.kind, SlaClock.due_at,
               SlaClock.breached_at, SlaClock.met_at)
        .join(Request, Request.id == SlaClock.request_id)
        .where(_scope(zone_ids, visible), SlaClock.breached_at >= since, SlaClock.breached_at < until)
        .order_by(SlaClock.breached_at.desc(), Request.id)
        .limit(limit)
    )
    return [Breach(*row) for row in (await session.execute(query)).all()]
