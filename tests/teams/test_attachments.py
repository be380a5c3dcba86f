"""Files attached in Teams: a pasted picture and a personal-chat file are references on the request, fetched
when someone who may see the request opens them on the web (the picture with the bot's connector token, the
file by its own pre-authorised link), and "not found" for anyone else.

The Bot Framework fake serves the picture at its contentUrl only to tokens its token endpoint issued.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.clock import FakeClock
from bot.model import Attachment
from bot.server import build_services
from tests.conftest import ROOT
from tests.fakes.botframework import FakeConnector, OpenIdServer
from tests.teams.conftest import ALEXIS, BOT, FRIDA, HANNA, IT_HELP, KARI, TeamsWorld, start_world, teams_env
from tests.web.conftest import Browser

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x01" * 300
ZIP = b"PK\x03\x04" + b"\x00" * 300  # a spreadsheet is a zip: only ever downloaded


@pytest.fixture
async def teams(db_url: str, clock: FakeClock, connector: FakeConnector,
                openid: OpenIdServer) -> AsyncIterator[TeamsWorld]:
    """The Teams server of the conftest, on SQLite and, where configured, PostgreSQL."""
    env = teams_env(openid, connector)
    services = build_services(ROOT / "app.yaml", db_url, clock=clock, env=env)
    world, runner = await start_world(services, env, connector, openid, clock)
    try:
        yield world
    finally:
        await world.http.close()
        await runner.cleanup()
        await services.engine.dispose()


@pytest.fixture
async def browsers(teams: TeamsWorld) -> AsyncIterator[Callable[[], Browser]]:
    """Browsers on the server that serves Teams."""
    base = teams.url.removesuffix("/api/messages")
    sessions: list[aiohttp.ClientSession] = []

    def open_browser() -> Browser:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        sessions.append(http)
        return Browser(base, http, teams.services)

    yield open_browser
    for http in sessions:
        await http.close()


async def get_bytes(browser: Browser, path: str) -> tuple[int, bytes, dict[str, str]]:
    async with browser.http.get(browser.base + path) as response:
        return response.status, await response.read(), dict(response.headers)


async def rows(teams: TeamsWorld) -> list[Attachment]:
    async with teams.services.sessions() as session:
        return list((await session.execute(select(Attachment).order_by(Attachment.id))).scalars())


def channel_post(teams: TeamsWorld, text: str, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    message_id = teams.next_id()
    activity = teams.activity(KARI, "channel", f"{IT_HELP};messageid={message_id}", type="message",
                              text=f"<at>Zonedesk</at> {text}", id=message_id, attachments=attachments)
    activity["entities"] = [{"type": "mention", "text": "<at>Zonedesk</at>", "mentioned": {"id": BOT,
                                                                                         "name": "Zonedesk"}}]
    return activity


async def test_a_picture_pasted_in_a_teams_channel_opens_from_the_connector_for_the_agent(
        teams: TeamsWorld, browsers: Callable[[], Browser]) -> None:
    url = teams.connector.add_attachment("0-weu-d1-abc", PNG)
    answer = await teams.post(channel_post(teams, "The badge reader at the door is dead", [
        {"contentType": "image/png", "contentUrl": url, "name": "badge-reader.png"},
        {"contentType": "text/html", "content": "<p>The badge reader at the door is dead</p>"}]))
    assert answer.status == 200
    assert await teams.requests() == 1
    (row,) = await rows(teams)  # the HTML copy of the message is not a file
    assert (row.filename, row.source, row.comment_id) == ("badge-reader.png", "teams", None)
    assert not teams.connector.calls_to("file")  # a reference: nothing fetched yet

    agent = browsers()
    await agent.sign_in(ALEXIS.email)
    page = await agent.get("/requests/1")
    assert "badge-reader.png" in page.text
    status, body, headers = await get_bytes(agent, f"/requests/1/files/{row.id}")
    assert status == 200 and body == PNG and headers["Content-Type"] == "image/png"
    fetched = teams.connector.calls_to("file")[-1]
    assert fetched.status == 200 and teams.connector.tokens.is_valid(fetched.bearer)
    assert all(fetched.bearer not in v for v in headers.values())  # the token never reaches the browser

    other = browsers()  # an HR agent: IT's requests are not theirs to see
    await other.sign_in(HANNA.email)
    status, body, _ = await get_bytes(other, f"/requests/1/files/{row.id}")
    assert status == 404 and PNG not in body
    assert len(teams.connector.calls_to("file")) == 1
    reader = browsers()  # the front desk reads IT's requests (visible_to), files included
    await reader.sign_in(FRIDA.email)
    status, body, _ = await get_bytes(reader, f"/requests/1/files/{row.id}")
    assert status == 200 and body == PNG


async def test_a_file_sent_in_a_personal_chat_is_fetched_by_its_own_link_without_the_bot_token(
        teams: TeamsWorld, browsers: Callable[[], Browser]) -> None:
    link = teams.connector.add_download("budget", ZIP)
    activity = teams.activity(KARI, "personal", KARI.chat, type="message", text="Budget sheet for the offsite",
                              attachments=[{"contentType": "application/vnd.microsoft.teams.file.download.info",
                                            "name": "budget.xlsx",
                                            "content": {"downloadUrl": link, "uniqueId": "u-1", "fileType": "xlsx"}},
                                           {"contentType": "application/vnd.microsoft.teams.file.download.info",
                                            "name": "elsewhere.xlsx",
                                            "content": {"downloadUrl": "https://intranet.example/x.xlsx",
                                                        "fileType": "xlsx"}}])
    assert (await teams.post(activity)).status == 200
    first, forged = await rows(teams)
    assert first.filename == "budget.xlsx" and first.declared_type.endswith("spreadsheetml.sheet")

    requester = browsers()
    await requester.sign_in(KARI.email)
    status, body, headers = await get_bytes(requester, f"/requests/1/files/{first.id}")
    assert status == 200 and body == ZIP
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"] == 'attachment; filename="budget.xlsx"'
    assert teams.connector.calls_to("file")[-1].bearer is None  # SharePoint's link needs no token of ours
    status, _, _ = await get_bytes(requester, f"/requests/1/files/{forged.id}")
    assert status == 502  # a link to a host that is neither SharePoint nor the connector is never fetched
    assert len(teams.connector.calls_to("file")) == 1
