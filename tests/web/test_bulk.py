"""Bulk actions and bundles in the browser, over real HTTP: tick requests on the desk, act on all of them
from the bulk bar, read what was done and what was refused; bundle pages show each agent only what they
may read. No JavaScript is involved: plain forms."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import func, select

from bot.model import Comment, Request
from tests.web.conftest import HR_AGENT, IT_AGENT, IT_AGENT_2, REQUESTER, Browser, Page, number_of


async def post_many(browser: Browser, path: str, pairs: list[tuple[str, str]], *, csrf: bool = True) -> Page:
    """Submit a form with repeated fields (the ticked checkboxes are many `n`)."""
    if csrf:
        if browser.token is None:
            await browser.get("/")
        pairs = [("csrf", browser.token or ""), *pairs]
    async with browser.http.post(browser.base + path, data=pairs) as response:
        return await browser._page(response)


async def filed(browsers: Callable[[], Browser], titles: list[str], zone: str = "it") -> list[int]:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    return [number_of(await requester.file(title, zone=zone)) for title in titles]


def ticked(numbers: list[int]) -> list[tuple[str, str]]:
    return [("n", str(n)) for n in numbers]


async def count(browser: Browser, model: object, *where: object) -> int:
    async with browser.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore


async def test_the_desk_offers_a_checkbox_per_row_and_the_bulk_bar(browsers: Callable[[], Browser]) -> None:
    numbers = await filed(browsers, ["Printer jam", "Toner empty"])
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    desk = await agent.get("/desk")
    for number in numbers:
        assert f'<input type="checkbox" name="n" value="{number}" form="bulk"' in desk.html
    assert '<form id="bulk" method="post" action="/bulk"' in desk.html
    assert "Act on the selected requests" in desk.text and "Ivar Lund" in desk.text  # an agent to assign to
    for action in ("reply", "assign", "status", "label", "transfer", "bundle"):
        assert f'name="action" value="{action}"' in desk.html


async def test_a_bulk_reply_answers_each_request_and_lists_what_was_refused(
        browsers: Callable[[], Browser]) -> None:
    it = await filed(browsers, ["Printer jam", "Toner empty", "Paper tray broken"])
    hr = await filed(browsers, ["Leave in May"], zone="hr")
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    await agent.get("/desk")
    form = [*ticked([*it, *hr, 424242]), ("action", "reply"), ("text", "The printer is <b>fixed</b>."),
            ("once", "form-1"), ("next", "/desk")]
    page = await post_many(agent, "/bulk", form)
    assert page.status == 200
    done = re.search(r'<ul class="plain done">(.*?)</ul>', page.html, re.S)
    assert done and re.findall(r"#(\d+)", done.group(1)) == [str(n) for n in it]
    # Another zone's request reads as missing, exactly like one that does not exist.
    assert f'<li><a href="/requests/{hr[0]}">#{hr[0]}</a>: Request #{hr[0]} was not found.</li>' in page.html
    assert '<li><a href="/requests/424242">#424242</a>: Request #424242 was not found.</li>' in page.html
    assert await count(agent, Comment, Comment.body == "The printer is <b>fixed</b>.") == 3
    assert '<a href="/desk">' in page.html

    again = await post_many(agent, "/bulk", form)  # the browser sends the same form again
    assert "Done already when this form was first sent" in again.text
    assert await count(agent, Comment, Comment.body == "The printer is <b>fixed</b>.") == 3


async def test_status_assign_and_label_from_the_bar(browsers: Callable[[], Browser]) -> None:
    numbers = await filed(browsers, ["Screen", "Keyboard"])
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    await agent.get("/desk")
    page = await post_many(agent, "/bulk", [*ticked(numbers), ("action", "assign"), ("assignee", IT_AGENT_2),
                                            ("once", "a")])
    assert page.status == 200 and "Refused" not in page.text
    page = await post_many(agent, "/bulk", [*ticked(numbers), ("action", "status"), ("status", "waiting"),
                                            ("reason", "requester"), ("once", "b")])
    assert "Refused" not in page.text
    async with agent.services.sessions() as session:
        found = (await session.execute(select(Request).where(Request.id.in_(numbers)))).scalars().all()
        assert {(r.assignee_email, r.status, r.waiting_reason) for r in found} == {(IT_AGENT_2, "waiting",
                                                                                    "requester")}
    page = await post_many(agent, "/bulk", [*ticked(numbers), ("action", "label"), ("label", "printers"),
                                            ("once", "c")])
    assert "Refused" not in page.text
    shown = await agent.get(f"/requests/{numbers[0]}")
    assert "printers" in shown.text


async def test_bad_bulk_forms_are_refused_and_change_nothing(browsers: Callable[[], Browser]) -> None:
    numbers = await filed(browsers, ["Screen"])
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    await agent.get("/desk")
    empty = await post_many(agent, "/bulk", [("action", "reply"), ("text", "hello")])
    assert empty.status == 400 and "Select at least one request." in empty.text
    blank = await post_many(agent, "/bulk", [*ticked(numbers), ("action", "reply"), ("text", "  ")])
    assert blank.status == 400 and "The reply is empty" in blank.text
    many = await post_many(agent, "/bulk", [*ticked(list(range(1, 202))), ("action", "reply"), ("text", "x")])
    assert many.status == 400 and "You selected 201 requests; one action takes at most 200." in many.text
    forged = await post_many(agent, "/bulk", [*ticked(numbers), ("action", "reply"), ("text", "x")], csrf=False)
    assert forged.status == 403
    assert await count(agent, Comment) == 0

    requester = browsers()
    await requester.sign_in(REQUESTER)
    await requester.get("/requests")
    refused = await post_many(requester, "/bulk", [*ticked(numbers), ("action", "label"), ("label", "x")])
    assert refused.status == 403


async def test_a_bundle_from_the_bar_and_its_page(browsers: Callable[[], Browser]) -> None:
    numbers = await filed(browsers, ["VPN down", "No VPN", "VPN slow"])
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    await agent.get("/desk")
    made = await post_many(agent, "/bulk", [*ticked(numbers), ("action", "bundle"), ("title", "VPN outage"),
                                            ("once", "bundle-1")])
    link = re.search(r'href="/bundles/(\d+)"', made.html)
    assert made.status == 200 and link
    bundle = int(link.group(1))
    page = await agent.get(f"/bundles/{bundle}")
    assert page.status == 200 and f"B{bundle} · VPN outage" in page.text
    for number in numbers:
        assert f'value="{number}" form="bundle-remove"' in page.html
    assert "VPN outage" in (await agent.get("/bundles")).text
    member = await agent.get(f"/requests/{numbers[1]}")  # the request page says which bundle it is in
    assert f'<a href="/bundles/{bundle}">B{bundle} VPN outage</a>' in member.html

    replied = await agent.post(f"/bundles/{bundle}/reply", {"text": "Working on the VPN.", "once": "r1"})
    assert replied.status == 200
    assert await count(agent, Comment, Comment.body == "Working on the VPN.") == 3
    removed = await post_many(agent, f"/bundles/{bundle}/remove", [*ticked(numbers[:1]), ("once", "rm")])
    assert "Refused" not in removed.text
    page = await agent.get(f"/bundles/{bundle}")
    assert f'value="{numbers[0]}"' not in page.html
    history = await agent.get(f"/requests/{numbers[0]}")
    assert f"took it out of bundle B{bundle}" in history.text
    assert f'href="/bundles/{bundle}"' not in history.html, "no longer a member"
    requester = browsers()  # the requester reads their request, never how staff grouped it
    await requester.sign_in(REQUESTER)
    assert "VPN outage" not in (await requester.get(f"/requests/{numbers[1]}")).text

    hr_agent = browsers()  # HR may read none of it: the bundle does not exist for them
    await hr_agent.sign_in(HR_AGENT)
    missing = await hr_agent.get(f"/bundles/{bundle}")
    assert missing.status == 404 and f"Bundle B{bundle} was not found." in missing.text
    assert "VPN outage" not in (await hr_agent.get("/bundles")).text
    post = await hr_agent.post(f"/bundles/{bundle}/reply", {"text": "hi"})
    assert post.status == 404


async def test_the_list_and_the_board_carry_the_bulk_bar(browsers: Callable[[], Browser]) -> None:
    numbers = await filed(browsers, ["Printer jam"])
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    for path in ("/list?zone=it", "/board?zone=it"):
        page = await agent.get(path)
        assert page.status == 200, path
        assert f'name="n" value="{numbers[0]}" form="bulk"' in page.html, path
        assert '<form id="bulk" method="post" action="/bulk"' in page.html, path
        assert f'name="next" value="{path}"' in page.html.replace("&amp;", "&"), path


async def test_the_bar_and_its_answer_speak_the_agents_language(browsers: Callable[[], Browser]) -> None:
    it = await filed(browsers, ["Drucker"])
    hr = await filed(browsers, ["Urlaub"], zone="hr")
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    await agent.post("/language", {"language": "de", "next": "/desk"})
    desk = await agent.get("/desk")
    assert "Ausgewählte Anfragen bearbeiten" in desk.text and "Ausgewählte beantworten" in desk.text
    page = await post_many(agent, "/bulk", [*ticked([*it, *hr]), ("action", "reply"), ("text", "Erledigt.")])
    assert "Was ausgeführt wurde" in page.text and "Abgelehnt" in page.text
    assert f"Anfrage #{hr[0]} wurde nicht gefunden." in page.text


async def test_search_results_can_be_ticked_for_the_bar(browsers: Callable[[], Browser]) -> None:
    numbers = await filed(browsers, ["Projector flickers"])
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    found = await agent.get("/search?q=projector")
    assert f'name="n" value="{numbers[0]}" form="bulk"' in found.html
    assert '<form id="bulk" method="post" action="/bulk"' in found.html
    requester = browsers()
    await requester.sign_in(REQUESTER)
    theirs = await requester.get("/search?q=projector")
    assert theirs.status == 200 and 'form="bulk"' not in theirs.html  # no bar for requesters
