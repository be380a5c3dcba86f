"""Reminder and SLA jobs: what happens when a stale, waiting, deadline, approval or SLA timer falls due.

Reminders go to one person as a direct message on every platform where they were seen, with a link
back to the request; a request nobody has yet goes to its team's triage channel instead. Each job
looks at the request again before speaking: a timer that outlived its reason ends quietly ("moot").
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select

from bot.delivery.messages import Message
from bot.desk.status import OPEN
from bot.errors import DeskError
from bot.model import Approval, ApprovalVote, Request, SlaClock
from bot.scheduler.runner import JobContext, job
from bot.scheduler.sla import CLOCK_NAMES, deadline_of, warning_of
from bot.scheduler.timers import APPROVAL, DEADLINE, SLA, STALE, WAITING


def local_time(context: JobContext, moment: datetime) -> str:
    """An instant as people of the request's zone read it ('Mon 30 Nov 11:00 Europe/Oslo')."""
    calendar = context.calendar()
    return f"{moment.astimezone(calendar.zone).strftime('%a %d %b %H:%M')} {calendar.timezone}"


def hours_text(hours: float) -> str:
    """'4 working hours', '30 working minutes'."""
    if hours < 1:
        return f"{round(hours * 60)} working minutes"
    shown = f"{hours:g}"
    return f"{shown} working hour{'s' if shown != '1' else ''}"


async def tell_owner(context: JobContext, request: Request, message: Message) -> str:
    """The assignee by direct message; a request without one, in its team's triage channel."""
    if request.assignee_email:
        await context.tx.to_person(request.assignee_email, message, request.id)
        return "assignee"
    try:
        channels = context.desk.triage_channels(request.zone_id, request.team_id)
    except DeskError:  # the zone left app.yaml
        channels = []
    await context.tx.to_channels(channels, message, request.id, "triage")  # a new post in the channel
    return "triage channel"


def _message(context: JobContext, request: Request, title: str, text: str, what: str,
             fields: tuple[tuple[str, str], ...] = ()) -> Message:
    return Message(title=title, text=text, fields=fields, link=context.desk.link(request.id),
                   link_label=f"Open #{request.id}", extra={"number": request.id, "reminder": what})


@job(STALE, working_hours=True)
async def stale_reminder(context: JobContext) -> str:
    """Nobody touched an open request for the zone's `stale_after_hours` working hours."""
    request, zone = context.request, context.zone()
    if request is None or zone is None or request.status not in OPEN:
        return "moot"
    hours = hours_text(zone.reminders.stale_after_hours)
    message = _message(context, request, f"Reminder: #{request.id} has not moved for {hours}", request.title,
                       "stale", (("Status", request.status), ("Priority", request.priority),
                                 ("Requester", request.requester_name)))
    return f"reminded {await tell_owner(context, request, message)}"


@job(WAITING, working_hours=True)
async def waiting_reminder(context: JobContext) -> str:
    """The request has waited on its requester's answer for `waiting_on_requester_hours` working hours."""
    request = context.request
    if request is None or request.status != "waiting" or request.waiting_reason != "requester":
        return "moot"
    message = _message(context, request, f"#{request.id} is waiting for your answer", (
        f"{request.title}\nWe need something from you to go on. Answer in the request's thread or open it "
        "in Zonedesk."), "waiting")
    await context.tx.to_person(request.requester_email, message, request.id)
    return "reminded requester"


@job(DEADLINE, working_hours=True)
async def deadline_reminder(context: JobContext) -> str:
    """The request's deadline is `deadline_before_hours` working hours away."""
    request = context.request
    if request is None or request.status not in OPEN or request.deadline is None:
        return "moot"
    if request.deadline != datetime.fromisoformat(str(context.data.get("deadline"))):
        return "moot: the deadline moved"
    message = _message(context, request, f"Deadline near: #{request.id} is due {local_time(context, request.deadline)}",
                       request.title, "deadline", (("Status", request.status), ("Priority", request.priority)))
    return f"reminded {await tell_owner(context, request, message)}"


@job(APPROVAL, working_hours=True)
async def approval_reminder(context: JobContext) -> str:
    """An approver has not decided yet: the card again, up to `approval_max` times."""
    from bot.desk.approvals import card_for

    request, zone = context.request, context.zone()
    approver = str(context.data.get("approver", ""))
    approval = await context.tx.session.get(Approval, int(context.data.get("approval", 0)))
    if request is None or zone is None or approval is None or approval.status != "pending":
        return "moot"
    votes = list((await context.tx.session.execute(select(ApprovalVote).where(
        ApprovalVote.approval_id == approval.id).order_by(ApprovalVote.position))).scalars())
    mine = next((v for v in votes if v.approver_email == approver), None)
    if mine is None or mine.decision is not None:
        return "moot: decided"
    if approval.ordered and next(v for v in votes if v.decision is None) is not mine:
        return "moot: not their turn"
    card = await card_for(context.tx.session, context.desk, approval, request)
    await context.tx.to_person(approver, replace(card, title=f"Reminder: {card.title}"), request.id)
    sent = int(context.data.get("sent", 0)) + 1
    reminders = zone.reminders
    if sent < reminders.approval_max:
        context.again(context.calendar().add_working_hours(context.now, reminders.approval_every_hours),
                      {**context.data, "sent": sent})
    return f"reminder {sent} of {reminders.approval_max}"


@job(SLA)
async def sla_check(context: JobContext) -> str:
    """An SLA clock is near its target (warning) or past it (breach notice)."""
    request = context.request
    kind = str(context.data.get("clock", ""))
    clock = await context.tx.session.get(SlaClock, (request.id, kind)) if request is not None else None
    if request is None or clock is None or request.status not in OPEN:
        return "moot"
    if clock.met_at is not None or clock.paused_at is not None:
        return "moot: met or paused"
    calendar = context.calendar()
    due = clock.due_at or deadline_of(clock, calendar)
    name = CLOCK_NAMES.get(kind, kind)
    if context.now >= due:
        if clock.breached_at is not None:
            return "moot: already breached"
        clock.breached_at = due
        context.event("sla_breached", clock=kind, due=due.isoformat())
        message = _message(context, request, f"SLA breached: #{request.id} {name} was due {local_time(context, due)}",
                           request.title, "sla_breach", (("Priority", request.priority), ("Status", request.status)))
        return f"breach: told {await tell_owner(context, request, message)}"
    warn = warning_of(clock, calendar)
    if clock.warned_at is None and context.now >= warn:
        clock.warned_at = context.now
        context.event("sla_warning", clock=kind, due=due.isoformat())
        left = calendar.working_time_between(context.now, due).total_seconds() / 3600
        message = _message(context, request, f"SLA warning: #{request.id} {name} is due {local_time(context, due)}",
                           f"{request.title}\n{hours_text(left)} left.", "sla_warning",
                           (("Priority", request.priority), ("Status", request.status)))
        context.again(due)
        return f"warning: told {await tell_owner(context, request, message)}"
    context.again(warn if clock.warned_at is None else due)
    return "not yet"
