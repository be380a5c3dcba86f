"""The weekly report in each team's triage channels, end to end: a small week filed through the desk, the real
scheduler ticking on the fake clock, the real outbox sending to the fake Slack Web API and the fake Bot
Connector (Teams), and managers turning the report off with `/desk report off <team>` over Slack's HTTP.

The week (Oslo, the IT calendar's zone; Mon 23 - Sun 29 November 2026), IT support's requests:

| request | filed | what happens |
|---|---|---|
| R0 | Fri 20 Nov 10:00 | nothing: open when the week starts and when it ends |
| R1 | Tue 24 Nov 09:00, urgency high (SLA 1 h / 8 h) | reply 09:30, resolved 11:00, closed 11:05; rated 5 |
| R2 | Tue 24 Nov 09:10 (SLA 4 h / 24 h) | reply 11:10, resolved 15:10, closed 15:15; no rating |
| R3 | Wed 25 Nov 10:00 | nothing: its first response breaches at 14:00, its resolution still runs |
| HR | Tue 24 Nov 10:00, HR service | not IT support's: counted in HR service's report only |

By hand: filed 3, resolved 2, open 1 at the start and 2 at the end (+1); first responses 30 min and 2 h
(median 1 h 15 min); resolutions 2 h and 6 h (median 4 h: calendar and working time agree here); SLA
clocks met 4 (R1's and R2's), breached 1 (R3's first response), running 1 (R3's resolution): 80 %;
surveys sent 2 (R1, R2), answered 1 with 5: average 5.0, 50 % answered.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from sqlalchemy import func, select

from bot.analytics import Query, build_report
from bot.analytics.periods import RANGE
from bot.clock import FakeClock
from bot.desk import WEB, Origin
from bot.desk.surveys import rate
from bot.i18n import translator
from bot.model import Outbox, Survey, WeeklyReport
from bot.scheduler import Scheduler, install
from bot.server import Services, build_services, create_app
from tests.conftest import ROOT
from tests.fakes.botframework import FakeConnector, OpenIdServer
from tests.fakes.slack_api import FakeSlackAPI
from tests.scheduler.world import oslo
from tests.slack.conftest import IT_TRIAGE as SLACK_IT_TRIAGE
from tests.slack.conftest import SlackWorld, block_text, fake, slack_env  # noqa: F401  (the `fake` fixture)
from tests.teams.conftest import ALEXIS as TEAMS_ALEXIS
from tests.teams.conftest import IT_TRIAGE as TEAMS_IT_TRIAGE
from tests.teams.conftest import IVAR as TEAMS_IVAR
from tests.teams.conftest import (  # noqa: F401  (the `connector` and `openid` fixtures)
    TeamsWorld,
    card_markdown,
    card_of,
    card_text,
    connector,
    openid,
    teams_env,
)
from tests.untranslated import english_left

ZACK, MAX, EMIL = "zack@nordlys.example", "max.meyer@nordlys.example", "emil.berg@nordlys.example"
ALEXIS, IVAR = "alexis.baker@nordlys.example", "ivar.lund@nordlys.example"
HR_TRIAGE = "C0HRTRIAGE"
WEEK = (date(2026, 11, 23), date(2026, 11, 29))
LINK = "http://127.0.0.1:3000/analytics?team=it-support&from=2026-11-23&to=2026-11-29"
EXPECTED = {"Filed": "3", "Resolved": "2", "Open at the start": "1", "Open at the end": "2 (+1)",
            "First response, median": "1 h 15 min", "Resolution, median": "4 h",
            "SLA targets": "4 met, 1 breached, 1 still running (80% met in time)",
            "Satisfaction": "average 5.0 of 5; 1 of 2 surveys answered (50%)"}


@dataclass
class Chat:
    """One server with Slack and Teams mounted against their fakes, and the scheduler (ticked by hand)."""

    services: Services
    scheduler: Scheduler
    slack: SlackWorld
    teams: TeamsWorld
    clock: FakeClock

    async def at(self, when: Any) -> None:
        """Move the clock, tick, and send what the tick queued."""
        self.clock.set(when)
        await self.scheduler.tick()
        await self.services.outbox.drain()

    def slack_reports(self, channel: str) -> list[str]:
        """Weekly reports in a Slack channel, as people read them."""
        texts = [block_text(m.get("blocks") or []) for (where, _ts), m in self.slack.fake.messages.items()
                 if where == channel]
        return [t for t in texts if "weekly report" in t or "ukerapport" in t.lower()]

    def teams_reports(self, channel: str) -> list[dict[str, Any]]:
        """Weekly reports posted as new threads in a Teams channel (their cards)."""
        cards = [card_of(activity) for _id, activity in self.teams.new_threads(channel)]
        return [c for c in cards if "weekly" in card_markdown(c) or "ukerapport" in card_markdown(c).lower()]


def _config(tmp_path: Path, change: Callable[[dict[str, Any]], None] | None) -> Path:
    data = yaml.safe_load((ROOT / "app.yaml").read_text(encoding="utf-8"))
    if change is not None:
        change(data)
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    for folder in ("forms", "saved_replies"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    return path


async def _serve(config: Path, db_url: str, clock: FakeClock, env: dict[str, str]
                 ) -> tuple[Services, web.AppRunner, int]:
    services = build_services(config, db_url, clock=clock, env=env)
    app = await create_app(services, env=env, background=False)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return services, runner, runner.addresses[0][1]


OpenChat = Callable[..., Awaitable[Chat]]


@pytest.fixture
async def open_chat(db_url: str, clock: FakeClock, fake: FakeSlackAPI, connector: FakeConnector,  # noqa: F811
                    openid: OpenIdServer, tmp_path: Path) -> AsyncIterator[OpenChat]:  # noqa: F811
    """Start the server (with a changed app.yaml if asked); `replica=True` starts a second one on the database."""
    env = {**slack_env(fake.base_url), **teams_env(openid, connector)}
    opened: list[tuple[Services, web.AppRunner, aiohttp.ClientSession]] = []
    config: list[Path] = []

    async def start(change: Callable[[dict[str, Any]], None] | None = None, *, replica: bool = False) -> Chat:
        if not config:
            config.append(_config(tmp_path, change))
        services, runner, port = await _serve(config[0], db_url, clock, env)
        http = aiohttp.ClientSession()
        opened.append((services, runner, http))
        scheduler = install(services, env={"ZONEDESK_SCHEDULER": "off"})
        if replica:
            scheduler.worker_id = "replica-2"
        slack = SlackWorld(services, fake, http, f"http://127.0.0.1:{port}/slack/events", clock)
        teams = TeamsWorld(services, connector, openid, http, f"http://127.0.0.1:{port}/api/messages", clock)
        if not replica:  # the bot learns Teams' service URL from the first activity it hears
            answer, _id = await teams.say(TEAMS_ALEXIS, "help")
            assert answer.status == 200, answer
        return Chat(services, scheduler, slack, teams, clock)

    yield start
    for services, runner, http in opened:
        await http.close()
        await runner.cleanup()
        await services.engine.dispose()


async def _week(chat: Chat) -> dict[str, int]:
    """Play the week of the module's table through the desk's use cases, ticking where time passes."""
    desk, clock = chat.services.desk, chat.clock
    threads = iter(range(1, 100))

    async def file(title: str, requester: str, urgency: str | None = None) -> int:
        thread = f"1764000000.{next(threads):06d}"
        origin = Origin("slack", "T0NORDLYS", "C0ITHELP", thread, thread, "UZACK")
        return (await desk.file_request(desk.actor(requester, channel="slack"), origin, title, zone_id="it",
                                        urgency=urgency)).number

    async def survey_of(number: int) -> int:
        async with chat.services.sessions() as session:
            found = await session.scalar(select(Survey.id).where(Survey.request_id == number))
            assert found is not None
            return int(found)

    alexis = desk.actor(ALEXIS, channel="slack")
    n: dict[str, int] = {}
    clock.set(oslo(2026, 11, 20, 10))
    n["R0"] = await file("Printer offline", "gro@nordlys.example")
    clock.set(oslo(2026, 11, 24, 9))
    n["R1"] = await file("Laptop will not start", ZACK, "high")
    clock.set(oslo(2026, 11, 24, 9, 10))
    n["R2"] = await file("VPN drops", MAX)
    clock.set(oslo(2026, 11, 24, 9, 30))
    await desk.reply(alexis, n["R1"], "Hold the power button for ten seconds.")
    clock.set(oslo(2026, 11, 24, 10))
    n["HR"] = (await desk.file_request(desk.actor("hans@nordlys.example"), WEB, "Parental leave from May",
                                       zone_id="hr", category_id="leave")).number
    clock.set(oslo(2026, 11, 24, 11))
    await desk.set_status(alexis, n["R1"], "resolved")
    clock.set(oslo(2026, 11, 24, 11, 5))
    await desk.set_status(alexis, n["R1"], "closed")
    await chat.at(oslo(2026, 11, 24, 11, 5))
    clock.set(oslo(2026, 11, 24, 11, 10))
    await rate(desk, desk.actor(ZACK, channel="slack"), await survey_of(n["R1"]), 5)
    await desk.reply(alexis, n["R2"], "Which network are you on?")
    clock.set(oslo(2026, 11, 24, 15, 10))
    await desk.set_status(alexis, n["R2"], "resolved")
    clock.set(oslo(2026, 11, 24, 15, 15))
    await desk.set_status(alexis, n["R2"], "closed")
    await chat.at(oslo(2026, 11, 24, 15, 15))
    clock.set(oslo(2026, 11, 25, 10))
    n["R3"] = await file("New screen please", EMIL)
    await chat.at(oslo(2026, 11, 25, 15))  # R3's first response breached at 14:00
    await chat.at(oslo(2026, 11, 27, 12))
    return n


def _fields(text: str) -> dict[str, str]:
    """A Slack report's fields: '*Label*\\nvalue' pairs as the blocks hold them."""
    found: dict[str, str] = {}
    lines = text.split("\n")[1:]  # after the title
    for label, value in itertools.pairwise(lines):
        if label.startswith("*") and label.endswith("*") and len(label) > 2:
            found[label.strip("*")] = value
    return found


