"""The weekly report's switch on `/analytics?team=...` over HTTP: a manager of the team's zone sees it and turns the
report off and on (the same use case as `/desk report off <team>`); an agent of the team, who reads the same
figures, sees no switch and is refused if she posts the form anyway; nothing is written for her."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from bot.i18n import translator
from bot.model import WeeklyReport
from bot.server import Services
from tests.untranslated import english_left
from tests.web.conftest import IT_AGENT, IT_AGENT_2, Browser

ADMIN = "admin@nordlys.example"


async def _stored(services: Services, team: str) -> tuple[bool, str] | None:
    async with services.sessions() as session:
        row = (await session.execute(select(WeeklyReport).where(WeeklyReport.team_id == team))).scalar_one_or_none()
        return (row.enabled, row.changed_by) if row else None


async def test_a_zone_manager_turns_the_teams_weekly_report_off_and_on(browsers: Callable[[], Browser],
                                                                      web_services: Services) -> None:
    manager = browsers()
    await manager.sign_in(IT_AGENT_2)  # Ivar manages IT
    page = await manager.get("/analytics?team=it-support")
    assert page.status == 200 and 'action="/analytics/weekly-report"' in page.html
    assert "Last week's figures of IT support are posted in its triage channel" in page.text
    assert "Turn the weekly report off" in page.text
    unfiltered = await manager.get("/analytics")
    assert 'action="/analytics/weekly-report"' not in unfiltered.html, "only on a page filtered by a team"

    done = await manager.post("/analytics/weekly-report", {"team": "it-support", "report": "off", "once": "a1"})
    assert done.status == 200 and done.url.endswith("/analytics?team=it-support")
    assert "The weekly report of IT support is off: nothing is posted until a manager turns it on again." in done.text
    assert "Turn the weekly report on" in done.text
    assert await _stored(web_services, "it-support") == (False, IT_AGENT_2)

    again = await manager.post("/analytics/weekly-report", {"team": "it-support", "report": "off", "once": "a1"})
    assert again.status == 200, "sent twice: done once, no error"

    await manager.post("/analytics/weekly-report", {"team": "it-support", "report": "on", "once": "a2"})
    assert await _stored(web_services, "it-support") == (True, IT_AGENT_2)


async def test_an_agent_of_the_team_sees_no_switch_and_is_refused(browsers: Callable[[], Browser],
                                                                  web_services: Services) -> None:
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    page = await agent.get("/analytics?team=it-support")
    assert page.status == 200, "she reads her team's figures"
    assert 'action="/analytics/weekly-report"' not in page.html
    refused = await agent.post("/analytics/weekly-report", {"team": "it-support", "report": "off", "once": "b1"})
    assert refused.status == 403
    assert ("Only a manager of IT, where IT support belongs, or an administrator can turn its weekly report off or "
            "on.") in refused.text
    assert await _stored(web_services, "it-support") is None, "nothing written"
    missing = await agent.post("/analytics/weekly-report", {"team": "nobody", "report": "off", "once": "b2"})
    assert missing.status == 404
    bad = await agent.post("/analytics/weekly-report", {"team": "it-support", "report": "sometimes"})
    assert bad.status == 400 and await _stored(web_services, "it-support") is None
    forged = await agent.post("/analytics/weekly-report", {"team": "it-support", "report": "off"}, csrf=False)
    assert forged.status == 403 and await _stored(web_services, "it-support") is None


async def test_the_switch_reads_in_the_visitors_language(browsers: Callable[[], Browser]) -> None:
    manager = browsers()
    await manager.sign_in(IT_AGENT_2)
    await manager.post("/language", {"language": "de", "next": "/"})
    page = await manager.get("/analytics?team=it-support")
    de = translator("de")
    assert de.gettext("Turn the weekly report off") in page.text
    assert de.gettext("Weekly report in chat") in page.text
    form = page.html.split('id="weekly-report"', 1)[1].split("</form>", 1)[0]
    assert english_left(form, "de") == [], form
