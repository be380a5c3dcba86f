"""A German browser reads every page of the web in German; the footer's chooser switches to Italian; the desk's
refusals and confirmations arrive in the visitor's language.

"Untranslated" is measured against the catalogue: a visible text node that is, whole, an English message the
German catalogue says otherwise is a product word that reached the reader in English. Names from `app.yaml`
and what people typed are never translated, so they are left out of the comparison.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from babel import dates
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, catalogue_path, translator
from bot.server import Services
from tests.untranslated import english_left
from tests.web.conftest import IT_AGENT, REQUESTER, Browser, link_for, number_of

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

browser_only = pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                  reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")

TITLE = "Laptop-Lüfter ist laut"
DESCRIPTION = "Seit Montag klingt er wie ein Düsenjet."

# Every text a person reads on the page: visible text nodes (an option counts when its select is visible),
# placeholders, accessible labels and the window's title.
VISIBLE_TEXT = """() => {
  const said = [];
  const add = (text) => { const t = (text || "").replace(/\\s+/g, " ").trim(); if (t) said.push(t); };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    const select = parent && parent.closest("select");
    if (parent && (select || parent).checkVisibility()) add(node.textContent);
  }
  for (const element of document.querySelectorAll("[placeholder], [aria-label]")) {
    if (!element.checkVisibility()) continue;
    add(element.getAttribute("placeholder"));
    add(element.getAttribute("aria-label"));
  }
  add(document.title);
  return said;
}"""


@cache
def english_said_otherwise(language: str) -> frozenset[str]:
    """The catalogue's English messages that `language` translates into something else."""
    with catalogue_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    found = set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        found |= {english for english, said in zip(ids, strings, strict=False) if said and said != english}
    return frozenset(found)


def never_translated(services: Services) -> frozenset[str]:
    """Names and descriptions from `app.yaml`, the organisation's name, and what the test typed."""
    config = services.config
    names: set[str] = {config.organisation.name, TITLE, DESCRIPTION}
    for zone in config.zones:
        names |= {zone.name, zone.description or ""}
        stack = list(zone.categories)
        while stack:
            category = stack.pop()
            names.add(category.name)
            stack += category.children
    names |= {team.name for team in config.teams} | {person.name for person in config.people}
    return frozenset(names - {""})


async def english_on(page: Any, language: str, services: Services) -> list[str]:
    """The product's English words left on the page a reader of `language` sees."""
    said = [text for text in await page.evaluate(VISIBLE_TEXT) if text not in never_translated(services)]
    whole = sorted({text for text in said if text in english_said_otherwise(language)})
    return whole + english_left(" \n ".join(said), language)


async def reads(page: Any, language: str, services: Services) -> None:
    """The page is marked as `language` and carries no English product word."""
    assert await page.locator("html").get_attribute("lang") == language, page.url
    assert await english_on(page, language, services) == [], page.url


@browser_only
@pytest.mark.browser
async def test_a_german_browser_files_and_follows_a_request_all_in_german(server: str,
                                                                          web_services: Services) -> None:
    from playwright.async_api import async_playwright, expect

    german = translator("de")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = await browser.new_context(locale="de-DE")  # Chromium sends Accept-Language: de-DE
            page = await context.new_page()
            page.set_default_timeout(15_000)

            await page.goto(server + "/")  # anonymous: how to sign in
            await reads(page, "de", web_services)
            await page.goto(server + urlsplit(await link_for(web_services, REQUESTER)).path)
            await reads(page, "de", web_services)
            await page.get_by_role("button", name=german.gettext("Sign in")).click()
            await expect(page.get_by_text(german.gettext("Signed in as {name}.", name="Zack"))).to_be_visible()
            await reads(page, "de", web_services)  # the portal

            await page.get_by_role("link", name="IT Accounts, laptops, software and access.").click()
            await page.wait_for_url("**/new/it")
            await reads(page, "de", web_services)  # the form, with the zone's categories
            await page.get_by_label(german.gettext("Category")).select_option(label="\u2003Laptop")
            await page.get_by_label(german.gettext("Title")).fill(TITLE)
            await page.get_by_label(german.gettext("Description")).fill(DESCRIPTION)
            await page.get_by_role("button", name=german.gettext("File request")).click()
            await page.wait_for_url(re.compile(r"/requests/\d+$"))
            number = int(page.url.rsplit("/", 1)[1])
            filed = german.gettext("Request #{number} is filed with {zone}. You can follow it and answer here.",
                                   number=number, zone="IT")
            await expect(page.get_by_text(filed)).to_be_visible()
            await reads(page, "de", web_services)  # the request page
            oslo = web_services.clock.now().astimezone(ZoneInfo("Europe/Oslo"))
            assert dates.format_skeleton("yMMMd", oslo, locale="de") in await page.locator("main").inner_text()
            assert f"{oslo:%d %b %Y}" not in await page.locator("main").inner_text()  # not the English date

            await page.get_by_role("link", name=german.gettext("My requests")).first.click()
            await page.wait_for_url("**/requests")
            await expect(page.get_by_role("link", name=TITLE)).to_be_visible()
            await reads(page, "de", web_services)

            agent = await (await browser.new_context(locale="de-DE", viewport={"width": 1200, "height": 900})
                           ).new_page()
            agent.set_default_timeout(15_000)
            await agent.goto(server + urlsplit(await link_for(web_services, IT_AGENT)).path)
            await agent.get_by_role("button", name=german.gettext("Sign in")).click()
            await agent.wait_for_url("**/desk")
            await reads(agent, "de", web_services)  # the desk, with the queue
            await agent.get_by_role("link", name=TITLE).first.click()
            await agent.wait_for_url(f"**/requests/{number}")
            await reads(agent, "de", web_services)  # the request page with every form an agent has
            await agent.get_by_role("button", name=german.gettext("Claim")).click()
            claimed = german.gettext("Request #{number} is yours.", number=number)
            await expect(agent.get_by_text(claimed)).to_be_visible()
            await reads(agent, "de", web_services)
            await agent.get_by_role("button", name=german.gettext("Resolve…")).click()
            await agent.wait_for_url(f"**/requests/{number}/resolve")
            await reads(agent, "de", web_services)  # asked before resolving
            await agent.get_by_role("link", name=german.gettext("Back, do not resolve")).click()
            await agent.wait_for_url(f"**/requests/{number}")
            await agent.goto(f"{server}/requests/abc")
            await reads(agent, "de", web_services)  # the router's 404, as the product's own page
        finally:
            await browser.close()


