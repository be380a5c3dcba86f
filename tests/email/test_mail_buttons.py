"""The confirm-or-reopen question and the survey by mail, as links that act once, as the mail's recipient."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.model import Survey
from tests.email.conftest import MailWorld
from tests.slack.conftest import ALEXIS
from tests.web.conftest import Browser

ZACK = "zack@nordlys.example"


@pytest.fixture
async def browser(mail: MailWorld) -> AsyncIterator[Browser]:
    base = mail.slack.url.removesuffix("/slack/events")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Browser(base, http, mail.services)


def links(body: str) -> dict[str, str]:
    """'Label: link' lines of a mail that open a mail action, by label."""
    return dict(re.findall(r"^(.+?): (https?://\S+/mail/act/\S+)\s*$", body.replace("\r", ""), re.M))


async def test_resolved_by_slack_the_requester_confirms_by_mail_and_rates(mail: MailWorld,
                                                                         browser: Browser) -> None:
    await mail.send(mail.compose(ZACK, "Printer jams", "Every page."))
    [request] = await mail.requests()
    await mail.deliver()
    await mail.slack.desk(ALEXIS, f"status {request.id} resolved")
    await mail.tick()
    await mail.deliver()
    question = mail.sink.to(ZACK)[-1]
    body = question.get_content()
    assert f"[#{request.id}]" in question["Subject"]
    buttons = links(body)
    assert set(buttons) == {"Solved", "Not solved"}, body
    path = buttons["Solved"].replace("http://127.0.0.1:3000", "")
    page = await browser.get(path)
    assert page.status == 200 and "Solved" in page.text  # opening the link does nothing yet
    assert (await mail.requests())[0].status == "resolved"
    page = await browser.post(path)
    assert page.status == 200
    assert (await mail.requests())[0].status == "closed"
    again = await browser.post(path)
    assert again.status in {200, 400} and (await mail.requests())[0].status == "closed"
    # Closed by the requester: the survey follows by mail, its ratings as links too.
    await mail.tick()
    await mail.deliver()
    survey = mail.sink.to(ZACK)[-1].get_content()
    ratings = links(survey)
    assert set(ratings) == {"1", "2", "3", "4", "5"}, survey
    four = ratings["4"].replace("http://127.0.0.1:3000", "")
    await browser.get(four)
    page = await browser.post(four, {"comment": "Quick, thanks"})
    assert page.status == 200
    async with mail.services.sessions() as session:
        from sqlalchemy import select

        answered = (await session.execute(select(Survey))).scalars().one()
    assert (answered.status, answered.rating) == ("answered", 4)


async def test_a_forged_or_altered_link_acts_on_nothing(mail: MailWorld, browser: Browser) -> None:
    page = await browser.get("/mail/act/not-a-token")
    assert page.status == 404
    page = await browser.post("/mail/act/not-a-token")
    assert page.status == 404
