"""The status board over real HTTP: whose board opens, what its cards show, filters as on lists, and a card's
move, which must do exactly what the chat `status` verb does (rules, history, the requester's message)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.access import Actor
from bot.delivery.channels import ChannelInfo
from bot.desk import Origin
from bot.desk.commands import run_command
from bot.model import Event, Outbox, Request
from bot.server import Services
from tests.web.conftest import FINANCE_AGENT, HR_AGENT, HR_PRIVATE, IT_AGENT, REQUESTER, Browser, Page

Open = Callable[[], Browser]
MANAGER = "ivar.lund@nordlys.example"  # IT support, manages IT
_CARD = re.compile(r'<li class="board-card[^"]*" id="card-(\d+)"[^>]*data-status="([a-z_]+)"')


def cards(page: Page) -> dict[int, str]:
    """The cards on a board page: number -> the column (status) it stands in."""
    return {int(n): status for n, status in _CARD.findall(page.html)}


def column_titles(page: Page) -> list[str]:
    """The columns' headings, in order."""
    return re.findall(r'<h2 id="col-([a-z_]+)">', page.html)


async def file(services: Services, title: str, zone: str = "it", *, category: str | None = None,
               requester: str = REQUESTER, thread: str | None = None) -> int:
    """A request filed by a requester (in a Slack thread when `thread` is given, so its messages are queued)."""
    desk = services.desk
    origin = Origin(platform="slack", channel="D0ZACK", thread=thread, message=thread, user="UZACK") if thread \
        else Origin(platform="web")
    return (await desk.file_request(desk.actor(requester), origin, title, zone_id=zone, category_id=category)).number


def actor(services: Services, email: str) -> Actor:
    return services.desk.actor(email, channel="web")


async def signed_in(browsers: Open, email: str) -> Browser:
    browser = browsers()
    await browser.sign_in(email)
    return browser


async def rows(services: Services, model: Any, *where: Any) -> list[Any]:
    async with services.sessions() as session:
        return list((await session.execute(select(model).where(*where).order_by(model.id))).scalars())


async def status_of(services: Services, number: int) -> str:
    async with services.sessions() as session:
        return str(await session.scalar(select(Request.status).where(Request.id == number)))


async def snapshot(services: Services) -> tuple[int, int, list[tuple[int, str]]]:
    async with services.sessions() as session:
        events = int(await session.scalar(select(func.count()).select_from(Event)) or 0)
        outbox = int(await session.scalar(select(func.count()).select_from(Outbox)) or 0)
        statuses = list((await session.execute(select(Request.id, Request.status).order_by(Request.id))).tuples())
    return events, outbox, statuses


# ---------------------------------------------------------------------------------------------- reading
async def test_an_agent_s_board_shows_their_team_s_requests_in_the_machine_s_columns(
        browsers: Open, web_services: Services) -> None:
    it = await file(web_services, "Laptop fan is loud <b>now</b>", category="laptop")
    hr = await file(web_services, "Parental leave from May", "hr", category="leave")
    private = await file(web_services, "A situation in my team", "hr", category="sensitive")
    await web_services.desk.claim(actor(web_services, IT_AGENT), it)
    agent = await signed_in(browsers, IT_AGENT)

    page = await agent.get("/board")  # no query: their own team's board
    assert page.status == 200, page.text
    assert "Board · IT support" in page.text
    assert column_titles(page) == ["new", "assigned", "accepted", "in_progress", "waiting", "resolved", "closed",
                                   "reopened", "cancelled"]
    assert cards(page) == {it: "accepted"}
    assert f'href="/requests/{it}"' in page.html
    assert f'<input type="checkbox" name="n" value="{it}" form="bulk"' in page.html
    assert "Laptop fan is loud &lt;b&gt;now&lt;/b&gt;" in page.html  # the title is escaped
    assert "Alexis Baker" in page.text and "normal" in page.text
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "unsafe" not in csp
    assert '<script src="/static/board.js"></script>' in page.html and "<script>" not in page.html
    assert '<a href="/board">Board</a>' in page.html  # the navigation offers it

    assert cards(await agent.get("/board?zone=it")) == {it: "accepted"}
    for other in ("/board?zone=hr", "/board?team=hr-service", "/board?zone=it&team=payroll"):
        refused = await agent.get(other)
        assert refused.status == 404, other
        assert "There is no such board, or it is not one you may open." in refused.text
        assert 'class="board"' not in refused.html and str(hr) not in cards(refused)

    hanna = await signed_in(browsers, HR_AGENT)  # HR service, not in the private team
    assert cards(await hanna.get("/board?zone=hr")) == {hr: "new"}
    assert (await hanna.get("/board?team=employee-relations")).status == 404
    olav = await signed_in(browsers, HR_PRIVATE)
    assert cards(await olav.get("/board?zone=hr")) == {hr: "new", private: "new"}
    assert cards(await olav.get("/board?team=employee-relations")) == {private: "new"}