async def test_the_report_appears_once_in_slack_and_teams_triage_on_monday_0800_with_the_weeks_figures(
        open_chat: OpenChat) -> None:
    chat = await open_chat()
    await _week(chat)
    await chat.at(oslo(2026, 11, 30, 7, 59))
    assert chat.slack_reports(SLACK_IT_TRIAGE) == [] and chat.teams_reports(TEAMS_IT_TRIAGE) == []
    await chat.at(oslo(2026, 11, 30, 8))
    [slack] = chat.slack_reports(SLACK_IT_TRIAGE)
    assert slack.startswith("*IT support: weekly report for 23 Nov 2026 to 29 Nov 2026*")
    assert _fields(slack) == EXPECTED
    [post] = [m for (where, _ts), m in chat.slack.fake.messages.items()
              if where == SLACK_IT_TRIAGE and "weekly report" in block_text(m.get("blocks") or [])]
    assert f"<{LINK.replace('&', '&amp;')}|Open the figures>" in str(post["blocks"]), "the page, the same query"
    [card] = chat.teams_reports(TEAMS_IT_TRIAGE)
    facts = {f["title"]: f["value"] for e in card["body"] if e.get("type") == "FactSet" for f in e["facts"]}
    assert facts == EXPECTED
    assert "IT support: weekly report for 23 Nov 2026 to 29 Nov 2026" in card_text(card)
    assert [a["url"] for a in card.get("actions", []) if a.get("type") == "Action.OpenUrl"] == [LINK]

    # The page, asked the same for a manager of the zone, shows the same figures (one definition).
    desk = chat.services.desk
    page = await build_report(desk, desk.actor(IVAR), Query(team="it-support", period=RANGE, first=WEEK[0],
                                                            last=WEEK[1]))
    summary = page.total_summary()
    assert (summary.filed, summary.resolved, summary.open_at_end, summary.first_response_median,
            summary.resolution_median, summary.sla_met, summary.sla_breached) == (3, 2, 2, 4500, 14400, 4, 1)

    # HR service had its own week: its one request, in its own triage channel (Slack only in app.yaml).
    [hr] = chat.slack_reports(HR_TRIAGE)
    assert hr.startswith("*HR service: weekly report") and _fields(hr)["Filed"] == "1"

    # Later ticks that day and that week send nothing again; the next Monday's report covers the next week.
    for when in (oslo(2026, 11, 30, 8, 1), oslo(2026, 11, 30, 12), oslo(2026, 12, 2, 9)):
        await chat.at(when)
    assert len(chat.slack_reports(SLACK_IT_TRIAGE)) == 1 and len(chat.teams_reports(TEAMS_IT_TRIAGE)) == 1
    await chat.at(oslo(2026, 12, 7, 8))
    reports = chat.slack_reports(SLACK_IT_TRIAGE)
    assert len(reports) == 2 and "30 Nov 2026 to 6 Dec 2026" in reports[1]


