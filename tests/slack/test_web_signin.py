"""Reaching the web from Slack without an administrator: `/desk web [number]`, the App Home's "Open Zonedesk",
and the sign-in page's "send me a link", which a request link in a message leads a signed-out person to.

Links are redeemed by a real HTTP client against the same server (the web channel always runs beside Slack).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from sqlalchemy import select

from bot.i18n import translator
from bot.model import LoginToken
from bot.people.signin import SENDS_PER_ADDRESS, SENDS_PER_CLIENT
from tests.slack.conftest import ALEXIS, DM, HANNA, IT_HELP, ZACK, SlackWorld, block_text
from tests.web.conftest import Browser, Page

NORA = "UNORA"  # a second plain requester
NORA_EMAIL = "nora.hagen@nordlys.example"
ZACK_EMAIL = "zack@nordlys.example"
SENT = ("If {email} belongs to someone Zonedesk knows in {chats}, a sign-in link is on its way to their direct "
        "messages there. It works once, within 15 minutes.")
LIMITED = ("Zonedesk has sent as many sign-in links as it may for now. Wait a quarter of an hour, or use a link "
           "you already have.")


@pytest.fixture
async def browsers(slack: SlackWorld) -> AsyncIterator[Callable[[], Browser]]:
    """Browsers (cookie jars) on the server that serves Slack, so links from Slack open there."""
    base = slack.url.removesuffix("/slack/events")
    sessions: list[aiohttp.ClientSession] = []

    def open_browser() -> Browser:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        sessions.append(http)
        return Browser(base, http, slack.services)

    yield open_browser
    for http in sessions:
        await http.close()


def link_button(blocks: list[dict[str, Any]]) -> str:
    """The URL of the one link button in a private answer."""
    urls = [e["url"] for b in blocks for e in b.get("elements", []) if isinstance(e, dict) and e.get("url")]
    assert len(urls) == 1, blocks
    return str(urls[0])


async def desk_web(slack: SlackWorld, user: str, text: str = "web") -> tuple[str, list[dict[str, Any]]]:
    """`/desk <text>` and its private answer: (text, blocks), as posted to the command's response_url."""
    trigger = f"web-{slack.next_ts()}"
    answer = await slack.command(user, "/desk", text, trigger_id=trigger)
    assert answer.status == 200 and answer.text == "", answer
    [call] = [c for c in slack.fake.calls_to("response_url") if c.args.get("_hook") == trigger]
    assert call.args["response_type"] == "ephemeral" and call.args.get("replace_original") is False
    return slack.answer_to(trigger), call.args["blocks"]


async def file_three(slack: SlackWorld) -> None:
    for title in ("Printer jams", "VPN drops", "Need a second screen"):
        await slack.message(ZACK, title, channel=IT_HELP)


def dm_links(slack: SlackWorld, user: str) -> list[str]:
    """Links sent to a person's DM with the app (the outbox's messages render a link as `<url|label>`)."""
    out = []
    for message in slack.posts(f"D{user}"):
        out += re.findall(r"<(https?://[^|>]+/login/[^|>]+)\|", block_text(message.get("blocks", [])))
        out += [e["url"] for b in message.get("blocks", []) for e in b.get("elements", [])
                if isinstance(e, dict) and "/login/" in str(e.get("url", ""))]
    return out


def direct_messages(slack: SlackWorld) -> list[str]:
    """The DM channels the app posted to (request confirmations and triage posts go to channels)."""
    return [str(c.args["channel"]) for c in slack.fake.delivered("chat.postMessage")
            if str(c.args["channel"]).startswith(("D", "U"))]


async def ask_for_link(browser: Browser, email: str, at: str) -> Page:
    """A signed-out person on page `at` types their address into the sign-in page's form."""
    page = await browser.get(at)
    assert page.status in (200, 401) and 'action="/login"' in page.html, page.text
    return await browser.post("/login", {"email": email, "next": at})


