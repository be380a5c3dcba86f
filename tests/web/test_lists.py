"""Lists count what there is, not what fits on a page, and page with Previous / Next: the desk and My requests."""

from __future__ import annotations

import re
from collections.abc import Callable

from adapters.web.pages import PAGE_SIZE
from bot.desk import WEB
from bot.server import Services
from tests.web.conftest import IT_AGENT, REQUESTER, Browser

FILED = PAGE_SIZE + 12  # more than a page
ASSIGNED = PAGE_SIZE + 5


def _numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td class="num"><a href="/requests/(\d+)">', html)]


def _section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    end = html.find("<section", start)
    return html[start:end if end != -1 else len(html)]


async def _fill(services: Services) -> list[int]:
    desk = services.desk
    zack, alexis = desk.actor(REQUESTER, channel="web"), desk.actor(IT_AGENT, channel="web")
    numbers = [(await desk.file_request(zack, WEB, f"Request {i}", zone_id="it")).number for i in range(FILED)]
    for number in numbers[:ASSIGNED]:
        await desk.claim(alexis, number)
    return numbers


async def test_the_desk_counts_everything_and_pages_each_list(browsers: Callable[[], Browser],
                                                              web_services: Services) -> None:
    numbers = await _fill(web_services)
    agent = browsers()
    await agent.sign_in(IT_AGENT)

    first = await agent.get("/desk")
    assert f"Assigned to me {ASSIGNED}" in first.text and f"Queue {FILED}" in first.text
    assigned, queue = _section(first.html, "assigned"), _section(first.html, "queue")
    assert len(_numbers(assigned)) == PAGE_SIZE and len(_numbers(queue)) == PAGE_SIZE
    assert f"1–{PAGE_SIZE} of {ASSIGNED} · page 1 of 2" in first.text
    assert 'href="/desk?assigned=2"' in assigned and "Previous" not in assigned

    second = await agent.get("/desk?assigned=2")
    rest = _section(second.html, "assigned")
    assert f"{PAGE_SIZE + 1}–{ASSIGNED} of {ASSIGNED} · page 2 of 2" in second.text and "Next" not in rest
    assert 'href="/desk?assigned=1"' in rest
    assert sorted(_numbers(assigned) + _numbers(rest)) == sorted(numbers[:ASSIGNED])
    # The queue stays on its own page, and its link keeps the other list where it is.
    assert _numbers(_section(second.html, "queue")) == _numbers(queue)
    assert 'href="/desk?assigned=2&amp;queue=2"' in second.html
    both = await agent.get("/desk?assigned=2&queue=2")
    assert sorted(_numbers(queue) + _numbers(_section(both.html, "queue"))) == sorted(numbers)


async def test_my_requests_counts_and_pages_and_odd_pages_are_read_kindly(browsers: Callable[[], Browser],
                                                                          web_services: Services) -> None:
    numbers = await _fill(web_services)
    requester = browsers()
    await requester.sign_in(REQUESTER)
    first = await requester.get("/requests")
    assert f"My requests {FILED}" in first.text and len(_numbers(first.html)) == PAGE_SIZE
    second = await requester.get("/requests?page=2")
    assert len(_numbers(second.html)) == FILED - PAGE_SIZE
    assert sorted(_numbers(first.html) + _numbers(second.html)) == sorted(numbers)
    assert 'href="/requests?page=1"' in second.html and "Next" not in second.text

    for odd, shown in (("abc", first), ("0", first), ("-1", first), ("99999999", second), ("2.5", first)):
        page = await requester.get(f"/requests?page={odd}")
        assert page.status == 200 and _numbers(page.html) == _numbers(shown.html), odd


async def test_a_short_list_has_no_pager(browsers: Callable[[], Browser]) -> None:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    await requester.file("Only one")
    page = await requester.get("/requests")
    assert "My requests 1" in page.text and "page 1 of" not in page.text and "Next" not in page.text
