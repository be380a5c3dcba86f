"""Who works a request: claim it oneself, assign it to an agent who may work it, accept an assignment."""

from __future__ import annotations

from bot.access import Actor, Level
from bot.delivery.messages import Button, Message
from bot.desk.status import OPEN, check_move
from bot.desk.unit import Unit
from bot.errors import DeskError


async def claim(unit: Unit, actor: Actor, number: int, *, dedupe_key: str | None = None) -> str:
    """Take a request oneself: assignee is the actor, status accepted."""
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.AGENT, "claim it")
        if request.status not in OPEN:
            raise DeskError(f"Request #{number} is {request.status}; reopen it before claiming.")
        if request.assignee_email == actor.email:
            raise DeskError(f"You already have request #{number}.")
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
        request = await tx.load(actor, number, Level.AGENT, "assign it")
        if request.status not in OPEN:
            raise DeskError(f"Request #{number} is {request.status}; reopen it before assigning.")
        assignee = unit.actor(assignee_email, channel=actor.channel)
        if not assignee.known or not unit.policy.can_work(assignee, request):
            raise DeskError(f"{assignee_email} is not an agent who can work on request #{number}.")
        if assignee.email == actor.email:
            raise DeskError("To take it yourself, use claim.")
        previous = request.assignee_email
        request.assignee_email = assignee.email
        if request.team_id is None or request.team_id not in assignee.teams:
            own = [t for t in unit.config.teams_in(request.zone_id) if t.id in assignee.teams]
            request.team_id = own[0].id if own else request.team_id
        if request.status != "waiting":
            request.status = "assigned"
        await tx.record(request, actor, "assigned", assignee=assignee.email, previous=previous)
        await tx.to_person(assignee.email, Message(
            title=f"{actor.name} assigned you #{number}: {request.title}", text=request.description[:500],
            link=unit.link(number), buttons=(Button("accept", "Accept", str(number), "primary"),),
            extra={"number": number}), number)
        return assignee.name


async def accept(unit: Unit, actor: Actor, number: int, *, dedupe_key: str | None = None) -> None:
    """The assignee confirms they take the request."""
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.AGENT, "accept it")
        if request.assignee_email != actor.email:
            raise DeskError(f"Request #{number} is not assigned to you.")
        check_move(number, request.status, "accepted")
        request.status = "accepted"
        await tx.record(request, actor, "accepted")
