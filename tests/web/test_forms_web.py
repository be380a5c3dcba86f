"""Forms, approvals, saved replies and CSV exports in the browser channel."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from bot.model import Comment, Request
from bot.server import Services
from tests.web.conftest import IT_AGENT, IT_AGENT_2, REQUESTER, Browser, number_of

APPROVER = "marte.viken@nordlys.example"
FACILITIES_AGENT = "siri.nilsen@nordlys.example"


async def _count(services: Services, model: type) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_form_errors_come_back_next_to_the_field_and_file_nothing(browsers: Callable[[], Browser],
                                                                       web_services: Services) -> None:
    zack = browsers()
    await zack.sign_in(REQUESTER)
    await zack.get("/forms/payroll-error")
    page = await zack.post("/forms/payroll-error", {"month": "August", "employee-number": "12"})
    assert page.status == 400
    assert 'id="error-employee-number"' in page.html and "Six digits" in page.text
    assert 'id="error-kind"' in page.html and "Choose at least one." in page.text
    assert 'value="12"' in page.html, "what was typed stays in the form"
    assert await _count(web_services, Request) == 0
    page = await zack.post("/forms/payroll-error", {"month": "August", "employee-number": "123456",
                                                    "kind": "Overtime missing"})
    assert page.status == 200 and "Payroll error: August" in page.text and "Employee number" in page.text


async def test_manager_approves_on_the_web_and_the_request_moves_on(browsers: Callable[[], Browser]) -> None:
    ivar = browsers()
    await ivar.sign_in(IT_AGENT_2)
    await ivar.get("/forms/new-hire-account")
    filed = await ivar.post("/forms/new-hire-account", {
        "name": "Kari Nordmann", "personal-email": "kari@example.com", "manager": APPROVER,
        "start-date": "2026-12-01", "laptop": "No laptop", "nda-signed": "on"})
    number = number_of(filed)
    assert "waiting" in filed.text.lower()
    marte = browsers()
    await marte.sign_in(APPROVER)
    page = await marte.get("/approvals")
    assert "New hire: Kari Nordmann" in page.text
    page = await marte.post("/approvals/1", {"decision": "approve", "comment": "Welcome aboard"})
    assert "Your decision is recorded: approved." in page.text
    again = await marte.post("/approvals/1", {"decision": "reject"})
    assert "Already decided: approved" in again.text
    stranger = browsers()
    await stranger.sign_in(IT_AGENT)
    refused = await stranger.post("/approvals/1", {"decision": "reject"})
    assert "not yours to decide" in refused.text
    detail = await ivar.get(f"/requests/{number}")
    assert "approved" in detail.text and "Welcome aboard" in detail.text


async def test_saved_reply_is_filled_in_to_edit_and_nothing_is_sent(browsers: Callable[[], Browser],
                                                                   web_services: Services) -> None:
    zack = browsers()
    await zack.sign_in(REQUESTER)
    number = number_of(await zack.file("Jira access"))
    alexis = browsers()
    await alexis.sign_in(IT_AGENT)
    page = await alexis.get(f"/requests/{number}?saved=access-granted")
    assert page.status == 200 and "Hi Zack, you now have access." in page.text
    assert await _count(web_services, Comment) == 0
    wrong = await alexis.get(f"/requests/{number}?saved=payroll-next-run")
    assert wrong.status == 400 and "no saved reply 'payroll-next-run' for IT" in wrong.text


async def test_csv_export_neutralises_formulas_and_holds_only_what_one_may_read(
        browsers: Callable[[], Browser]) -> None:
    zack = browsers()
    await zack.sign_in(REQUESTER)
    await zack.get("/forms/office-event")
    await zack.post("/forms/office-event", {"event-name": "=cmd|' /C calc'!A0", "date": "2026-12-11",
                                            "guests": "20"})
    siri = browsers()
    await siri.sign_in(FACILITIES_AGENT)
    async with siri.http.get(siri.base + "/forms/office-event/export.csv") as response:
        csv_text = await response.text()
        assert response.headers["Content-Type"].startswith("text/csv")
    assert "'=cmd" in csv_text and "\n=cmd" not in csv_text
    alexis = browsers()
    await alexis.sign_in(IT_AGENT)
    async with alexis.http.get(alexis.base + "/forms/office-event/export.csv") as response:
        assert "cmd" not in await response.text()
