"""`GET /analytics`: the figures a zone manager or an agent may read, per period, with a filter form and a help
text per table; `GET /analytics.csv`: the same query's summary (or `table=`) as CSV.

The figures come from `bot.analytics` (which decides what counts for whom); this module only reads the
query and renders. Someone with no figures to read gets the 404 page, as for anything else one may not
see. Each table has a chart above it: the figures and every word the charts show (already in the reader's
language) are written as JSON in a `<script type="application/json">` block, which `static/analytics.js` reads
and draws with the vendored Chart.js. This page alone allows scripts, and only files we serve (`script-src
'self'`): no inline script, no eval.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from aiohttp import web
from babel import dates, numbers

from adapters.web.pages import SECURITY_HEADERS
from adapters.web.site import Site, Visit
from adapters.web.weekly_report import WeeklyReportSwitch
from bot.analytics import TABLES, NoFigures, Query, Report, build_report, chart_data, csv_table
from bot.analytics.details import DETAIL_TABLES, build_details, details_csv
from bot.analytics.periods import KIND_NAMES, KINDS
from bot.analytics.query import zones_in_view
from bot.config import Category
from bot.errors import DeskError
from bot.i18n import N_, SOURCE, _, current
from bot.scheduler.sla import FIRST_RESPONSE

NOTHING = "\u2013"  # an en dash: no figure (and between a period's first and last day)
# Channels by the name people know them by (names of products, the same in every language); a channel
# installed later shows its platform's name as it declares it.
CHANNEL_NAMES = {"web": "Web", "slack": "Slack", "teams": "Microsoft Teams"}
# The pages' policy plus our own script files: the charts are drawn by /static/ scripts reading JSON.
ANALYTICS_CSP = SECURITY_HEADERS["Content-Security-Policy"] + "; script-src 'self'"
# What each chart shows, its accessible name and caption (the numbers are in the table beneath it).
CHART_CAPTIONS = {
    "volume": N_("Requests filed, resolved and open at the end, per period"),
    "first_response": N_("First response time per period, median and 90th percentile, in hours of working time "
                         "and of calendar time"),
    "resolution": N_("Resolution time per period, median and 90th percentile, in hours of working time and of "
                     "calendar time"),
    "sla": N_("SLA targets met, breached and running, per period, every target together"),
    "satisfaction": N_("How many gave each rating, over the whole range"),
}


def duration_words(seconds: float | None) -> str:
    """A duration as people read it: '45 min', '3 h 20 min', '2 d 4 h'; a dash for none."""
    if seconds is None:
        return NOTHING
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("{minutes} min", minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("{hours} h {minutes} min", hours=hours, minutes=minutes) if minutes else _("{hours} h", hours=hours)
    days, hours = divmod(hours, 24)
    return _("{days} d {hours} h", days=days, hours=hours) if hours else _("{days} d", days=days)


def target_words(hours: float) -> str:
    """An SLA target (working hours) as people read it: '30 min', '4 h', '1.5 h'."""
    if hours < 1:
        return _("{minutes} min", minutes=round(hours * 60))
    return _("{hours} h", hours=current().number(round(hours, 2)))


def percent(value: float | None) -> str:
    """A share as a percentage in the page's language ('83 %' in Norwegian); a dash for none."""
    if value is None:
        return NOTHING
    return numbers.format_percent(value, locale=current().locale)


def rating(value: float | None) -> str:
    """An average rating with one decimal ('4.3', '4,3'); a dash for none."""
    if value is None:
        return NOTHING
    return numbers.format_decimal(value, format="0.0", locale=current().locale)


def day_words(value: date) -> str:
    """A date as the page's language writes it short: '24 Nov 2026', '24. Nov. 2026'."""
    if current().language == SOURCE:
        return value.strftime("%d %b %Y")
    return dates.format_skeleton("yMMMd", value, locale=current().locale)


def period_words(first: date, last: date) -> str:
    """A period: one day, or its first and last day."""
    return day_words(first) if first == last else f"{day_words(first)} {NOTHING} {day_words(last)}"


def clock_words(kind: str, hours: float) -> str:
    """An SLA target: 'First response within 4 h', 'Resolution within 24 h'."""
    if kind == FIRST_RESPONSE:
        return _("First response within {target}", target=target_words(hours))
    return _("Resolution within {target}", target=target_words(hours))


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def charts(report: Report) -> list[dict[str, Any]]:
    """What each chart draws, every word in the page's language: the script only draws what it is given.
    Durations are drawn in hours, with the page's words for each point as its tooltip."""
    labels = [period_words(p.first, p.last) for p in report.periods.periods]
    sla: list[list[int]] = [[0, 0, 0] for _unused in labels]
    for row in report.sla:
        counts = sla[row.period.index]
        counts[0], counts[1], counts[2] = counts[0] + row.met, counts[1] + row.breached, counts[2] + row.running

    def times(key: str, rows: list[Any]) -> dict[str, Any]:
        # Working time first, as the tables lead with it; calendar time beside it. (A report's durations carry
        # both; `getattr` lets a hand-made report with calendar time alone be drawn too.)
        series = [(_("Median"), [getattr(d, "working_median", None) for d in rows]),
                  (_("90th percentile"), [getattr(d, "working_p90", None) for d in rows]),
                  (_("Median, calendar time"), [d.median for d in rows]),
                  (_("90th percentile, calendar time"), [d.p90 for d in rows])]
        return {"id": key, "type": "line", "labels": labels, "axis": _("Hours"),
                "series": [{"label": name, "data": [_hours(v) for v in values],
                            "text": [duration_words(v) for v in values]} for name, values in series]}

    return [{**chart, "caption": _(CHART_CAPTIONS[str(chart["id"])])} for chart in (
        {"id": "volume", "type": "bar", "labels": labels, "axis": _("Requests"), "series": [
            {"label": _("Filed"), "data": [v.filed for v in report.volume]},
            {"label": _("Resolved"), "data": [v.resolved for v in report.volume]},
            {"label": _("Open at the end"), "data": [v.open_at_end for v in report.volume], "type": "line"}]},
        times("first_response", report.first_response),
        times("resolution", report.resolution),
        {"id": "sla", "type": "bar", "stacked": True, "labels": labels, "axis": _("Requests"), "series": [
            {"label": name, "data": [counts[i] for counts in sla]}
            for i, name in enumerate((_("Met"), _("Breached"), _("Running")))]},
        {"id": "satisfaction", "type": "bar", "labels": [current().number(n) for n in range(1, 6)],
         "axis": _("Answered"), "series": [{"label": _("Answered"),
                                             "data": list(report.totals.satisfaction.ratings)}]},
    )]