async def test_a_requester_gets_no_board(browsers: Open, web_services: Services) -> None:
    await file(web_services, "Laptop fan is loud")
    requester = await signed_in(browsers, REQUESTER)
    for path in ("/board", "/board?zone=it", "/board?assignee=me"):
        page = await requester.get(path)
        assert page.status == 403, path
        assert "The board is for agents" in page.text and 'class="board"' not in page.html
    assert '<a href="/board">' not in (await requester.get("/requests")).html
    anonymous = await browsers().get("/board")
    assert anonymous.status == 401 and 'class="board"' not in anonymous.html


async def test_a_zone_manager_who_works_the_zone_may_move_its_cards(browsers: Open, web_services: Services) -> None:
    """Ivar works IT and manages it: IT's cards have a move form for him (a manager who only reads a zone gets
    its board without move forms: tests/access/test_access_matrix.py)."""
    number = await file(web_services, "Screen flickers")
    page = await (await signed_in(browsers, MANAGER)).get("/board?zone=it")
    assert cards(page) == {number: "new"}
    assert f'id="move-{number}"' in page.html


async def test_the_board_filters_as_lists_do(browsers: Open, web_services: Services) -> None:
    mine = await file(web_services, "Printer jams on tray 2")
    theirs = await file(web_services, "VPN drops every hour")
    other = await file(web_services, "Keyboard missing keys")
    desk = web_services.desk
    await desk.claim(actor(web_services, IT_AGENT), mine)
    await desk.claim(actor(web_services, "ivar.lund@nordlys.example"), theirs)
    await desk.set_weight(actor(web_services, IT_AGENT), other, "high")
    agent = await signed_in(browsers, IT_AGENT)

    assert cards(await agent.get("/board?zone=it&assignee=me")) == {mine: "accepted"}
    assert cards(await agent.get("/board?zone=it&assignee=none")) == {other: "new"}
    assert cards(await agent.get("/board?zone=it&priority=high")) == {other: "new"}
    assert cards(await agent.get("/board?zone=it&q=vpn")) == {theirs: "accepted"}
    narrowed = await agent.get("/board?team=it-support&assignee=me")
    assert cards(narrowed) == {mine: "accepted"}
    # The move form comes back to the same filtered board.
    assert 'name="back" value="/board?team=it-support&amp;assignee=me"' in narrowed.html

    bad = await agent.get("/board?zone=it&priority=urgent&created_from=yesterday")
    assert bad.status == 400
    assert "'urgent' is not a priority." in bad.text and "is not a date" in bad.text
    assert cards(bad) == {}


