"""What the request page says about itself (status, category, the zone's name) and who is offered Approvals."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.web.conftest import HR_AGENT, IT_AGENT, REQUESTER, Browser, number_of

APPROVER = "marte.viken@nordlys.example"  # the approver role in app.yaml, no team
NAV = re.compile(r"<nav>(.*?)</nav>", re.S)


def _fact(html: str, label: str) -> str:
    found = re.search(rf"<dt>{label}</dt><dd[^>]*>(.*?)</dd>", html, re.S)
    assert found, label
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def _offers_approvals(html: str) -> bool:
    found = NAV.search(html)
    assert found, "no navigation"
    return 'href="/approvals"' in found.group(1)


async def test_the_request_page_says_waiting_on_what_inside_the_pill_and_no_category_plainly(
        browsers: Callable[[], Browser]) -> None:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    page = await requester.file("Printer on floor 2")
    number = number_of(page)
    assert _fact(page.html, "Category") == "Not chosen" and "None" not in page.text
    assert _fact(page.html, "Department") == "IT"

    agent = browsers()
    await agent.sign_in(IT_AGENT)
    await agent.get(f"/requests/{number}")
    waiting = await agent.post(f"/requests/{number}/status", {"status": "waiting:requester"})
    assert _fact(waiting.html, "Status") == "Waiting on requester"
    assert _fact((await requester.get(f"/requests/{number}")).html, "Status") == "Waiting on you"


async def test_every_page_says_department_never_zone(browsers: Callable[[], Browser]) -> None:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    number = number_of(await requester.file("Chair is broken", zone="facilities"))
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    filed = await agent.post("/requests", {"zone": "it", "title": "Laptop"})  # filed by an agent for themselves
    task_from = number_of(filed)
    await agent.post(f"/requests/{task_from}/task", {"target": "team:facilities-team", "task_title": "Carry it"})
    pages = {path: await who.get(path) for who, path in (
        (requester, "/"), (requester, "/new/it"), (requester, "/requests"), (requester, f"/requests/{number}"),
        (agent, "/desk"), (agent, f"/requests/{task_from}"), (agent, "/tasks/1"))}
    for path, page in pages.items():
        assert page.status == 200, path
        assert not re.search(r"\bzones?\b", page.text, re.I), (path, page.text)
    assert "Choose the department; you pick the category on the next page." in pages["/"].text
    assert "<th>Department</th>" in pages["/requests"].html and "<th>Department</th>" in pages["/desk"].html
    assert _fact(pages["/tasks/1"].html, "Department") == "Facilities"
    missing = await requester.get("/new/nowhere")
    assert missing.status == 404 and "There is no such department. Choose one on the front page." in missing.text


async def test_approvals_is_offered_to_people_who_approve(browsers: Callable[[], Browser]) -> None:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    number = number_of(await requester.file("Buy a 4K screen"))
    assert not _offers_approvals((await requester.get("/")).html)

    approver = browsers()
    assert _offers_approvals((await approver.sign_in(APPROVER)).html), "the approver role"

    agent = browsers()
    await agent.sign_in(IT_AGENT)
    assert not _offers_approvals((await agent.get("/desk")).html)
    hanna = browsers()
    await hanna.sign_in(HR_AGENT)
    assert not _offers_approvals((await hanna.get("/")).html)

    await agent.get(f"/requests/{number}")
    await agent.post(f"/requests/{number}/approval", {"approvers": HR_AGENT, "mode": "any", "question": "OK?"})
    waiting = await hanna.get("/approvals")
    assert _offers_approvals(waiting.html), "an approval waits on her"
    found = re.search(r'action="/approvals/(\d+)"', waiting.html)
    assert found
    await hanna.post(f"/approvals/{found.group(1)}", {"decision": "approve"})
    assert not _offers_approvals((await hanna.get("/")).html), "nothing waits on her any more"
