"""A real browser (Debian's Chromium through Playwright) files, answers and is refused, as people would."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.i18n import translator
from bot.server import Services
from tests.web.conftest import HR_AGENT, IT_AGENT, REQUESTER, link_for

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SCREENSHOT = Path("/tmp/zonedesk-web.png")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                       reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"),
]


async def test_file_answer_and_refuse_in_a_real_browser(server: str, web_services: Services) -> None:
    from playwright.async_api import async_playwright, expect

    async def sign_in(context, email: str):  # type: ignore[no-untyped-def]
        page = await context.new_page()
        page.set_default_timeout(15_000)
        await page.goto(server + urlsplit(await link_for(web_services, email)).path)
        await page.get_by_role("button", name="Sign in").click()
        return page

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            requester = await sign_in(await browser.new_context(), REQUESTER)
            await expect(requester.get_by_text("Signed in as Zack.")).to_be_visible()
            await requester.get_by_role("link", name="IT Accounts, laptops, software and access.").click()
            await requester.get_by_label("Category").select_option(label="\u2003Laptop")
            await requester.get_by_label("Title").fill("Laptop fan is loud")
            await requester.get_by_label("Description").fill("It sounds like a <jet> since Monday.")
            await requester.get_by_role("button", name="File request").click()
            await expect(requester.get_by_text("is filed with IT")).to_be_visible()
            number = int(requester.url.rsplit("/", 1)[1])
            await expect(requester.get_by_text("It sounds like a <jet> since Monday.")).to_be_visible()

            agent = await sign_in(await browser.new_context(viewport={"width": 1200, "height": 900}), IT_AGENT)
            await agent.get_by_role("link", name="Laptop fan is loud").first.click()
            await agent.get_by_label("Reply to Zack").fill("Bring it to the IT desk at 14:00, we swap the fan.")
            await agent.get_by_role("button", name="Send reply").click()
            await expect(agent.get_by_text("Your reply is sent to the requester.")).to_be_visible()
            await agent.get_by_label("Internal note").fill("Spare fans are in cabinet B.")
            await agent.get_by_role("button", name="Add note").click()
            await expect(agent.get_by_text("Internal note added.")).to_be_visible()
            await agent.screenshot(path=str(SCREENSHOT), full_page=True)

            await requester.reload()
            await expect(requester.get_by_text("Bring it to the IT desk at 14:00, we swap the fan.")).to_be_visible()
            await expect(requester.get_by_text("Spare fans are in cabinet B.")).to_have_count(0)

            outsider = await sign_in(await browser.new_context(), HR_AGENT)
            response = await outsider.goto(f"{server}/requests/{number}")
            assert response is not None and response.status == 404
            await expect(outsider.get_by_text(f"Request #{number} was not found.")).to_be_visible()
            await expect(outsider.get_by_text("Laptop fan is loud")).to_have_count(0)
        finally:
            await browser.close()


async def test_inserting_a_saved_reply_keeps_the_draft_in_a_real_browser(server: str, web_services: Services) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = await browser.new_context()
            page = await context.new_page()
            page.set_default_timeout(15_000)
            await page.goto(server + urlsplit(await link_for(web_services, REQUESTER)).path)
            await page.get_by_role("button", name="Sign in").click()
            await page.goto(f"{server}/new/it")
            await page.get_by_label("Title").fill("Need Jira")
            await page.get_by_role("button", name="File request").click()
            number = int(page.url.rsplit("/", 1)[1])

            agent = await (await browser.new_context()).new_page()
            agent.set_default_timeout(15_000)
            await agent.goto(server + urlsplit(await link_for(web_services, IT_AGENT)).path)
            await agent.get_by_role("button", name="Sign in").click()
            await agent.goto(f"{server}/requests/{number}")
            box = agent.get_by_label("Reply to Zack")
            await box.fill("You are in the jira-users group now.")
            await agent.get_by_label("Saved reply").select_option(label="Access granted")
            await agent.get_by_role("button", name="Insert", exact=True).click()
            await expect(box).to_have_value(re.compile(
                r"^You are in the jira-users group now\.\n\nHi Zack, you now have access\..*"
                rf"we reopen #{number}\.\nBest regards, Alexis Baker \(IT\)$", re.S))
            await expect(box).to_be_focused()

            await box.fill("")  # an empty box may take a saved reply too: Insert does not need a draft
            await agent.get_by_role("button", name="Insert", exact=True).click()
            await expect(box).to_have_value(re.compile(r"^Hi Zack, you now have access\."))
            await agent.get_by_role("button", name="Send reply").click()
            await expect(agent.get_by_text("Your reply is sent to the requester.")).to_be_visible()

            await page.reload()
            await expect(page.get_by_text("Hi Zack, you now have access.", exact=False)).to_be_visible()
        finally:
            await browser.close()


async def test_a_german_browser_chooses_norwegian_in_the_footer(server: str, web_services: Services) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = await browser.new_context(locale="de-DE", extra_http_headers={"Accept-Language": "de"})
            page = await context.new_page()
            page.set_default_timeout(15_000)
            await page.goto(server + urlsplit(await link_for(web_services, REQUESTER)).path)
            await expect(page.locator("html")).to_have_attribute("lang", "de")
            german = translator("de")  # the page's own words in German, as the catalogue has them
            await page.get_by_role("button", name=german.gettext("Sign in")).click()
            await expect(page.locator("html")).to_have_attribute("lang", "de")  # signing in chose nothing
            await page.get_by_role("link", name=german.gettext("My requests")).click()
            await page.get_by_label(german.gettext("Language")).select_option(label="Norsk bokmål")
            await page.get_by_role("button", name=german.gettext("Choose")).click()
            await expect(page.get_by_text("Zonedesk snakker nå Norsk bokmål (nb) med deg.")).to_be_visible()
            await expect(page.get_by_role("link", name="Mine saker")).to_be_visible()  # the frame is Norwegian now
            assert urlsplit(page.url).path == "/requests"  # back on the page it was on
            await expect(page.locator("html")).to_have_attribute("lang", "nb")
            await page.goto(f"{server}/")  # the next page, still with the German header
            await expect(page.locator("html")).to_have_attribute("lang", "nb")
        finally:
            await browser.close()