async def test_each_column_shows_its_first_cards_most_urgent_and_oldest_first_and_links_to_the_rest(
        browsers: Open, web_services: Services, clock: Any) -> None:
    from datetime import timedelta

    from bot.desk.board import CARDS

    numbers = []
    for i in range(CARDS + 2):
        numbers.append(await file(web_services, f"Request {i}"))
        clock.advance(timedelta(minutes=1))
    urgent = numbers[-1]  # the newest, but high: first
    await web_services.desk.set_weight(actor(web_services, IT_AGENT), urgent, "high")
    page = await (await signed_in(browsers, IT_AGENT)).get("/board?zone=it")
    shown = list(cards(page))
    assert len(shown) == CARDS
    assert shown[:3] == [urgent, numbers[0], numbers[1]]
    assert f'<span class="count" data-count="{CARDS + 2}">{CARDS + 2}</span>' in page.html
    assert "2 more in the list" in page.text
    assert 'href="/list?zone=it&amp;status=new"' in page.html
    agent = await signed_in(browsers, IT_AGENT)
    assert cards(await agent.get("/board?zone=it&priority=high")) == {urgent: "new"}
    # The rest of a column is the list of that column's status within the board's filters, nothing else
    # (a status filter is the column's own; a list's scope is not the board's).
    narrowed = await agent.get("/board?zone=it&status=open&scope=mine&q=Request")
    assert len(cards(narrowed)) == CARDS
    assert 'href="/list?zone=it&amp;q=Request&amp;status=new"' in narrowed.html
    assert 'name="back" value="/board?zone=it&amp;status=open&amp;q=Request"' in narrowed.html


# ---------------------------------------------------------------------------------------------- moving
async def _chat(services: Services, email: str, text: str) -> str:
    result = await run_command(services.desk, services.desk.actor(email, channel="slack"), text)
    assert result.ok, result.text
    return result.text


def _said(rows: list[Outbox], number: int) -> list[tuple[str, str, str]]:
    """What the outbox rows say, the request's number made neutral (to compare two requests' messages)."""
    return [(r.platform, r.kind, str(r.payload["message"]["text"]).replace(f"#{number}", "#N")) for r in rows]


@pytest.mark.parametrize(("target", "chat"), [("in_progress", "in_progress"),
                                              ("waiting:requester", "waiting requester"), ("accepted", "accepted")])
async def test_a_move_does_what_the_chat_status_verb_does(browsers: Open, web_services: Services, target: str,
                                                          chat: str) -> None:
    web_services.desk.enable(ChannelInfo("slack"))  # the requesters' threads are live
    on_board = await file(web_services, "Moved on the board", thread="1732000001.000100")
    in_chat = await file(web_services, "Moved in chat", thread="1732000002.000100")
    agent = await signed_in(browsers, IT_AGENT)
    await agent.get("/board?zone=it")
    before = {n: len(await rows(web_services, Outbox, Outbox.request_id == n)) for n in (on_board, in_chat)}

    moved = await agent.post("/board/move", {"n": str(on_board), "status": target, "back": "/board?zone=it",
                                             "once": "move-1"})
    await _chat(web_services, IT_AGENT, f"status {in_chat} {chat}")

    assert moved.status == 200 and moved.url.endswith("/board?zone=it"), moved.url
    status = target.partition(":")[0]
    assert cards(moved)[on_board] == status
    assert (await status_of(web_services, on_board)) == (await status_of(web_services, in_chat)) == status
    said = {"in_progress": "in progress", "waiting": "waiting", "accepted": "accepted"}[status]
    assert f"Request #{on_board} is now {said}." in moved.text
    board_events = await rows(web_services, Event, Event.request_id == on_board, Event.kind == "status")
    chat_events = await rows(web_services, Event, Event.request_id == in_chat, Event.kind == "status")
    assert [e.data for e in board_events] == [e.data for e in chat_events] and len(board_events) == 1
    assert board_events[0].actor_email == IT_AGENT and board_events[0].channel == "web"
    board_out = (await rows(web_services, Outbox, Outbox.request_id == on_board))[before[on_board]:]
    chat_out = (await rows(web_services, Outbox, Outbox.request_id == in_chat))[before[in_chat]:]
    assert _said(board_out, on_board) == _said(chat_out, in_chat)
    if status == "waiting":  # the requester is told in their thread, exactly as chat tells them
        assert _said(board_out, on_board) == [("slack", "status", "Request #N is waiting for your answer: reply in "
                                                                  "this thread.")]

    again = await agent.post("/board/move", {"n": str(on_board), "status": "new", "back": "/board?zone=it",
                                             "once": "move-1"})  # the same form sent twice
    assert "That was already done." in again.text
    assert await status_of(web_services, on_board) == status


