"""Resolving asks first and takes a note the requester reads; cancelling asks first; waiting on a task needs one."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import func, select

from bot.model import Event
from bot.server import Services
from tests.web.conftest import HR_AGENT, IT_AGENT, REQUESTER, Browser, number_of


async def _filed(browsers: Callable[[], Browser], title: str) -> tuple[Browser, int]:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    return requester, number_of(await requester.file(title))


async def _events(services: Services) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Event)) or 0)


def _badge(html: str) -> str:
    found = re.search(r'<dt>Status</dt><dd><span class="badge[^"]*">([^<]*)</span>', html)
    assert found, "no status badge"
    return found.group(1)


async def test_resolving_asks_first_and_the_requester_reads_the_note(browsers: Callable[[], Browser],
                                                                      web_services: Services) -> None:
    requester, number = await _filed(browsers, "Wi-Fi drops in room 4")
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    events = await _events(web_services)

    asked = await agent.post(f"/requests/{number}/resolve")
    assert asked.status == 200 and f"Resolve #{number} · Wi-Fi drops in room 4?" in asked.text
    assert "Resolution note for Zack (optional)" in asked.text
    from_select = await agent.post(f"/requests/{number}/status", {"status": "resolved"})
    assert f"Resolve #{number} · Wi-Fi drops in room 4?" in from_select.text  # the Move to list asks too
    assert await _events(web_services) == events and _badge((await agent.get(f"/requests/{number}")).html) == "New"

    note = "Moved the access point <closer> & restarted it: see https://wiki.nordlys.example/wifi"
    done = await agent.post(f"/requests/{number}/resolve", {"confirmed": "yes", "note": note})
    assert f"Request #{number} is resolved. The requester sees your note." in done.text
    assert _badge(done.html) == "Resolved"

    seen = await requester.get(f"/requests/{number}")
    assert "Resolution" in seen.text and note in seen.text
    assert "&lt;closer&gt; &amp; restarted" in seen.html
    assert ('<a href="https://wiki.nordlys.example/wifi" rel="noopener noreferrer">'
            "https://wiki.nordlys.example/wifi</a>") in seen.html


async def test_a_bad_note_comes_back_on_the_question_with_what_was_typed(browsers: Callable[[], Browser],
                                                                          web_services: Services) -> None:
    _, number = await _filed(browsers, "Scanner offline")
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    events = await _events(web_services)
    refused = await agent.post(f"/requests/{number}/resolve", {"confirmed": "yes", "note": "y" * 20_001})
    assert refused.status == 400
    assert "The resolution note is too long (20,001 characters; at most 20,000)." in refused.text
    assert f"Resolve #{number} · Scanner offline?" in refused.text and "y" * 20_001 in refused.text
    assert await _events(web_services) == events
    assert _badge((await agent.get(f"/requests/{number}")).html) == "New"


async def test_cancelling_asks_first_for_agents_too(browsers: Callable[[], Browser], web_services: Services) -> None:
    requester, number = await _filed(browsers, "Order a headset")
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    asked = await agent.post(f"/requests/{number}/status", {"status": "cancelled"})
    assert f"Cancel #{number} · Order a headset?" in asked.text and "Zack is told that it is cancelled." in asked.text
    assert _badge((await requester.get(f"/requests/{number}")).html) == "New"
    done = await agent.post(f"/requests/{number}/cancel", {"confirmed": "yes"})
    assert f"Request #{number} is cancelled." in done.text and _badge(done.html) == "Cancelled"


async def test_a_requester_is_not_asked_to_resolve(browsers: Callable[[], Browser]) -> None:
    requester, number = await _filed(browsers, "Keyboard sticky")
    page = await requester.get(f"/requests/{number}")
    assert "Resolve…" not in page.text
    refused = await requester.post(f"/requests/{number}/resolve")
    assert refused.status == 400 and "Only an agent of the request's department can change its status." in refused.text


async def test_waiting_on_a_task_is_offered_only_with_an_open_task(browsers: Callable[[], Browser]) -> None:
    _, number = await _filed(browsers, "Move my desk")
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    page = await agent.get(f"/requests/{number}")
    assert "Waiting on requester" in page.text and "Waiting on task" not in page.text
    refused = await agent.post(f"/requests/{number}/status", {"status": "waiting:task"})
    assert refused.status == 400 and f"Request #{number} has no open task to wait on." in refused.text

    await agent.post(f"/requests/{number}/task", {"target": "team:facilities-team", "task_title": "Move the desk"})
    moved = await agent.post(f"/requests/{number}/status", {"status": "waiting:task"})
    assert f"Request #{number} is now waiting." in moved.text and _badge(moved.html) == "Waiting on task"


async def test_an_approver_reads_the_resolution_too(browsers: Callable[[], Browser]) -> None:
    _, number = await _filed(browsers, "Buy a second screen")
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    await agent.get(f"/requests/{number}")
    await agent.post(f"/requests/{number}/approval", {"approvers": HR_AGENT, "mode": "any", "question": "OK?"})
    hanna = browsers()
    await hanna.sign_in(HR_AGENT)
    found = re.search(r'action="/approvals/(\d+)"', (await hanna.get("/approvals")).html)
    assert found
    await hanna.post(f"/approvals/{found.group(1)}", {"decision": "approve"})
    await agent.post(f"/requests/{number}/resolve", {"confirmed": "yes", "note": "Ordered; it arrives Friday."})
    seen = await hanna.get(f"/requests/{number}")
    assert seen.status == 200 and "Ordered; it arrives Friday." in seen.text
