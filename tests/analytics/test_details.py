"""The lists behind the figures (breaches, survey comments, the backlog's age) against the history in
conftest.py, on SQLite and PostgreSQL: each names only requests its reader may open one by one."""

from __future__ import annotations

import pytest

from bot.analytics import NoFigures, Query
from bot.analytics.details import build_details
from bot.desk import Origin
from bot.desk.surveys import rate
from tests.analytics.conftest import HANNA, IVAR, OLAV, ZACK, History
from tests.scheduler.world import oslo

TWO_WEEKS = {"from": "2026-11-23", "to": "2026-12-06"}
EMIL = "emil.berg@nordlys.example"
INGRID = "ingrid@nordlys.example"


async def _survey(history: History, number: int) -> int:
    from sqlalchemy import select

    from bot.model import Survey
    async with history.services.sessions() as session:
        found = await session.scalar(select(Survey.id).where(Survey.request_id == number))
        assert found is not None
        return int(found)


async def test_a_manager_reads_which_targets_breached_and_nothing_else(history: History) -> None:
    details = await build_details(history.desk, history.actor(IVAR), Query.parse(TWO_WEEKS))
    # E (filed Wed 2 Dec 09:00 from the web) had a 4 working hours' first response target: breached at 13:00.
    assert [(b.number, b.kind, b.target_hours, b.breached_at) for b in details.breaches] == [
        (history.numbers["E"], "first_response", 4.0, oslo(2026, 12, 2, 13))]
    assert details.breaches[0].title == "New screen for my desk"
    # The week before the range knows no breach.
    earlier = await build_details(history.desk, history.actor(IVAR), Query.parse({"from": "2026-11-23",
                                                                                  "to": "2026-11-29"}))
    assert earlier.breaches == []


async def test_survey_comments_follow_request_access(history: History) -> None:
    n = history.numbers
    await rate(history.desk, history.actor(EMIL), await _survey(history, n["F"]), 4, "Quick & <b>kind</b>")
    ivar = await build_details(history.desk, history.actor(IVAR), Query.parse(TWO_WEEKS))
    # Ratings without words (A's 5, B's 3) are not comments; F's is, as written (escaping is the page's job).
    assert [(c.number, c.rating, c.comment) for c in ivar.comments] == [(n["F"], 4, "Quick & <b>kind</b>")]
    assert ivar.comments[0].answered_at == oslo(2026, 12, 4, 12)
    # HR's people count no IT figures at all.
    with pytest.raises(NoFigures):
        await build_details(history.desk, history.actor(HANNA), Query.parse({**TWO_WEEKS, "zone": "it"}))


async def test_a_comment_on_a_private_team_s_request_reaches_only_who_may_read_it(history: History) -> None:
    desk = history.desk
    olav = history.actor(OLAV)  # in the private Employee relations team, manages HR
    ingrid = history.actor(INGRID)
    origin = Origin("slack", "T0NORDLYS", "C0HR", "1764900000.000001", "1764900000.000001", "UINGRID")
    number = (await desk.file_request(ingrid, origin, "My manager", zone_id="hr", category_id="sensitive")).number
    await desk.set_status(olav, number, "resolved")
    await desk.set_status(olav, number, "closed")
    await history.scheduler.tick()
    await rate(desk, ingrid, await _survey(history, number), 2, "Took a while")
    seen = await build_details(desk, olav, Query.parse({**TWO_WEEKS, "zone": "hr"}))
    assert [(c.number, c.comment) for c in seen.comments] == [(number, "Took a while")]
    hanna = await build_details(desk, history.actor(HANNA), Query.parse(TWO_WEEKS))  # HR service, not the team
    assert hanna.comments == []


async def test_the_backlog_s_age_counts_what_is_open_now(history: History) -> None:
    details = await build_details(history.desk, history.actor(IVAR), Query.parse({**TWO_WEEKS, "zone": "it"}))
    # Fri 4 Dec 12:00: G was filed 14 days ago, E 2 days 3 hours ago; everything else of IT is closed.
    assert {ident: count for ident, _words, count in details.backlog_age} == {
        "under_1_day": 0, "1_to_3_days": 1, "3_to_7_days": 0, "1_to_4_weeks": 1, "over_4_weeks": 0}
    assert details.backlog == 2
    with pytest.raises(NoFigures):  # a requester has no figures, so no lists either
        await build_details(history.desk, history.actor(ZACK), Query.parse(TWO_WEEKS))
