"""The board in a real browser (Debian's Chromium through Playwright), with Slack live: an agent drags a card
and the requester's Slack thread is told; a refused drag snaps back with the desk's words; the arrow keys and
the confirmation page for cancelling; and the same moves without JavaScript."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.desk import WEB
from bot.model import Request
from bot.server import Services
from tests.conftest import ROOT
from tests.fakes.slack_api import FakeSlackAPI
from tests.slack.conftest import IT_HELP, ZACK, SlackWorld, serving
from tests.slack.conftest import fake as fake  # the fake Slack Web API, as a fixture of this module
from tests.web.conftest import IT_AGENT, REQUESTER, link_for
from tests.web.test_browser import ARGS, CHROMIUM
from tests.web.test_browser import pytestmark as in_a_real_browser

pytestmark = in_a_real_browser
SCREENSHOT = Path("/tmp/zonedesk-board.png")


async def _status(services: Services, number: int) -> str:
    async with services.sessions() as session:
        return str(await session.scalar(select(Request.status).where(Request.id == number)))


async def _sign_in(browser: Any, base: str, services: Services, email: str, **options: Any) -> Any:
    context = await browser.new_context(viewport={"width": 1500, "height": 1000}, **options)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    await page.goto(base + urlsplit(await link_for(services, email)).path)
    await page.get_by_role("button", name="Sign in").click()
    return page


def _column(page: Any, status: str) -> Any:
    return page.locator(f'ol.cards[data-status="{status}"]')


async def _drag(page: Any, number: int, status: str) -> None:
    """Drag a card by its facts (not its link or form) into a column, moving the mouse as a hand does."""
    await page.locator(f"#card-{number} .facts").hover()
    await page.mouse.down()
    target = _column(page, status)
    await target.scroll_into_view_if_needed()  # the board scrolls sideways
    box = await target.bounding_box()
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 20, steps=15)
    await page.mouse.up()


async def test_drag_a_card_and_the_requester_s_slack_thread_is_told(sqlite_url: str, clock: FakeClock,
                                                                     fake: FakeSlackAPI) -> None:
    from playwright.async_api import async_playwright, expect

    async with serving(ROOT / "app.yaml", sqlite_url, clock, fake) as world:
        thread = await world.message(ZACK, "My laptop fan is loud", channel=IT_HELP)
        number = await _newest(world)
        services, base = world.services, world.url.rsplit("/slack/events", 1)[0]
        await world.deliver()
        console: list[str] = []
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = await _sign_in(browser, base, services, IT_AGENT)
                page.on("console", lambda message: console.append(message.text))
                page.on("pageerror", lambda error: console.append(f"page error: {error}"))
                await page.get_by_role("link", name="Board").click()
                card = page.locator(f"#card-{number}")
                await expect(_column(page, "new").locator(f"#card-{number}")).to_be_visible()

                # Allowed: new -> waiting (on the requester), and Zack's Slack thread is told.
                await _drag(page, number, "waiting")
                await expect(page.locator("#board-message")).to_have_text(f"Request #{number} is now waiting.")
                await expect(_column(page, "waiting").locator(f"#card-{number}")).to_be_visible()
                await expect(page.locator("#col-waiting .count")).to_have_text("1")
                await expect(page.locator("#col-new .count")).to_have_text("0")
                assert await _status(services, number) == "waiting"
                await world.deliver()
                told = [m for m in world.posts(IT_HELP) if m.get("thread_ts") == thread]
                assert any(f"Request #{number} is waiting for your answer" in m["text"] for m in told), told

                # Refused: waiting -> new is no move of the status machine; the card snaps back.
                await _drag(page, number, "new")
                await expect(page.locator("#board-message")).to_have_text(
                    f"Request #{number} cannot go from waiting to new: from waiting it can move to: cancelled, "
                    "in_progress, resolved.")
                await expect(_column(page, "waiting").locator(f"#card-{number}")).to_be_visible()
                await expect(page.locator("#col-new .count")).to_have_text("0")
                assert await _status(services, number) == "waiting"
                await page.screenshot(path=str(SCREENSHOT), full_page=True)

                # The keyboard: the left arrow on the focused card moves it to the column before (in progress).
                await card.focus()
                await page.keyboard.press("ArrowLeft")
                await expect(page.locator("#board-message")).to_have_text(f"Request #{number} is now in progress.")
                await expect(_column(page, "in_progress").locator(f"#card-{number}")).to_be_visible()
                assert await _status(services, number) == "in_progress"

                # A drag to Cancelled asks why on its own page, then comes back to the board.
                await _drag(page, number, "cancelled")
                await expect(page.get_by_label("Why is it cancelled?")).to_be_visible()
                assert await _status(services, number) == "in_progress"
                await page.get_by_label("Why is it cancelled?").fill("Zack bought a new laptop himself.")
                await page.get_by_role("button", name="Cancel the request").click()
                await expect(page.get_by_text(f"Request #{number} is now cancelled.")).to_be_visible()
                await expect(_column(page, "cancelled").locator(f"#card-{number}")).to_be_visible()
                assert await _status(services, number) == "cancelled"
            finally:
                await browser.close()
    assert not [line for line in console if "Content Security Policy" in line or "page error" in line], console


async def _newest(world: SlackWorld) -> int:
    async with world.services.sessions() as session:
        return int(await session.scalar(select(func.max(Request.id))) or 0)


async def test_without_javascript_each_card_moves_with_its_form(server: str, web_services: Services) -> None:
    from playwright.async_api import async_playwright, expect

    desk = web_services.desk
    number = (await desk.file_request(desk.actor(REQUESTER), WEB, "Printer jams", zone_id="it")).number
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await _sign_in(browser, server, web_services, IT_AGENT, java_script_enabled=False)
            await page.goto(server + "/board?zone=it")
            card = page.locator(f"#card-{number}")
            await card.focus()  # a card is reached with the keyboard, its form inside it
            await page.keyboard.press("Tab")
            await page.keyboard.press("Tab")
            await page.keyboard.press("Tab")
            await expect(page.get_by_label(f"Move #{number} to")).to_be_focused()
            await page.get_by_label(f"Move #{number} to").select_option(label="In progress")
            await card.get_by_role("button", name="Move").click()
            await expect(page.get_by_text(f"Request #{number} is now in progress.")).to_be_visible()
            await expect(_column(page, "in_progress").locator(f"#card-{number}")).to_be_visible()
            assert await _status(web_services, number) == "in_progress"

            await page.get_by_label(f"Move #{number} to").select_option(label="Resolved")
            await card.get_by_role("button", name="Move").click()
            await page.get_by_label("Resolution note for Zack (optional)").fill("Cleared the paper path.")
            await page.get_by_role("button", name="Resolve").click()
            await expect(page.get_by_text(f"Request #{number} is now resolved.")).to_be_visible()
            assert await _status(web_services, number) == "resolved"
        finally:
            await browser.close()