async def test_a_monday_holiday_moves_the_report_to_tuesday(open_chat: OpenChat) -> None:
    chat = await open_chat()
    calendar = chat.scheduler.calendars.of_zone("it")
    assert not calendar.is_working_day(date(2026, 5, 25)), "Whit Monday is a public holiday in Norway"
    chat.clock.set(oslo(2026, 5, 20, 10))
    await chat.services.desk.file_request(chat.services.desk.actor(ZACK), WEB, "Mouse is broken", zone_id="it")
    await chat.at(oslo(2026, 5, 22, 12))  # Friday: arms the next report
    await chat.at(oslo(2026, 5, 25, 8))
    await chat.at(oslo(2026, 5, 25, 14))
    assert chat.slack_reports(SLACK_IT_TRIAGE) == [], "nothing on the holiday"
    await chat.at(oslo(2026, 5, 26, 7, 59))
    assert chat.slack_reports(SLACK_IT_TRIAGE) == []
    await chat.at(oslo(2026, 5, 26, 8))
    [report] = chat.slack_reports(SLACK_IT_TRIAGE)
    assert "IT support: weekly report for 18 May 2026 to 24 May 2026" in report
    assert _fields(report)["Filed"] == "1"
    assert len(chat.teams_reports(TEAMS_IT_TRIAGE)) == 1


