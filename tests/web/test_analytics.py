"""`/analytics` and `/analytics.csv` over HTTP: a zone manager and an agent read their figures, a requester
and the admin role get the 404 page, a private team counts only for its members, and the page reads in the
visit's language with no script."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import aiohttp
import pytest

from bot.access import Actor
from bot.desk import WEB
from bot.i18n import translator
from bot.server import Services
from tests.untranslated import english_left
from tests.web.conftest import HR_AGENT, HR_PRIVATE, IT_AGENT, IT_AGENT_2, REQUESTER, Browser, Page

ADMIN = "admin@nordlys.example"
APPROVER = "marte.viken@nordlys.example"
_DATA = re.compile(r'<script type="application/json" id="analytics-data">(.*?)</script>', re.S)
_NAV = re.compile(r"<nav>(.*?)</nav>", re.S)


@pytest.fixture
async def filed(web_services: Services) -> dict[str, int]:
    """Three IT requests (one answered and resolved), an HR one and one in HR's private team, all today."""
    desk = web_services.desk

    def who(email: str) -> Actor:
        return desk.actor(email)

    async def file(title: str, zone: str, category: str | None = None) -> int:
        return (await desk.file_request(who(REQUESTER), WEB, title, zone_id=zone, category_id=category)).number

    numbers = {"laptop": await file("Laptop fan is loud", "it", "laptop"), "vpn": await file("VPN drops", "it"),
               "wiki": await file("Wiki login fails", "it"), "leave": await file("Parental leave", "hr", "leave"),
               "private": await file("A situation in my team", "hr", "sensitive")}
    web_services.clock.advance(timedelta(minutes=45))
    await desk.reply(who(IT_AGENT), numbers["laptop"], "Cleaning the fan fixes it.")
    await desk.set_status(who(IT_AGENT), numbers["laptop"], "resolved")
    return numbers


@pytest.fixture
async def speaking(server: str, web_services: Services) -> AsyncIterator[Callable[[str], Browser]]:
    """Open a browser that sends an Accept-Language header."""
    opened: list[aiohttp.ClientSession] = []

    def open_browser(accept_language: str) -> Browser:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     headers={"Accept-Language": accept_language})
        opened.append(http)
        return Browser(server, http, web_services)

    yield open_browser
    for http in opened:
        await http.close()


async def _signed_in(browsers: Callable[[], Browser], email: str) -> Browser:
    browser = browsers()
    await browser.sign_in(email)
    return browser


async def _csv(browser: Browser, query: str = "") -> tuple[int, dict[str, str], list[dict[str, str]]]:
    async with browser.http.get(f"{browser.base}/analytics.csv{query}") as response:
        text = await response.text()
        return response.status, dict(response.headers), (
            list(csv.DictReader(io.StringIO(text))) if response.status == 200 else [])


def _offers_analytics(page: Page) -> bool:
    found = _NAV.search(page.html)
    assert found, "no navigation"
    return 'href="/analytics"' in found.group(1)


async def test_a_zone_manager_reads_the_figures_of_their_zone(browsers: Callable[[], Browser],
                                                             filed: dict[str, int]) -> None:
    ivar = await _signed_in(browsers, IT_AGENT_2)  # manages IT
    page = await ivar.get("/analytics")
    assert page.status == 200 and _offers_analytics(page)
    for heading in ("Summary", "Volume and backlog", "First response time", "Resolution time", "SLA attainment",
                    "Satisfaction"):
        assert f"<h2>{heading} <a class=\"csv\"" in page.html, heading
    assert "From filing to an agent's first public reply" in page.text
    assert "counted in working hours of each request's calendar" in page.text
    assert not re.search(r"\bzones?\b", page.text, re.I), "every page says department, never zone"
    # Only our own script files run (they draw the charts from the JSON); nothing inline, nothing from elsewhere.
    scripts = re.findall(r"<script([^>]*)>", page.html)
    assert sorted(scripts) == sorted([' type="application/json" id="analytics-data"',
                                      ' src="/static/vendor/chartjs/chart.umd.min.js"', ' src="/static/analytics.js"'])
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp and "default-src 'none'" in csp
    found = _DATA.search(page.html)
    assert found
    data = json.loads(found.group(1))
    assert sum(data["volume"]["filed"]) == 3 and sum(data["volume"]["resolved"]) == 1
    assert data["first_response"]["median_seconds"][-1] == 45 * 60
    # The form offers what his figures cover: IT, IT support, IT's categories, and no other zone.
    assert re.findall(r'<select id="f-zone" name="zone">(.*?)</select>', page.html, re.S)[0].count("<option") == 2
    assert 'value="laptop"' in page.html and 'value="leave"' not in page.html

    status, headers, rows = await _csv(ivar)
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"].startswith('attachment; filename="analytics-summary-')
    assert sum(int(r["filed"]) for r in rows) == 3 and rows[-1]["first_response_median_hours"] == "0.75"
    status, _headers, volume = await _csv(ivar, "?table=volume&period=range")
    assert status == 200 and [(r["filed"], r["resolved"], r["open_at_end"]) for r in volume] == [("3", "1", "2")]
    assert (await _csv(ivar, "?table=passwords"))[0] == 404
    # HR is not his to read.
    refused = await ivar.get("/analytics?zone=hr")
    assert refused.status == 404 and "There is no page at this address" in refused.text
    assert (await _csv(ivar, "?zone=hr"))[0] == 404


