"""Request lists (`bot.desk.listing`): each filter, the sorts, pages across pages, counts and bad inputs,
on SQLite and PostgreSQL, through the desk's use cases as people would fill it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from multidict import MultiDict

from bot.access import Actor
from bot.clock import FakeClock
from bot.desk import WEB, Desk
from bot.desk.filters import FilterError, RequestFilter
from bot.desk.listing import COUNT_CAP, Cursor, ListQuery, Sort, count_requests, iter_rows, list_page
from bot.model import Request, SlaClock
from bot.server import Services

ZACK = "zack@nordlys.example"  # a requester
MAX = "max.meyer@nordlys.example"  # another requester
ALEXIS = "alexis.baker@nordlys.example"  # IT support
IVAR = "ivar.lund@nordlys.example"  # IT support
HANNA = "hanna.berg@nordlys.example"  # HR service


@pytest.fixture
def desk(services: Services) -> Desk:
    return services.desk


def q(**values: str | list[str]) -> MultiDict[str]:
    out: MultiDict[str] = MultiDict()
    for key, value in values.items():
        for one in value if isinstance(value, list) else [value]:
            out.add(key, one)
    return out


async def numbers(desk: Desk, actor: Actor, query: MultiDict[str], limit: int = 200) -> list[int]:
    lq = ListQuery.from_query(query, desk.config)
    page = await list_page(desk, actor, lq.filter, lq.sort, after=lq.after, limit=limit)
    return [r.number for r in page.rows]


async def file(desk: Desk, email: str, title: str, zone: str = "it", clock: FakeClock | None = None,
               **kw: str) -> int:
    if clock is not None:
        clock.advance(timedelta(minutes=1))
    return (await desk.file_request(desk.actor(email), WEB, title, zone_id=zone, **kw)).number


async def test_every_filter_narrows_what_the_reader_may_see(desk: Desk, clock: FakeClock, services: Services) -> None:
    zack, alexis = desk.actor(ZACK), desk.actor(ALEXIS)
    printer = await file(desk, ZACK, "Printer jams on tray 2", clock=clock)
    laptop = await file(desk, MAX, "Laptop fan is loud", clock=clock, category_id="hardware")
    leave = await file(desk, ZACK, "Parental leave from May", "hr", clock=clock)
    vpn = await file(desk, MAX, "VPN drops every hour", clock=clock)
    await desk.claim(alexis, vpn)
    await desk.set_status(alexis, printer, "resolved")
    await desk.add_label(alexis, laptop, "noisy")
    await desk.add_label(desk.actor(IVAR), printer, "noisy")  # Ivar's label: never Alexis's
    await desk.set_deadline(alexis, laptop, datetime(2026, 12, 3, 12, tzinfo=UTC))

    assert set(await numbers(desk, alexis, q())) == {printer, laptop, vpn}  # HR's request is not hers
    assert set(await numbers(desk, zack, q())) == {printer, leave}
    assert await numbers(desk, zack, q(zone="hr")) == [leave]
    assert set(await numbers(desk, alexis, q(status="open"))) == {laptop, vpn}
    assert await numbers(desk, alexis, q(status="closed")) == [printer]
    assert await numbers(desk, alexis, q(status="resolved")) == [printer]
    assert await numbers(desk, alexis, q(assignee="me")) == [vpn]
    assert set(await numbers(desk, alexis, q(assignee="none"))) == {printer, laptop}
    assert await numbers(desk, alexis, q(assignee=ALEXIS)) == [vpn]
    assert set(await numbers(desk, alexis, q(requester=MAX))) == {laptop, vpn}
    assert await numbers(desk, zack, q(requester="me", zone="it")) == [printer]
    assert await numbers(desk, alexis, q(category="hardware")) == [laptop]
    assert await numbers(desk, alexis, q(label="noisy")) == [laptop]
    assert await numbers(desk, zack, q(label="noisy")) == []
    assert await numbers(desk, alexis, q(q="fan LOUD")) == [laptop]
    assert await numbers(desk, alexis, q(q=f"#{vpn}")) == [vpn]
    assert await numbers(desk, alexis, q(q="100%")) == []  # '%' is a character, not a wildcard
    await desk.reply(alexis, laptop, "We swapped the bearing.")
    await desk.note(alexis, laptop, "Warranty voucher 7781 used.")
    max_ = desk.actor(MAX)
    assert await numbers(desk, alexis, q(q="bearing")) == [laptop]  # words of replies count
    assert await numbers(desk, max_, q(q="bearing")) == [laptop]
    assert await numbers(desk, alexis, q(q="voucher")) == [laptop]  # and of notes, for who may read notes
    assert await numbers(desk, max_, q(q="voucher")) == []
    assert await numbers(desk, alexis, q(due_from="2026-12-03", due_to="2026-12-03")) == [laptop]
    assert await numbers(desk, alexis, q(due_to="2026-12-02")) == []
    assert set(await numbers(desk, alexis, q(created_from="2026-11-24", created_to="2026-11-24"))) == {
        printer, laptop, vpn}
    assert await numbers(desk, alexis, q(created_from="2026-11-25")) == []
    assert set(await numbers(desk, alexis, q(scope="queue"))) == {laptop, vpn}
    assert await numbers(desk, alexis, q(scope="assigned")) == [vpn]
    assert await numbers(desk, zack, q(scope="queue")) == []  # a requester has no queue
    assert set(await numbers(desk, zack, q(scope="mine"))) == {printer, leave}
    assert set(await numbers(desk, alexis, q(scope="zone"))) == {printer, laptop, vpn}
    # several values of one filter: any of them; different filters: all of them
    assert set(await numbers(desk, alexis, q(status=["resolved", "in_progress", "assigned"]))) >= {printer}
    assert set(await numbers(desk, alexis, q(requester=f"{MAX},{ZACK}", assignee="none"))) == {printer, laptop}
    hr = await desk.list_requests(desk.actor(HANNA))
    assert {r.number for r in hr} == {leave}


async def test_the_sla_state_filter_follows_the_clocks(desk: Desk, clock: FakeClock, services: Services) -> None:
    alexis = desk.actor(ALEXIS)
    made = [await file(desk, ZACK, f"Request {i}", clock=clock) for i in range(5)]
    now = clock.now()
    states = [  # (first response, resolution) of each request; the last one has no clocks
        ({}, {}),  # running
        ({"met_at": now}, {"breached_at": now}),  # breached
        ({"met_at": now}, {"paused_at": now}),  # paused
        ({"met_at": now}, {"met_at": now}),  # met
    ]
    async with services.sessions() as session, session.begin():
        for number, (first, resolution) in zip(made, states, strict=False):
            for kind, values in (("first_response", first), ("resolution", resolution)):
                session.add(SlaClock(request_id=number, kind=kind, target_hours=4.0, started_at=now, **values))
    assert await numbers(desk, alexis, q(sla="breached")) == [made[1]]
    assert await numbers(desk, alexis, q(sla="paused")) == [made[2]]
    assert await numbers(desk, alexis, q(sla="met")) == [made[3]]
    assert await numbers(desk, alexis, q(sla="running")) == [made[0]]
    page = await list_page(desk, alexis, RequestFilter(), Sort("number", False))
    assert [r.sla for r in page.rows] == ["running", "breached", "paused", "met", None]


async def test_sorts_are_stable_and_pages_follow_one_another(desk: Desk, clock: FakeClock) -> None:
    alexis = desk.actor(ALEXIS)
    made = [await file(desk, ZACK, title, clock=clock)
            for title in ("b", "a", "c", "a", "B", "a", "d")]
    async def walk(query: MultiDict[str], size: int) -> list[int]:
        lq = ListQuery.from_query(query, desk.config)
        seen: list[int] = []
        after: Cursor | None = None
        while True:
            page = await list_page(desk, alexis, lq.filter, lq.sort, after=after, limit=size)
            seen += [r.number for r in page.rows]
            if page.next is None:
                return seen
            after = Cursor.decode(page.next.encode())  # through the link, as a browser would
    assert await walk(q(sort="number", dir="asc"), 3) == made
    assert await walk(q(sort="number"), 2) == made[::-1]
    a1, a2, a3 = made[1], made[3], made[5]
    assert await walk(q(sort="title", dir="asc"), 2) == [a1, a2, a3, made[0], made[4], made[2], made[6]]
    assert await walk(q(sort="title", dir="desc"), 2) == [made[6], made[2], made[4], made[0], a3, a2, a1]
    assert await walk(q(sort="updated"), 3) == made[::-1]  # the default: most recently updated first
    clock.advance(timedelta(minutes=1))
    await desk.claim(alexis, made[0])
    assert (await walk(q(), 4))[0] == made[0]
    assert await walk(q(sort="due", dir="asc"), 3) == made  # none due: by number
    rows = [r async for r in iter_rows(desk, alexis, RequestFilter(), Sort("number", False), batch=2)]
    assert [r.number for r in rows] == made


async def test_counts_stop_at_the_cap(desk: Desk, clock: FakeClock) -> None:
    alexis = desk.actor(ALEXIS)
    for i in range(3):
        await file(desk, ZACK, f"r{i}", clock=clock)
    assert (await count_requests(desk, alexis, RequestFilter())).number == 3
    capped = await count_requests(desk, alexis, RequestFilter(), cap=2)
    assert (capped.number, capped.more) == (2, True)
    assert capped.words() == "More than 2 requests"
    assert COUNT_CAP >= 1000


@pytest.mark.parametrize(("query", "said"), [
    (q(created_from="31.03.2026"), "The 'created from' date '31.03.2026' is not a date; write it as YYYY-MM-DD"),
    (q(due_to="2026-02-30"), "The 'due to' date '2026-02-30' is not a date"),
    (q(created_from="2026-03-02", created_to="2026-03-01"), "ends before it starts"),
    (q(status="stuck"), "'stuck' is not a status. Statuses: open, closed, new"),
    (q(priority="urgent"), "'urgent' is not a priority. Priorities: low, normal, high, critical"),
    (q(zone="nowhere"), "There is no department called 'nowhere' here."),
    (q(team="ghosts"), "'ghosts' is not a team of this desk."),
    (q(category="teleport"), "'teleport' is not a category of this desk."),
    (q(assignee="alexis"), "'alexis' is not an assignee: give an e-mail address, 'me' or 'none'."),
    (q(requester="none"), "'none' is not a requester"),
    (q(label="two words"), "'two words' is not a label"),
    (q(sla="late"), "'late' is not an SLA state. States: running, paused, breached, met."),
    (q(scope="everyone"), "'everyone' is not a list."),
    (q(sort="sla"), "A list cannot be sorted by 'sla'."),
    (q(dir="up"), "'up' is not an order"),
    (q(col="salary"), "'salary' is not a column."),
    (q(after="bm90IGEgY3Vyc29y"), "This page's link is broken"),
    (q(q="x" * 201), "too long"),
    (q(q="%%% !"), "Write a word or two to look for (letters or digits)."),
])
def test_bad_values_are_refused_with_what_was_expected(config: object, query: MultiDict[str], said: str) -> None:
    from bot.config import AppConfig
    assert isinstance(config, AppConfig)
    with pytest.raises(FilterError) as refused:
        ListQuery.from_query(query, config)
    assert said in refused.value.message


def test_every_problem_is_said_at_once_and_a_query_reads_back(config: object) -> None:
    from bot.config import AppConfig
    assert isinstance(config, AppConfig)
    with pytest.raises(FilterError) as refused:
        ListQuery.from_query(q(status="stuck", due_from="soon"), config)
    assert len(refused.value.problems) == 2
    query = q(scope="queue", zone="it", status=["open", "waiting"], assignee="me", label="VIP", sla="breached",
              created_from="2026-01-01", q="  printer   tray ", sort="priority", col=["number", "sla", "title"])
    lq = ListQuery.from_query(query, config)
    assert lq.filter.labels == ("vip",) and lq.filter.text == "printer tray"
    assert lq.columns == ("number", "sla", "title") and lq.sort == Sort("priority", True)
    again = ListQuery.from_query(MultiDict(lq.to_query()), config)
    assert again == lq
    assert ListQuery.from_query(MultiDict(), config).to_query() == []


async def test_a_request_no_one_may_see_is_never_listed_or_counted(desk: Desk, clock: FakeClock,
                                                                   services: Services) -> None:
    secret = await file(desk, MAX, "A situation in my team", "hr", clock=clock, category_id="sensitive")
    hanna = desk.actor(HANNA)  # HR, not in the private team
    for query in (q(), q(q="situation"), q(zone="hr"), q(scope="zone"), q(requester=MAX), q(status="open")):
        assert secret not in await numbers(desk, hanna, query)
        lq = ListQuery.from_query(query, desk.config)
        assert (await count_requests(desk, hanna, lq.filter)).number == 0
    async with services.sessions() as session:
        assert await session.get(Request, secret) is not None


@pytest.mark.parametrize("probe", [1, 2000])
async def test_a_text_filter_finds_the_same_rows_walked_or_looked_up_first(
        desk: Desk, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, probe: int) -> None:
    """A word is first looked for among the next `PROBE` requests in order; when they hold no whole page,
    the matching requests are found first. Either way the pages are the same."""
    import bot.desk.listing

    monkeypatch.setattr(bot.desk.listing, "PROBE", probe)
    alexis = desk.actor(ALEXIS)
    made = [await file(desk, ZACK, f"{'Printer' if i % 3 == 0 else 'Laptop'} trouble {i}", clock=clock)
            for i in range(9)]
    printers = [n for i, n in enumerate(made) if i % 3 == 0]
    for sort in (Sort(), Sort("number", False), Sort("title", False)):
        seen: list[int] = []
        after: Cursor | None = None
        while True:
            lq = ListQuery.from_query(q(q="printer"), desk.config)
            page = await list_page(desk, alexis, lq.filter, sort, after=after, limit=2)
            seen += [r.number for r in page.rows]
            if page.next is None:
                break
            after = page.next
        assert sorted(seen) == printers, (probe, sort)
        if sort == Sort():
            assert seen == printers[::-1]
