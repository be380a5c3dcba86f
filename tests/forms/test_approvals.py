"""Approvals: any/all, in order, only named approvers, one decision whatever the clicks."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select

from bot.desk import WEB
from bot.desk.actions import perform
from bot.desk.approvals import decide, pending_for, request_approval
from bot.errors import DeskError, Duplicate
from bot.model import Approval, ApprovalVote, Event
from bot.server import Services

APPROVERS = ["marte.viken@nordlys.example", "ivar.lund@nordlys.example"]


async def _request(services: Services) -> int:
    zack = services.desk.actor("zack@nordlys.example", "Zack McKinnon")
    filed = await services.desk.file_request(zack, WEB, "Licence for Figma", zone_id="it")
    return filed.number


async def _votes(services: Services) -> list[tuple[str, str | None]]:
    async with services.sessions() as session:
        rows = await session.execute(select(ApprovalVote.approver_email, ApprovalVote.decision)
                                     .order_by(ApprovalVote.position))
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_any_first_decision_wins_and_moves_the_request_on(services: Services) -> None:
    number = await _request(services)
    alexis = services.desk.actor("alexis.baker@nordlys.example")
    approval_id = await request_approval(services.desk, alexis, number, APPROVERS, mode="any")
    assert (await services.desk.get_request(alexis, number)).status == "waiting"
    marte = services.desk.actor("marte.viken@nordlys.example")
    assert [a.id for a in await pending_for(services.desk, marte)] == [approval_id]
    outcome = await perform(services.desk, marte, "approve", str(approval_id))
    assert outcome.card is not None and "Approved by Marte Viken" in outcome.card.text
    assert not outcome.card.buttons, "the decided card has no buttons left"
    detail = await services.desk.get_request(alexis, number)
    assert detail.status == "new" and detail.waiting_reason is None
    assert [e.kind for e in detail.history][-2:] == ["approval_vote", "approval_decided"]
    ivar = services.desk.actor("ivar.lund@nordlys.example")
    late = await perform(services.desk, ivar, "reject", str(approval_id))
    assert late.notice.startswith("Already decided: approved by marte.viken@nordlys.example")
    assert await _votes(services) == [("marte.viken@nordlys.example", "approved"), ("ivar.lund@nordlys.example", None)]


async def test_all_in_order_waits_for_each_and_a_reject_ends_it(services: Services) -> None:
    number = await _request(services)
    alexis = services.desk.actor("alexis.baker@nordlys.example")
    approval_id = await request_approval(services.desk, alexis, number, APPROVERS, mode="all", ordered=True)
    ivar = services.desk.actor("ivar.lund@nordlys.example")
    with pytest.raises(DeskError, match=re.escape("marte.viken@nordlys.example's turn")):
        await decide(services.desk, ivar, approval_id, "approved")
    marte = services.desk.actor("marte.viken@nordlys.example")
    first = await decide(services.desk, marte, approval_id, "approved")
    assert first.notice == "Your decision is recorded: approved."
    assert (await services.desk.get_request(alexis, number)).status == "waiting"
    await decide(services.desk, ivar, approval_id, "rejected", "No budget this quarter")
    detail = await services.desk.get_request(alexis, number)
    assert detail.status == "new"
    async with services.sessions() as session:
        assert (await session.execute(select(Approval.status))).scalar_one() == "rejected"


async def test_someone_not_named_gets_not_yours_and_nothing_changes(services: Services) -> None:
    number = await _request(services)
    alexis = services.desk.actor("alexis.baker@nordlys.example")
    approval_id = await request_approval(services.desk, alexis, number, APPROVERS)
    for stranger in ("zack@nordlys.example", "alexis.baker@nordlys.example", "admin@nordlys.example"):
        with pytest.raises(DeskError, match="not yours to decide"):
            await perform(services.desk, services.desk.actor(stranger), "approve", str(approval_id))
    assert await _votes(services) == [(APPROVERS[0], None), (APPROVERS[1], None)]


async def test_double_click_and_retry_record_one_decision(services: Services) -> None:
    number = await _request(services)
    alexis = services.desk.actor("alexis.baker@nordlys.example")
    approval_id = await request_approval(services.desk, alexis, number, APPROVERS)
    marte = services.desk.actor("marte.viken@nordlys.example")
    await perform(services.desk, marte, "approve", str(approval_id), dedupe_key="slack:action:1")
    with pytest.raises(Duplicate):
        await perform(services.desk, marte, "approve", str(approval_id), dedupe_key="slack:action:1")
    second = await perform(services.desk, marte, "reject", str(approval_id), dedupe_key="slack:action:2")
    assert second.notice.startswith("Already decided: approved")
    assert await _votes(services) == [(APPROVERS[0], "approved"), (APPROVERS[1], None)]


async def test_two_approvers_clicking_at_once_leave_exactly_one_decision(services: Services) -> None:
    number = await _request(services)
    alexis = services.desk.actor("alexis.baker@nordlys.example")
    approval_id = await request_approval(services.desk, alexis, number, APPROVERS, mode="any")
    marte = services.desk.actor("marte.viken@nordlys.example")
    ivar = services.desk.actor("ivar.lund@nordlys.example")
    outcomes = await asyncio.gather(decide(services.desk, marte, approval_id, "approved"),
                                    decide(services.desk, ivar, approval_id, "rejected"))
    recorded = [o for o in outcomes if o.notice.startswith("Your decision is recorded")]
    assert len(recorded) == 1
    votes = [v for v in await _votes(services) if v[1] is not None]
    assert len(votes) == 1
    async with services.sessions() as session:
        decided = (await session.execute(select(Event).where(Event.kind == "approval_decided"))).scalars().all()
        status = (await session.execute(select(Approval.status))).scalar_one()
    assert len(decided) == 1 and status == votes[0][1]