# ---------------------------------------------------------------- /desk web
async def test_desk_web_answers_privately_with_a_link_that_opens_the_portal(
        slack: SlackWorld, browsers: Callable[[], Browser]) -> None:
    text, blocks = await desk_web(slack, ZACK)
    assert "Your sign-in link for Zonedesk in the browser." in text and "Open Zonedesk" in block_text(blocks)
    link = link_button(blocks)
    assert link.startswith("http://127.0.0.1:3000/login/")  # app.yaml's base_url
    assert slack.fake.calls_to("chat.postMessage") == []  # nowhere but the private answer

    landing = await browsers().open_link(link)
    assert landing.status == 200 and urlsplit(landing.url).path == "/" and "Signed in as" in landing.text


async def test_desk_web_with_a_number_lands_signed_in_on_that_request(
        slack: SlackWorld, browsers: Callable[[], Browser]) -> None:
    await file_three(slack)
    text, blocks = await desk_web(slack, ZACK, "web 3")
    assert "Your sign-in link to request #3 in the browser." in text
    browser = browsers()
    landing = await browser.open_link(link_button(blocks))
    assert landing.status == 200 and landing.url.endswith("/requests/3")
    assert "Signed in as" in landing.text and "Need a second screen" in landing.text
    assert (await browser.get("/requests")).status == 200  # a session, not a one-page pass

    again = await browsers().open_link(link_button(blocks))  # the same link a second time
    assert again.status == 400 and "This sign-in link was already used. Ask for a new one." in again.text


async def test_staff_land_on_the_desk_or_on_the_request_they_name(slack: SlackWorld,
                                                                  browsers: Callable[[], Browser]) -> None:
    await file_three(slack)
    landing = await browsers().open_link(link_button((await desk_web(slack, ALEXIS))[1]))
    assert landing.url.endswith("/desk") and "Queue" in landing.text
    landing = await browsers().open_link(link_button((await desk_web(slack, ALEXIS, "web #2"))[1]))
    assert landing.url.endswith("/requests/2") and "VPN drops" in landing.text


async def test_a_request_one_may_not_see_reads_as_missing_and_gets_no_link(slack: SlackWorld) -> None:
    slack.fake.add_user(NORA, NORA_EMAIL, "Nora Hagen")
    await file_three(slack)  # Zack's requests
    for user, text in ((NORA, "web 2"), (HANNA, "web 2"), (NORA, "web 99")):  # another requester, another zone
        answer, blocks = await desk_web(slack, user, text)
        number = text.split()[1]
        assert answer == f"Request #{number} was not found.", (user, answer)
        assert not [e for b in blocks for e in b.get("elements", []) if isinstance(e, dict) and e.get("url")]
    async with slack.services.sessions() as session:
        assert (await session.execute(select(LoginToken))).first() is None  # no link was even made


async def test_desk_web_refuses_what_is_not_a_number(slack: SlackWorld) -> None:
    answer, _blocks = await desk_web(slack, ZACK, "web printer")
    assert answer == "Usage: web [number]"


async def test_desk_web_is_in_the_help(slack: SlackWorld) -> None:
    assert "web [number]" in await slack.desk(ZACK, "help")


# ---------------------------------------------------------------- App Home
async def test_the_app_home_button_sends_a_fresh_link_in_a_direct_message(
        slack: SlackWorld, browsers: Callable[[], Browser]) -> None:
    ts = slack.next_ts()
    await slack.event({"type": "app_home_opened", "user": ZACK, "channel": DM, "tab": "home", "event_ts": ts})
    [home] = [c.args["view"] for c in slack.fake.delivered("views.publish") if c.args["user_id"] == ZACK]
    elements = {e["action_id"]: e for b in home["blocks"] for e in b.get("elements", []) if "action_id" in e}
    assert elements["zds:web"]["text"]["text"] == "Open Zonedesk"

    home_payload = {"type": "home", "id": "V0HOME", "hash": "h1", "blocks": home["blocks"]}
    for _ in range(2):  # each click a fresh link
        answer, _hook = await slack.click(ZACK, "zds:web", "web", view=home_payload)
        assert answer.status == 200
    posted = [c.args for c in slack.fake.delivered("chat.postMessage")]
    assert [p["channel"] for p in posted] == [ZACK, ZACK]  # the app's DM with Zack, nowhere else
    assert slack.fake.calls_to("chat.postEphemeral") == []
    links = dm_links(slack, ZACK)
    assert len(links) == 2 and links[0] != links[1]
    assert posted[0]["unfurl_links"] in (False, "false", "0")

    landing = await browsers().open_link(links[1])
    assert landing.status == 200 and urlsplit(landing.url).path == "/" and "Signed in as" in landing.text


