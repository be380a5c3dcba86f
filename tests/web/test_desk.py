"""The agent desk: queue, reply and notes, claim/assign/status/transfer, tasks, and who may not see what."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import func, select

from bot.model import Comment
from bot.server import Services
from tests.web.conftest import (
    FINANCE_AGENT,
    HR_AGENT,
    HR_PRIVATE,
    IT_AGENT,
    IT_AGENT_2,
    REQUESTER,
    Browser,
    number_of,
)


async def _filed(browsers: Callable[[], Browser], title: str, **form: str) -> tuple[Browser, int]:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    return requester, number_of(await requester.file(title, **form))


def _options(html: str, select_name: str) -> list[str]:
    block = re.search(rf'<select[^>]*name="{select_name}".*?</select>', html, re.S)
    assert block, select_name
    return re.findall(r'<option value="([^"]*)"', block.group(0))


async def test_an_it_agent_replies_and_the_requester_sees_it(browsers: Callable[[], Browser]) -> None:
    requester, number = await _filed(browsers, "Cannot log in to the wiki", description="Since this morning")
    agent = browsers()
    desk = await agent.sign_in(IT_AGENT)
    assert f"#{number}" in desk.text and "Cannot log in to the wiki" in desk.text

    replied = await agent.post(f"/requests/{number}/reply", {"reply": "Your account was locked; try again now."})
    assert "Your reply is sent to the requester." in replied.text
    noted = await agent.post(f"/requests/{number}/note", {"note": "Locked by the password policy job."})
    assert "Internal note added." in noted.text and "Locked by the password policy job." in noted.text
    assert "Alexis Baker replied to the requester" in noted.text
    assert "Alexis Baker added an internal note" in noted.text

    seen = await requester.get(f"/requests/{number}")
    assert "Your account was locked; try again now." in seen.text and "Alexis Baker" in seen.text
    assert "Locked by the password policy job." not in seen.text
    # The requester reads the history meant for them: the reply, never that a note was added.
    assert "Alexis Baker replied to the requester" in seen.text and "internal note" not in seen.text


async def test_an_agent_of_another_zone_gets_the_not_found_page(browsers: Callable[[], Browser],
                                                                web_services: Services) -> None:
    _, number = await _filed(browsers, "Laptop battery swollen", category="laptop")
    hr = browsers()
    desk = await hr.sign_in(HR_AGENT)
    assert "Laptop battery swollen" not in desk.text

    hidden = await hr.get(f"/requests/{number}")
    missing = await hr.get("/requests/999")
    assert hidden.status == missing.status == 404
    assert hidden.text.replace(f"#{number}", "#N") == missing.text.replace("#999", "#N")
    assert f"Request #{number} was not found." in hidden.text and "Laptop battery" not in hidden.text

    refused = await hr.post(f"/requests/{number}/reply", {"reply": "HR here"})
    assert refused.status == 404
    async with web_services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Comment)) == 0


async def test_a_private_team_request_is_invisible_to_a_non_member(browsers: Callable[[], Browser]) -> None:
    requester, number = await _filed(browsers, "A matter with my manager", zone="hr", category="sensitive")
    assert "Employee relations" in (await requester.get(f"/requests/{number}")).text

    colleague = browsers()
    desk = await colleague.sign_in(HR_AGENT)
    assert "A matter with my manager" not in desk.text
    assert (await colleague.get(f"/requests/{number}")).status == 404

    member = browsers()
    desk = await member.sign_in(HR_PRIVATE)
    assert "A matter with my manager" in desk.text
    page = await member.get(f"/requests/{number}")
    assert page.status == 200 and "Send reply" in page.text
    assert "Assign to" not in page.text  # nobody else may work it: Hanna is not offered


async def test_an_illegal_status_move_shows_the_message(browsers: Callable[[], Browser]) -> None:
    _, number = await _filed(browsers, "Install a font")
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    page = await agent.get(f"/requests/{number}")
    moves = _options(page.html, "status")
    assert "closed" not in moves and "reopened" not in moves
    assert {"accepted", "in_progress", "resolved", "cancelled", "waiting:requester"} <= set(moves)

    refused = await agent.post(f"/requests/{number}/status", {"status": "closed"})
    assert refused.status == 400
    assert f"Request #{number} cannot go from new to closed: from new it can move to:" in refused.text
    assert "New" in refused.text  # unchanged, and the page is still there to try again

    moved = await agent.post(f"/requests/{number}/status", {"status": "waiting:requester"})
    assert f"Request #{number} is now waiting." in moved.text and "Waiting on requester" in moved.text


async def test_claim_and_assign_offer_only_agents_who_can_work_it(browsers: Callable[[], Browser]) -> None:
    requester, number = await _filed(browsers, "Need Figma access", category="software-access")
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    claimed = await agent.post(f"/requests/{number}/claim")
    assert f"Request #{number} is yours." in claimed.text and "Accepted" in claimed.text
    assert _options(claimed.html, "assignee") == ["", IT_AGENT_2]

    assigned = await agent.post(f"/requests/{number}/assign", {"assignee": IT_AGENT_2})
    assert f"Request #{number} is assigned to Ivar Lund." in assigned.text
    refused = await agent.post(f"/requests/{number}/assign", {"assignee": HR_AGENT})
    assert refused.status == 400 and f"{HR_AGENT} is not an agent who can work on request #{number}." in refused.text

    colleague = browsers()
    desk = await colleague.sign_in(IT_AGENT_2)
    assert desk.text.index("Assigned to me") < desk.text.index("Need Figma access") < desk.text.index("Queue")
    assert "Ivar Lund" in (await requester.get(f"/requests/{number}")).text


async def test_a_transfer_hands_the_request_over(browsers: Callable[[], Browser]) -> None:
    _, number = await _filed(browsers, "Door sensor beeps", category="outage")
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    page = await agent.get(f"/requests/{number}")
    assert _options(page.html, "zone") == ["", "facilities", "front-desk"]
    moved = await agent.post(f"/requests/{number}/transfer", {"zone": "facilities", "reason": "It is the building"})
    assert moved.url.endswith("/desk") and f"Request #{number} is transferred to Facilities." in moved.text
    assert (await agent.get(f"/requests/{number}")).status == 404  # IT keeps no access

    facilities = browsers()
    desk = await facilities.sign_in("siri.nilsen@nordlys.example")
    assert "Door sensor beeps" in desk.text
    page = await facilities.get(f"/requests/{number}")
    assert "Alexis Baker transferred it from IT to Facilities" in page.text


async def test_a_task_goes_to_another_zone_without_the_request(browsers: Callable[[], Browser]) -> None:
    _, number = await _filed(browsers, "Laptop for the new hire", description="Salary details: secret")
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    page = await agent.get(f"/requests/{number}")
    targets = _options(page.html, "target")
    assert "team:payroll" in targets and "team:facilities-team" in targets and "team:hr-service" not in targets
    created = await agent.post(f"/requests/{number}/task", {"target": "team:payroll", "task_title": "Approve cost",
                                                            "task_body": "About 15 000 NOK"})
    task_id = int(re.search(r"Task T(\d+) is created\.", created.text).group(1))  # type: ignore[union-attr]
    assert "Approve cost" in created.text

    payroll = browsers()
    desk = await payroll.sign_in(FINANCE_AGENT)
    assert f"T{task_id}" in desk.text and "Approve cost" in desk.text
    task = await payroll.get(f"/tasks/{task_id}")
    assert task.status == 200 and "About 15 000 NOK" in task.text and "Mark done" in task.text
    assert "Salary details" not in task.text and f"/requests/{number}" not in task.html
    assert (await payroll.get(f"/requests/{number}")).status == 404
    done = await payroll.post(f"/tasks/{task_id}/done", {"outcome": "Approved"})
    assert f"Task T{task_id} is done." in done.text and "Approved" in done.text and "Mark done" not in done.text

    history = await agent.get(f"/requests/{number}")
    assert f"Erika Schmitt marked task T{task_id} done" in history.text

    outsider = browsers()
    await outsider.sign_in(HR_AGENT)
    assert (await outsider.get(f"/tasks/{task_id}")).status == 404


async def test_the_desk_is_for_agents(browsers: Callable[[], Browser]) -> None:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    page = await requester.get("/desk")
    assert page.status == 403 and "The desk is for agents" in page.text
    assert 'href="/desk"' not in page.html
