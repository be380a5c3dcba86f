"""The sign-in page's "e-mail me a link" (issue 20 point 8): offered once mail goes out, under the same limits
as the chat link, and the page says the same whether or not the address may get one."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from bot.people.signin import SENDS_PER_ADDRESS
from tests.email.conftest import MailWorld
from tests.slack.conftest import SlackWorld, slack  # noqa: F401  (the world without mail out)
from tests.web.conftest import Browser

SENT = ("If {email} belongs to someone Zonedesk may write to, a sign-in link is on its way to that address by "
        "e-mail. It works once, within 15 minutes.")


@pytest.fixture
async def browsers(mail: MailWorld) -> AsyncIterator[Callable[[], Browser]]:
    base = mail.slack.url.removesuffix("/slack/events")
    sessions: list[aiohttp.ClientSession] = []

    def open_browser() -> Browser:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        sessions.append(http)
        return Browser(base, http, mail.services)

    yield open_browser
    for http in sessions:
        await http.close()


def links(mail: MailWorld, address: str) -> list[str]:
    return [link for message in mail.sink.to(address)
            for link in re.findall(r"https?://\S+/login/\S+", message.get_content())]


async def test_a_colleague_gets_a_link_by_mail_and_signs_in(mail: MailWorld,
                                                           browsers: Callable[[], Browser]) -> None:
    browser = browsers()
    page = await browser.get("/requests")
    assert page.status == 401 and "E-mail me a link" in page.text
    page = await browser.post("/login", {"email": "zack@nordlys.example", "next": "/requests", "via": "mail"})
    assert SENT.format(email="zack@nordlys.example") in page.text
    await mail.deliver()
    [message] = mail.sink.to("zack@nordlys.example")
    assert message["Subject"] == "Your sign-in link" and message["Auto-Submitted"] == "auto-generated"
    [link] = links(mail, "zack@nordlys.example")
    page = await browser.open_link(link.replace("http://127.0.0.1:3000", ""))
    assert "Signed in as" in page.text


async def test_an_outside_address_reads_the_same_and_gets_nothing(mail: MailWorld,
                                                                 browsers: Callable[[], Browser]) -> None:
    page = await browsers().post("/login", {"email": "eve@evil.example", "via": "mail"})
    assert SENT.format(email="eve@evil.example") in page.text
    await mail.deliver()
    assert mail.sink.received == []


async def test_the_same_limits_as_the_chat_link(mail: MailWorld, browsers: Callable[[], Browser]) -> None:
    browser = browsers()
    for _ in range(SENDS_PER_ADDRESS):
        page = await browser.post("/login", {"email": "zack@nordlys.example", "via": "mail"})
        assert page.status == 200
    page = await browser.post("/login", {"email": "zack@nordlys.example", "via": "mail"})
    assert page.status == 429
    await mail.deliver()
    assert len(mail.sink.to("zack@nordlys.example")) == SENDS_PER_ADDRESS


async def test_without_mail_out_there_is_no_mail_button(slack: SlackWorld) -> None:  # noqa: F811
    base = slack.url.removesuffix("/slack/events")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        browser = Browser(base, http, slack.services)
        page = await browser.get("/requests")
        assert "E-mail me a link" not in page.text
        page = await browser.post("/login", {"email": "zack@nordlys.example", "via": "mail"})
        assert page.status == 400