@browser_only
@pytest.mark.browser
async def test_choosing_italian_in_the_footer_makes_the_next_page_italian(server: str,
                                                                         web_services: Services) -> None:
    from playwright.async_api import async_playwright, expect

    german, italian = translator("de"), translator("it")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await (await browser.new_context(locale="de-DE")).new_page()
            page.set_default_timeout(15_000)
            await page.goto(server + urlsplit(await link_for(web_services, REQUESTER)).path)
            await page.get_by_role("button", name=german.gettext("Sign in")).click()
            await page.wait_for_url(server + "/")
            await page.goto(server + "/requests")
            await page.get_by_label(german.gettext("Language")).select_option(label="Italiano")
            await page.get_by_role("button", name=german.gettext("Choose")).click()

            told = italian.gettext("Zonedesk now speaks {language} ({code}) with you.", language="Italiano", code="it")
            await expect(page.get_by_text(told)).to_be_visible()  # told in the language chosen
            assert urlsplit(page.url).path == "/requests"
            await reads(page, "it", web_services)
            await page.get_by_role("link", name=italian.gettext("New request")).first.click()  # the next page
            await expect(page.get_by_role("heading", name=italian.gettext("What do you need help with?"))
                         ).to_be_visible()
            await reads(page, "it", web_services)  # the German header is still sent; the choice wins
        finally:
            await browser.close()


@pytest.fixture
async def german_browser(server: str, web_services: Services) -> AsyncIterator[Callable[[], Browser]]:
    """Browsers over plain HTTP that send `Accept-Language: de-DE`."""
    opened: list[aiohttp.ClientSession] = []

    def open_browser() -> Browser:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     headers={"Accept-Language": "de-DE,de;q=0.9"})
        opened.append(http)
        return Browser(server, http, web_services)

    yield open_browser
    for http in opened:
        await http.close()


async def test_the_desk_s_refusals_and_confirmations_arrive_in_german(german_browser: Callable[[], Browser]
                                                                     ) -> None:
    german = translator("de")
    zack = german_browser()
    await zack.sign_in(REQUESTER)

    refused = await zack.file("   ", "Nur eine Beschreibung.")  # an empty title: the core's DeskError
    assert refused.status == 400 and 'class="flash error"' in refused.html
    assert german.gettext("The title is empty; write a few words.") in refused.text
    assert "The title is empty" not in refused.text
    assert "Nur eine Beschreibung." in refused.text  # what was typed stays, as typed

    filed = await zack.file(TITLE, DESCRIPTION)
    number = number_of(filed)
    assert german.gettext("Request #{number} is filed with {zone}. You can follow it and answer here.",
                          number=number, zone="IT") in filed.text  # the flash, said while filing

    agent = german_browser()
    await agent.sign_in(IT_AGENT)
    await agent.get(f"/requests/{number}")
    moved = await agent.post(f"/requests/{number}/status", {"status": "waiting:requester"})
    assert german.gettext("Request #{number} is now waiting.", number=number) in moved.text
    assert german.gettext("Waiting on requester") in moved.text
    unchosen = await agent.post(f"/requests/{number}/assign", {"assignee": ""})  # the web's own refusal
    assert unchosen.status == 400 and german.gettext("Choose the agent to assign it to.") in unchosen.text

    gone = await zack.get("/requests/999999")  # NotFound from the core, on the 404 page
    assert gone.status == 404 and f"<title>{german.gettext('Not found')} · Nordlys AS</title>" in gone.html
    assert "was not found" not in gone.text

    signed_out = await zack.post("/logout")
    assert german.gettext("You are signed out.") in signed_out.text


