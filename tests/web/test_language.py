"""The web's language: `<html lang>` follows the saved choice, app.yaml, then Accept-Language; the footer chooses."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.i18n import translator
from bot.model import PersonLanguage
from bot.people.languages import choices, saved_language
from bot.server import Services
from tests.web.conftest import IT_AGENT, REQUESTER, Browser, Page

_LANG = re.compile(r'<html lang="([^"]+)">')


def lang(page: Page) -> str:
    found = _LANG.search(page.html)
    assert found, page.html[:200]
    return found.group(1)


@pytest.fixture
async def speaking(server: str, web_services: Services) -> AsyncIterator[Callable[[str], Browser]]:
    """Open a browser that sends an Accept-Language header."""
    opened: list[aiohttp.ClientSession] = []

    def open_browser(accept_language: str) -> Browser:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     headers={"Accept-Language": accept_language})
        opened.append(http)
        return Browser(server, http, web_services)

    yield open_browser
    for http in opened:
        await http.close()


async def rows(services: Services) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(PersonLanguage)) or 0)


async def test_without_a_choice_the_browser_decides_and_signing_in_saves_nothing(
        speaking: Callable[[str], Browser], web_services: Services) -> None:
    german = speaking("de-DE,de;q=0.9,en;q=0.5")
    assert lang(await german.get("/")) == "de"  # anonymous: the sign-in page
    assert lang(await german.get("/no-such-page")) == "de"  # the router's own 404 page too
    signed_in = await german.sign_in(REQUESTER)  # someone app.yaml does not list
    assert lang(signed_in) == "de"
    assert await rows(web_services) == 0
    assert lang(await speaking("fr-FR, ja;q=0.8").get("/")) == "en"  # nothing the desk speaks: the organisation's


async def test_the_footer_chooser_saves_the_choice_and_goes_back(
        speaking: Callable[[str], Browser], web_services: Services) -> None:
    german = speaking("de")
    await german.sign_in(IT_AGENT)
    page = await german.get("/requests?page=1")
    assert 'action="/language"' in page.html and 'name="next" value="/requests?page=1"' in page.html
    assert '<option value="nb" lang="nb">Norsk bokmål</option>' in page.html
    chosen = await german.post("/language", {"language": "nb-NO", "next": "/requests?page=1"})
    assert chosen.url.endswith("/requests?page=1") and lang(chosen) == "nb"
    assert "Zonedesk snakker nå Norsk bokmål (nb) med deg." in chosen.text  # told in the language chosen
    assert lang(await german.get("/desk")) == "nb"  # with the German header still sent
    async with web_services.sessions() as session:
        assert await saved_language(session, IT_AGENT) == "nb"


async def test_an_unknown_code_is_refused_with_the_error_flash(
        speaking: Callable[[str], Browser], web_services: Services) -> None:
    german = speaking("de")
    await german.sign_in(REQUESTER)
    refused = await german.post("/language", {"language": "xx", "next": "/requests"})
    assert refused.url.endswith("/requests") and lang(refused) == "de"
    refusal = translator("de").gettext("Zonedesk does not speak '{code}'. Choose one of: {choices}.", code="xx",
                                       choices=choices())  # the core's refusal, in the visitor's language
    assert 'class="flash error"' in refused.html and refusal in refused.text
    assert await rows(web_services) == 0


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "", "requests"])
async def test_the_chooser_only_goes_back_to_this_site(speaking: Callable[[str], Browser], target: str) -> None:
    browser = speaking("en")
    await browser.sign_in(REQUESTER)
    landed = await browser.post("/language", {"language": "sv", "next": target})
    assert landed.url.rstrip("/") == browser.base and lang(landed) == "sv"


async def test_choosing_needs_the_forms_token_and_a_signed_in_person(
        speaking: Callable[[str], Browser], web_services: Services) -> None:
    browser = speaking("de")
    forged = await browser.post("/language", {"language": "nb", "next": "/"}, csrf=False)
    assert forged.status == 403
    anonymous = await browser.get("/")
    assert 'action="/language"' not in anonymous.html  # the chooser is for people who are signed in
    await browser.sign_in(REQUESTER)
    forged = await browser.post("/language", {"language": "nb", "next": "/", "csrf": "not-the-token"})
    assert forged.status == 403
    assert await rows(web_services) == 0


NAV = ("New request", "My requests", "Forms", "Sign out", "Language")


async def test_the_page_s_own_words_follow_the_visit_s_language(speaking: Callable[[str], Browser]) -> None:
    polish = speaking("pl-PL,pl;q=0.9")
    page = await polish.sign_in(IT_AGENT)
    said = translator("pl")
    for word in (*NAV, "Desk"):  # every word of the frame, as the Polish catalogue has it
        assert f">{said.gettext(word)}<" in page.html, word
    assert ">Nowe zgłoszenie<" in page.html and ">Moje zgłoszenia<" in page.html
    assert not any(f">{word}<" in page.html for word in NAV), "an English word of the frame is left"

    english = await speaking("en-GB").sign_in(REQUESTER)
    assert all(f">{word}<" in english.html for word in NAV)
