"""A real browser (Debian's Chromium through Playwright) builds a filtered list, saves it as a view, opens the
view and downloads its CSV, as an agent would, with no script on the page."""

from __future__ import annotations

import csv
import io
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.clock import FakeClock
from bot.desk import WEB
from bot.server import Services
from tests.web.conftest import IT_AGENT, REQUESTER, link_for

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SCREENSHOT = Path("/tmp/zonedesk-list.png")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                       reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"),
]


async def test_build_save_open_and_export_a_view_in_a_real_browser(server: str, web_services: Services,
                                                                   clock: FakeClock, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    desk = web_services.desk
    numbers = {}
    for title, zone in (("Printer jams on tray 2", "it"), ("=cmd|' /C calc'!A0 printer", "it"),
                        ("Laptop fan is loud", "it"), ("Printer in HR is out of toner", "hr")):
        clock.advance(timedelta(minutes=1))
        numbers[title] = (await desk.file_request(desk.actor(REQUESTER), WEB, title, zone_id=zone)).number
    clock.advance(timedelta(minutes=1))
    await desk.claim(desk.actor(IT_AGENT), numbers["Laptop fan is loud"])

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1300, "height": 1000}, accept_downloads=True)
            page = await context.new_page()
            page.set_default_timeout(15_000)
            await page.goto(server + urlsplit(await link_for(web_services, IT_AGENT)).path)
            await page.get_by_role("button", name="Sign in").click()

            await page.get_by_role("link", name="Lists").click()
            await page.get_by_label("List").select_option(label="Everything I may see")
            await page.get_by_label("Text").fill("printer")
            await page.locator("#f-assignee").select_option(label="Nobody")
            await page.get_by_label("Sort by").select_option(label="Number")
            await page.get_by_label("Order").select_option(label="Ascending")
            columns = page.locator("details.columns")
            await columns.get_by_text("Columns", exact=True).click()
            await columns.get_by_label("Updated").uncheck()
            await columns.get_by_label("Department").uncheck()  # the organisation's word for a zone
            await columns.get_by_label("Requester").check()
            await page.get_by_role("button", name="Show").click()
            rows = page.locator("table.requests tbody tr")
            await expect(rows).to_have_count(2)  # HR's printer is not hers, the laptop is assigned
            await expect(page.get_by_role("link", name="Printer jams on tray 2")).to_be_visible()
            assert "<script" not in await page.content()

            await page.get_by_label("Name", exact=True).fill("Unassigned printers")
            await page.get_by_role("button", name="Save view").click()
            await expect(page.get_by_text("Saved the view 'Unassigned printers'.")).to_be_visible()
            await expect(page.get_by_role("heading", name="Unassigned printers")).to_be_visible()
            await expect(rows).to_have_count(2)

            await page.get_by_role("link", name="Saved views").first.click()
            await page.get_by_role("link", name="Unassigned printers").click()
            await expect(rows).to_have_count(2)
            await page.screenshot(path=str(SCREENSHOT), full_page=True)
            async with page.expect_download() as waiting:
                await page.get_by_role("link", name="Export as CSV").click()
            download = await waiting.value
            path = tmp_path / "view.csv"
            await download.save_as(str(path))
            table = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
            assert table[0] == ["Number", "Title", "Status", "Priority", "Assignee", "Requester"]
            assert [r[0] for r in table[1:]] == [str(numbers["Printer jams on tray 2"]),
                                                 str(numbers["=cmd|' /C calc'!A0 printer"])]
            assert table[2][1] == "'=cmd|' /C calc'!A0 printer"  # a formula would run in a spreadsheet
            assert table[1][5] == "Zack"
        finally:
            await browser.close()
