"""`/list`, its CSV and saved views over HTTP: filters, columns and order in the page itself (no script), pages
that follow one another, a bad value said above the form, views personal and shared with a team (a
non-member is told "not found"), and exports with every matching row, hidden requests absent and formula
cells neutralised."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from bot.clock import FakeClock
from bot.desk import WEB
from bot.server import Services
from tests.web.conftest import HR_AGENT, HR_PRIVATE, IT_AGENT, IT_AGENT_2, REQUESTER, Browser, Page

FINANCE = "erika.schmitt@nordlys.example"
_ROW = re.compile(r'<a href="/requests/(\d+)">#\d+</a>')
_VIEW = re.compile(r'href="/views/(\d+)"')


def listed(page: Page) -> list[int]:
    return [int(n) for n in _ROW.findall(page.html)]


async def csv_of(browser: Browser, path: str) -> tuple[int, dict[str, str], list[list[str]]]:
    async with browser.http.get(browser.base + path) as response:
        body = await response.text()
        return response.status, dict(response.headers), list(csv.reader(io.StringIO(body)))


@pytest.fixture
async def filed(web_services: Services, clock: FakeClock) -> dict[str, int]:
    desk = web_services.desk

    async def file(email: str, title: str, zone: str = "it", category: str | None = None) -> int:
        clock.advance(timedelta(minutes=1))
        return (await desk.file_request(desk.actor(email), WEB, title, zone_id=zone, category_id=category)).number

    n = {
        "printer": await file(REQUESTER, "Printer jams on tray 2"),
        "formula": await file(REQUESTER, "=HYPERLINK(\"http://evil.example\",\"click\")"),
        "laptop": await file("max.meyer@nordlys.example", "Laptop fan is loud", category="hardware"),
        "leave": await file(REQUESTER, "Parental leave from May", "hr", "leave"),
        "secret": await file("max.meyer@nordlys.example", "A situation in my team", "hr", "sensitive"),
    }
    clock.advance(timedelta(minutes=1))
    await desk.claim(desk.actor(IT_AGENT), n["laptop"])
    return n


async def test_a_list_is_filtered_sorted_and_shaped_in_the_page(browsers: Callable[[], Browser],
                                                                 filed: dict[str, int]) -> None:
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    page = await agent.get("/list")
    assert page.status == 200
    assert set(listed(page)) == {filed["printer"], filed["formula"], filed["laptop"]}
    assert "<script" not in page.html
    assert f'<input type="checkbox" name="n" value="{filed["printer"]}" form="bulk"' in page.html
    page = await agent.get("/list?" + urlencode({"assignee": "me"}))
    assert listed(page) == [filed["laptop"]]
    page = await agent.get("/list?" + urlencode({"q": "printer", "col": ["number", "title", "requester"]}, doseq=True))
    assert listed(page) == [filed["printer"]]
    headings = re.findall(r"<th[^>]*>(.*?)</th>", page.html, re.S)
    assert [re.sub(r"<[^>]+>|[▲▼]", "", h).strip() for h in headings[1:]] == ["Number", "Title", "Requester"]
    assert "Zack" in page.text
    page = await agent.get("/list?sort=number&dir=asc")
    assert listed(page) == [filed["printer"], filed["formula"], filed["laptop"]]
    assert 'aria-sort="ascending"' in page.html
    # The heading link flips the order, keeping the rest of the list.
    link = re.search(r'<a href="(/list\?[^"]*sort=number[^"]*)">Number', page.html)
    assert link is not None
    page = await agent.get(link.group(1).replace("&amp;", "&"))
    assert listed(page) == [filed["laptop"], filed["formula"], filed["printer"]]


async def test_pages_follow_one_another_without_repeats(browsers: Callable[[], Browser], web_services: Services,
                                                        clock: FakeClock) -> None:
    desk = web_services.desk
    made = []
    for i in range(120):
        clock.advance(timedelta(seconds=30))
        made.append((await desk.file_request(desk.actor(REQUESTER), WEB, f"Request {i}", zone_id="it")).number)
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    seen: list[int] = []
    path: str | None = "/list?sort=created&dir=asc"
    pages = 0
    while path:
        page = await agent.get(path)
        assert page.status == 200
        seen += listed(page)
        pages += 1
        found = re.search(r'<a href="([^"]+)" rel="next">', page.html)
        path = found.group(1).replace("&amp;", "&") if found else None
    assert seen == made and pages == 3
    assert "120 requests" in page.text and "First page" in page.text


@pytest.mark.parametrize(("query", "said"), [
    ({"created_from": "yesterday"}, "The 'created from' date 'yesterday' is not a date; write it as YYYY-MM-DD"),
    ({"status": "stuck"}, "'stuck' is not a status."),
    ({"sort": "salary"}, "A list cannot be sorted by 'salary'."),
    ({"after": "garbage!"}, "This page's link is broken"),
])
async def test_a_bad_value_is_said_above_the_form(browsers: Callable[[], Browser], filed: dict[str, int],
                                                  query: dict[str, str], said: str) -> None:
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    page = await agent.get("/list?" + urlencode(query))
    assert page.status == 400
    assert said in page.text
    assert listed(page) == []
    assert 'id="list-filters"' in page.html


async def test_a_requester_lists_only_their_own(browsers: Callable[[], Browser], filed: dict[str, int]) -> None:
    zack = browsers()
    await zack.sign_in(REQUESTER)
    page = await zack.get("/list")
    assert set(listed(page)) == {filed["printer"], filed["formula"], filed["leave"]}
    page = await zack.get("/list?scope=queue")
    assert listed(page) == []
    status, _headers, rows = await csv_of(zack, "/list.csv?requester=max.meyer@nordlys.example")
    assert status == 200 and rows[1:] == []


async def test_the_export_is_the_list_as_shown_with_formulas_neutralised(
        browsers: Callable[[], Browser], filed: dict[str, int]) -> None:
    agent = browsers()
    await agent.sign_in(HR_AGENT)
    status, headers, rows = await csv_of(agent, "/list.csv?" + urlencode(
        {"col": ["title", "number", "status"], "sort": "number", "dir": "asc"}, doseq=True))
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert "attachment" in headers["Content-Disposition"]
    assert rows == [["Title", "Number", "Status"], ["Parental leave from May", str(filed["leave"]), "New"]]
    it = browsers()
    await it.sign_in(IT_AGENT)
    _status, _headers, rows = await csv_of(it, "/list.csv?sort=number&dir=asc&col=number&col=title")
    assert rows[0] == ["Number", "Title"]
    assert [r[0] for r in rows[1:]] == [str(filed["printer"]), str(filed["formula"]), str(filed["laptop"])]
    assert rows[2][1] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    private = browsers()
    await private.sign_in(HR_PRIVATE)
    _status, _headers, rows = await csv_of(private, "/list.csv?zone=hr&col=number")
    assert {r[0] for r in rows[1:]} == {str(filed["leave"]), str(filed["secret"])}


async def test_views_personal_and_shared_with_a_team(browsers: Callable[[], Browser], filed: dict[str, int]) -> None:
    alexis = browsers()
    await alexis.sign_in(IT_AGENT)
    page = await alexis.get("/list?" + urlencode({"q": "laptop", "col": ["number", "title", "assignee"]}, doseq=True))
    query = re.search(r'name="query" value="([^"]*)"', page.html)
    assert query is not None
    saved = await alexis.post("/views", {"name": "My laptops", "query": query.group(1).replace("&amp;", "&"),
                                         "team": ""})
    assert saved.status == 200 and "Saved the view" in saved.text and "My laptops" in saved.text
    assert listed(saved) == [filed["laptop"]]
    personal = int(re.search(r"view=(\d+)", saved.url).group(1))  # type: ignore[union-attr]
    shared = await alexis.post("/views", {"name": "Team printers", "query": "q=printer&col=number&col=title",
                                          "team": "it-support"})
    team_view = int(re.search(r"view=(\d+)", shared.url).group(1))  # type: ignore[union-attr]
    # A same-named view is refused, and nothing is saved.
    again = await alexis.post("/views", {"name": "My laptops", "query": "q=x", "team": ""})
    assert again.status == 400 and "You already have a view called 'My laptops'." in again.text
    # A team one is not in cannot be chosen.
    foreign = await alexis.post("/views", {"name": "HR", "query": "", "team": "hr-service"})
    assert foreign.status == 400 and "only with a team you are a member of" in foreign.text

    ivar = browsers()  # in IT support too
    await ivar.sign_in(IT_AGENT_2)
    assert listed(await ivar.get(f"/views/{team_view}")) == [filed["printer"]]
    assert (await ivar.get(f"/views/{personal}")).status == 404
    views = await ivar.get("/views")
    assert "Team printers" in views.text and "My laptops" not in views.text
    assert "Shared with IT support" in views.text and "shared by Alexis Baker" in views.text
    assert "{" not in views.text and "%(" not in views.text  # every placeholder filled
    refused = await ivar.post(f"/views/{team_view}/delete")
    assert "Only the person who saved the view 'Team printers' can change or delete it." in refused.text
    assert "Team printers" in (await ivar.get("/views")).text

    hanna = browsers()  # HR: not a member of IT support
    await hanna.sign_in(HR_AGENT)
    for path in (f"/views/{team_view}", f"/views/{team_view}.csv", f"/list?view={team_view}"):
        page = await hanna.get(path)
        assert page.status == 404 and "This saved view was not found." in page.text, path
    assert (await hanna.post(f"/views/{team_view}/delete")).status == 404

    erika = browsers()
    await erika.sign_in(FINANCE)
    assert (await erika.get(f"/views/{personal}")).status == 404

    renamed = await alexis.post(f"/views/{team_view}/change", {"name": "Printers", "team": ""})
    assert "Printers" in renamed.text
    assert (await ivar.get(f"/views/{team_view}")).status == 404  # no longer shared
    status, _headers, rows = await csv_of(alexis, f"/views/{personal}.csv")
    assert status == 200 and rows == [["Number", "Title", "Assignee"], [str(filed["laptop"]), "Laptop fan is loud",
                                                                        "Alexis Baker"]]
    deleted = await alexis.post(f"/views/{personal}/delete")
    assert "Deleted the view 'My laptops'." in deleted.text
    assert (await alexis.get(f"/views/{personal}")).status == 404


async def test_a_view_lists_what_its_viewer_may_see(browsers: Callable[[], Browser], filed: dict[str, int]) -> None:
    olav = browsers()  # HR service and the private Employee relations team
    await olav.sign_in(HR_PRIVATE)
    page = await olav.post("/views", {"name": "All HR", "query": "zone=hr&col=number", "team": "hr-service"})
    view = int(re.search(r"view=(\d+)", page.url).group(1))  # type: ignore[union-attr]
    assert set(listed(page)) == {filed["leave"], filed["secret"]}
    hanna = browsers()  # HR service, not in the private team
    await hanna.sign_in(HR_AGENT)
    assert listed(await hanna.get(f"/views/{view}")) == [filed["leave"]]
    _status, _headers, rows = await csv_of(hanna, f"/views/{view}.csv")
    assert [r[0] for r in rows[1:]] == [str(filed["leave"])]


async def test_the_desk_links_its_lists_to_the_list_page(browsers: Callable[[], Browser],
                                                         filed: dict[str, int]) -> None:
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    desk = await agent.get("/desk")
    assert 'href="/list?scope=queue"' in desk.html
    assert set(listed(await agent.get("/list?scope=queue"))) == {filed["printer"], filed["formula"], filed["laptop"]}


@pytest.mark.parametrize("language", ["nb", "sv", "nl", "it", "pl", "de"])
async def test_the_list_its_views_and_its_csv_read_in_the_visit_s_language(
        server: str, web_services: Services, filed: dict[str, int], language: str) -> None:
    import aiohttp

    from bot.i18n import translator
    from tests.untranslated import english_left

    said = translator(language)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     headers={"Accept-Language": language}) as http:
        browser = Browser(server, http, web_services)
        await browser.sign_in(IT_AGENT)
        page = await browser.get("/list?col=number&col=title&col=sla&col=due")
        assert page.status == 200 and f'<html lang="{language}">' in page.html
        for word in ("Save as a view", "Export as CSV", "Sort by", "Show these columns", "Who sees it"):
            assert said.gettext(word) != word and said.gettext(word) in page.text, (language, word)
        assert english_left(page.text, language) == []
        assert "{" not in page.text and "%(" not in page.text
        refused = await browser.get("/list?created_from=31.12.2026&status=stuck")
        assert refused.status == 400 and english_left(refused.text, language) == []
        saved = await browser.post("/views", {"name": "Skrivere", "query": "q=printer", "team": "it-support"})
        assert english_left(saved.text, language) == []
        views = await browser.get("/views")
        assert views.status == 200 and english_left(views.text, language) == []
        _status, _headers, rows = await csv_of(browser, "/list.csv?col=number&col=title&col=status")
        assert rows[0] == [said.gettext("Number"), said.gettext("Title"), said.gettext("Status")]


async def test_the_owner_saves_a_changed_list_into_the_view(browsers: Callable[[], Browser],
                                                           filed: dict[str, int]) -> None:
    alexis = browsers()
    await alexis.sign_in(IT_AGENT)
    saved = await alexis.post("/views", {"name": "Printers", "query": "q=printer&col=number", "team": "it-support"})
    view = int(re.search(r"view=(\d+)", saved.url).group(1))  # type: ignore[union-attr]
    assert "Save the list in this view" not in saved.text  # the list is the view's
    changed = await alexis.get(f"/list?view={view}&q=laptop&col=number")
    assert listed(changed) == [filed["laptop"]]
    assert "This list is no longer what the view 'Printers' keeps." in changed.text
    query = re.search(r'action="/views/\d+/change"[^>]*>.*?name="query" value="([^"]*)"', changed.html, re.S)
    assert query is not None
    updated = await alexis.post(f"/views/{view}/change", {"query": query.group(1).replace("&amp;", "&")})
    assert updated.status == 200 and "The view is saved." in updated.text
    assert listed(updated) == [filed["laptop"]] and "Printers" in updated.text
    ivar = browsers()
    await ivar.sign_in(IT_AGENT_2)
    assert listed(await ivar.get(f"/views/{view}")) == [filed["laptop"]]
    page = await ivar.get(f"/list?view={view}&q=printer")
    assert "Save the list in this view" not in page.text  # only its owner may
    refused = await ivar.post(f"/views/{view}/change", {"query": "q=printer"})
    assert "Only the person who saved the view 'Printers' can change or delete it." in refused.text
    assert listed(await ivar.get(f"/views/{view}")) == [filed["laptop"]]
