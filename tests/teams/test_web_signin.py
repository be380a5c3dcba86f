"""Reaching the web from Teams without an administrator: `desk web [number]`, the welcome and help card's
"Open Zonedesk", and the sign-in page's "send me a link" delivered to the person's personal chat."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from bot.i18n import translator
from tests.teams.conftest import ALEXIS, IT_HELP, KARI, MARTE, TeamsWorld, actions, card_of, card_text
from tests.web.conftest import Browser

HELP = "Tell me what you need and I file it as a request; we answer here. Agents: type `desk help` for the commands."


@pytest.fixture
async def browsers(teams: TeamsWorld) -> AsyncIterator[Callable[[], Browser]]:
    """Browsers (cookie jars) on the server that serves Teams, so links from Teams open there."""
    base = teams.url.removesuffix("/api/messages")
    sessions: list[aiohttp.ClientSession] = []

    def open_browser() -> Browser:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        sessions.append(http)
        return Browser(base, http, teams.services)

    yield open_browser
    for http in sessions:
        await http.close()


def sign_in_link(card: dict[str, Any]) -> str:
    """The link of a card's "Open Zonedesk" button (an Action.OpenUrl)."""
    button = actions(card)["Open Zonedesk"]
    assert button["type"] == "Action.OpenUrl" and "/login/" in button["url"], button
    return str(button["url"])


async def test_desk_web_answers_in_the_personal_chat_with_a_link(teams: TeamsWorld,
                                                                 browsers: Callable[[], Browser]) -> None:
    await teams.say(KARI, "Printer on floor 3 is jammed")
    await teams.say(KARI, "desk web 1")
    card = card_of(teams.sent_to(KARI.chat)[-1])
    assert "Your sign-in link to request #1 in the browser." in card_text(card)
    assert "/login/" not in card_text(card)  # the link is the button, not text a preview could pick up

    landing = await browsers().open_link(sign_in_link(card))
    assert landing.status == 200 and landing.url.endswith("/requests/1") and "Printer on floor 3" in landing.text


async def test_desk_web_from_a_channel_answers_only_in_the_personal_chat(teams: TeamsWorld) -> None:
    answer, post = await teams.post_in_channel(ALEXIS, "desk web")
    assert answer.status == 200
    assert all("/login/" not in str(a) for a in teams.sent_to(f"{IT_HELP};messageid={post}"))
    assert all("/login/" not in str(c.body) for c in teams.connector.calls if c.conversation_id
               and c.conversation_id.startswith(IT_HELP))
    [started] = teams.connector.delivered("create_conversation")  # Alexis's personal chat, started for this
    assert [m["id"] for m in started.body["members"]] == [ALEXIS.user_id]
    [told] = [a for a in teams.sent_to(started.response["id"]) if "/login/" in str(a)]
    assert "Your sign-in link for Zonedesk in the browser." in card_text(card_of(told))


async def test_someone_else_s_request_reads_as_missing_and_gets_no_link(teams: TeamsWorld) -> None:
    await teams.say(KARI, "Printer on floor 3 is jammed")
    for number in (1, 99):  # Kari's request, and none at all: the same answer
        await teams.say(MARTE, f"desk web {number}")
        card = card_of(teams.sent_to(MARTE.chat)[-1])
        assert card_text(card) == f"Request #{number} was not found." and "actions" not in card


async def test_the_help_card_s_button_answers_with_a_link(teams: TeamsWorld,
                                                          browsers: Callable[[], Browser]) -> None:
    await teams.say(KARI, "")  # nothing to file: the help card
    help_card = card_of(teams.sent_to(KARI.chat)[-1])
    assert card_text(help_card) == HELP
    button = actions(help_card)["Open Zonedesk"]
    assert button["type"] == "Action.Submit"

    # Teams posts an Action.Submit's data as the value of a message in the same chat.
    await teams.post(teams.activity(KARI, "personal", KARI.chat, type="message", value=button["data"]))
    card = card_of(teams.sent_to(KARI.chat)[-1])
    assert "Your sign-in link for Zonedesk in the browser." in card_text(card)
    landing = await browsers().open_link(sign_in_link(card))
    assert landing.status == 200 and urlsplit(landing.url).path == "/" and "Signed in as" in landing.text


async def test_installing_the_app_greets_with_the_help_card_and_its_button(teams: TeamsWorld) -> None:
    answer = await teams.post(teams.activity(KARI, "personal", KARI.chat, type="installationUpdate", action="add"))
    assert answer.status == 200
    [greeting] = teams.sent_to(KARI.chat)
    card = card_of(greeting)
    assert card_text(card) == HELP and actions(card)["Open Zonedesk"]["type"] == "Action.Submit"

    await teams.post(teams.activity(KARI, "personal", KARI.chat, type="installationUpdate", action="remove"))
    assert len(teams.sent_to(KARI.chat)) == 1  # a removal is not greeted


async def test_the_sign_in_page_sends_the_link_to_the_personal_chat(teams: TeamsWorld,
                                                                    browsers: Callable[[], Browser]) -> None:
    await teams.say(KARI, "Printer on floor 3 is jammed")  # Kari is known in Teams now
    await teams.deliver()
    visitor = browsers()
    opened = await visitor.get("/requests/1")
    assert opened.status == 401 and "Send me a sign-in link in Teams" in opened.text
    await visitor.post("/login", {"email": KARI.email, "next": "/requests/1"})
    before = len(teams.sent_to(KARI.chat))
    await teams.deliver()
    [sent] = teams.sent_to(KARI.chat)[before:]
    card = card_of(sent)
    assert "Your sign-in link" in card_text(card)
    landing = await visitor.open_link(sign_in_link(card))
    assert landing.status == 200 and landing.url.endswith("/requests/1")


async def test_the_button_and_the_link_read_in_the_person_s_language(teams: TeamsWorld) -> None:
    pl = translator("pl")
    await teams.post(teams.activity(KARI, "personal", KARI.chat, type="message", text="", locale="pl-PL"))
    help_card = card_of(teams.sent_to(KARI.chat)[-1])
    button = actions(help_card)[pl.gettext("Open Zonedesk")]
    assert pl.gettext("Open Zonedesk") != "Open Zonedesk"
    await teams.post(teams.activity(KARI, "personal", KARI.chat, type="message", value=button["data"],
                                    locale="pl-PL"))
    card = card_of(teams.sent_to(KARI.chat)[-1])
    said = ("Your sign-in link for Zonedesk in the browser. It works once, within 15 minutes, and signs you in as "
            "yourself: do not pass it on.")
    assert card_text(card) == pl.gettext(said) != said
    assert actions(card)[pl.gettext("Open Zonedesk")]["type"] == "Action.OpenUrl"
