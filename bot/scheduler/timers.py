"""Which timers a request needs, worked out again inside the transaction of every change.

`RequestTimers.request_changed` is the desk's `Timers` hook. From the request as it now stands it
derives the timers it should have (stale reminder, waiting-on-you reminder, deadline reminder,
approval reminders, SLA checks, confirmation and auto-close after a resolution, the survey after a
close) and makes the table agree: timers no longer wanted end their cycle, new ones are armed, and
ones whose moment moved are re-armed. Because the keys carry the cycle they belong to (the instant
of the resolution, the close), a confirmation or a survey is armed once per resolution or close
however many changes follow.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import AppConfig, Zone
from bot.desk.status import OPEN
from bot.model import Approval, ApprovalVote, Request, Survey
from bot.scheduler import rows, sla
from bot.scheduler.calendars import Calendars, working_hours_before
from bot.scheduler.rows import Timer

STALE = "stale_reminder"
WAITING = "waiting_reminder"
DEADLINE = "deadline_reminder"
APPROVAL = "approval_reminder"
SLA = "sla"
CONFIRM = "confirm"
AUTOCLOSE = "autoclose"
SURVEY = "survey"
MANAGED = frozenset({STALE, WAITING, DEADLINE, APPROVAL, SLA, CONFIRM, AUTOCLOSE, SURVEY})
"""Kinds this module derives from a request's state; other kinds on a request are left alone."""

TOUCHED = "zonedesk.scheduler.touched"
"""`session.info` key: timer keys cancelled or re-armed in this transaction (a tick then leaves them be)."""
_SAME_MOMENT = timedelta(seconds=1)
_STALE_PAUSED = {"requester", "approval"}  # someone else's turn: the waiting and approval reminders speak


def stamp(moment: datetime) -> str:
    """A compact UTC stamp for keys ('20261124T080000000000')."""
    return moment.strftime("%Y%m%dT%H%M%S%f")


class RequestTimers:
    """The desk's `Timers`: keeps each request's timers and SLA clocks in step with its state."""

    def __init__(self, config: AppConfig, calendars: Calendars) -> None:
        self.config = config
        self.calendars = calendars

    async def request_changed(self, session: AsyncSession, request: Request, now: datetime, kind: str) -> None:
        """Arm, re-arm or cancel the request's timers for its new state (in the change's transaction)."""
        zone = self.config.zone(request.zone_id)
        if zone is None:
            return
        fresh = kind == "filed" and request.created_at == now
        armed = {} if fresh else await rows.armed_for(session, request.id, MANAGED)
        wanted = await self.plan(session, request, zone, now, fresh=fresh, armed=armed)
        if request.status == "reopened":
            await withdraw_surveys(session, request.id)
        keys = {t.key for t in wanted}
        ended = [a for key, a in armed.items() if key not in keys]
        if ended:
            await rows.cancel_ids(session, (a.id for a in ended), now)
        changed = []
        for timer in wanted:
            have = armed.get(timer.key)
            if have is not None and (timer.keep or abs(have.due_at - timer.due_at) < _SAME_MOMENT):
                continue
            changed.append(timer)
        if fresh:  # a new request has no timers to replace: armed with its group, just before commit
            rows.arm_before_commit(session, changed)
        else:
            await rows.arm(session, changed)
        touched: set[str] = session.info.setdefault(TOUCHED, set())
        touched.update(a.key for a in ended)
        touched.update(t.key for t in changed)

    async def plan(self, session: AsyncSession, request: Request, zone: Zone, now: datetime, *, fresh: bool,
                   armed: dict[str, rows.Armed]) -> list[Timer]:
        """The timers the request should have now."""
        calendar = self.calendars.of_zone(zone.id)
        reminders = zone.reminders
        number = request.id
        wanted: list[Timer] = []
        is_open = request.status in OPEN
        waiting_on = request.waiting_reason if request.status == "waiting" else None
        if is_open and waiting_on not in _STALE_PAUSED:
            wanted.append(Timer(f"stale:{number}", STALE, calendar.add_working_hours(now, reminders.stale_after_hours),
                                number))
        if waiting_on == "requester":
            wanted.append(Timer(f"waiting:{number}", WAITING,
                                calendar.add_working_hours(now, reminders.waiting_on_requester_hours), number,
                                keep=True))
        if is_open and request.deadline is not None and request.deadline > now:
            due = max(now, working_hours_before(calendar, request.deadline, reminders.deadline_before_hours))
            wanted.append(Timer(f"deadline:{number}", DEADLINE, due, number,
                                {"deadline": request.deadline.isoformat()}))
        if reminders.approval_max > 0 and not fresh and (
                waiting_on == "approval" or any(a.kind == APPROVAL for a in armed.values())):
            wanted += await approval_timers(session, request, zone, calendar.add_working_hours(
                now, reminders.approval_every_hours))
        for check in await sla.sync_clocks(session, request, zone, calendar, now, fresh=fresh):
            wanted.append(Timer(f"sla:{number}:{check.kind}", SLA, check.due_at, number, {"clock": check.kind}))
        if request.status == "resolved" and request.resolved_at is not None:
            cycle = stamp(request.resolved_at)
            data = {"resolved": cycle}
            wanted.append(Timer(f"confirm:{number}:{cycle}", CONFIRM, now, number, data, keep=True))
            days = zone.auto_close_days
            if days >= 2:
                first = Timer(f"autoclose:{number}:{cycle}", AUTOCLOSE,
                              calendar.add_working_days(request.resolved_at, days - 1), number,
                              {**data, "stage": "warn"}, keep=True)
            else:
                first = Timer(f"autoclose:{number}:{cycle}", AUTOCLOSE,
                              calendar.add_working_days(request.resolved_at, days), number,
                              {**data, "stage": "close"}, keep=True)
            wanted.append(first)
        if (request.status == "closed" and request.closed_at is not None and request.closed_by != "auto"
                and zone.survey.enabled):
            cycle = stamp(request.closed_at)
            wanted.append(Timer(f"survey:{number}:{cycle}", SURVEY, now, number, {"closed": cycle}, keep=True))
        return wanted


async def approval_timers(session: AsyncSession, request: Request, zone: Zone, due: datetime) -> list[Timer]:
    """A reminder for each approver whose decision a pending approval on the request waits for."""
    found = await session.execute(
        select(Approval.id, Approval.ordered, ApprovalVote.approver_email)
        .join(ApprovalVote, ApprovalVote.approval_id == Approval.id)
        .where(Approval.request_id == request.id, Approval.status == "pending", ApprovalVote.decision.is_(None))
        .order_by(Approval.id, ApprovalVote.position))
    timers: list[Timer] = []
    first_of: set[int] = set()
    for approval_id, ordered, email in found:
        if ordered and approval_id in first_of:
            continue  # in order: only the approver whose turn it is hears from us
        first_of.add(approval_id)
        timers.append(approval_timer(request.id, approval_id, email, due))
    return timers


def approval_timer(request_id: int, approval_id: int, approver_email: str, due: datetime) -> Timer:
    """The reminder timer for one approver of one approval."""
    data: dict[str, Any] = {"approval": approval_id, "approver": approver_email, "sent": 0}
    return Timer(f"approval:{approval_id}:{approver_email}", APPROVAL, due, request_id, data, keep=True)


async def withdraw_surveys(session: AsyncSession, request_id: int) -> None:
    """A reopened request's unanswered survey is withdrawn: its buttons no longer record a rating."""
    await session.execute(update(Survey).where(Survey.request_id == request_id, Survey.status == "sent")
                          .values(status="withdrawn").execution_options(synchronize_session=False))
