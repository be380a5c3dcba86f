"""A request's named approvers, as the access rules count them: the database fact `Policy.level` is given."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Actor, Level, Policy
from bot.model import Request


async def level_of(policy: Policy, session: AsyncSession, actor: Actor, request: Request) -> Level:
    """`Policy.level` counting the actor's place on the request's approvals (`Level.APPROVER`): looked up
    only for someone the configuration gives nothing, so agents and requesters pay no query."""
    level = policy.level(actor, request)
    if level != Level.NONE:
        return level
    named = await session.scalar(select(Request.id).where(Request.id == request.id, policy.approver_clause(actor)))
    return policy.level(actor, request, approver=named is not None)
