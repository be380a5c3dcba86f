"""After a resolution: ask the requester to confirm, close when nobody answers, then survey.

A resolved request asks its requester, in the original thread, "Solved" or "Not solved". "Solved"
closes it (and a survey follows); "Not solved" reopens it and tells the assignee. Without an answer
the request is closed after the zone's `auto_close_days` working days (`closed_by = "auto"`, no
survey), with a reminder one working day before. The questions are asked in the requester's language.
"""

from __future__ import annotations

from bot.access import Actor, Level, system_actor
from bot.delivery.messages import Button, Message
from bot.desk.actions import Outcome, action
from bot.desk.lifecycle import move
from bot.desk.status import status_word
from bot.desk.surveys import expire_survey, send_survey
from bot.desk.unit import Unit
from bot.errors import DeskError
from bot.i18n import N_, _, ngettext
from bot.model import Request
from bot.scheduler import rows
from bot.scheduler.runner import JobContext, job
from bot.scheduler.timers import AUTOCLOSE, CONFIRM, SURVEY, stamp

SURVEY_EXPIRY = "survey_expire"


def confirm_message(desk: Unit, request: Request, text: str) -> Message:
    """The question with its two buttons, in the language being spoken (`text` said in it too)."""
    return Message(
        title=_("Is your request #{number} solved?", number=request.id),
        text=f"{request.title}\n{text}",
        buttons=(Button("solved", _("Solved"), str(request.id), "primary"),
                 Button("not_solved", _("Not solved"), str(request.id), "danger")),
        link=desk.link(request.id), link_label=_("Open #{number}", number=request.id),
        extra={"number": request.id, "confirm": True},
    )


def _same_resolution(context: JobContext) -> Request | None:
    request = context.request
    if request is None or request.status != "resolved" or request.resolved_at is None:
        return None
    return request if stamp(request.resolved_at) == context.data.get("resolved") else None


@job(CONFIRM)
async def ask_confirmation(context: JobContext) -> str:
    """Right after a resolution: Solved / Not solved in the requester's thread."""
    request, zone = _same_resolution(context), context.zone()
    if request is None or zone is None:
        return "moot"
    days = zone.auto_close_days
    await context.tx.to_thread(request, lambda: confirm_message(context.desk, request, ngettext(
        "If it is not, press Not solved and we take it up again. Without an answer we close it in {count} "
        "working day.",
        "If it is not, press Not solved and we take it up again. Without an answer we close it in {count} "
        "working days.", days)), kind="confirm")
    return "asked"


@job(AUTOCLOSE)
async def auto_close(context: JobContext) -> str:
    """One working day before: a reminder. At the end: closed by the desk, no survey."""
    request, zone = _same_resolution(context), context.zone()
    if request is None or zone is None:
        return "moot"
    if context.data.get("stage") == "warn":
        await context.tx.to_thread(request, lambda: confirm_message(context.desk, request, _(
            "We close it after one more working day unless you tell us it is not solved.")), kind="confirm")
        assert request.resolved_at is not None
        context.again(context.calendar().add_working_days(request.resolved_at, zone.auto_close_days),
                      {**context.data, "stage": "close"})
        return "reminded requester"
    await move(context.tx, system_actor("scheduler"), request, "closed", None)
    return "closed"


@job(SURVEY)
async def survey(context: JobContext) -> str:
    """After a close by a person: the satisfaction survey, if the zone's rules allow."""
    request, zone = context.request, context.zone()
    if request is None or zone is None or request.closed_at is None or stamp(request.closed_at) != context.data.get(
            "closed"):
        return "moot"
    outcome, sent = await send_survey(context.desk, context.tx, request, zone)
    if sent is not None:
        await rows.arm(context.tx.session, [rows.Timer(f"{SURVEY_EXPIRY}:{sent.id}", SURVEY_EXPIRY, sent.expires_at,
                                                       request.id, {"survey": sent.id})])
        context.event("survey_sent", survey=sent.id)
    return outcome


@job(SURVEY_EXPIRY)
async def survey_expired(context: JobContext) -> str:
    """An unanswered survey ends."""
    if await expire_survey(context.tx, int(context.data.get("survey", 0))):
        context.event("survey_expired", survey=context.data.get("survey"))
        return "expired"
    return "moot"


def _number(value: str) -> int:
    try:
        return int(value.lstrip("#"))
    except ValueError as exc:
        raise DeskError(_("This button refers to no request.")) from exc


async def confirm_solved(desk: Unit, actor: Actor, number: int, *, dedupe_key: str | None = None) -> Outcome:
    """The requester (or an agent) confirms a resolved request: it is closed."""
    async with desk.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.REQUESTER, N_("confirm it"))
        desk.policy.require_requester_or_agent(actor, request, N_("confirm it"))
        if request.status != "resolved":
            return Outcome(_("Request #{number} is {status} already.", number=number,
                             status=status_word(request.status)), final=True)
        await move(tx, actor, request, "closed", None)
    return Outcome(_("Thank you! Request #{number} is closed.", number=number),
                   Message(title=_("Request #{number}", number=number),
                           text=_("Confirmed solved by {name}.", name=actor.name), extra={"number": number}),
                   final=True)


async def report_not_solved(desk: Unit, actor: Actor, number: int, *, dedupe_key: str | None = None) -> Outcome:
    """The requester says a resolved (or closed) request is not solved: it is reopened and the assignee told."""
    async with desk.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.REQUESTER, N_("reopen it"))
        desk.policy.require_requester_or_agent(actor, request, N_("reopen it"))
        if request.status not in {"resolved", "closed"}:
            return Outcome(_("Request #{number} is {status}: we are still on it.", number=number,
                             status=status_word(request.status)), final=True)
        await move(tx, actor, request, "reopened", None)
        await tx.to_person(request.assignee_email, lambda: Message(
            title=_("{name} says #{number} is not solved: reopened", name=actor.name, number=number),
            text=request.title,
            link=desk.link(number), extra={"number": number}), number, request.zone_id)
    return Outcome(_("Request #{number} is reopened; we are on it again.", number=number),
                   Message(title=_("Request #{number}", number=number),
                           text=_("Not solved, says {name}: reopened.", name=actor.name), extra={"number": number}),
                   final=True)


@action("solved")
async def _solved(desk: Unit, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    return await confirm_solved(desk, actor, _number(value), dedupe_key=dedupe_key)


@action("not_solved")
async def _not_solved(desk: Unit, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    return await report_not_solved(desk, actor, _number(value), dedupe_key=dedupe_key)