async def test_a_refused_move_answers_with_the_desk_s_message_and_changes_nothing(
        browsers: Open, web_services: Services) -> None:
    number = await file(web_services, "Cancelled by its requester")
    await web_services.desk.cancel(web_services.desk.actor(REQUESTER), number)
    finance = await file(web_services, "Wrong tax table", "finance", category="payroll-error")
    agent = await signed_in(browsers, IT_AGENT)
    page = await agent.get("/board?zone=it")
    assert cards(page) == {number: "cancelled"}
    assert f'id="move-{number}"' not in page.html  # a cancelled card offers no move
    before = await snapshot(web_services)

    refused = await agent.post("/board/move", {"n": str(number), "status": "in_progress", "back": "/board?zone=it"})
    assert refused.url.endswith("/board?zone=it")
    assert (f"Request #{number} cannot go from cancelled to in_progress: a cancelled request is final; file a new one "
            "instead.") in refused.text
    assert 'class="flash error"' in refused.html
    for status in ("cancelled", "resolved"):  # asking first is refused the same way, before any question
        asked = await agent.post("/board/move", {"n": str(number), "status": status, "back": "/board?zone=it"})
        assert "a cancelled request is final" in asked.text or "is already cancelled" in asked.text, asked.text
    elsewhere = await agent.post("/board/move", {"n": str(finance), "status": "in_progress"})
    assert f"Request #{finance} was not found." in elsewhere.text and elsewhere.url.endswith("/board")
    unknown = await agent.post("/board/move", {"n": "abc", "status": "in_progress"})
    assert "was not found" in unknown.text
    nothing = await agent.post("/board/move", {"n": str(number), "status": ""})
    assert "Choose the new status." in nothing.text
    forged = await agent.post("/board/move", {"n": str(number), "status": "in_progress", "csrf": "forged"})
    assert forged.status == 403
    away = await agent.post("/board/move", {"n": str(number), "status": "in_progress",
                                            "back": "https://evil.example/board"})
    assert urlsplit_path(away.url) == "/board"
    assert await snapshot(web_services) == before