async def test_two_replicas_ticking_at_once_send_the_report_once(open_chat: OpenChat) -> None:
    first = await open_chat()
    second = await open_chat(replica=True)
    await _week(first)
    first.clock.set(oslo(2026, 11, 30, 8))
    for _round in range(3):  # both tick at 08:00, again and again
        if first.services.engine.dialect.name == "postgresql":
            await asyncio.gather(first.scheduler.tick(), second.scheduler.tick())
        else:  # two SQLite engines in one process share its loop, which SQLite's busy wait would block: in turn
            await second.scheduler.tick()
            await first.scheduler.tick()
    await asyncio.gather(first.services.outbox.drain(), second.services.outbox.drain())
    assert len(first.slack_reports(SLACK_IT_TRIAGE)) == 1
    assert len(first.teams_reports(TEAMS_IT_TRIAGE)) == 1
    async with first.services.sessions() as session:
        queued = (await session.execute(select(Outbox.conversation).where(Outbox.kind == "report"))).scalars()
        wanted = [f"slack:{SLACK_IT_TRIAGE}:", f"teams:{TEAMS_IT_TRIAGE}:", f"slack:{HR_TRIAGE}:"]
        assert sorted(queued) == sorted(wanted), "one outbox row per channel, whichever replica took each timer"


async def test_an_opted_out_team_gets_nothing_and_the_others_still_do(open_chat: OpenChat) -> None:
    chat = await open_chat()
    await _week(chat)
    answer = await chat.slack.desk("UIVAR", "report off it-support")
    assert answer == ("The weekly report of IT support is off: nothing is posted until a manager turns it on "
                      "again.")
    await chat.at(oslo(2026, 11, 30, 8))
    assert chat.slack_reports(SLACK_IT_TRIAGE) == [] and chat.teams_reports(TEAMS_IT_TRIAGE) == []
    assert len(chat.slack_reports(HR_TRIAGE)) == 1, "HR service still hears of its week"

    answer = await chat.slack.desk("UIVAR", "report on IT support")  # by name too
    assert answer.startswith("The weekly report of IT support is on")
    await chat.at(oslo(2026, 12, 7, 8))
    assert len(chat.slack_reports(SLACK_IT_TRIAGE)) == 1 and len(chat.teams_reports(TEAMS_IT_TRIAGE)) == 1


