"""The tick: claim due timers, run each one's job in its own transaction, mark it done in that transaction.

Exactly once: a row is claimed with a lease (see `rows.claim_due`), and the transaction that acts
starts with a conditional UPDATE marking it done that succeeds only while the lease is still ours and
nobody cancelled or re-armed the timer. The job's changes, history events and outbox rows commit with
that mark or not at all. A process killed mid-job leaves a lease that expires; another replica (or
the same one after a restart) then claims the row and runs it, once. What fell due while every
replica was down is simply due when one comes back.

Jobs register by kind with `@job("kind")`. A job marked `working_hours` that falls due outside its
zone's working hours (it was late, or armed by a clock that does not know them) waits for the next
working moment instead of disturbing someone at night.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import SYSTEM_EMAIL
from bot.clock import Clock
from bot.config import Zone
from bot.desk import Desk, Tx
from bot.model import Request
from bot.scheduler import rows
from bot.scheduler.calendar import WorkingCalendar
from bot.scheduler.calendars import Calendars
from bot.scheduler.rows import Claimed
from bot.scheduler.timers import TOUCHED, RequestTimers, approval_timer

if TYPE_CHECKING:
    from bot.server import Services

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
"""A job that fails this many times is given up (marked done with its error) so it cannot wedge a tick."""


class JobContext:
    """What a job sees: the desk, its transaction, the row that fell due and (locked) its request."""

    def __init__(self, scheduler: Scheduler, tx: Tx, row: Claimed, request: Request | None) -> None:
        self.scheduler = scheduler
        self.desk = scheduler.desk
        self.config = scheduler.desk.config
        self.tx = tx
        self.row = row
        self.request = request
        self.now = tx.now
        self._again: tuple[datetime, dict[str, Any]] | None = None

    @property
    def again_at(self) -> datetime | None:
        """When the job asked to run again, if it did."""
        return self._again[0] if self._again else None

    @property
    def data(self) -> dict[str, Any]:
        """The timer's data."""
        return self.row.data

    def zone(self) -> Zone | None:
        """The zone of the row's request."""
        return self.config.zone(self.request.zone_id) if self.request is not None else None

    def calendar(self, zone_id: str | None = None) -> WorkingCalendar:
        """A zone's calendar: the request's zone unless another is named."""
        zone = zone_id or (self.request.zone_id if self.request is not None else "")
        return self.scheduler.calendars.of_zone(zone)

    def again(self, due_at: datetime, data: dict[str, Any] | None = None) -> None:
        """Keep this timer for a later moment (the next reminder, the next stage) instead of finishing it."""
        later = max(due_at, self.now + timedelta(microseconds=1))  # never again within this tick
        self._again = (later, dict(self.row.data if data is None else data))

    def event(self, kind: str, **data: Any) -> None:
        """A history entry on the request from the scheduler (not a change: no timer moves for it)."""
        if self.request is None:
            return
        self.tx.events.append({"request_id": self.request.id, "at": self.now, "actor_email": SYSTEM_EMAIL,
                               "actor_name": "Zonedesk", "channel": "scheduler", "kind": kind, "data": data})


JobHandler = Callable[[JobContext], Awaitable[str | None]]


@dataclass(frozen=True)
class JobSpec:
    """A registered job."""

    handler: JobHandler
    working_hours: bool


JOBS: dict[str, JobSpec] = {}
TICK_STEPS: list[Callable[[Scheduler, datetime], Awaitable[None]]] = []
"""Run at the start of every tick, before due rows are claimed (the digests arm their next day here)."""


def job(kind: str, *, working_hours: bool = False) -> Callable[[JobHandler], JobHandler]:
    """Register the job that runs when a timer of `kind` falls due."""

    def register(handler: JobHandler) -> JobHandler:
        JOBS[kind] = JobSpec(handler, working_hours)
        return handler

    return register


@dataclass(frozen=True)
class TickReport:
    """What one tick did."""

    claimed: int
    done: int
    failed: int


