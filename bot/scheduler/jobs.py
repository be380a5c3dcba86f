"""Reminder and SLA jobs: what happens when a stale, waiting, deadline, approval or SLA timer falls due.

Reminders go to one person as a direct message on every platform where they were seen, with a link
back to the request; a request nobody has yet goes to its team's triage channel instead. Each job
looks at the request again before speaking: a timer that outlived its reason ends quietly ("moot").
Each message is built while its recipient's language is spoken (the person's, or the zone's for a
triage channel), with times as that language writes them in the zone's time zone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from babel import dates
from sqlalchemy import select

from bot.delivery.messages import Message
from bot.desk.history import level_word
from bot.desk.status import OPEN, status_word
from bot.desk.unit import Say
from bot.errors import DeskError
from bot.i18n import SOURCE, _, current, ngettext
from bot.model import Approval, ApprovalVote, Request, SlaClock
from bot.scheduler.runner import JobContext, job
from bot.scheduler.sla import FIRST_RESPONSE, RESOLUTION, deadline_of, warning_of
from bot.scheduler.timers import APPROVAL, DEADLINE, SLA, STALE, WAITING


def local_time(context: JobContext, moment: datetime) -> str:
    """An instant as people of the request's zone read it, in the language being spoken ('Mon 30 Nov 11:00
    Europe/Oslo'; 'man. 30. nov., 11:00 Europe/Oslo' in Norwegian)."""
    calendar = context.calendar()
    said = current()
    if said.language == SOURCE:
        return f"{moment.astimezone(calendar.zone).strftime('%a %d %b %H:%M')} {calendar.timezone}"
    locale = said.locale
    # Weekday, day and month as the language abbreviates them, joined to the time as CLDR says.
    pattern = (str(locale.datetime_formats["medium"]).replace("{1}", locale.datetime_skeletons["MMMEd"].pattern)
               .replace("{0}", locale.time_formats["short"].pattern))
    return f"{dates.format_datetime(moment, pattern, tzinfo=calendar.zone, locale=locale)} {calendar.timezone}"


def _hours(hours: float) -> tuple[int, str]:
    """Working hours as a plural rule counts them and as the language writes them ('1,5'). A fraction
    takes the form of 2 in every language the desk speaks (Polish '1,5 godziny', like '2 godziny')."""
    whole = float(hours).is_integer()
    return (int(hours) if whole else 2), current().number(int(hours) if whole else hours)


def _minutes(hours: float) -> int:
    return round(hours * 60)


def _stale_title(number: int, hours: float) -> str:
    if hours < 1:
        return ngettext("Reminder: #{number} has not moved for {count} working minute",
                        "Reminder: #{number} has not moved for {count} working minutes", _minutes(hours),
                        number=number)
    count, shown = _hours(hours)
    return ngettext("Reminder: #{number} has not moved for {hours} working hour",
                    "Reminder: #{number} has not moved for {hours} working hours", count, number=number, hours=shown)


def _time_left(hours: float) -> str:
    if hours < 1:
        return ngettext("{count} working minute left.", "{count} working minutes left.", _minutes(hours))
    count, shown = _hours(hours)
    return ngettext("{hours} working hour left.", "{hours} working hours left.", count, hours=shown)


def _sla_title(number: int, kind: str, due: str, *, breached: bool) -> str:
    """'SLA warning: #12 first response is due ...', 'SLA breached: #12 resolution was due ...'."""
    if breached:
        if kind == FIRST_RESPONSE:
            return _("SLA breached: #{number} first response was due {due}", number=number, due=due)
        if kind == RESOLUTION:
            return _("SLA breached: #{number} resolution was due {due}", number=number, due=due)
        return _("SLA breached: #{number} {clock} was due {due}", number=number, clock=kind, due=due)
    if kind == FIRST_RESPONSE:
        return _("SLA warning: #{number} first response is due {due}", number=number, due=due)
    if kind == RESOLUTION:
        return _("SLA warning: #{number} resolution is due {due}", number=number, due=due)
    return _("SLA warning: #{number} {clock} is due {due}", number=number, clock=kind, due=due)


