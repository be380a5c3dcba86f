"""A real browser (Debian's Chromium through Playwright) edits a request's priority and a personal label."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.desk import WEB
from bot.server import Services
from tests.web.conftest import IT_AGENT, IT_AGENT_2, REQUESTER, link_for

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                       reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"),
]


async def test_an_agent_sets_the_priority_and_a_label_in_a_real_browser(server: str, web_services: Services) -> None:
    from playwright.async_api import async_playwright, expect

    desk = web_services.desk
    number = (await desk.file_request(desk.actor(REQUESTER), WEB, "Laptop fan is loud", zone_id="it")).number

    async def sign_in(context, email: str):  # type: ignore[no-untyped-def]
        page = await context.new_page()
        page.set_default_timeout(15_000)
        await page.goto(server + urlsplit(await link_for(web_services, email)).path)
        await page.get_by_role("button", name="Sign in").click()
        return page

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            agent = await sign_in(await browser.new_context(viewport={"width": 1200, "height": 900}), IT_AGENT)
            await agent.goto(f"{server}/requests/{number}")
            await agent.get_by_text("Edit", exact=True).click()  # the <details> panel opens without script
            await agent.get_by_label("Priority (your weight").select_option("high")
            await agent.get_by_role("button", name="Set priority").click()
            await expect(agent.get_by_text(f"Request #{number} now has priority high.")).to_be_visible()
            said = "Alexis Baker set the weight to High; the priority is High."
            await expect(agent.get_by_text(said)).to_be_visible()

            await agent.get_by_label("Add a label").fill("call-back")
            await agent.get_by_role("button", name="Add label").click()
            await expect(agent.get_by_text(f"Request #{number} is labelled call-back")).to_be_visible()
            await expect(agent.locator(".labels .label", has_text="call-back")).to_be_visible()

            await agent.get_by_label("Add a label").fill("two words")
            await agent.get_by_role("button", name="Add label").click()
            await expect(agent.get_by_text("A label is one word of letters, digits")).to_be_visible()
            await expect(agent.get_by_label("Add a label")).to_have_value("two words")

            colleague = await sign_in(await browser.new_context(), IT_AGENT_2)
            await colleague.goto(f"{server}/requests/{number}")
            await expect(colleague.get_by_text("Laptop fan is loud").first).to_be_visible()
            await expect(colleague.get_by_text("call-back")).to_have_count(0)
        finally:
            await browser.close()
