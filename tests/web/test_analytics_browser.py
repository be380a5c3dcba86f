"""A zone manager reads the analytics charts in a real browser (Debian's Chromium through Playwright): each chart
is drawn with the numbers of the table beneath it, follows the filter, and the page's strict CSP holds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.analytics import TABLES
from bot.server import Services
from tests.web.conftest import IT_AGENT_2, link_for
from tests.web.test_analytics import filed  # noqa: F401  (the small history: three IT requests, one answered)
from tests.web.test_browser import ARGS, CHROMIUM
from tests.web.test_browser import pytestmark as in_a_real_browser  # the browser mark, and the skip without Chromium

# The small history has no SLA target: that section says so instead of drawing an empty chart.
SCREENSHOT = Path("/tmp/zonedesk-analytics.png")
CHARTS = ("volume", "first_response", "resolution", "satisfaction")

# What Chart.js drew on each canvas, as plain data.
DRAWN = """() => Object.fromEntries([...document.querySelectorAll("canvas[id^=chart-]")].map(canvas => {
  const chart = Chart.getChart(canvas);
  return [canvas.id.slice(6), chart && {labels: chart.data.labels,
    series: chart.data.datasets.map(d => ({label: d.label, data: d.data})),
    name: document.getElementById(canvas.getAttribute("aria-labelledby")).textContent.trim()}];
}))"""

# The cells of a section's table, per period row (the "Whole range" row left out).
TABLE = """(id) => [...document.querySelectorAll(`#${id} > table tbody tr:not(.total)`)].map(
  row => [...row.querySelectorAll("td")].map(cell => cell.textContent.trim()))"""


def _series(chart: dict[str, Any], label: str) -> list[Any]:
    return next(s["data"] for s in chart["series"] if s["label"] == label)


@pytest.mark.usefixtures("filed")
@in_a_real_browser[0]
@in_a_real_browser[1]
async def test_a_zone_manager_reads_the_charts_of_their_figures(server: str, web_services: Services,
                                                                tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
            page = await context.new_page()
            page.set_default_timeout(15_000)
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            page.on("pageerror", lambda error: console.append(f"page error: {error}"))
            await page.goto(server + urlsplit(await link_for(web_services, IT_AGENT_2)).path)  # manages IT
            await page.get_by_role("button", name="Sign in").click()
            await page.get_by_role("link", name="Analytics").click()
            await expect(page.get_by_role("heading", name="Volume and backlog")).to_be_visible()

            await page.screenshot(path=str(SCREENSHOT), full_page=True)
            drawn = await page.evaluate(DRAWN)
            assert sorted(drawn) == sorted(CHARTS) and all(drawn.values()), drawn
            await expect(page.get_by_text("No request filed in this range has an SLA target.")).to_be_visible()
            for key in CHARTS:  # each chart has a name people hear, and sits above its table
                await expect(page.get_by_role("img", name=drawn[key]["name"])).to_be_visible()
                assert await page.locator(f"#{key} figure.chart + table, #{key} figure.chart ~ table").count() == 1
            volume, first = await page.evaluate(TABLE, "volume"), await page.evaluate(TABLE, "first_response")
            chart = drawn["volume"]
            assert chart["labels"] == [row[0] for row in volume]
            assert _series(chart, "Filed") == [int(row[1]) for row in volume] and sum(_series(chart, "Filed")) == 3
            assert _series(chart, "Resolved") == [int(row[2]) for row in volume]
            assert _series(chart, "Open at the end") == [int(row[6]) for row in volume]
            # 45 minutes to the first reply: 0.75 h drawn, "45 min" in the table.
            assert _series(drawn["first_response"], "Median")[-1] == 0.75 and first[-1][2] == "45 min"
            assert [row[0] for row in first] == drawn["first_response"]["labels"]
            assert drawn["satisfaction"]["labels"] == ["1", "2", "3", "4", "5"]

            # Only the laptop request: the charts follow the filter.
            await page.get_by_label("Category").select_option(label="\u2003Laptop")
            await page.get_by_role("button", name="Show").click()
            await expect(page).to_have_url(re.compile(r"category=laptop"))
            narrowed = await page.evaluate(DRAWN)
            assert sum(_series(narrowed["volume"], "Filed")) == 1
            assert _series(narrowed["volume"], "Filed") == [int(row[1]) for row in await page.evaluate(TABLE, "volume")]

            async with page.expect_download() as download:
                await page.locator("#summary a.csv").click()
            saved = tmp_path / (await download.value).suggested_filename
            await (await download.value).save_as(saved)
            assert saved.name.startswith("analytics-summary-")
            assert saved.read_text(encoding="utf-8").splitlines()[0] == ",".join(TABLES["summary"][0])
        finally:
            await browser.close()
    assert not [line for line in console if "Content Security Policy" in line or "page error" in line], console


def test_the_sla_chart_stacks_every_target_of_a_period_together() -> None:
    """Met, breached and running per period, summed over the targets the SLA table lists one per row."""
    from datetime import date
    from types import SimpleNamespace

    from adapters.web.analytics import charts

    days = [SimpleNamespace(index=i, first=date(2026, 11, 23 + i), last=date(2026, 11, 23 + i)) for i in range(2)]
    durations = [SimpleNamespace(median=None, p90=None) for _unused in days]
    report = SimpleNamespace(
        periods=SimpleNamespace(periods=days), volume=[SimpleNamespace(filed=0, resolved=0, open_at_end=0)] * 2,
        first_response=durations, resolution=durations,
        sla=[SimpleNamespace(period=days[0], met=2, breached=1, running=0),
             SimpleNamespace(period=days[0], met=1, breached=0, running=3),
             SimpleNamespace(period=days[1], met=0, breached=0, running=1)],
        totals=SimpleNamespace(satisfaction=SimpleNamespace(ratings=(0, 0, 1, 0, 4))))
    drawn = {chart["id"]: chart for chart in charts(report)}  # type: ignore[arg-type]
    sla = drawn["sla"]
    assert sla["stacked"] and sla["labels"] == ["23 Nov 2026", "24 Nov 2026"]
    assert [(s["label"], s["data"]) for s in sla["series"]] == [("Met", [3, 0]), ("Breached", [1, 0]),
                                                                 ("Running", [3, 1])]
    assert drawn["satisfaction"]["series"][0]["data"] == [0, 0, 1, 0, 4]
    assert sla["caption"] == "SLA targets met, breached and running, per period, every target together"