async def test_someone_who_does_not_manage_the_zone_cannot_turn_the_report_off(open_chat: OpenChat) -> None:
    chat = await open_chat()
    refusal = ("Only a manager of IT, where IT support belongs, or an administrator can turn its weekly report off "
               "or on.")
    assert await chat.slack.desk("UALEXIS", "report off it-support") == refusal, "an agent of the team"
    chat.slack.fake.add_user("UOLAV", "olav.strand@nordlys.example", "Olav Strand")
    assert await chat.slack.desk("UOLAV", "report off it-support") == refusal, "HR's manager"
    assert await chat.slack.desk("UZACK", "report off it-support") == refusal, "a requester"
    assert await chat.slack.desk("UIVAR", "report off nobody") == (
        "There is no team 'nobody'. Teams: dispatch, it-support, hr-service, employee-relations, payroll, "
        "accounting, facilities-team.")
    assert (await chat.slack.desk("UIVAR", "report maybe it-support")).startswith("Usage: report on|off <team>")
    async with chat.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(WeeklyReport)) == 0, "nothing written"
    chat.slack.fake.add_user("UADMIN", "admin@nordlys.example", "Desk Admin")
    assert (await chat.slack.desk("UADMIN", "report off it-support")).startswith("The weekly report of IT support "
                                                                                 "is off")
    await _week(chat)
    await chat.at(oslo(2026, 11, 30, 8))
    assert chat.slack_reports(SLACK_IT_TRIAGE) == []


async def test_in_teams_the_manager_switches_it_and_an_agent_is_refused(open_chat: OpenChat) -> None:
    chat = await open_chat()
    await chat.teams.say(TEAMS_ALEXIS, "desk report off it-support")
    assert ("Only a manager of IT, where IT support belongs, or an administrator can turn its weekly report off "
            "or on.") in card_text(card_of(chat.teams.sent_to(TEAMS_ALEXIS.chat)[-1]))
    async with chat.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(WeeklyReport)) == 0
    await chat.teams.say(TEAMS_IVAR, "desk report off it-support")
    assert "The weekly report of IT support is off" in card_text(card_of(chat.teams.sent_to(TEAMS_IVAR.chat)[-1]))
    await _week(chat)
    await chat.at(oslo(2026, 11, 30, 8))
    assert chat.teams_reports(TEAMS_IT_TRIAGE) == [] and chat.slack_reports(SLACK_IT_TRIAGE) == []

def _norwegian_it(data: dict[str, Any]) -> None:
    [it] = [z for z in data["zones"] if z["id"] == "it"]
    it["language"] = "nb"


async def test_a_norwegian_zones_report_is_in_norwegian_with_no_english_left(open_chat: OpenChat) -> None:
    chat = await open_chat(_norwegian_it)
    await _week(chat)
    await chat.at(oslo(2026, 11, 30, 8))
    nb = translator("nb")
    title = nb.gettext("{team}: weekly report for {first} to {last}", team="IT support", first="\0",
                       last="\0").split("\0")[0]
    posts = [block_text(m.get("blocks") or []) for (where, _ts), m in chat.slack.fake.messages.items()
             if where == SLACK_IT_TRIAGE and title in block_text(m.get("blocks") or [])]
    assert len(posts) == 1
    [text] = posts
    assert nb.gettext("Open at the start") in text and nb.gettext("Satisfaction") in text
    assert nb.gettext("Open the figures") in text
    assert english_left(text, "nb") == [], text
    cards = [card_text(card_of(a)) for _id, a in chat.teams.new_threads(TEAMS_IT_TRIAGE)
             if title in card_text(card_of(a))]
    assert len(cards) == 1 and english_left(cards[0], "nb") == [], cards


def _odd_name(data: dict[str, Any]) -> None:
    [team] = [t for t in data["teams"] if t["id"] == "it-support"]
    team["name"] = "R&D <ops> *core* _x_"


async def test_a_team_name_with_markup_is_shown_as_written_on_slack_and_teams(open_chat: OpenChat) -> None:
    chat = await open_chat(_odd_name)
    await _week(chat)
    await chat.at(oslo(2026, 11, 30, 8))
    [post] = [m for (where, _ts), m in chat.slack.fake.messages.items()
              if where == SLACK_IT_TRIAGE and "weekly report" in block_text(m.get("blocks") or [])]
    shown = block_text(post["blocks"])
    assert "R&amp;D &lt;ops&gt;" in shown and "<ops>" not in shown, "Slack's three entities escaped"
    [card] = chat.teams_reports(TEAMS_IT_TRIAGE)
    assert "R&D <ops> *core* _x_: weekly report" in card_text(card), "read as written"
    assert "\\*core\\*" in card_markdown(card), "Teams markdown escaped"

