"""Files attached in Slack: kept as references on the request, fetched from Slack with the bot's token when
someone who may see them opens them on the web, and "not found" for anyone else.

The Slack fake serves each file at its `url_private` only to the bot token, as Slack does; the web is the
same server that serves Slack, opened by real HTTP clients signed in by link.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.clock import FakeClock
from bot.model import Attachment, Comment
from tests.conftest import ROOT
from tests.fakes.slack_api import FakeSlackAPI
from tests.slack.conftest import (
    ALEXIS,
    DM,
    IT_HELP,
    IT_TRIAGE,
    ZACK,
    SlackWorld,
    buttons,
    config_variant,
    serving,
)
from tests.web.conftest import Browser

ALEXIS_EMAIL = "alexis.baker@nordlys.example"  # IT agent
HANNA_EMAIL = "hanna.berg@nordlys.example"  # HR agent: may not see IT's requests
ZACK_EMAIL = "zack@nordlys.example"
NORA, NORA_EMAIL = "UNORA", "nora.hagen@nordlys.example"  # another requester
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 200
LOG = b"2026-12-06 09:00 printer jammed on floor 3\n" * 50


@pytest.fixture
async def world(db_url: str, clock: FakeClock, fake: FakeSlackAPI) -> AsyncIterator[SlackWorld]:
    """The server with the sample app.yaml on SQLite and, where configured, PostgreSQL."""
    fake.add_user(NORA, NORA_EMAIL, "Nora Hagen")
    async with serving(ROOT / "app.yaml", db_url, clock, fake) as running:
        yield running


@pytest.fixture
async def browsers(world: SlackWorld) -> AsyncIterator[Callable[[], Browser]]:
    """Browsers on the server that serves Slack."""
    base = world.url.removesuffix("/slack/events")
    sessions: list[aiohttp.ClientSession] = []

    def open_browser() -> Browser:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        sessions.append(http)
        return Browser(base, http, world.services)

    yield open_browser
    for http in sessions:
        await http.close()


async def get_bytes(browser: Browser, path: str) -> tuple[int, bytes, dict[str, str]]:
    """GET a file as the browser would: status, body and headers."""
    async with browser.http.get(browser.base + path) as response:
        return response.status, await response.read(), dict(response.headers)


async def attachments(world: SlackWorld) -> list[Attachment]:
    async with world.services.sessions() as session:
        return list((await session.execute(select(Attachment).order_by(Attachment.id))).scalars())


async def test_a_file_filed_in_slack_is_on_the_request_and_opens_from_slack_for_the_agent(
        world: SlackWorld, browsers: Callable[[], Browser]) -> None:
    photo = world.fake.add_file("F0PHOTO", "printer.png", PNG, "image/png")
    log = world.fake.add_file("F0LOG", "printer log.txt", LOG, "text/plain")
    await world.message(ZACK, "The printer on floor 3 is jammed", channel=IT_HELP, subtype="file_share",
                        files=[photo, log])
    assert await world.requests() == 1
    assert world.fake.call_count("files-pri") == 0  # a reference only: nothing fetched when the message came
    rows = await attachments(world)
    assert [(a.filename, a.source, a.size, a.comment_id) for a in rows] == [
        ("printer.png", "slack", len(PNG), None), ("printer log.txt", "slack", len(LOG), None)]

    agent = browsers()
    await agent.sign_in(ALEXIS_EMAIL)
    page = await agent.get("/requests/1")
    assert "printer.png" in page.text and "printer log.txt" in page.text
    assert f'href="/requests/1/files/{rows[0].id}"' in page.html

    status, body, headers = await get_bytes(agent, f"/requests/1/files/{rows[0].id}")
    assert status == 200 and body == PNG
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Disposition"] == 'inline; filename="printer.png"'
    assert headers["X-Content-Type-Options"] == "nosniff"
    fetched = world.fake.calls_to("files-pri")[-1]
    assert fetched.headers["Authorization"] == "Bearer xoxb-zonedesk-test" and not fetched.failed
    assert "xoxb" not in body.decode("latin-1") and all("xoxb" not in v for v in headers.values())

    status, body, headers = await get_bytes(agent, f"/requests/1/files/{rows[1].id}")
    assert status == 200 and body == LOG and headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["Content-Disposition"] == 'inline; filename="printer log.txt"'

    requester = browsers()  # the requester opens their own file too
    await requester.sign_in(ZACK_EMAIL)
    status, body, _ = await get_bytes(requester, f"/requests/1/files/{rows[0].id}")
    assert status == 200 and body == PNG


async def test_someone_who_may_not_see_the_request_gets_not_found_and_slack_is_never_asked(
        world: SlackWorld, browsers: Callable[[], Browser]) -> None:
    photo = world.fake.add_file("F0SECRET", "payslip.png", PNG, "image/png")
    await world.message(ZACK, "My laptop screen", channel=IT_HELP, subtype="file_share", files=[photo])
    await world.message(NORA, "My own request", channel=IT_HELP)
    (row,) = await attachments(world)
    before = world.fake.call_count("files-pri")
    for email in (NORA_EMAIL, HANNA_EMAIL):  # another requester; an agent of another zone
        other = browsers()
        await other.sign_in(email)
        status, body, _ = await get_bytes(other, f"/requests/1/files/{row.id}")
        assert status == 404 and b"payslip" not in body and PNG not in body
        status, _, _ = await get_bytes(other, f"/requests/2/files/{row.id}")  # through a request they do see
        assert status == 404
    anonymous = browsers()
    status, body, _ = await get_bytes(anonymous, f"/requests/1/files/{row.id}")
    assert status == 401 and PNG not in body
    assert world.fake.call_count("files-pri") == before


async def test_files_on_later_thread_messages_land_on_their_comments_and_notes_files_stay_internal(
        world: SlackWorld, browsers: Callable[[], Browser]) -> None:
    ts = await world.message(ZACK, "VPN drops every hour", channel=IT_HELP)
    await world.deliver()
    shot = world.fake.add_file("F0SHOT", "vpn-error.png", PNG, "image/png")
    await world.message(ZACK, "", channel=IT_HELP, thread=ts, subtype="file_share", files=[shot])
    triage = [m for m in world.posts(IT_TRIAGE) if "VPN" in str(m)]
    assert triage, world.posts(IT_TRIAGE)
    dump = world.fake.add_file("F0DUMP", "firewall.log", LOG, "text/plain")
    await world.message(ALEXIS, "Firewall log from the gateway", channel=IT_TRIAGE, thread=triage[0]["ts"],
                        subtype="file_share", files=[dump])
    rows = await attachments(world)
    async with world.services.sessions() as session:
        comments = {c.id: c for c in (await session.execute(select(Comment))).scalars()}
    assert [(a.filename, comments[a.comment_id].public, a.public) for a in rows if a.comment_id] == [
        ("vpn-error.png", True, True), ("firewall.log", False, False)]
    assert comments[rows[0].comment_id or 0].body == "vpn-error.png"  # a file alone is named by its file

    requester = browsers()
    await requester.sign_in(ZACK_EMAIL)
    page = await requester.get("/requests/1")
    assert "vpn-error.png" in page.text and "firewall.log" not in page.text
    status, _, _ = await get_bytes(requester, f"/requests/1/files/{rows[1].id}")
    assert status == 404  # a note's file: not for the requester
    agent = browsers()
    await agent.sign_in(ALEXIS_EMAIL)
    page = await agent.get("/requests/1")
    assert "vpn-error.png" in page.text and "firewall.log" in page.text
    status, body, _ = await get_bytes(agent, f"/requests/1/files/{rows[1].id}")
    assert status == 200 and body == LOG


async def test_a_file_slack_no_longer_gives_is_said_plainly_and_the_token_goes_only_to_slack(
        world: SlackWorld, browsers: Callable[[], Browser]) -> None:
    gone = world.fake.add_file("F0GONE", "old.pdf", b"%PDF-1.4 old", "application/pdf")
    forged = dict(world.fake.add_file("F0EVIL", "evil.png", PNG, "image/png"),
                  url_private_download="https://attacker.example/steal.png")
    await world.message(ZACK, "Two files", channel=IT_HELP, subtype="file_share", files=[gone, forged])
    world.fake.files.clear()  # deleted in Slack since
    rows = await attachments(world)
    agent = browsers()
    await agent.sign_in(ALEXIS_EMAIL)
    status, body, _ = await get_bytes(agent, f"/requests/1/files/{rows[0].id}")
    assert status == 502 and "Slack did not give Zonedesk the file old.pdf" in body.decode()
    before = len(world.fake.calls)
    status, body, _ = await get_bytes(agent, f"/requests/1/files/{rows[1].id}")
    assert status == 502 and len(world.fake.calls) == before  # never sent anywhere but Slack



async def test_a_file_sent_where_the_zone_must_be_chosen_is_filed_with_the_choice(
        tmp_path: Path, sqlite_url: str, clock: FakeClock, fake: FakeSlackAPI) -> None:
    def ask(data: dict[str, Any]) -> None:
        data["intake"]["unrouted"] = "ask"

    async with serving(config_variant(tmp_path, ask), sqlite_url, clock, fake) as asking:
        chair = fake.add_file("F0CHAIR", "chair.png", PNG, "image/png")
        await asking.message(ZACK, "", subtype="file_share", files=[chair])  # a file and no words, in a DM
        assert await asking.requests() == 0
        [question] = asking.posts(DM)
        choices = buttons(question["blocks"])
        await asking.click(ZACK, "zds:zone:facilities", choices["zds:zone:facilities"], channel=DM,
                           message=question)
        request = await asking.services.desk.get_request(asking.actor(ZACK), 1)
        assert (request.zone_id, request.title) == ("facilities", "chair.png")
        (row,) = await attachments(asking)
        assert (row.request_id, row.comment_id, row.filename) == (1, None, "chair.png")


async def test_a_file_slack_names_by_id_only_is_looked_up_when_opened(
        world: SlackWorld, browsers: Callable[[], Browser]) -> None:
    world.fake.add_file("F0CONNECT", "contract.pdf", b"%PDF-1.4 contract", "application/pdf")
    # In a Slack Connect channel the event carries only the file's id; files.info tells the rest.
    await world.message(ZACK, "Contract from our partner", channel=IT_HELP, subtype="file_share",
                        files=[{"id": "F0CONNECT", "file_access": "check_file_info", "created": 1732000000}])
    (row,) = await attachments(world)
    assert (row.filename, row.ref) == ("F0CONNECT", {"id": "F0CONNECT", "url": ""})
    agent = browsers()
    await agent.sign_in(ALEXIS_EMAIL)
    status, body, headers = await get_bytes(agent, f"/requests/1/files/{row.id}")
    assert status == 200 and body == b"%PDF-1.4 contract" and headers["Content-Type"] == "application/pdf"
    assert world.fake.last("files.info").args["file"] == "F0CONNECT"
