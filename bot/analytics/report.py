"""A report for one reader: every figure for a query, its totals over the whole range, and the same figures
as plain tables (CSV) and as data for charts.

`build_report` is what a channel calls (the web's `/analytics`, the weekly chat report): it decides
which requests count (`bot.analytics.query.counted`, raising `NoFigures` for a reader with none, moved onto
the facts the figures read by `bot.analytics.facts.over_facts`), cuts
the range into periods in the time zone of the zone in view, and runs each figure of
`bot.analytics.figures` in one read of the database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.access import Actor
from bot.analytics import figures
from bot.analytics.facts import over_facts
from bot.analytics.figures import Attainment, Durations, Satisfaction, Volume
from bot.analytics.measures import reading
from bot.analytics.periods import Period, Periods
from bot.analytics.query import Query, counted, periods_for, timezone_for, zones_in_view
from bot.catalog.forms import csv_text
from bot.config import Zone
from bot.desk.unit import Unit


@dataclass(frozen=True)
class Totals:
    """The figures of the whole range as one period."""

    volume: Volume
    first_response: Durations
    resolution: Durations
    sla: list[Attainment]
    satisfaction: Satisfaction


@dataclass(frozen=True)
class Report:
    """Every figure of one query for one reader, per period, and over the whole range."""

    query: Query
    periods: Periods
    zones: list[Zone]
    volume: list[Volume]
    first_response: list[Durations]
    resolution: list[Durations]
    sla: list[Attainment]
    satisfaction: list[Satisfaction]
    totals: Totals

    @property
    def several(self) -> bool:
        """More than one period: the totals say something the rows do not."""
        return len(self.periods.periods) > 1

    def summary(self) -> list[Summary]:
        """One line per period with the figure each table leads with."""
        by_period: dict[int, list[Attainment]] = {}
        for row in self.sla:
            by_period.setdefault(row.period.index, []).append(row)
        return [Summary.of(v, f, r, by_period.get(v.period.index, []), s) for v, f, r, s in
                zip(self.volume, self.first_response, self.resolution, self.satisfaction, strict=True)]

    def total_summary(self) -> Summary:
        """The summary line of the whole range."""
        t = self.totals
        return Summary.of(t.volume, t.first_response, t.resolution, t.sla, t.satisfaction)


@dataclass(frozen=True)
class Summary:
    """The headline of each figure for one period."""

    period: Period
    filed: int
    resolved: int
    reopened: int
    open_at_end: int
    first_response_median: float | None
    resolution_median: float | None
    sla_met: int
    sla_breached: int
    average_rating: float | None
    response_rate: float | None
    first_response_working_median: float | None = None
    resolution_working_median: float | None = None

    @classmethod
    def of(cls, volume: Volume, first: Durations, resolution: Durations, sla: Sequence[Attainment],
           satisfaction: Satisfaction) -> Summary:
        """The headline figures of one period's rows."""
        return cls(volume.period, volume.filed, volume.resolved, volume.reopened, volume.open_at_end, first.median,
                   resolution.median, sum(a.met for a in sla), sum(a.breached for a in sla), satisfaction.average,
                   satisfaction.response_rate, first.working_median, resolution.working_median)

    @property
    def sla_attainment(self) -> float | None:
        """Every SLA target together: met in time / decided."""
        decided = self.sla_met + self.sla_breached
        return self.sla_met / decided if decided else None


async def build_report(unit: Unit, actor: Actor, query: Query) -> Report:
    """Every figure the query asks for, as this reader may count them (NoFigures when they may count none;
    DeskError for a range that cannot be cut into periods)."""
    where = over_facts(counted(unit.policy, unit.config, actor, query))
    zones = zones_in_view(unit.config, unit.policy.analytics_scope(actor), query)
    timezone = timezone_for(unit.config, zones)
    periods = periods_for(query, timezone, unit.clock.now().astimezone(ZoneInfo(timezone)).date())
    async with reading(unit) as session:  # one read transaction, so the figures agree
        volume = await figures.volume(session, where, periods)
        first, whole_first = await figures.first_responses(session, where, periods)
        resolved, whole_resolved = await figures.resolutions(session, where, periods)
        sla = await figures.sla_attainment(session, where, periods)
        rated = await figures.satisfaction(session, where, periods)
    return Report(query, periods, zones, volume, first, resolved, sla, rated,
                  _totals(periods, volume, whole_first, whole_resolved, sla, rated))


def _totals(periods: Periods, volume: list[Volume], first: Durations, resolved: Durations, sla: list[Attainment],
            rated: list[Satisfaction]) -> Totals:
    whole = Period(0, periods.first, periods.last, periods.start, periods.end)
    targets: dict[tuple[str, str, float], list[int]] = {}
    for row in sla:
        counts = targets.setdefault((row.zone_id, row.kind, row.target_hours), [0, 0, 0])
        counts[0] += row.met
        counts[1] += row.breached
        counts[2] += row.running
    return Totals(
        Volume(whole, sum(v.filed for v in volume), sum(v.resolved for v in volume), sum(v.closed for v in volume),
               sum(v.reopened for v in volume), sum(v.cancelled for v in volume), volume[-1].open_at_end),
        Durations(whole, first.count, first.median, first.p90, first.working_median, first.working_p90),
        Durations(whole, resolved.count, resolved.median, resolved.p90, resolved.working_median,
                  resolved.working_p90),
        [Attainment(whole, zone, kind, target, *counts) for (zone, kind, target), counts in sorted(targets.items())],
        Satisfaction(whole, sum(s.sent for s in rated),
                     tuple(sum(s.ratings[i] for s in rated) for i in range(len(figures.RATINGS)))),
    )


