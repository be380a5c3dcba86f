"""A real browser (Debian's Chromium through Playwright) signs in from a chat link, with no administrator:
the request link a message carries, the sign-in page's "send me a link", the link from the fake Slack's DM."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.slack.conftest import IT_HELP, ZACK, SlackWorld, block_text
from tests.web.test_browser import ARGS, CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                       reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"),
]
SCREENSHOT = Path("/tmp/zonedesk-signin-from-chat.png")


async def test_sign_in_from_a_chat_link_in_a_real_browser(slack: SlackWorld) -> None:
    from playwright.async_api import async_playwright, expect

    await slack.message(ZACK, "VPN drops every hour", channel=IT_HELP)  # request #1; Zack is known in Slack
    await slack.deliver()
    server = slack.url.removesuffix("/slack/events")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await (await browser.new_context()).new_page()
            page.set_default_timeout(15_000)
            response = await page.goto(f"{server}/requests/1")  # "Open in Zonedesk" from the message, signed out
            assert response is not None and response.status == 401
            await page.get_by_label("Your work e-mail").fill("zack@nordlys.example")
            await page.get_by_role("button", name="Send me a sign-in link in Slack").click()
            await expect(page.get_by_text("a sign-in link is on its way to their direct messages")).to_be_visible()
            assert page.url == f"{server}/requests/1"

            await slack.deliver()
            [dm] = slack.posts(f"D{ZACK}")
            [link] = re.findall(r"<(https?://[^|>]+/login/[^|>]+)\|", block_text(dm["blocks"]))
            await page.goto(server + urlsplit(link).path)  # base_url points elsewhere in tests
            await page.get_by_role("button", name="Sign in").click()

            await expect(page.get_by_text("Signed in as")).to_be_visible()
            assert page.url == f"{server}/requests/1"
            await expect(page.get_by_text("VPN drops every hour").first).to_be_visible()
            await page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            await browser.close()