# ---------------------------------------------------------------- the sign-in page
async def test_a_signed_out_request_link_offers_a_link_in_slack_that_lands_on_the_request(
        slack: SlackWorld, browsers: Callable[[], Browser]) -> None:
    await file_three(slack)  # Zack is known in Slack now (his messages)
    visitor = browsers()
    opened = await visitor.get("/requests/2")  # the "Open in Zonedesk" link of a message, signed out
    assert opened.status == 401 and "Send me a sign-in link in Slack" in opened.text
    assert 'name="next" value="/requests/2"' in opened.html
    assert "zonedesk login-link" in opened.text  # an administrator's link still works for people not in Slack

    answered = await visitor.post("/login", {"email": "Zack@Nordlys.example", "next": "/requests/2"})
    assert answered.url.endswith("/requests/2")
    assert SENT.format(email="Zack@Nordlys.example", chats="Slack") in answered.text
    await slack.deliver()
    assert direct_messages(slack) == [f"D{ZACK}"]  # his DM with the app (conversations.open), through the outbox
    [link] = dm_links(slack, ZACK)

    landing = await visitor.open_link(link)
    assert landing.status == 200 and landing.url.endswith("/requests/2") and "VPN drops" in landing.text


async def test_the_link_is_written_in_the_recipients_language(slack: SlackWorld,
                                                              browsers: Callable[[], Browser]) -> None:
    await slack.desk(ZACK, "language nb")
    await ask_for_link(browsers(), ZACK_EMAIL, "/")  # an English browser asks; Zack reads Norwegian
    await slack.deliver()
    [message] = slack.posts(f"D{ZACK}")
    shown = block_text(message["blocks"])
    nb = translator("nb")
    assert nb.gettext("Your sign-in link") in shown and nb.gettext("Open Zonedesk") in shown
    assert nb.gettext("Your sign-in link") != "Your sign-in link"


async def test_an_unknown_address_gets_the_same_answer_and_nothing_is_sent(
        slack: SlackWorld, browsers: Callable[[], Browser]) -> None:
    await file_three(slack)
    known = await ask_for_link(browsers(), ZACK_EMAIL, "/requests/1")
    unknown = await ask_for_link(browsers(), "nobody@nordlys.example", "/requests/1")
    assert known.status == unknown.status
    assert SENT.format(email=ZACK_EMAIL, chats="Slack") in known.text
    assert SENT.format(email="nobody@nordlys.example", chats="Slack") in unknown.text
    assert known.text.replace(ZACK_EMAIL, "X") == unknown.text.replace("nobody@nordlys.example", "X")
    await slack.deliver()
    assert direct_messages(slack) == [f"D{ZACK}"]
    async with slack.services.sessions() as session:
        assert [t.email for t in (await session.execute(select(LoginToken))).scalars()] == [ZACK_EMAIL]


async def test_what_is_not_an_address_is_said_so(slack: SlackWorld, browsers: Callable[[], Browser]) -> None:
    page = await ask_for_link(browsers(), "zack", "/")
    assert page.status == 400 and "'zack' is not an e-mail address" in page.text


async def test_at_most_three_links_per_address_in_fifteen_minutes(slack: SlackWorld, clock: Any,
                                                                  browsers: Callable[[], Browser]) -> None:
    await file_three(slack)
    for attempt in range(SENDS_PER_ADDRESS):
        page = await ask_for_link(browsers(), ZACK_EMAIL, "/requests/1")  # a new browser each time
        assert SENT.format(email=ZACK_EMAIL, chats="Slack") in page.text, attempt
    refused = await ask_for_link(browsers(), ZACK_EMAIL, "/requests/1")
    assert refused.status == 429 and LIMITED in refused.text
    unknown = await ask_for_link(browsers(), "nobody@nordlys.example", "/")
    for _ in range(SENDS_PER_ADDRESS):
        unknown = await ask_for_link(browsers(), "nobody@nordlys.example", "/")
    assert unknown.status == 429 and LIMITED in unknown.text  # limited alike: the limit tells nobody who exists
    await slack.deliver()
    assert len(dm_links(slack, ZACK)) == SENDS_PER_ADDRESS

    clock.advance(timedelta(minutes=15, seconds=1))
    page = await ask_for_link(browsers(), ZACK_EMAIL, "/requests/1")
    assert SENT.format(email=ZACK_EMAIL, chats="Slack") in page.text


