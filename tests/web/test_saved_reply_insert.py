"""Inserting a saved reply keeps the draft: the reply box gets the filled-in reply after what was typed."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from sqlalchemy import func, select

from bot.model import Comment
from bot.server import Services
from tests.web.conftest import IT_AGENT, REQUESTER, Browser, number_of


def _reply_box(page_html: str) -> str:
    found = re.search(r'<textarea id="reply" name="reply"[^>]*>(.*?)</textarea>', page_html, re.S)
    assert found, "no reply box"
    return html.unescape(found.group(1))


async def _comments(services: Services) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Comment)) or 0)


async def test_insert_adds_the_filled_in_reply_after_the_draft(browsers: Callable[[], Browser],
                                                               web_services: Services) -> None:
    zack = browsers()
    await zack.sign_in(REQUESTER)
    number = number_of(await zack.file("Jira access"))
    alexis = browsers()
    await alexis.sign_in(IT_AGENT)
    await alexis.get(f"/requests/{number}")

    draft = "I added you to the <jira-users> group & the project."
    page = await alexis.post(f"/requests/{number}/insert", {"reply": draft, "saved": "access-granted"})
    assert page.status == 200
    box = _reply_box(page.html)
    assert box.startswith(draft + "\n\nHi Zack, you now have access.")
    assert f"we reopen #{number}." in box and "Alexis Baker (IT)" in box
    assert await _comments(web_services) == 0, "inserting sends nothing"

    sent = await alexis.post(f"/requests/{number}/reply", {"reply": box})
    assert "Your reply is sent to the requester." in sent.text
    assert draft in (await zack.get(f"/requests/{number}")).text


async def test_a_refused_insert_keeps_the_draft_and_says_why(browsers: Callable[[], Browser],
                                                             web_services: Services) -> None:
    zack = browsers()
    await zack.sign_in(REQUESTER)
    number = number_of(await zack.file("Jira access"))
    alexis = browsers()
    await alexis.sign_in(IT_AGENT)
    await alexis.get(f"/requests/{number}")

    wrong = await alexis.post(f"/requests/{number}/insert", {"reply": "Half a thought", "saved": "payroll-next-run"})
    assert wrong.status == 400 and "no saved reply 'payroll-next-run' for IT" in wrong.text
    assert _reply_box(wrong.html) == "Half a thought"
    none = await alexis.post(f"/requests/{number}/insert", {"reply": "Half a thought"})
    assert none.status == 400 and "Choose the saved reply to insert." in none.text
    assert _reply_box(none.html) == "Half a thought"
    requester_tries = await zack.post(f"/requests/{number}/insert", {"reply": "", "saved": "access-granted"})
    assert requester_tries.status == 400 and "Hi Zack, you now have access." not in requester_tries.text
    assert await _comments(web_services) == 0
