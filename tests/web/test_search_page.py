"""`GET /search` over real HTTP: a request filed in the portal is found at once, results link to their
requests with highlights escaped, notes only for agents, hostile words answered, pages, and the box in
every page's navigation."""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.desk import WEB
from bot.server import Services
from tests.web.conftest import HR_AGENT, IT_AGENT, REQUESTER, Browser, number_of

Open = Callable[[], Browser]
_RESULT = re.compile(r'<h2><a href="/requests/(\d+)">')


def results(html: str) -> list[int]:
    return [int(n) for n in _RESULT.findall(html)]


async def signed_in(browsers: Open, email: str) -> Browser:
    browser = browsers()
    await browser.sign_in(email)
    return browser


async def test_filed_in_the_portal_then_found_highlighted_and_linked(browsers: Open) -> None:
    zack = await signed_in(browsers, REQUESTER)
    number = number_of(await zack.file("Toner <b>empty</b> on floor 3", "The printer by the kitchen"))
    page = await zack.get("/search?q=toner")
    assert page.status == 200 and results(page.html) == [number]
    assert "<mark>Toner</mark> &lt;b&gt;empty&lt;/b&gt; on floor 3" in page.html  # escaped, then marked
    assert "1 request found." in page.text
    assert 'action="/search"' in (await zack.get("/")).html  # the box in the navigation
    opened = await zack.get(f"/requests/{number}")
    assert opened.status == 200 and "Toner" in opened.text


async def test_notes_are_searched_for_agents_only(browsers: Open, web_services: Services) -> None:
    desk = web_services.desk
    number = (await desk.file_request(desk.actor(REQUESTER), WEB, "VPN slow", zone_id="it")).number
    await desk.note(desk.actor(IT_AGENT), number, "Suspect the <script>alert(1)</script> firewall rules")
    agent = await signed_in(browsers, IT_AGENT)
    page = await agent.get("/search?q=firewall")
    assert results(page.html) == [number] and "in an internal note" in page.text
    assert "<script>alert" not in page.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.html
    zack = await signed_in(browsers, REQUESTER)
    page = await zack.get("/search?q=firewall")
    assert results(page.html) == [] and "Nothing found for “firewall”." in page.text
    assert "request found" not in page.text
    hr = await signed_in(browsers, HR_AGENT)
    assert results((await hr.get("/search?q=vpn")).html) == []


async def test_an_agent_opens_the_results_as_a_list_to_shape_and_export(browsers: Open, web_services: Services
                                                                         ) -> None:
    desk = web_services.desk
    found = (await desk.file_request(desk.actor(REQUESTER), WEB, "Docking station broken", zone_id="it")).number
    await desk.file_request(desk.actor(REQUESTER), WEB, "Monitor flickers", zone_id="it")
    agent = await signed_in(browsers, IT_AGENT)
    page = await agent.get("/search?q=docking+station")
    link = re.search(r'<a href="(/list\?[^"]+)">Show these as a list', page.html)
    assert link is not None, "agents can take their results to a list"
    listed = await agent.get(link.group(1).replace("&amp;", "&"))
    assert listed.status == 200
    rows = listed.html.split('class="list requests"', 1)[1]
    assert set(re.findall(r'href="/requests/(\d+)"', rows)) == {str(found)}, "the same request, and only it"
    zack = await signed_in(browsers, REQUESTER)
    assert "Show these as a list" not in (await zack.get("/search?q=docking")).text


async def test_hostile_and_empty_words_are_answered(browsers: Open) -> None:
    zack = await signed_in(browsers, REQUESTER)
    page = await zack.get("/search?q=%22%2A%28%29")
    assert page.status == 200 and "Write a word or two to look for (letters or digits)." in page.text
    page = await zack.get("/search?q=" + "x" * 300)
    assert "The text to look for is too long: at most 200 characters." in page.text
    page = await zack.get("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E&page=abc")
    assert page.status == 200 and "<script>alert(1)" not in page.html
    page = await zack.get("/search")
    assert page.status == 200 and "found" not in page.text


async def test_results_come_a_page_at_a_time(browsers: Open, web_services: Services) -> None:
    desk = web_services.desk
    filed = [(await desk.file_request(desk.actor(REQUESTER), WEB, f"Headset number {i}", zone_id="it")).number
             for i in range(23)]
    zack = await signed_in(browsers, REQUESTER)
    first = await zack.get("/search?q=headset")
    second = await zack.get("/search?q=headset&page=2")
    assert len(results(first.html)) == 20 and len(results(second.html)) == 3
    assert sorted(results(first.html) + results(second.html)) == sorted(filed)
    assert "23 requests found." in first.text and 'rel="next"' in first.html


async def test_signed_out_is_asked_to_sign_in(browsers: Open) -> None:
    page = await browsers().get("/search?q=toner")
    assert page.status == 401
