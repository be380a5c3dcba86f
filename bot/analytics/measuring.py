"""Each request's first response and resolution times, measured once when they are settled and kept in
`request_measures` for the analytics to read (decision 0010).

**What is measured.** Calendar time: from filing to the first public reply by an agent, and from filing
to the latest resolution, every second counted (what the requester lived). Working time: the same
spans counted only inside the working hours of the calendar of the zone holding the request at each
moment (working days, public holidays and closed days left out), with the time the request stood paused
left out as its SLA clocks leave it out (`bot.scheduler.sla.pauses`): waiting on the requester, waiting
on an approval where the request's SLA rule pauses for approvals, and resolved (the time between a
resolution and a reopening). A request filed on a holiday or at night starts counting when the next
working hours begin. A request transferred mid-way is measured stretch by stretch: the time before the
transfer by the first zone's calendar, the time after by the second's (and it counts, as every figure
does, for the zone holding it now). Times are cut to the second first, so every measure is whole seconds.

**When.** `Tx.record` runs `_measure` (registered with `reacts_to`) in the transaction of an agent's
first public reply and of every resolution and reopening: it replays the request's history (the stored
events and those of the transaction) and writes the request's row. `rebuild` does the same for every
request from the history (migration 0012's backfill, `zonedesk seed`, and `zonedesk analytics rebuild`
after a calendar or an SLA rule's pauses change), in chunks, so memory stays flat.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Actor
from bot.config import AppConfig
from bot.desk.status import OPEN
from bot.desk.unit import Tx, reacts_to
from bot.model import Event, Request, RequestMeasure
from bot.scheduler.calendars import Calendars
from bot.scheduler.sla import rule_for

# The history that says whose calendar counts and whether the request stood paused: every event kind that
# moves a request's status or zone. The status each leaves the request in is read from its data.
STEP_KINDS = ("filed", "status", "commented", "claimed", "assigned", "accepted", "approval_requested",
              "approval_decided", "transferred")
_SECOND = timedelta(seconds=1)
_TABLE = cast(Table, RequestMeasure.__table__)
_CHUNK = 1000


@dataclass(frozen=True)
class Step:
    """One event of a request's history: when, what kind, and its data."""

    at: datetime
    kind: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Measured:
    """A request's measures (None where it has no first response, or is not resolved now)."""

    first_response_seconds: int | None
    first_response_working_seconds: int | None
    resolution_seconds: int | None
    resolution_working_seconds: int | None


@dataclass(frozen=True)
class Stretch:
    """A span of the request's life held by one zone, paused or not."""

    start: datetime
    end: datetime | None  # None: up to now
    zone: str
    paused: bool


def _second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _follow(step: Step, status: str, reason: str | None, zone: str) -> tuple[str, str | None, str]:
    """The status, waiting reason and zone a step leaves the request in."""
    kind, data = step.kind, step.data
    if kind == "filed":
        return "new", None, str(data.get("zone") or zone)
    if kind == "transferred":
        return "new", None, str(data.get("target") or zone)
    if kind == "approval_requested":
        return "waiting", "approval", zone
    if kind == "assigned":
        return (status, reason, zone) if status == "waiting" else ("assigned", None, zone)
    if kind == "accepted":
        return "accepted", None, zone
    moved = data.get("status")
    if kind == "status" and moved:
        return str(moved), (data.get("reason") if moved == "waiting" else None), zone
    if kind in {"commented", "claimed", "approval_decided"} and moved and moved != status:
        return str(moved), None, zone  # these name the status they leave, not why it waits (it kept its reason)
    return status, reason, zone


def stretches(first_zone: str, filed_at: datetime, steps: Iterable[Step],
              pauses_for_approval: Callable[[str], bool]) -> list[Stretch]:
    """The request's life from filing, cut wherever its zone or its being paused changes."""
    status, reason, zone = "new", None, first_zone
    start = _second(filed_at)
    found: list[Stretch] = []

    def paused() -> bool:
        if status not in OPEN:
            return True
        return status == "waiting" and (reason == "requester" or (reason == "approval" and pauses_for_approval(zone)))

    for step in steps:
        at = max(_second(step.at), start)
        before = (zone, paused())
        status, reason, zone = _follow(step, status, reason, zone)
        if (zone, paused()) != before:
            if at > start:
                found.append(Stretch(start, at, *before))
            start = at
    found.append(Stretch(start, None, zone, paused()))
    return found


def working_seconds(life: Sequence[Stretch], until: datetime, calendars: Calendars) -> int:
    """Working seconds from filing to `until`: each stretch not paused, in its zone's calendar."""
    until = _second(until)
    total = timedelta(0)
    for stretch in life:
        if stretch.start >= until:
            break
        if not stretch.paused:
            end = until if stretch.end is None else min(stretch.end, until)
            total += calendars.of_zone(stretch.zone).working_time_between(stretch.start, end)
    return total // _SECOND


def measure(request: Request, steps: Sequence[Step], calendars: Calendars) -> Measured:
    """The request's measures from its history (`steps` in the order they happened)."""
    config = calendars.config
    first_zone = next((str(s.data.get("zone")) for s in steps if s.kind == "filed" and s.data.get("zone")), None)
    if first_zone is None:
        first_zone = next((str(s.data.get("source")) for s in steps if s.kind == "transferred"), request.zone_id)
    rules: dict[str, bool] = {}

    def pauses_for_approval(zone_id: str) -> bool:
        if zone_id not in rules:
            zone = config.zone(zone_id)
            rule = rule_for(zone, request) if zone is not None else None
            rules[zone_id] = bool(rule and rule.pause_on_approval)
        return rules[zone_id]

    life = stretches(first_zone, request.created_at, steps, pauses_for_approval)
    filed = int(_second(request.created_at).timestamp())

    def both(end: datetime | None) -> tuple[int | None, int | None]:
        if end is None:
            return None, None
        return int(_second(end).timestamp()) - filed, working_seconds(life, end, calendars)

    resolved = request.resolved_at if request.status in {"resolved", "closed"} else None
    return Measured(*both(request.first_response_at), *both(resolved))


