"""Who works a request: claim it oneself, assign it to an agent who may work it, accept an assignment."""

from __future__ import annotations

from bot.access import Actor, Level
from bot.delivery.messages import Button, Message
from bot.desk.status import OPEN, check_move, status_word
from bot.desk.unit import Unit
from bot.errors import DeskError
from bot.i18n import N_, _


async def claim(unit: Unit, actor: Actor, number: int, *, dedupe_key: str | None = None) -> str:
    """Take a request oneself: assignee is the actor, status accepted."""
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.AGENT, N_("claim it"))
        if request.status not in OPEN:
            raise DeskError(_("Request #{number} is {status}; reopen it before claiming.", number=number,
                              status=status_word(request.status)))
        if request.assignee_email == actor.email:
            raise DeskError(_("You already have request #{number}.", number=number))
        previous = request.assignee_email
        request.assignee_email = actor.email
        if request.team_id is None or request.team_id not in actor.teams:
            own = [t for t in unit.config.teams_in(request.zone_id) if t.id in actor.teams]
            request.team_id = own[0].id if own else request.team_id
        if request.status in {"new", "assigned", "reopened"}:
            request.status = "accepted"
        await tx.record(request, actor, "claimed", previous=previous, status=request.status)
        return request.status


async def assign(unit: Unit, actor: Actor, number: int, assignee_email: str, *, dedupe_key: str | None = None) -> str:
    """Give a request to an agent of its zone (of its private team, if it has one)."""
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.AGENT, N_("assign it"))
        if request.status not in OPEN:
            raise DeskError(_("Request #{number} is {status}; reopen it before assigning.", number=number,
                              status=status_word(request.status)))
        assignee = unit.actor(assignee_email, channel=actor.channel)
        if not assignee.known or not unit.policy.can_work(assignee, request):
            raise DeskError(_("{email} is not an agent who can work on request #{number}.", email=assignee_email,
                              number=number))
        if assignee.email == actor.email:
            raise DeskError(_("To take it yourself, use claim."))
        previous = request.assignee_email
        request.assignee_email = assignee.email
        if request.team_id is None or request.team_id not in assignee.teams:
            own = [t for t in unit.config.teams_in(request.zone_id) if t.id in assignee.teams]
            request.team_id = own[0].id if own else request.team_id
        if request.status != "waiting":
            request.status = "assigned"
        await tx.record(request, actor, "assigned", assignee=assignee.email, previous=previous)
        await tx.to_person(assignee.email, lambda: Message(
            title=_("{name} assigned you #{number}: {title}", name=actor.name, number=number, title=request.title),
            text=request.description[:500], link=unit.link(number),
            buttons=(Button("accept", _("Accept"), str(number), "primary"),), extra={"number": number}), number)
        return assignee.name


async def accept(unit: Unit, actor: Actor, number: int, *, dedupe_key: str | None = None) -> None:
    """The assignee confirms they take the request."""
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.AGENT, N_("accept it"))
        if request.assignee_email != actor.email:
            raise DeskError(_("Request #{number} is not assigned to you.", number=number))
        check_move(number, request.status, "accepted")
        request.status = "accepted"
        await tx.record(request, actor, "accepted")