async def tell_owner(context: JobContext, request: Request, message: Say) -> str:
    """The assignee by direct message, in their language; a request without one, in its team's triage
    channel, in the zone's."""
    if request.assignee_email:
        await context.tx.to_person(request.assignee_email, message, request.id, request.zone_id)
        return "assignee"
    try:
        channels = context.desk.triage_channels(request.zone_id, request.team_id)
    except DeskError:  # the zone left app.yaml
        channels = []
    # a new post in the channel
    await context.tx.to_channels(channels, message, request.id, "triage", zone_id=request.zone_id)
    return "triage channel"


def _message(context: JobContext, request: Request, title: str, text: str, what: str,
             fields: tuple[tuple[str, str], ...] = ()) -> Message:
    """A reminder in the language being spoken (the caller's words are, and the link's label is)."""
    return Message(title=title, text=text, fields=fields, link=context.desk.link(request.id),
                   link_label=_("Open #{number}", number=request.id), extra={"number": request.id, "reminder": what})


def _facts(request: Request) -> tuple[tuple[str, str], ...]:
    return ((_("Priority"), level_word(request.priority)), (_("Status"), status_word(request.status)))


@job(STALE, working_hours=True)
async def stale_reminder(context: JobContext) -> str:
    """Nobody touched an open request for the zone's `stale_after_hours` working hours."""
    request, zone = context.request, context.zone()
    if request is None or zone is None or request.status not in OPEN:
        return "moot"
    hours = zone.reminders.stale_after_hours

    def reminder() -> Message:
        return _message(context, request, _stale_title(request.id, hours), request.title, "stale",
                        ((_("Status"), status_word(request.status)), (_("Priority"), level_word(request.priority)),
                         (_("Requester"), request.requester_name)))

    return f"reminded {await tell_owner(context, request, reminder)}"


@job(WAITING, working_hours=True)
async def waiting_reminder(context: JobContext) -> str:
    """The request has waited on its requester's answer for `waiting_on_requester_hours` working hours."""
    request = context.request
    if request is None or request.status != "waiting" or request.waiting_reason != "requester":
        return "moot"

    def reminder() -> Message:
        return _message(context, request, _("#{number} is waiting for your answer", number=request.id), (
            request.title + "\n" + _("We need something from you to go on. Answer in the request's thread or open "
                                     "it in Zonedesk.")), "waiting")

    await context.tx.to_person(request.requester_email, reminder, request.id, request.zone_id)
    return "reminded requester"


@job(DEADLINE, working_hours=True)
async def deadline_reminder(context: JobContext) -> str:
    """The request's deadline is `deadline_before_hours` working hours away."""
    request = context.request
    if request is None or request.status not in OPEN or request.deadline is None:
        return "moot"
    if request.deadline != datetime.fromisoformat(str(context.data.get("deadline"))):
        return "moot: the deadline moved"
    due = request.deadline

    def reminder() -> Message:
        return _message(context, request, _("Deadline near: #{number} is due {due}", number=request.id,
                                            due=local_time(context, due)), request.title, "deadline",
                        ((_("Status"), status_word(request.status)), (_("Priority"), level_word(request.priority))))

    return f"reminded {await tell_owner(context, request, reminder)}"


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

    async def reminder() -> Message:
        """The whole card, said while the approver's language is spoken."""
        card = await card_for(context.tx.session, context.desk, approval, request)
        return replace(card, title=_("Reminder: {title}", title=card.title or ""))

    await context.tx.to_person(approver, reminder, request.id, request.zone_id)
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
    if context.now >= due:
        if clock.breached_at is not None:
            return "moot: already breached"
        clock.breached_at = due
        context.event("sla_breached", clock=kind, due=due.isoformat())

        def breach() -> Message:
            return _message(context, request, _sla_title(request.id, kind, local_time(context, due), breached=True),
                            request.title, "sla_breach", _facts(request))

        return f"breach: told {await tell_owner(context, request, breach)}"
    warn = warning_of(clock, calendar)
    if clock.warned_at is None and context.now >= warn:
        clock.warned_at = context.now
        context.event("sla_warning", clock=kind, due=due.isoformat())
        left = calendar.working_time_between(context.now, due).total_seconds() / 3600

        def warning() -> Message:
            return _message(context, request, _sla_title(request.id, kind, local_time(context, due), breached=False),
                            f"{request.title}\n{_time_left(left)}", "sla_warning", _facts(request))

        context.again(due)
        return f"warning: told {await tell_owner(context, request, warning)}"
    context.again(warn if clock.warned_at is None else due)
    return "not yet"