async def test_an_agent_reads_their_team_s_figures(browsers: Callable[[], Browser], filed: dict[str, int]) -> None:
    alexis = await _signed_in(browsers, IT_AGENT)
    page = await alexis.get("/analytics?category=hardware&period=range")
    assert page.status == 200 and _offers_analytics(page)
    status, _headers, rows = await _csv(alexis, "?category=hardware&period=range&table=volume")
    assert status == 200 and rows[0]["filed"] == "1"  # the laptop, under hardware


@pytest.mark.parametrize("email", [REQUESTER, ADMIN, APPROVER])
async def test_people_without_figures_get_the_404_page(browsers: Callable[[], Browser], filed: dict[str, int],
                                                        email: str) -> None:
    browser = await _signed_in(browsers, email)
    home = await browser.get("/")
    assert not _offers_analytics(home)
    for path in ("/analytics", "/analytics?zone=it", "/analytics?from=never"):
        page = await browser.get(path)
        assert page.status == 404 and "Not found" in page.text, path
        assert "Volume and backlog" not in page.text and "analytics-data" not in page.html, path
    assert (await _csv(browser))[0] == 404


async def test_signing_in_comes_first(browsers: Callable[[], Browser]) -> None:
    page = await browsers().get("/analytics")
    assert page.status == 401 and "Volume and backlog" not in page.text


async def test_a_private_team_s_request_counts_only_for_its_members(browsers: Callable[[], Browser],
                                                                    filed: dict[str, int]) -> None:
    hanna = await _signed_in(browsers, HR_AGENT)  # HR service only
    olav = await _signed_in(browsers, HR_PRIVATE)  # manages HR, in Employee relations
    assert [r["filed"] for r in (await _csv(hanna, "?period=range&table=volume"))[2]] == ["1"]
    assert [r["filed"] for r in (await _csv(olav, "?period=range&table=volume"))[2]] == ["2"]
    assert (await _csv(hanna, "?team=employee-relations"))[0] == 404
    assert (await hanna.get("/analytics?team=employee-relations")).status == 404


async def test_a_date_that_is_none_is_said_above_the_form(browsers: Callable[[], Browser],
                                                          filed: dict[str, int]) -> None:
    ivar = await _signed_in(browsers, IT_AGENT_2)
    page = await ivar.get("/analytics?from=24.11.2026")
    assert page.status == 400
    assert "The 'from' date '24.11.2026' is not a date; write it as YYYY-MM-DD." in page.text
    assert 'value="24.11.2026"' in page.html, "what was typed stays in the form"
    assert (await _csv(ivar, "?to=2026-11-01&from=2026-12-01"))[0] == 400


async def test_the_page_reads_in_the_visit_s_language(speaking: Callable[[str], Browser],
                                                      filed: dict[str, int]) -> None:
    german = speaking("de-DE,de;q=0.9")
    await german.sign_in(IT_AGENT_2)
    page = await german.get("/analytics")
    said = translator("de")
    assert page.status == 200 and '<html lang="de">' in page.html
    for word in ("Analytics", "Volume and backlog", "Open at the end", "90th percentile", "Whole range"):
        assert said.gettext(word) != word and said.gettext(word) in page.text, word
    assert english_left(page.text, "de") == []


async def test_the_lists_behind_the_figures_name_only_readable_requests_escaped_and_neutralised(
        browsers: Callable[[], Browser], filed: dict[str, int], web_services: Services) -> None:
    from bot.model import Survey

    now = web_services.clock.now()
    async with web_services.sessions() as session, session.begin():  # what a rated survey leaves behind
        for number, comment in ((filed["laptop"], '=HYPERLINK("http://evil.example") <b>quick</b>'),
                                (filed["private"], "About my manager")):
            session.add(Survey(request_id=number, requester_email=REQUESTER, status="answered", rating=4,
                               comment=comment, sent_at=now, expires_at=now + timedelta(days=7), answered_at=now))
    ivar = await _signed_in(browsers, IT_AGENT_2)  # manages IT
    page = await ivar.get("/analytics")
    assert page.status == 200
    for heading in ("Age of the open backlog", "Breaches", "Latest comments"):
        assert f">{heading} <a class=\"csv\"" in page.html, heading
    assert "&lt;b&gt;quick&lt;/b&gt;" in page.html and "<b>quick</b>" not in page.html
    assert "About my manager" not in page.text
    assert "No target of a request filed in this range was breached." in page.text
    status, _headers, rows = await _csv(ivar, "?table=comments")
    assert status == 200 and [(r["number"], r["rating"]) for r in rows] == [(str(filed["laptop"]), "4")]
    assert rows[0]["comment"].startswith("'=HYPERLINK"), "a formula is neutralised"
    _status, _headers, ages = await _csv(ivar, "?table=backlog_age")
    assert {r["age"]: r["open_requests"] for r in ages}["under_1_day"] == "2"  # VPN and wiki are open
    olav = await _signed_in(browsers, HR_PRIVATE)  # in the private team, manages HR
    assert "About my manager" in (await olav.get("/analytics?zone=hr")).text
