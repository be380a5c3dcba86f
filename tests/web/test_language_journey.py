"""A German browser, from filing to the survey: every product word the requester is shown is German.

Zack is not in `app.yaml` and never chose a language; his browser sends `Accept-Language: de-DE`. He
files on the web and follows his request there; the agent works in English. He is also someone the
desk knows in Slack, where the scheduler's reminder and the survey reach him: they are German too,
because the desk remembered what his browser asked for. Everything is checked against the German
catalogue, and for English product words left in it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import select

from bot.delivery.channels import ChannelInfo
from bot.delivery.messages import Message
from bot.i18n import translator
from bot.model import Identity, Outbox
from bot.scheduler import install
from bot.server import Services
from tests.untranslated import english_left
from tests.web.conftest import IT_AGENT, REQUESTER, Browser, number_of

DE = translator("de")


def oslo(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=ZoneInfo("Europe/Oslo"))


@pytest.fixture
async def german(server: str, web_services: Services) -> AsyncIterator[Callable[[], Browser]]:
    opened: list[aiohttp.ClientSession] = []

    def open_browser() -> Browser:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
        opened.append(http)
        return Browser(server, http, web_services)

    yield open_browser
    for http in opened:
        await http.close()


async def queued_for(services: Services, user: str, seen: int) -> list[Message]:
    """What the desk queued for a Slack user's direct messages after outbox row `seen`."""
    async with services.sessions() as session:
        rows = (await session.execute(select(Outbox).where(Outbox.id > seen, Outbox.conversation == f"slack:dm:{user}")
                                      .order_by(Outbox.id))).scalars().all()
    return [Message.from_dict(row.payload["message"]) for row in rows]


async def test_a_german_browser_reads_every_product_word_in_german(german: Callable[[], Browser],
                                                                    web_services: Services) -> None:
    services = web_services
    scheduler = install(services, env={"ZONEDESK_SCHEDULER": "off"})
    services.desk.enable(ChannelInfo("slack"))  # he is also known in Slack, where reminders reach him
    services.clock.set(oslo(24, 9))
    async with services.sessions() as session, session.begin():
        session.add(Identity(platform="slack", user_id="UZACK", email=REQUESTER, name="Zack", data={},
                             fetched_at=services.clock.now()))
    agent = services.desk.actor(IT_AGENT, channel="web")

    zack = german()
    await zack.sign_in(REQUESTER)
    filed = await zack.file("Der Drucker druckt leere Seiten", "Seit heute Morgen.")
    number = number_of(filed)
    assert DE.gettext("Request #{number} is filed with {zone}. You can follow it and answer here.",
                      number=number, zone="IT") in filed.text

    await services.desk.claim(agent, number)
    await services.desk.reply(agent, number, "Which printer is it?")
    await services.desk.set_status(agent, number, "waiting", reason="requester")
    page = await zack.get(f"/requests/{number}")
    assert DE.gettext("{actor} replied to the requester.", actor="Alexis Baker") in page.text
    assert "Which printer is it?" in page.text  # what people type is never translated
    assert english_left(page.text, "de") == []

    # Two working days later the scheduler reminds him, in German, where the desk can reach him.
    services.clock.set(oslo(26, 9))
    await scheduler.tick()
    [reminder] = await queued_for(services, "UZACK", 0)
    assert reminder.language == "de"
    assert reminder.title == DE.gettext("#{number} is waiting for your answer", number=number)
    assert english_left(reminder.plain(), "de") == []

    await zack.sign_in(REQUESTER)  # two days on, his browser session has ended
    answered = await zack.post(f"/requests/{number}/comment", {"comment": "Der im dritten Stock."})
    assert english_left(answered.text, "de") == []
    await services.desk.set_status(agent, number, "resolved")
    resolved = await zack.get(f"/requests/{number}")
    assert DE.gettext("Not solved?") in resolved.text and english_left(resolved.text, "de") == []

    # Closed by the agent: the survey follows, in German.
    await services.desk.set_status(agent, number, "closed")
    async with services.sessions() as session:
        seen = int(await session.scalar(select(Outbox.id).order_by(Outbox.id.desc()).limit(1)) or 0)
    await scheduler.tick()
    [survey] = [m for m in await queued_for(services, "UZACK", seen) if "survey" in m.extra]
    assert survey.title == DE.gettext("How did we do with #{number}?", number=number)
    assert [b.label for b in survey.buttons] == ["1", "2", "3", "4", "5"]
    assert english_left(survey.plain(), "de") == []
    closed = await zack.get(f"/requests/{number}")
    assert english_left(closed.text, "de") == []