def _categories(nodes: tuple[Category, ...], depth: int = 0) -> Iterator[tuple[str, str]]:
    for node in nodes:
        yield node.id, "\u2003" * depth + node.name  # em spaces show the tree in a plain <select>
        yield from _categories(node.children, depth + 1)


class AnalyticsPages:
    """The analytics page and its CSV export."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.desk = site.desk
        env = site.pages.env
        env.filters["duration"] = duration_words
        env.filters["percent"] = percent
        env.filters["rating"] = rating
        env.filters["number"] = lambda value: current().number(value)
        env.globals["period_words"] = period_words
        env.globals["clock_words"] = clock_words
        self.weekly = WeeklyReportSwitch(site)  # the team's weekly report switch, on a page filtered by team

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Mount the page and the export."""
        route = self.site.route
        router.add_get("/analytics", route(self.page))
        router.add_get("/analytics.csv", route(self.export))
        self.weekly.add_routes(router)

    def _not_found(self, visit: Visit, exc: NoFigures) -> web.Response:
        return self.site.problem(visit, 404, _("Not found"), exc.message)

    async def page(self, visit: Visit) -> web.StreamResponse:
        """The filter form and one table per figure, with what each counts."""
        raw = dict(visit.request.query)
        try:
            query = Query.parse(raw)
            report = await build_report(self.desk, visit.user, query)
        except NoFigures as exc:
            return self._not_found(visit, exc)
        except DeskError as exc:  # a date that is none, a range that cannot be cut: say so above the form
            if not self.desk.policy.analytics_scope(visit.user):
                return self._not_found(visit, NoFigures())
            return self.site.page(visit, "analytics.html", 400, errors=(exc.message,), report=None,
                                  form=self._form(visit, Query()), typed=raw, params={}, charts=None)
        details = await build_details(self.desk, visit.user, query)
        drawn = {**chart_data(report), "charts": charts(report)}
        response = self.site.page(visit, "analytics.html", report=report, details=details,
                                  form=self._form(visit, query),
                                  typed={**query.params(), "from": report.periods.first.isoformat(),
                                         "to": report.periods.last.isoformat()},
                                  params=query.params(), charts=drawn,
                                  weekly=await self.weekly.setting(visit, query.team))
        response.headers["Content-Security-Policy"] = ANALYTICS_CSP
        return response

    async def export(self, visit: Visit) -> web.StreamResponse:
        """The page's query as CSV: its summary table, or the one `table=` names."""
        table = visit.request.query.get("table") or "summary"
        try:
            if table not in TABLES and table not in DETAIL_TABLES:
                raise NoFigures()
            query = Query.parse(dict(visit.request.query))
            report = await build_report(self.desk, visit.user, query)
            text = csv_table(report, table) if table in TABLES else \
                details_csv(await build_details(self.desk, visit.user, query), table)
        except NoFigures as exc:
            return self._not_found(visit, exc)
        except DeskError as exc:
            if not self.desk.policy.analytics_scope(visit.user):
                return self._not_found(visit, NoFigures())
            return self.site.problem(visit, 400, _("These figures cannot be shown"), exc.message)
        first, last = report.periods.first.isoformat(), report.periods.last.isoformat()
        name = f"analytics-{table}-{first}-{last}.csv"
        return web.Response(text=text, content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def _form(self, visit: Visit, query: Query) -> dict[str, object]:
        """The choices the filter form offers this reader: only what their figures cover."""
        config, policy = self.site.config, self.desk.policy
        scope = policy.analytics_scope(visit.user)
        zones = [(z.id, z.name) for z in config.zones if z.id in scope.zones]
        teams = [(t.id, t.name) for t in config.teams if t.id in scope.named_teams]
        in_view = zones_in_view(config, scope, query)
        categories = [(z.name, list(_categories(z.categories))) for z in in_view if z.categories]
        channels = sorted({"web", *self.desk.platforms})
        people: dict[str, str] = {}
        for zone in in_view:
            for team_id in [None, *(t.id for t in config.teams_in(zone.id) if t.id in scope.named_teams)]:
                people.update(policy.assignees(zone.id, team_id))
        return {
            "zone_names": {z.id: z.name for z in config.zones},
            "zones": zones, "teams": teams, "categories": categories,
            "channels": [(c, CHANNEL_NAMES.get(c, c)) for c in channels],
            "assignees": sorted(people.items(), key=lambda item: (item[1], item[0])),
            "periods": [(kind, _(KIND_NAMES[kind])) for kind in KINDS],
        }
