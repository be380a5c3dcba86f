"""Every POST form carries the session's CSRF token; without it (or with another's) nothing changes."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from bot.model import Comment, Request
from bot.server import Services
from tests.web.conftest import IT_AGENT, REQUESTER, Browser, number_of


async def _rows(services: Services, table: type) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_filing_without_the_token_is_refused_and_writes_nothing(browsers: Callable[[], Browser],
                                                                     web_services: Services) -> None:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    form = {"zone": "it", "title": "Laptop will not boot", "description": "Black screen", "urgency": "normal"}
    refused = await requester.post("/requests", form, csrf=False)
    assert refused.status == 403 and "nothing was changed" in refused.text
    wrong = await requester.post("/requests", {**form, "csrf": "not-the-token"}, csrf=False)
    assert wrong.status == 403
    assert await _rows(web_services, Request) == 0
    assert "You have not filed any requests yet." in (await requester.get("/requests")).text


async def test_a_token_from_another_session_is_refused(browsers: Callable[[], Browser],
                                                       web_services: Services) -> None:
    attacker, victim = browsers(), browsers()
    await attacker.sign_in(IT_AGENT)
    await victim.sign_in(REQUESTER)
    await victim.get("/")
    filed = await victim.file("Printer jams")
    number = number_of(filed)
    await attacker.get("/desk")
    forged = await victim.post(f"/requests/{number}/comment", {"comment": "pay this invoice", "csrf":
                                                              attacker.token or ""}, csrf=False)
    assert forged.status == 403
    assert await _rows(web_services, Comment) == 0
    assert "pay this invoice" not in (await victim.get(f"/requests/{number}")).text


async def test_an_agent_reply_without_the_token_is_not_sent(browsers: Callable[[], Browser],
                                                             web_services: Services) -> None:
    requester, agent = browsers(), browsers()
    await requester.sign_in(REQUESTER)
    number = number_of(await requester.file("VPN drops every hour"))
    await agent.sign_in(IT_AGENT)
    refused = await agent.post(f"/requests/{number}/reply", {"reply": "Try the new client"}, csrf=False)
    assert refused.status == 403
    assert await _rows(web_services, Comment) == 0
    assert "Try the new client" not in (await requester.get(f"/requests/{number}")).text
    assert "No answers yet." in (await agent.get(f"/requests/{number}")).text
