"""The figures of the history in conftest.py against answers worked out by hand, on SQLite and PostgreSQL.

Durations are seconds of calendar time. Percentiles interpolate between the two nearest values:
of [1800, 7200, 10800] the 90th sits 1.8 ranks up, 7200 + 0.8 * 3600 = 10080.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.analytics import NoFigures, Query, Report, build_report, chart_data, csv_table
from bot.analytics.figures import Attainment
from bot.desk.status import OPEN
from bot.errors import DeskError
from bot.model import Request
from tests.analytics.conftest import ALEXIS, HANNA, IVAR, OLAV, SIRI, ZACK, History

TWO_WEEKS = {"from": "2026-11-23", "to": "2026-12-06"}


async def _report(history: History, email: str, **params: str) -> Report:
    return await build_report(history.desk, history.desk.actor(email), Query.parse({**TWO_WEEKS, **params}))


def _sla(rows: list[Attainment]) -> set[tuple[int, str, str, float, int, int, int]]:
    return {(a.period.index, a.zone_id, a.kind, a.target_hours, a.met, a.breached, a.running) for a in rows}


async def test_a_zone_manager_s_weeks_add_up_to_what_happened(history: History) -> None:
    report = await _report(history, IVAR)
    assert [(p.first.isoformat(), p.last.isoformat()) for p in report.periods.periods] == [
        ("2026-11-23", "2026-11-29"), ("2026-11-30", "2026-12-06")]
    # Week 1: A, B and D (filed in Facilities, IT's now) filed; C left for Facilities. A resolved, B resolved
    # twice, reopened once; G (filed before) and D were open at its end. Week 2: F and E filed, F resolved and
    # closed, D cancelled; E and G open.
    assert [(v.filed, v.resolved, v.closed, v.reopened, v.cancelled, v.open_at_end) for v in report.volume] == [
        (3, 3, 2, 1, 0, 2), (2, 1, 1, 0, 1, 2)]
    async with history.services.sessions() as session:
        open_now = await session.scalar(select(func.count()).where(Request.zone_id == "it",
                                                                   Request.status.in_(sorted(OPEN))))
    assert report.volume[-1].open_at_end == open_now == 2
    # First responses: A 30 min, B 2 h, D 3 h (from its filing in Facilities), then F 15 min.
    assert [(d.count, d.median, d.p90) for d in report.first_response] == [(3, 7200, 10080), (1, 900, 900)]
    assert (report.totals.first_response.median, report.totals.first_response.p90) == (4500, 9720)
    # Resolutions, from filing to the latest one: A 2 h, B 2 days 1 h (its first resolution no longer counts), F 3 h.
    assert [(d.count, d.median, d.p90) for d in report.resolution] == [(2, 91800, 159480), (1, 10800, 10800)]
    assert (report.totals.resolution.median, report.totals.resolution.p90) == (10800, 143280)
    # SLA per target, by week of filing: D was cancelled (left out); E's first response breached, its
    # resolution still runs; G was filed before the range.
    assert _sla(report.sla) == {
        (0, "it", "first_response", 1.0, 1, 0, 0), (0, "it", "resolution", 8.0, 1, 0, 0),
        (0, "it", "first_response", 4.0, 1, 0, 0), (0, "it", "resolution", 24.0, 1, 0, 0),
        (1, "it", "first_response", 4.0, 1, 1, 0), (1, "it", "resolution", 24.0, 1, 0, 1),
    }
    assert {(a.kind, a.target_hours): (a.met, a.breached, a.running, a.attainment) for a in report.totals.sla} == {
        ("first_response", 1.0): (1, 0, 0, 1.0), ("first_response", 4.0): (2, 1, 0, 2 / 3),
        ("resolution", 8.0): (1, 0, 0, 1.0), ("resolution", 24.0): (2, 0, 1, 1.0)}
    # Surveys: Zack rated A 5 and Max B 3 in week 1; Emil has not answered F's.
    assert [(s.sent, s.answered, s.ratings, s.average, s.response_rate) for s in report.satisfaction] == [
        (2, 2, (0, 0, 1, 0, 1), 4.0, 1.0), (1, 0, (0, 0, 0, 0, 0), None, 0.0)]
    summary = report.total_summary()
    assert (summary.filed, summary.resolved, summary.open_at_end, summary.sla_met, summary.sla_breached) == (
        5, 4, 2, 6, 1)
    assert summary.sla_attainment == 6 / 7 and summary.average_rating == 4.0 and summary.response_rate == 2 / 3


async def test_an_agent_sees_their_team_and_a_transfer_counts_where_the_request_is(history: History) -> None:
    alexis = await _report(history, ALEXIS)  # IT support: every IT request here is his team's
    ivar = await _report(history, IVAR)
    assert alexis.volume == ivar.volume and alexis.first_response == ivar.first_response
    siri = await _report(history, SIRI)  # Facilities: C, moved in from IT; not D, which left for IT
    assert [(v.filed, v.open_at_end) for v in siri.volume] == [(1, 1), (0, 1)]
    assert [(d.count, d.median) for d in siri.first_response] == [(1, 3600), (0, None)]
    assert siri.sla == [] and [s.sent for s in siri.satisfaction] == [0, 0]


async def test_a_private_team_counts_only_for_its_members(history: History) -> None:
    olav = await _report(history, OLAV)  # manages HR and is in Employee relations
    hanna = await _report(history, HANNA)  # HR service only
    assert [v.filed for v in olav.volume] == [2, 0]
    assert [v.filed for v in hanna.volume] == [1, 0]
    # Asking for the private team by name is asking for what one may not see.
    with pytest.raises(NoFigures):
        await _report(history, HANNA, team="employee-relations")
    assert [v.filed for v in (await _report(history, OLAV, team="employee-relations")).volume] == [1, 0]


async def test_requesters_and_roles_alone_see_no_figures(history: History) -> None:
    for email in (ZACK, "marte.viken@nordlys.example", "admin@nordlys.example"):
        with pytest.raises(NoFigures):
            await _report(history, email)
    with pytest.raises(NoFigures):
        await _report(history, IVAR, zone="hr")  # he manages IT, not HR
    with pytest.raises(NoFigures):
        await _report(history, ALEXIS, team="payroll")


async def test_filters_narrow_the_figures(history: History) -> None:
    laptops = await _report(history, IVAR, category="hardware")  # A is a laptop, under hardware
    assert [v.filed for v in laptops.volume] == [1, 0]
    assert _sla(laptops.sla) == {(0, "it", "first_response", 1.0, 1, 0, 0), (0, "it", "resolution", 8.0, 1, 0, 0)}
    web = await _report(history, IVAR, channel="web")  # only E was filed in the browser
    assert [v.filed for v in web.volume] == [0, 1]
    claimed = await _report(history, IVAR, assignee=ALEXIS)  # Alexis claimed A only
    assert [v.filed for v in claimed.volume] == [1, 0]
    assert [s.ratings for s in claimed.satisfaction] == [(0, 0, 0, 0, 1), (0, 0, 0, 0, 0)]
    team = await _report(history, IVAR, zone="it", team="it-support")
    assert team.volume == (await _report(history, IVAR)).volume
    with pytest.raises(NoFigures):
        await _report(history, IVAR, category="payroll-error")  # no zone of his has it


async def test_days_and_months_follow_the_local_calendar(history: History) -> None:
    # H was filed at 00:30 in Oslo on 25 November, 23:30 UTC the day before: it is the 25th's.
    days = await _report(history, OLAV, period="day", **{"from": "2026-11-24", "to": "2026-11-25"})
    assert [(p.first.isoformat(), v.filed) for p, v in zip(days.periods.periods, days.volume, strict=True)] == [
        ("2026-11-24", 1), ("2026-11-25", 1)]
    weeks = await _report(history, IVAR)
    daily = await _report(history, IVAR, period="day")
    assert len(daily.volume) == 14 and sum(v.filed for v in daily.volume) == sum(v.filed for v in weeks.volume)
    assert daily.volume[-1].open_at_end == weeks.volume[-1].open_at_end
    monthly = await _report(history, IVAR, period="month")  # cut at the range: 23-30 November, 1-6 December
    assert [(p.first.isoformat(), p.last.isoformat()) for p in monthly.periods.periods] == [
        ("2026-11-23", "2026-11-30"), ("2026-12-01", "2026-12-06")]
    assert [v.filed for v in monthly.volume] == [4, 1]
    whole = await _report(history, IVAR, period="range")
    assert len(whole.volume) == 1 and whole.volume[0] == whole.totals.volume
    assert (whole.first_response[0].median, whole.first_response[0].p90) == (4500, 9720)


async def test_the_most_periods_a_report_may_have_add_up_to_the_whole(history: History) -> None:
    """400 days, one period each (SQLite reads each period's range on its own: 400 reads in one statement)."""
    whole = await _report(history, IVAR, period="range", **{"from": "2025-11-02", "to": "2026-12-06"})
    daily = await _report(history, IVAR, period="day", **{"from": "2025-11-02", "to": "2026-12-06"})
    assert len(daily.periods.periods) == 400
    assert daily.totals.volume == whole.volume[0] and daily.totals.first_response == whole.first_response[0]
    assert daily.totals.resolution == whole.resolution[0]
    assert sum(d.count for d in daily.first_response) == whole.first_response[0].count == 4  # A, B, D, F
    assert sum(a.breached for a in daily.sla) == sum(a.breached for a in whole.sla)


async def test_a_range_that_cannot_be_cut_is_refused_in_words(history: History) -> None:
    with pytest.raises(DeskError, match=r"^The range ends before it starts"):
        await _report(history, IVAR, **{"from": "2026-12-06", "to": "2026-11-23"})
    with pytest.raises(DeskError, match=r"^That range has more than 400 periods"):
        await _report(history, IVAR, period="day", **{"from": "2025-01-01", "to": "2026-12-06"})
    with pytest.raises(DeskError, match=r"^The 'from' date 'yesterday' is not a date"):
        await _report(history, IVAR, **{"from": "yesterday"})
    with pytest.raises(DeskError, match=r"^'fortnight' is not a period"):
        await _report(history, IVAR, period="fortnight")


async def test_the_default_is_the_last_four_weeks_by_week(history: History) -> None:
    report = await build_report(history.desk, history.desk.actor(IVAR), Query())
    assert (report.periods.first.isoformat(), report.periods.last.isoformat()) == ("2026-11-07", "2026-12-04")
    assert report.periods.kind == "week" and report.periods.periods[0].first.weekday() == 5  # cut at the range


async def test_the_csv_tables_and_the_chart_data(history: History) -> None:
    report = await _report(history, IVAR)
    summary = csv_table(report).splitlines()
    assert summary[0] == ("from,to,filed,resolved,reopened,open_at_end,first_response_median_hours,"
                          "resolution_median_hours,sla_met,sla_breached,sla_attainment,average_rating,"
                          "survey_response_rate")
    assert summary[1] == "2026-11-23,2026-11-29,3,3,1,2,2.00,25.50,4,0,1.0000,4.0000,1.0000"
    assert summary[2] == "2026-11-30,2026-12-06,2,1,0,2,0.25,3.00,2,1,0.6667,,0.0000"
    assert csv_table(report, "volume").splitlines()[1:] == ["2026-11-23,2026-11-29,3,3,2,1,0,2",
                                                           "2026-11-30,2026-12-06,2,1,1,0,1,2"]
    data = chart_data(report)
    assert data["volume"]["filed"] == [3, 2] and data["first_response"]["median_seconds"] == [7200, 900]
