"""A real browser (Debian's Chromium through Playwright) ticks three requests on the desk and replies to
all of them from the bulk bar; the Slack fake then receives the reply in each reporter's own thread."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.slack.conftest import FRIDA, HANNA, IT_HELP, ZACK, SlackWorld, block_text
from tests.web.conftest import IT_AGENT, link_for
from tests.web.test_browser import ARGS, CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                       reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"),
]
SCREENSHOT = Path("/tmp/zonedesk-bulk-reply.png")


async def test_a_bulk_reply_from_the_browser_reaches_three_slack_threads(slack: SlackWorld) -> None:
    from playwright.async_api import async_playwright, expect

    threads = {}
    for number, user in enumerate((ZACK, HANNA, FRIDA), start=1):
        threads[number] = await slack.message(user, f"Printer on floor 3 is offline ({user})", channel=IT_HELP)
    await slack.deliver()
    server = slack.url.removesuffix("/slack/events")
    before = len(slack.fake.calls_to("chat.postMessage"))

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await (await browser.new_context(viewport={"width": 1200, "height": 900})).new_page()
            page.set_default_timeout(15_000)
            await page.goto(server + urlsplit(await link_for(slack.services, IT_AGENT)).path)
            await page.get_by_role("button", name="Sign in").click()
            await page.goto(f"{server}/desk")
            queue = page.locator("#queue + p + table")  # the queue's table, after its heading and hint
            for number in threads:
                await queue.get_by_label(f"Select #{number}", exact=True).check()
            await page.get_by_label("A public reply, delivered to each requester in their own thread").fill(
                "The printer is back; your jobs will print now.")
            await page.get_by_role("button", name="Reply to the selected").click()
            await expect(page.get_by_role("heading", name="What was done")).to_be_visible()
            done = page.locator("ul.done li")
            await expect(done).to_have_text(["#3", "#2", "#1"])  # in the order the queue shows them
            await expect(page.locator("ul.refused")).to_have_count(0)
            await page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            await browser.close()

    await slack.deliver()  # the outbox worker's round: the replies go to Slack
    posted = {c.args["thread_ts"]: block_text(c.args.get("blocks") or [])
              for c in slack.fake.calls_to("chat.postMessage")[before:]
              if c.args.get("channel") == IT_HELP and c.args.get("thread_ts")}
    assert set(posted) == set(threads.values())
    assert all("The printer is back; your jobs will print now." in text for text in posted.values())