class Scheduler:
    """Claims and runs due timers; any number of replicas may tick against one database."""

    def __init__(self, desk: Desk, clock: Clock | None = None, *, worker_id: str | None = None,
                 lease: timedelta = timedelta(seconds=60), batch: int = 200, group: int = 50,
                 max_rounds: int = 50) -> None:
        self.desk = desk
        self.sessions = desk.sessions
        self.clock = clock or desk.clock
        self.worker_id = worker_id or f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.lease = lease
        self.batch = batch
        self.group = group
        self.max_rounds = max_rounds
        self.calendars = Calendars(desk.config)
        self.timers = RequestTimers(desk.config, self.calendars)
        self.memory: dict[str, Any] = {}  # per-process caches of tick steps (they only save work)

    async def tick(self) -> TickReport:
        """Run everything due now (as the injected clock tells it), in batches; returns counts."""
        now = self.clock.now()
        for step in TICK_STEPS:
            await step(self, now)
        claimed = done = failed = 0
        for _ in range(self.max_rounds):
            batch = await self._claim(now)
            claimed += len(batch)
            # Finish well inside the lease, or another replica takes the rest over while they wait here.
            budget = time.monotonic() + self.lease.total_seconds() / 2
            for start in range(0, len(batch), self.group):
                if time.monotonic() > budget:
                    await self._give_back(batch[start:])
                    return TickReport(claimed - (len(batch) - start), done, failed)
                ran, broke = await self._run(batch[start:start + self.group], now)
                done += ran
                failed += broke
            if len(batch) < self.batch:
                break
        return TickReport(claimed, done, failed)

    async def run(self) -> None:
        """One tick, for the server's interval job."""
        report = await self.tick()
        if report.failed:
            log.warning("scheduler: %d of %d due timers failed this tick", report.failed, report.claimed)

    async def _claim(self, now: datetime) -> list[Claimed]:
        token = f"{self.worker_id}:{uuid.uuid4().hex[:8]}"
        async with self.sessions() as session, session.begin():
            return await rows.claim_due(session, now, token, self.lease, self.batch)

    async def _give_back(self, unrun: list[Claimed]) -> None:
        async with self.sessions() as session, session.begin():
            await rows.give_back(session, unrun)

    async def _run(self, group: list[Claimed], now: datetime) -> tuple[int, int]:
        """Run claimed rows in one transaction; returns (done, failed).

        One commit for the group (on PostgreSQL a commit waits for the disk; a thousand of them would
        make a tick slow). Should any job fail, nothing of the group commits, and each row runs again
        in a transaction of its own, so one bad timer neither blocks nor undoes the others.
        """
        try:
            async with self.desk.transaction(now=now) as tx:  # writes the timers and clocks of anything filed
                done = await self._act(tx, group)
            return done, 0
        except Exception as exc:
            if len(group) > 1:
                done = failed = 0
                for row in group:
                    ran, broke = await self._run([row], now)
                    done, failed = done + ran, failed + broke
                return done, failed
            row = group[0]
            log.exception("scheduler: %s timer %s failed (attempt %d)", row.kind, row.key, row.attempts)
            await self._failed(row, now, exc)
            return 0, 1

    async def _act(self, tx: Tx, group: list[Claimed]) -> int:
        """Take the group's rows and run their jobs in the transaction; returns how many ran."""
        session = tx.session
        requests = await self._lock_requests(session, {r.request_id for r in group if r.request_id is not None})
        taken = await rows.take(session, group, tx.now)
        touched: set[str] = session.info.setdefault(TOUCHED, set())
        outcomes: list[tuple[int, str]] = []
        for row in group:
            if row.id not in taken or row.key in touched:
                continue  # cancelled, re-armed (maybe by an earlier job here), or another replica's now
            context = JobContext(self, tx, row, requests.get(row.request_id or 0))
            outcome = await self._outcome(JOBS.get(row.kind), context, row)
            if context._again is not None:
                await rows.again(session, row, outcome, *context._again)
            else:
                outcomes.append((row.id, outcome))
        await rows.record(session, outcomes)
        return len(taken)

    async def _lock_requests(self, session: AsyncSession, ids: set[int]) -> dict[int, Request]:
        # Lock the requests before the timer rows (in id order): the desk's changes take a request
        # first and its timers after, so the same order here cannot deadlock with them.
        if not ids:
            return {}
        query = select(Request).where(Request.id.in_(sorted(ids))).order_by(Request.id)
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update()
        return {r.id: r for r in (await session.execute(query)).scalars()}

    async def _outcome(self, spec: JobSpec | None, context: JobContext, row: Claimed) -> str:
        if spec is None:
            log.warning("scheduler: no job for timer kind %s (%s); marking it done", row.kind, row.key)
            return f"no job for kind {row.kind}"
        if row.attempts > MAX_ATTEMPTS:
            return f"gave up after {MAX_ATTEMPTS} attempts"
        if spec.working_hours and context.request is not None:
            calendar = context.calendar()
            if not calendar.is_working_moment(context.now):
                context.again(calendar.next_working_moment(context.now))
                return "waiting for working hours"
        return await spec.handler(context) or "done"

    async def _failed(self, row: Claimed, now: datetime, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        retry = None if row.attempts >= MAX_ATTEMPTS else now + timedelta(seconds=min(3600, 30 * 2 ** row.attempts))
        try:
            async with self.sessions() as session, session.begin():
                await rows.release(session, row, now, error, retry)
        except Exception:  # the lease expires on its own; the next claim retries
            log.exception("scheduler: could not record the failure of timer %s", row.key)


async def arm_approval_reminder(desk: Desk, session: Any, approval_id: int, approver_email: str, now: datetime
                                ) -> None:
    """Arm the reminder to one approver of one approval (for `bot.desk.approvals`; kind `approval_reminder`).

    The reminder repeats every `reminders.approval_every_hours` working hours of the request's zone, at
    most `reminders.approval_max` times, while the approver has not decided. Arming twice is harmless.
    The scheduler also arms these by itself whenever a request starts waiting on an approval.
    """
    timers = desk.timers
    if not isinstance(timers, RequestTimers):
        return
    from bot.model import Approval

    approval = await session.get(Approval, approval_id)
    request = await session.get(Request, approval.request_id) if approval is not None else None
    zone = desk.config.zone(request.zone_id) if request is not None else None
    if approval is None or request is None or zone is None or zone.reminders.approval_max <= 0:
        return
    due = timers.calendars.of_zone(zone.id).add_working_hours(now, zone.reminders.approval_every_hours)
    await rows.ensure(session, [approval_timer(request.id, approval_id, approver_email.lower(), due)])


def scheduler_enabled(env: Mapping[str, str]) -> bool:
    """`ZONEDESK_SCHEDULER=off` (or 0, false, no) turns the tick off on this replica."""
    return env.get("ZONEDESK_SCHEDULER", "on").strip().lower() not in {"off", "0", "false", "no"}


def install(services: Services, env: Mapping[str, str] | None = None) -> Scheduler:
    """Wire the scheduler into a server: timers follow every change; the tick runs unless turned off.

    Every replica keeps timers in step with changes (the hook), whether or not it ticks. The tick runs
    every `ZONEDESK_SCHEDULER_INTERVAL` seconds (default 1) as one of the server's periodic jobs, with
    `services.clock`; its lease is `ZONEDESK_LEASE_SECONDS` (default 60).
    """
    env = os.environ if env is None else env
    lease = timedelta(seconds=max(2.0, float(env.get("ZONEDESK_LEASE_SECONDS") or 60)))
    scheduler = Scheduler(services.desk, services.clock, worker_id=services.outbox.worker_id, lease=lease)
    services.desk.timers = scheduler.timers
    services.extras["scheduler"] = scheduler
    if scheduler_enabled(env):
        interval = max(0.2, float(env.get("ZONEDESK_SCHEDULER_INTERVAL") or 1.0))
        services.periodic.append(("scheduler", interval, scheduler.run))
    return scheduler