def urlsplit_path(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path


async def test_a_requester_cannot_move_a_card_even_of_their_own_request(browsers: Open,
                                                                       web_services: Services) -> None:
    number = await file(web_services, "My own request")
    before = await snapshot(web_services)
    requester = await signed_in(browsers, REQUESTER)
    await requester.get("/requests")
    answer = await requester.post("/board/move", {"n": str(number), "status": "in_progress"})
    assert "Only an agent of the request's department can change its status." in answer.text
    finance = await signed_in(browsers, FINANCE_AGENT)
    await finance.get("/board")
    answer = await finance.post("/board/move", {"n": str(number), "status": "in_progress"})
    assert f"Request #{number} was not found." in answer.text
    assert await snapshot(web_services) == before


async def test_cancelling_asks_why_and_resolving_asks_for_the_note(browsers: Open, web_services: Services) -> None:
    web_services.desk.enable(ChannelInfo("slack"))
    cancelled = await file(web_services, "Duplicate of another", thread="1732000003.000100")
    resolved = await file(web_services, "Fan swapped", thread="1732000004.000100")
    agent = await signed_in(browsers, IT_AGENT)
    await agent.get("/board?zone=it")
    before = await snapshot(web_services)

    asked = await agent.post("/board/move", {"n": str(cancelled), "status": "cancelled", "back": "/board?zone=it"})
    assert asked.status == 200 and "Why is it cancelled?" in asked.text
    assert await snapshot(web_services) == before  # asking changes nothing
    blank = await agent.post("/board/move", {"n": str(cancelled), "status": "cancelled", "confirmed": "yes",
                                             "back": "/board?zone=it", "reason": "  "})
    assert blank.status == 400
    assert f"Say why request #{cancelled} is cancelled: the reason is kept in its history." in blank.text
    assert await snapshot(web_services) == before
    done = await agent.post("/board/move", {"n": str(cancelled), "status": "cancelled", "confirmed": "yes",
                                            "back": "/board?zone=it", "reason": "Filed twice, see the other one"})
    assert done.url.endswith("/board?zone=it") and f"Request #{cancelled} is now cancelled." in done.text
    event = (await rows(web_services, Event, Event.request_id == cancelled, Event.kind == "status"))[-1]
    assert event.data["status"] == "cancelled" and event.data["reason"] == "Filed twice, see the other one"
    told = await rows(web_services, Outbox, Outbox.request_id == cancelled, Outbox.kind == "status")
    assert [r.payload["message"]["text"] for r in told] == [f"Request #{cancelled} is cancelled."]

    asked = await agent.post("/board/move", {"n": str(resolved), "status": "resolved", "back": "/board?zone=it"})
    assert "Resolution note for Zack (optional)" in asked.text
    done = await agent.post("/board/move", {"n": str(resolved), "status": "resolved", "confirmed": "yes",
                                            "back": "/board?zone=it", "note": "Swapped the fan."})
    assert f"Request #{resolved} is now resolved." in done.text
    async with web_services.sessions() as session:
        assert (await session.get(Request, resolved)).resolution == "Swapped the fan."  # type: ignore[union-attr]
    told = await rows(web_services, Outbox, Outbox.request_id == resolved, Outbox.kind == "status")
    assert "Swapped the fan." in told[-1].payload["message"]["text"]


async def test_the_board_s_script_gets_the_desk_s_answer_as_json(browsers: Open, web_services: Services) -> None:
    number = await file(web_services, "Dragged")
    agent = await signed_in(browsers, IT_AGENT)
    page = await agent.get("/board?zone=it")
    json_headers = {"Accept": "application/json"}

    async def post(data: dict[str, str]) -> tuple[int, dict[str, Any]]:
        form = {"csrf": page.csrf or "", **data}
        async with agent.http.post(agent.base + "/board/move", data=form, headers=json_headers) as response:
            return response.status, await response.json()

    status, body = await post({"n": str(number), "status": "in_progress", "once": "drag-1"})
    assert status == 200 and body["message"] == f"Request #{number} is now in progress."
    assert body["status"] == "in_progress" and ["resolved", "Resolved"] in body["moves"] and body["once"]
    status, body = await post({"n": str(number), "status": "new", "once": "drag-2"})
    assert status == 400
    assert body["message"] == (f"Request #{number} cannot go from in_progress to new: from in_progress it can move "
                               "to: accepted, cancelled, resolved, waiting.")
    assert await status_of(web_services, number) == "in_progress"
    status, body = await post({"n": "999999", "status": "new"})
    assert status == 404 and body["message"] == "Request #999999 was not found."
    async with agent.http.post(agent.base + "/board/move", data={"n": str(number), "status": "new"},
                               headers=json_headers) as response:  # no CSRF token: the form has expired
        assert response.status == 403


@pytest.mark.parametrize("language", ["nb", "sv", "nl", "it", "pl", "de"])
async def test_the_board_and_its_questions_speak_the_reader_s_language(browsers: Open, web_services: Services,
                                                                       language: str) -> None:
    from tests.untranslated import english_left

    number = await file(web_services, "Printer jams")
    await web_services.desk.set_weight(actor(web_services, IT_AGENT), number, "high")
    agent = await signed_in(browsers, IT_AGENT)
    english = await agent.get("/board")
    assert english_left(english.text, language), "the check finds the English board's words"
    chosen = await agent.post("/language", {"language": language, "next": "/board?zone=it"})
    assert f'<html lang="{language}">' in chosen.html and cards(chosen) == {number: "new"}
    assert english_left(chosen.text, language) == [], language
    for status in ("cancelled", "resolved"):
        asked = await agent.post("/board/move", {"n": str(number), "status": status, "back": "/board?zone=it"})
        assert asked.status == 200 and english_left(asked.text, language) == [], (language, status)
    refused = await agent.post("/board/move", {"n": str(number), "status": "cancelled", "confirmed": "yes",
                                               "back": "/board?zone=it"})
    assert refused.status == 400 and english_left(refused.text, language) == [], language
