"""Approvals: any/all, in order, only named approvers, one decision whatever the clicks."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest
from sqlalchemy import select

from bot.catalog import file_form
from bot.clock import FakeClock
from bot.desk import WEB
from bot.desk.actions import perform
from bot.desk.approvals import approvals_of, decide, no_longer_needed, pending_for, request_approval, waits_on
from bot.errors import DeskError, Duplicate
from bot.model import Approval, ApprovalVote, Event
from bot.server import Services
from tests.web.conftest import Browser, browsers, server, web_services  # noqa: F401 (the web channel's fixtures)

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


# ---------------------------------------------------------------- withdrawn: nobody needs the decision any more
async def _withdrawn(services: Services) -> list[tuple[str, str | None]]:
    async with services.sessions() as session:
        return [tuple(r) for r in await session.execute(  # type: ignore[misc]
            select(Approval.status, Approval.withdrawn_reason).order_by(Approval.id))]


async def _cancel(services: Services, number: int) -> str:
    await services.desk.cancel(services.desk.actor("zack@nordlys.example"), number)
    return f"request #{number} was cancelled"


async def _close(services: Services, number: int) -> str:
    alexis = services.desk.actor("alexis.baker@nordlys.example")
    await services.desk.set_status(alexis, number, "resolved")
    await services.desk.set_status(alexis, number, "closed")
    return f"request #{number} was closed"


async def _transfer(services: Services, number: int) -> str:
    await services.desk.transfer(services.desk.actor("alexis.baker@nordlys.example"), number, "facilities")
    return f"request #{number} was transferred to Facilities"


@pytest.mark.parametrize("end", [_cancel, _close, _transfer], ids=["cancelled", "closed", "transferred"])
async def test_an_ended_request_withdraws_its_approval_and_a_late_click_is_told_why(services: Services,
                                                                                   end: object) -> None:
    number = await _request(services)
    alexis = services.desk.actor("alexis.baker@nordlys.example")
    approval_id = await request_approval(services.desk, alexis, number, APPROVERS, mode="all")
    reason = await end(services, number)  # type: ignore[operator]
    assert await _withdrawn(services) == [("withdrawn", reason)]
    marte = services.desk.actor("marte.viken@nordlys.example")
    assert await pending_for(services.desk, marte) == []
    late = await perform(services.desk, marte, "approve", str(approval_id))
    assert late.notice == f"This approval was withdrawn because {reason}."
    assert late.card is not None and not late.card.buttons and late.final
    assert await _votes(services) == [(APPROVERS[0], None), (APPROVERS[1], None)], "a late click decides nothing"
    [gone] = await no_longer_needed(services.desk, marte)
    assert gone.closed_for(marte.email) == f"This approval was withdrawn because {reason}."
    async with services.sessions() as session:
        event = (await session.execute(select(Event).where(Event.kind == "approval_withdrawn"))).scalar_one()
    assert event.data == {"approval": approval_id, "reason": reason, "waiting": ["Marte Viken", "Ivar Lund"]}


async def test_a_rejection_in_an_all_approval_withdraws_the_others_votes(services: Services) -> None:
    number = await _request(services)
    alexis = services.desk.actor("alexis.baker@nordlys.example")
    approval_id = await request_approval(services.desk, alexis, number, APPROVERS, mode="all")
    marte = services.desk.actor("marte.viken@nordlys.example")
    await decide(services.desk, marte, approval_id, "rejected", "Not this year")
    ivar = services.desk.actor("ivar.lund@nordlys.example")
    late = await perform(services.desk, ivar, "approve", str(approval_id))
    assert late.notice == "This approval was withdrawn because Marte Viken rejected it."
    assert await _votes(services) == [(APPROVERS[0], "rejected"), (APPROVERS[1], None)]
    [gone] = await no_longer_needed(services.desk, ivar)
    assert gone.closed_for(ivar.email) == "This approval was withdrawn because Marte Viken rejected it."


async def test_a_decided_approval_is_not_withdrawn_by_a_later_cancel(services: Services) -> None:
    number = await _request(services)
    alexis = services.desk.actor("alexis.baker@nordlys.example")
    approval_id = await request_approval(services.desk, alexis, number, APPROVERS[:1])
    await decide(services.desk, services.desk.actor(APPROVERS[0]), approval_id, "approved")
    await _cancel(services, number)
    assert await _withdrawn(services) == [("approved", None)]


async def test_each_approval_event_carries_what_its_sentence_needs(services: Services) -> None:
    number = await _request(services)
    alexis = services.desk.actor("alexis.baker@nordlys.example")
    approval_id = await request_approval(services.desk, alexis, number, APPROVERS, mode="any",
                                         question="A paid licence?")
    await decide(services.desk, services.desk.actor(APPROVERS[1]), approval_id, "rejected", "Use the free one")
    async with services.sessions() as session:
        events = {e.kind: e.data for e in (await session.execute(select(Event))).scalars()}
    assert events["approval_requested"] == {
        "approval": approval_id, "approvers": APPROVERS, "names": ["Marte Viken", "Ivar Lund"], "mode": "any",
        "ordered": False, "previous": "new", "question": "A paid licence?"}
    assert events["approval_vote"] == {"approval": approval_id, "approver": APPROVERS[1], "approver_name": "Ivar Lund",
                                       "decision": "rejected", "comment": "Use the free one"}
    assert events["approval_decided"] == {"approval": approval_id, "outcome": "rejected", "status": "new",
                                          "decided_by": APPROVERS[1], "decided_by_name": "Ivar Lund",
                                          "comment": "Use the free one"}


async def test_the_requester_sees_who_must_approve_and_since_when(services: Services, clock: FakeClock) -> None:
    number = await _request(services)
    asked = clock.now()
    alexis = services.desk.actor("alexis.baker@nordlys.example")
    await request_approval(services.desk, alexis, number, APPROVERS, mode="all", ordered=True)
    zack = services.desk.actor("zack@nordlys.example")
    [view] = await approvals_of(services.desk, zack, number)
    assert view.created_at == asked
    assert view.summary == "Waiting for Marte Viken, then Ivar Lund."
    assert [v.name for v in view.waiting_on] == ["Marte Viken", "Ivar Lund"]
    stranger = services.desk.actor("siri.nilsen@nordlys.example")
    assert await approvals_of(services.desk, stranger, number) == []


# ---------------------------------------------------------------- on the web: what the approver sees
async def _new_hire(services: Services, manager: str = "marte.viken@nordlys.example") -> int:
    ivar = services.desk.actor("ivar.lund@nordlys.example")
    filed = await file_form(services.desk, services.catalog, ivar, WEB, "new-hire-account", {
        "name": "Kari <b>Nordmann</b>", "personal-email": "kari@example.com", "manager": manager,
        "start-date": "2026-12-01", "laptop": "Developer 16-inch", "systems": ["Jira", "Figma"], "nda-signed": "on"})
    assert not isinstance(filed, dict)
    return filed.number


async def test_the_approver_sees_what_the_decision_needs_and_opens_the_request(
        browsers: Callable[[], Browser], web_services: Services) -> None:  # noqa: F811
    number = await _new_hire(web_services)
    alexis = web_services.desk.actor("alexis.baker@nordlys.example")
    await web_services.desk.reply(alexis, number, "We will order the laptop once approved.")
    await web_services.desk.note(alexis, number, "Internal: budget line 42")
    marte = browsers()
    await marte.sign_in("marte.viken@nordlys.example")
    page = await marte.get("/approvals")
    assert "From Ivar Lund" in page.text
    assert "Laptop Developer 16-inch" in page.text and "Systems they need Jira, Figma" in page.text
    assert "Marte Viken (you): waiting" in page.text
    assert "We will order the laptop once approved." in page.text
    assert "<b>Nordmann</b>" not in page.html and "Kari &lt;b&gt;Nordmann&lt;/b&gt;" in page.html
    assert "budget line 42" not in page.text
    request = await marte.get(f"/requests/{number}")
    assert request.status == 200
    assert "Developer 16-inch" in request.text and "We will order the laptop once approved." in request.text
    assert "Waiting for one of: Marte Viken." in request.text
    assert "budget line 42" not in request.text and "Internal notes" not in request.text
    assert f"/requests/{number}/reply" not in request.html and f"/requests/{number}/cancel" not in request.html
    other = await _request(web_services)  # the zone's other requests stay closed to her
    assert (await marte.get(f"/requests/{other}")).status == 404


async def test_a_withdrawn_approval_says_why_on_the_approvals_page(
        browsers: Callable[[], Browser], web_services: Services) -> None:  # noqa: F811
    number = await _new_hire(web_services)
    await web_services.desk.cancel(web_services.desk.actor("ivar.lund@nordlys.example"), number)
    marte = browsers()
    await marte.sign_in("marte.viken@nordlys.example")
    page = await marte.get("/approvals")
    assert "Nothing waits for you." in page.text
    assert f"This approval was withdrawn because request #{number} was cancelled." in page.text
    late = await marte.post("/approvals/1", {"decision": "approve"})
    assert f"This approval was withdrawn because request #{number} was cancelled." in late.text
    assert (await marte.get(f"/requests/{number}")).status == 404, "a withdrawn approval opens nothing"


async def test_waits_on_says_whether_a_decision_waits_on_someone(services: Services) -> None:
    number = await _request(services)
    alexis = services.desk.actor("alexis.baker@nordlys.example")
    marte = services.desk.actor(APPROVERS[0])
    assert not await waits_on(services.desk, marte)
    approval_id = await request_approval(services.desk, alexis, number, APPROVERS[:1])
    assert await waits_on(services.desk, marte) and not await waits_on(services.desk, alexis)
    await decide(services.desk, marte, approval_id, "approved")
    assert not await waits_on(services.desk, marte)
