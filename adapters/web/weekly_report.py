"""The weekly report's switch on the web: a small form on `/analytics` when it is filtered by a team, shown to
whoever may turn that team's report off or on (`Policy.can_switch_weekly_report`), and `POST
/analytics/weekly-report`, which calls the same use case as `/desk report on|off <team>` in chat
(`bot.analytics.weekly.switch_weekly_report`). Anyone else who posts the form is refused with the reason,
and nothing is written.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from adapters.web.site import Site, Visit
from bot.analytics.weekly import weekly_setting
from bot.config import Team
from bot.errors import DeskError, Duplicate
from bot.i18n import _


class WeeklyReportSwitch:
    """The form's state for a page, and the route that switches."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.desk = site.desk

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Mount the switch."""
        router.add_post("/analytics/weekly-report", self.site.route(self.switch))

    async def setting(self, visit: Visit, team_id: str | None) -> tuple[Team, bool] | None:
        """The team and whether its report is on, when the page is filtered by a team the reader may switch."""
        return await weekly_setting(self.desk, visit.user, team_id)

    async def switch(self, visit: Visit) -> web.StreamResponse:
        """Turn the team's report on or off, then back to its figures; a refusal is a 403 page saying why."""
        from bot.analytics.weekly import switch_weekly_report

        wanted = visit.field("report")
        team = visit.field("team")
        if wanted not in ("on", "off") or not team:
            return self.site.problem(visit, 400, _("Bad request"), _(
                "Zonedesk could not read what your browser sent. Go back, reload the page and try again."))
        if self.site.config.team(team) is None:
            return self.site.problem(visit, 404, _("Not found"), _(
                "There is no page at this address. Check the link, or start again from the front page."))
        try:
            said = await switch_weekly_report(self.desk, visit.user, team, wanted == "on", visit.dedupe_key())
            visit.session.flash(said)
        except Duplicate:  # sent twice: the first one switched it
            pass
        except DeskError as exc:
            return self.site.problem(visit, 403, _("The weekly report cannot be changed"), exc.message)
        return self.site.redirect("/analytics?" + urlencode({"team": team}) + "#weekly-report")