async def test_one_client_may_ask_for_so_many_addresses_only(slack: SlackWorld,
                                                            browsers: Callable[[], Browser]) -> None:
    browser = browsers()
    for n in range(SENDS_PER_CLIENT):
        page = await ask_for_link(browser, f"person{n}@nordlys.example", "/")
        assert page.status == 200, n
    refused = await ask_for_link(browsers(), ZACK_EMAIL, "/")  # another cookie jar, the same client address
    assert refused.status == 429 and LIMITED in refused.text


@pytest.mark.parametrize("target", ["https://evil.example/phish", "//evil.example/x", "/\\evil.example",
                                    "javascript:alert(1)", "/login/abc", "requests/1"])
async def test_a_link_never_lands_off_site(slack: SlackWorld, browsers: Callable[[], Browser], target: str) -> None:
    await file_three(slack)
    visitor = browsers()
    await visitor.get("/")
    async with visitor.http.post(visitor.base + "/login", data={"email": ZACK_EMAIL, "next": target,
                                                                 "csrf": visitor.token or ""},
                                 allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/"
    await slack.deliver()
    [link] = dm_links(slack, ZACK)
    path = urlsplit(link).path
    await visitor.get(path)
    async with visitor.http.post(visitor.base + path, data={"csrf": visitor.token or ""},
                                 allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/"  # Zack's own default, not the target


# ---------------------------------------------------------------- in the reader's language
async def test_the_sign_in_page_and_its_answer_read_in_the_browser_s_language(slack: SlackWorld) -> None:
    de = translator("de")
    base = slack.url.removesuffix("/slack/events")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     headers={"Accept-Language": "de-DE,de;q=0.9"}) as http:
        german = Browser(base, http, slack.services)
        page = await german.get("/requests/1")
        for said in ("Send me a sign-in link in %(chats)s", "Your work e-mail",
                     "It arrives in your direct messages from Zonedesk in %(chats)s."):
            words = de.gettext(said) % {"chats": "Slack"} if "%(" in said else de.gettext(said)
            assert words in page.text and de.gettext(said) != said, said
        answered = await german.post("/login", {"email": ZACK_EMAIL, "next": "/requests/1"})
        assert de.gettext(SENT, email=ZACK_EMAIL, chats="Slack") in answered.text


async def test_two_chats_are_offered_as_one_list_in_the_reader_s_language(slack: SlackWorld) -> None:
    from bot.delivery.channels import ChannelInfo

    slack.services.desk.enable(ChannelInfo("teams"))  # as if Teams were live beside Slack
    slack.services.channels["teams"] = ChannelInfo("teams")
    base = slack.url.removesuffix("/slack/events")
    async with aiohttp.ClientSession(headers={"Accept-Language": "nb"}) as http:
        page = await Browser(base, http, slack.services).get("/")
    assert translator("nb").gettext("Send me a sign-in link in %(chats)s") % {"chats": "Slack eller Teams"} \
        in page.text


async def test_desk_web_answers_in_the_asker_s_language(slack: SlackWorld) -> None:
    nb = translator("nb")
    await slack.desk(ZACK, "language nb")
    text, blocks = await desk_web(slack, ZACK)
    said = ("Your sign-in link for Zonedesk in the browser. It works once, within 15 minutes, and signs you in as "
            "yourself: do not pass it on.")
    assert text == nb.gettext(said) != said
    assert nb.gettext("Open Zonedesk") in block_text(blocks)
    answer = await slack.desk(ZACK, "help web")
    assert nb.gettext("Usage: {usage}", usage=nb.gettext("web [number]")) in answer
