"""In a real browser (Debian's Chromium through Playwright): a form's answers show once, in the form's
order and in words, and the history reads as sentences; the requester sees only what is meant for them."""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.catalog import file_form
from bot.desk import WEB
from bot.server import Services
from tests.web.conftest import IT_AGENT, REQUESTER, link_for
from tests.web.test_browser import ARGS, CHROMIUM, pytestmark  # noqa: F401 - the same marks and skip

ANSWERS = {"application": "figma", "access-level": "editor", "needed-by": "2026-12-06",
           "reason": "Design reviews with <b>the agency</b>"}


async def test_answers_once_and_history_in_words_for_each_reader(server: str, web_services: Services) -> None:
    from playwright.async_api import async_playwright, expect

    zack = web_services.desk.actor(REQUESTER, "Zack")
    filed = await file_form(web_services.desk, web_services.catalog, zack, WEB, "software-access", ANSWERS)
    assert not isinstance(filed, dict), filed
    number = filed.number

    async def sign_in(context, email: str):  # type: ignore[no-untyped-def]
        page = await context.new_page()
        page.set_default_timeout(15_000)
        await page.goto(server + urlsplit(await link_for(web_services, email)).path)
        await page.get_by_role("button", name="Sign in").click()
        await page.goto(f"{server}/requests/{number}")
        return page

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            agent = await sign_in(await browser.new_context(viewport={"width": 1200, "height": 900}), IT_AGENT)
            await expect(agent.get_by_role("heading", name=f"#{number} · Access to Figma")).to_be_visible()
            answers = agent.locator("dl.answers")
            await expect(answers.locator("dt")).to_have_text(
                ["Application", "Access level", "Why do you need it?", "Needed by"])
            await expect(answers.locator("dd")).to_have_text(
                ["Figma", "editor", "Design reviews with <b>the agency</b>", "6 December 2026"])
            await expect(agent.get_by_text("Application: Figma")).to_have_count(0)  # the description: not again
            await agent.get_by_label("Internal note").fill("Licence pool is empty until Monday.")
            await agent.get_by_role("button", name="Add note").click()
            await expect(agent.get_by_text("Internal note added.")).to_be_visible()
            await agent.get_by_label("Move to").select_option(label="Waiting on requester")
            await agent.get_by_role("button", name="Set status").click()
            history = agent.locator("ol.history li")
            await expect(history).to_have_count(3)
            await expect(history.nth(0)).to_contain_text("Zack filed it with IT, category Software access.")
            await expect(history.nth(1)).to_contain_text("Alexis Baker added an internal note.")
            await expect(history.nth(2)).to_contain_text("Alexis Baker moved it from New to Waiting on requester.")

            requester = await sign_in(await browser.new_context(), REQUESTER)
            await expect(requester.locator("dl.answers dd")).to_have_text(
                ["Figma", "editor", "Design reviews with <b>the agency</b>", "6 December 2026"])
            mine = requester.locator("ol.history li")
            await expect(mine).to_have_count(2)
            await expect(mine.nth(0)).to_contain_text("Zack filed it with IT, category Software access.")
            await expect(mine.nth(1)).to_contain_text("Alexis Baker moved it from New to Waiting on requester.")
            await expect(requester.get_by_text("internal note")).to_have_count(0)
            await expect(requester.get_by_text("Licence pool is empty")).to_have_count(0)
        finally:
            await browser.close()