# ----------------------------------------------------------------------------- tables for CSV and charts

def _hours(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 3600:.2f}"


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _dates(period: Period) -> list[str]:
    return [period.first.isoformat(), period.last.isoformat()]


def _summary_rows(report: Report) -> list[list[str]]:
    return [[*_dates(s.period), str(s.filed), str(s.resolved), str(s.reopened), str(s.open_at_end),
             _hours(s.first_response_median), _hours(s.resolution_median), str(s.sla_met), str(s.sla_breached),
             _ratio(s.sla_attainment), _ratio(s.average_rating), _ratio(s.response_rate)] for s in report.summary()]


def _volume_rows(report: Report) -> list[list[str]]:
    return [[*_dates(v.period), *(str(n) for n in (v.filed, v.resolved, v.closed, v.reopened, v.cancelled,
                                                   v.open_at_end))] for v in report.volume]


def _durations_rows(rows: list[Durations]) -> list[list[str]]:
    return [[*_dates(d.period), str(d.count), _hours(d.median), _hours(d.p90), _hours(d.working_median),
             _hours(d.working_p90)] for d in rows]


def _sla_rows(report: Report) -> list[list[str]]:
    return [[*_dates(a.period), a.zone_id, a.kind, f"{a.target_hours:g}", str(a.met), str(a.breached), str(a.running),
             _ratio(a.attainment)] for a in report.sla]


def _satisfaction_rows(report: Report) -> list[list[str]]:
    return [[*_dates(s.period), str(s.sent), str(s.answered), _ratio(s.response_rate), _ratio(s.average),
             *(str(n) for n in s.ratings)] for s in report.satisfaction]


_PERIOD = ["from", "to"]
_DURATIONS = ["requests", "median_hours", "p90_hours", "working_median_hours", "working_p90_hours"]
# The tables a CSV export may ask for (`table=`), each with its columns: stable identifiers, the same in every
# language, as a spreadsheet or a script reads them. Durations in hours (calendar time, then working time:
# `working_` columns), shares from 0 to 1. New columns are added at the end of a table, never in between.
TABLES: dict[str, tuple[list[str], Callable[[Report], list[list[str]]]]] = {
    "summary": ([*_PERIOD, "filed", "resolved", "reopened", "open_at_end", "first_response_median_hours",
                 "resolution_median_hours", "sla_met", "sla_breached", "sla_attainment", "average_rating",
                 "survey_response_rate"], _summary_rows),
    "volume": ([*_PERIOD, "filed", "resolved", "closed", "reopened", "cancelled", "open_at_end"], _volume_rows),
    "first_response": ([*_PERIOD, *_DURATIONS], lambda r: _durations_rows(r.first_response)),
    "resolution": ([*_PERIOD, *_DURATIONS], lambda r: _durations_rows(r.resolution)),
    "sla": ([*_PERIOD, "zone", "clock", "target_hours", "met", "breached", "running", "attainment"], _sla_rows),
    "satisfaction": ([*_PERIOD, "surveys_sent", "answered", "response_rate", "average_rating", "rated_1", "rated_2",
                      "rated_3", "rated_4", "rated_5"], _satisfaction_rows),
}


def csv_table(report: Report, table: str = "summary") -> str:
    """One of `TABLES` as CSV, one row per period, every cell neutralised against spreadsheet formulas."""
    header, rows = TABLES[table]
    return csv_text(header, rows(report))


def _duration_series(rows: list[Durations]) -> dict[str, list[float | None]]:
    return {"median_seconds": [d.median for d in rows], "p90_seconds": [d.p90 for d in rows],
            "working_median_seconds": [d.working_median for d in rows],
            "working_p90_seconds": [d.working_p90 for d in rows]}


def chart_data(report: Report) -> dict[str, Any]:
    """The figures as plain data, one list per series in period order: what charts will draw."""
    return {
        "periods": [{"from": p.first.isoformat(), "to": p.last.isoformat()} for p in report.periods.periods],
        "volume": {name: [getattr(v, name) for v in report.volume]
                   for name in ("filed", "resolved", "closed", "reopened", "cancelled", "open_at_end")},
        "first_response": _duration_series(report.first_response),
        "resolution": _duration_series(report.resolution),
        "sla": [{"period": a.period.index, "zone_id": a.zone_id, "clock": a.kind, "target_hours": a.target_hours,
                 "met": a.met, "breached": a.breached, "running": a.running} for a in report.sla],
        "satisfaction": {"sent": [s.sent for s in report.satisfaction],
                         "answered": [s.answered for s in report.satisfaction],
                         "average": [s.average for s in report.satisfaction]},
    }
