"""`analytics_facts` (migration 0020) always mirrors the rows the figures count, with each request's
dimensions as they are now: after the history of conftest.py, after a transfer, a reassignment and a new
category, and after a person is erased, on SQLite and PostgreSQL. The facts are worked out again here from
the requests, their history, measures, SLA clocks and surveys, in Python, and compared row for row."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import case, select

from bot.analytics import Query, build_report
from bot.analytics import facts as f
from bot.analytics.facts import NotCarried, over_facts
from bot.model import AnalyticsFact, Event, Request, RequestMeasure, SlaClock, Survey
from bot.scheduler.sla import BREACHED, MET_IN_TIME, RUNNING
from bot.store.backup import erase_person
from tests.analytics.conftest import ALEXIS, IVAR, SIRI, ZACK, History

TWO_WEEKS = {"from": "2026-11-23", "to": "2026-12-06"}
Fact = tuple[int, int, int, str, int, str, str | None, str | None, str, str | None, str, bool, int | None, int | None]


def _second(moment: datetime) -> int:
    return int(moment.timestamp())


async def _expected(history: History) -> set[Fact]:
    """Every fact as the migration defines it, from the rows themselves."""
    found: set[Fact] = set()
    async with history.services.sessions() as session:
        requests = {r.id: r for r in (await session.execute(select(Request))).scalars()}

        def fact(code: int, at: datetime, number: int, label: str = "", source: int = 0, a: int | None = None,
                 b: int | None = None) -> None:
            r = requests[number]
            found.add((code, _second(at), number, label, source, r.zone_id, r.team_id, r.category_id,
                       r.origin_platform, r.assignee_email, r.requester_email, r.status == "cancelled", a, b))

        for r in requests.values():
            fact(f.FILED, r.created_at, r.id)
        for e in (await session.execute(select(Event).where(Event.kind == "status"))).scalars():
            if e.data.get("status") in f.MOVES:
                fact(f.MOVES[e.data["status"]], e.at, e.request_id, source=e.id)
        for m in (await session.execute(select(RequestMeasure))).scalars():
            if m.first_response_at is not None:
                fact(f.FIRST_RESPONSE, m.first_response_at, m.request_id, a=m.first_response_seconds,
                     b=m.first_response_working_seconds)
            if m.resolved_at is not None:
                fact(f.RESOLUTION, m.resolved_at, m.request_id, a=m.resolution_seconds,
                     b=m.resolution_working_seconds)
        # The clock's state as the SLA module says it, so the triggers cannot drift from its definition.
        state = case((MET_IN_TIME, f.SLA_MET_IN_TIME), (BREACHED, f.SLA_BREACHED), (RUNNING, f.SLA_RUNNING))
        for clock, said in await session.execute(select(SlaClock, state)):
            fact(f.SLA_CLOCK, clock.started_at, clock.request_id, label=clock.kind, a=said,
                 b=round(clock.target_hours * 3600))
        for s in (await session.execute(select(Survey).where(Survey.status != "withdrawn"))).scalars():
            fact(f.SURVEY, s.sent_at, s.request_id, source=s.id, a=int(s.status == "answered"), b=s.rating)
    return found


async def _kept(history: History) -> set[Fact]:
    async with history.services.sessions() as session:
        rows = await session.execute(select(
            AnalyticsFact.fact, AnalyticsFact.at, AnalyticsFact.request_id, AnalyticsFact.label,
            AnalyticsFact.source_id, AnalyticsFact.zone_id, AnalyticsFact.team_id, AnalyticsFact.category_id,
            AnalyticsFact.origin_platform, AnalyticsFact.assignee_email, AnalyticsFact.requester_email,
            AnalyticsFact.cancelled, AnalyticsFact.a, AnalyticsFact.b))
        return {(int(c), int(at), int(n), label, int(source), zone, team, category, platform, assignee, requester,
                 bool(cancelled), a, b)
                for c, at, n, label, source, zone, team, category, platform, assignee, requester, cancelled, a, b
                in rows}


async def test_the_facts_mirror_the_history_row_for_row(history: History) -> None:
    kept = await _kept(history)
    assert kept == await _expected(history)
    # Every kind of fact is there: filings, each move, measures, both clocks, answered and unanswered surveys.
    assert {c for c, *_rest in kept} == set(range(9))
    assert any(row[-2] == f.SLA_BREACHED for row in kept) and any(row[-2] == f.SLA_MET_IN_TIME for row in kept)


async def test_a_transfer_a_reassignment_and_a_new_category_move_every_figure_at_once(history: History) -> None:
    e = history.numbers["E"]  # IT, filed in week 2 from the web, its first response breached
    it_before = await build_report(history.desk, history.actor(IVAR), Query.parse(TWO_WEEKS))
    alexis = Query.parse({**TWO_WEEKS, "assignee": ALEXIS})
    his_before = await build_report(history.desk, history.actor(IVAR), alexis)
    await history.desk.claim(history.actor(ALEXIS), e)
    his = await build_report(history.desk, history.actor(IVAR), alexis)
    assert his.totals.volume.filed == his_before.totals.volume.filed + 1
    assert sum(a.breached for a in his.totals.sla) == sum(a.breached for a in his_before.totals.sla) + 1
    await history.desk.set_category(history.actor(ALEXIS), e, "laptop")
    laptops = await build_report(history.desk, history.actor(IVAR), Query.parse({**TWO_WEEKS, "category": "laptop"}))
    assert laptops.totals.volume.filed == 2  # A and now E
    await history.desk.transfer(history.actor(ALEXIS), e, "facilities")
    assert await _kept(history) == await _expected(history)

    it_after = await build_report(history.desk, history.actor(IVAR), Query.parse(TWO_WEEKS))
    assert [v.filed for v in it_after.volume] == [it_before.volume[0].filed, it_before.volume[1].filed - 1]
    assert it_after.totals.volume.open_at_end == it_before.totals.volume.open_at_end - 1
    breached = sum(a.breached for a in it_before.totals.sla)
    assert sum(a.breached for a in it_after.totals.sla) == breached - 1
    facilities = await build_report(history.desk, history.actor(SIRI), Query.parse(TWO_WEEKS))
    assert [v.filed for v in facilities.volume] == [1, 1]  # C in week 1, E now
    # IT's figures no longer count it for the agent who held it there: it is Facilities' request now.
    his = await build_report(history.desk, history.actor(IVAR), alexis)
    assert his.totals.volume.filed == his_before.totals.volume.filed


async def test_erasing_a_person_leaves_no_copy_of_them_in_the_facts(history: History) -> None:
    def mentions(rows: set[Fact]) -> int:
        return sum(ZACK in (row[9], row[10]) for row in rows)

    before = await _kept(history)
    assert mentions(before) > 0
    await erase_person(history.services.engine, ZACK, history.clock.now())
    after = await _kept(history)
    assert mentions(after) == 0 and len(after) == len(before)
    assert after == await _expected(history)


def test_a_clause_reading_what_the_facts_do_not_carry_is_refused() -> None:
    """A rule of access over a column the facts lack fails loudly instead of being dropped from the figures."""
    with pytest.raises(NotCarried):
        over_facts(Request.title == "Laptop will not start")
    moved = over_facts((Request.zone_id == "it") & (Request.id.in_([1, 2])))
    sql = str(moved.compile())
    assert "analytics_facts.zone_id" in sql and "analytics_facts.request_id IN" in sql and "requests." not in sql
