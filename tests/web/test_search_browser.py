"""Search in a real browser (Debian's Chromium through Playwright): the box in the navigation, a highlighted
result, and opening it; a requester never finds an agent's internal note."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.desk import WEB
from bot.server import Services
from tests.web.conftest import IT_AGENT, REQUESTER, link_for

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                       reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"),
]


async def test_search_from_the_navigation_and_open_a_result(server: str, web_services: Services) -> None:
    from playwright.async_api import async_playwright, expect

    desk = web_services.desk
    zack = desk.actor(REQUESTER)
    number = (await desk.file_request(zack, WEB, "Projector in room Fjord is blurry", "Since the <b>move</b>",
                                      zone_id="it")).number
    await desk.file_request(zack, WEB, "Parking permit", zone_id="facilities")
    await desk.note(desk.actor(IT_AGENT), number, "Lens replacement ordered from the supplier")

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
            box = agent.get_by_role("search").get_by_role("searchbox")
            await box.fill("lens supplier")
            await box.press("Enter")
            await expect(agent.get_by_text("1 request found.")).to_be_visible()
            await expect(agent.locator(".search-results mark", has_text="Lens")).to_be_visible()
            await expect(agent.get_by_text("in an internal note")).to_be_visible()
            await agent.get_by_role("link", name=f"#{number} Projector in room Fjord is blurry").click()
            await expect(agent).to_have_url(f"{server}/requests/{number}")
            await expect(agent.get_by_text("Lens replacement ordered from the supplier")).to_be_visible()

            requester = await sign_in(await browser.new_context(), REQUESTER)
            await requester.goto(f"{server}/search?q=lens")
            await expect(requester.get_by_text("Nothing found for “lens”.")).to_be_visible()
            await requester.get_by_role("main").get_by_label("Words to look for").fill("projector")
            await requester.get_by_role("main").get_by_role("button", name="Search").click()
            await expect(requester.locator(".search-results mark", has_text="Projector")).to_be_visible()
            await expect(requester.get_by_text("Since the <b>move</b>")).to_be_visible()  # escaped, as typed
            await requester.get_by_role("link", name=f"#{number} Projector in room Fjord is blurry").click()
            await expect(requester).to_have_url(f"{server}/requests/{number}")
        finally:
            await browser.close()