def test_dates_on_pages_follow_the_page_s_language() -> None:
    from adapters.web.pages import Pages
    from bot.i18n import speaking

    pages = Pages("Nordlys AS", "Europe/Oslo")
    moment = datetime(2026, 12, 6, 8, 30, tzinfo=ZoneInfo("UTC"))
    assert pages.when(moment) == "06 Dec 2026 09:30"  # English as it always was, in Oslo's time
    with speaking("de"):
        assert pages.when(moment) == "6. Dez. 2026 09:30"
    with speaking("pl"):
        assert pages.when(moment) == "6 gru 2026 09:30"


async def test_the_browser_s_language_is_remembered_for_what_the_desk_writes_them_later(
        german_browser: Callable[[], Browser], web_services: Services) -> None:
    await german_browser().sign_in(REQUESTER)  # never chose: the browser's German is a hint, not a choice
    async with web_services.desk.transaction() as tx:
        assert await tx.language_of(REQUESTER) == "de"  # a reply or reminder to Zack is written in German

    agent = german_browser()
    await agent.sign_in(IT_AGENT)
    await agent.post("/language", {"language": "sv", "next": "/"})  # a saved choice goes before any hint
    await agent.get("/desk")
    async with web_services.desk.transaction() as tx:
        assert await tx.language_of(IT_AGENT) == "sv"


def _strings(value: Any) -> set[str]:
    """Every string inside a form definition (its labels, help, options, in every language given)."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


@browser_only
@pytest.mark.browser
@pytest.mark.parametrize("code", ["nb", "sv", "nl", "it", "pl", "de"])
async def test_the_portal_a_form_and_the_agent_s_request_page_carry_no_english_in_any_language(
        code: str, server: str, web_services: Services) -> None:
    """Each language the desk speaks, walked in Chromium: the portal, the forms, one form, filing, the
    requester's and the agent's request page and the desk; no English product word on any of them (the
    organisation's names, the forms' own texts and what was typed aside)."""
    from playwright.async_api import async_playwright

    said = translator(code)
    catalog = web_services.catalog
    form_texts = frozenset().union(*(_strings(form.model_dump()) for form in catalog.forms.values()))
    exempt = never_translated(web_services) | form_texts

    async def clean(page: Any) -> None:
        assert await page.locator("html").get_attribute("lang") == code, page.url
        shown = [t for t in await page.evaluate(VISIBLE_TEXT) if t not in exempt]
        whole = sorted({t for t in shown if t in english_said_otherwise(code)})
        assert whole + english_left(" \n ".join(shown), code) == [], page.url

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await (await browser.new_context(locale=code)).new_page()
            page.set_default_timeout(15_000)
            await page.goto(server + urlsplit(await link_for(web_services, REQUESTER)).path)
            await clean(page)  # the sign-in page
            await page.get_by_role("button", name=said.gettext("Sign in")).click()
            await page.wait_for_url(server + "/")
            await clean(page)  # the portal
            for path in ("/forms", "/forms/software-access", "/new/it"):
                await page.goto(server + path)
                await clean(page)
            await page.get_by_label(said.gettext("Title")).fill(TITLE)
            await page.get_by_label(said.gettext("Description")).fill(DESCRIPTION)
            await page.get_by_role("button", name=said.gettext("File request")).click()
            await page.wait_for_url(re.compile(r"/requests/\d+$"))
            await clean(page)  # the requester's request page, with the filing's flash
            number = int(page.url.rsplit("/", 1)[1])
            await page.goto(server + "/requests")
            await clean(page)

            agent = await (await browser.new_context(locale=code, viewport={"width": 1200, "height": 900})
                           ).new_page()
            agent.set_default_timeout(15_000)
            await agent.goto(server + urlsplit(await link_for(web_services, IT_AGENT)).path)
            await agent.get_by_role("button", name=said.gettext("Sign in")).click()
            await agent.wait_for_url("**/desk")
            await clean(agent)  # the desk
            await agent.goto(f"{server}/requests/{number}")
            await clean(agent)  # the agent's request page, every form an agent has
        finally:
            await browser.close()