def _row(request: Request, measured: Measured) -> dict[str, Any]:
    resolved = request.resolved_at if measured.resolution_seconds is not None else None
    return {"request_id": request.id, "first_response_at": request.first_response_at,
            "first_response_seconds": measured.first_response_seconds,
            "first_response_working_seconds": measured.first_response_working_seconds,
            "resolved_at": resolved, "resolution_seconds": measured.resolution_seconds,
            "resolution_working_seconds": measured.resolution_working_seconds}


_KEPT: dict[int, tuple[AppConfig, Calendars]] = {}


def calendars_of(config: AppConfig) -> Calendars:
    """The zones' calendars of a configuration, built once."""
    kept = _KEPT.get(id(config))
    if kept is None or kept[0] is not config:
        if len(_KEPT) > 16:
            _KEPT.clear()
        kept = _KEPT[id(config)] = (config, Calendars(config))
    return kept[1]


# ----------------------------------------------------------------------------- at write time


@reacts_to("replied", "status")
async def _measure(tx: Tx, request: Request, actor: Actor, kind: str, data: dict[str, Any]) -> None:
    """An agent's first public reply, a resolution or a reopening settles a measure: write the request's."""
    if kind == "replied" and request.first_response_at != tx.now:
        return  # not the first response
    if kind == "status" and data.get("status") not in {"resolved", "reopened"}:
        return
    await write_measure(tx.session, tx, request)


async def write_measure(session: AsyncSession, tx: Tx, request: Request) -> None:
    """Replay the request's history (stored, and this transaction's) and keep its measures."""
    stored = await session.execute(select(Event.at, Event.kind, Event.data)
                                   .where(Event.request_id == request.id, Event.kind.in_(STEP_KINDS))
                                   .order_by(Event.at, Event.id))
    steps = [Step(at, kind, data or {}) for at, kind, data in stored]
    steps += [Step(e["at"], e["kind"], e["data"]) for e in tx.events
              if e["request_id"] == request.id and e["kind"] in STEP_KINDS]
    values = _row(request, measure(request, steps, calendars_of(tx.unit.config)))
    row = await session.get(RequestMeasure, request.id)
    if row is None:
        session.add(RequestMeasure(**values))
    else:
        for key, value in values.items():
            setattr(row, key, value)


# ----------------------------------------------------------------------------- from the history


def rebuild(connection: Connection, config: AppConfig, *, first_id: int | None = None,
            last_id: int | None = None) -> int:
    """Measure again every request (or those numbered first_id..last_id) from its history, replacing what
    was kept; returns how many requests have measures. Reads and writes `_CHUNK` requests at a time."""
    calendars = calendars_of(config)
    bounds: list[Any] = []
    if first_id is not None:
        bounds.append(Request.id >= first_id)
    if last_id is not None:
        bounds.append(Request.id <= last_id)
    kept = [RequestMeasure.request_id >= first_id] if first_id is not None else []
    kept += [RequestMeasure.request_id <= last_id] if last_id is not None else []
    connection.execute(delete(_TABLE).where(*kept))
    settled = or_(Request.first_response_at.is_not(None), Request.resolved_at.is_not(None))
    columns = cast(Table, Request.__table__).columns
    measured, after = 0, None
    while True:
        query = select(*columns).where(settled, *bounds).order_by(Request.id).limit(_CHUNK)
        if after is not None:
            query = query.where(Request.id > after)
        requests = [Request(**row._mapping) for row in connection.execute(query)]
        if not requests:
            return measured
        steps: dict[int, list[Step]] = {r.id: [] for r in requests}
        for number, at, kind, data in connection.execute(
                select(Event.request_id, Event.at, Event.kind, Event.data)
                .where(Event.request_id.in_(list(steps)), Event.kind.in_(STEP_KINDS))
                .order_by(Event.request_id, Event.at, Event.id)):
            steps[number].append(Step(at, kind, data or {}))
        connection.execute(insert(_TABLE), [_row(r, measure(r, steps[r.id], calendars)) for r in requests])
        measured += len(requests)
        after = requests[-1].id


# ----------------------------------------------------------------------------- `zonedesk analytics rebuild`


async def _rebuild(config_path: Path, url: str) -> int:
    from bot import store
    from bot.config import load_config

    config = load_config(config_path)
    engine = store.create_engine(url)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(lambda sync: rebuild(sync, config))
    finally:
        await engine.dispose()


def _run(args: argparse.Namespace) -> int:
    import os

    from bot import store

    path = Path(args.config or os.environ.get("ZONEDESK_CONFIG") or "app.yaml")
    started = time.perf_counter()
    count = asyncio.run(_rebuild(path, store.database_url()))
    print(f"measured {count} requests again in {time.perf_counter() - started:.1f} s "
          f"with the calendars of {path}")
    return 0


def register(sub: Any) -> None:
    """Add `zonedesk analytics rebuild` to the command line."""
    parser = sub.add_parser("analytics", help="analytics maintenance")
    commands = parser.add_subparsers(dest="analytics_command", required=True)
    again = commands.add_parser("rebuild", help="measure every request's first response and resolution again "
                                                "from its history (after a calendar or an SLA rule changed)")
    again.add_argument("--config", help="path to app.yaml (default: ./app.yaml or $ZONEDESK_CONFIG)")
    again.set_defaults(handler=_run)
