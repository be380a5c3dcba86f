"""SLA: the first matching rule, clocks in working time that pause and resume, warnings, breaches and reports."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select

from bot.access import Level
from bot.catalog import file_form
from bot.config import Category, SlaRule, Zone
from bot.desk import WEB
from bot.model import Request, Schedule, SlaClock
from bot.scheduler.sla import pauses, rule_for, sla_breaches, sla_report
from tests.scheduler.world import ALEXIS, IVAR, ZACK, World, oslo


async def _clocks(world: World, number: int) -> dict[str, SlaClock]:
    async with world.services.sessions() as session:
        rows = await session.execute(select(SlaClock).where(SlaClock.request_id == number))
        return {c.kind: c for c in rows.scalars()}


async def test_a_high_priority_request_warns_the_triage_channel_then_breaches(world: World) -> None:
    number = await world.file("VPN is down for me", urgency="high")  # high: first response in 1 working hour
    assert (await world.request(number)).priority == "high"
    await world.at(oslo(2026, 11, 24, 9, 47))
    assert await world.reminders("sla_warning") == []
    await world.at(oslo(2026, 11, 24, 9, 48))  # 80% of the hour gone
    [warning] = await world.reminders("sla_warning")
    assert warning.to == "channel:C0ITTRIAGE", "nobody has it yet"
    assert warning.message.title == f"SLA warning: #{number} first response is due Tue 24 Nov 10:00 Europe/Oslo"
    assert "12 working minutes left" in warning.message.text
    await world.at(oslo(2026, 11, 24, 10))
    [breach] = await world.reminders("sla_breach")
    assert breach.message.title == f"SLA breached: #{number} first response was due Tue 24 Nov 10:00 Europe/Oslo"
    detail = await world.desk.get_request(world.actor(ALEXIS), number)
    assert [e.kind for e in detail.history if e.kind.startswith("sla_")] == ["sla_warning", "sla_breached"]
    assert {e.channel for e in detail.history if e.kind.startswith("sla_")} == {"scheduler"}


async def test_requests_filed_in_one_burst_each_get_their_clocks_and_warnings(world: World) -> None:
    # Filed together, they share transactions; their clocks and timers are written with the group's.
    numbers = await asyncio.gather(*(world.file(f"VPN is down for me ({i})", urgency="high") for i in range(6)))
    for number in numbers:
        clocks = await _clocks(world, number)
        assert sorted(clocks) == ["first_response", "resolution"]
        assert clocks["first_response"].due_at == oslo(2026, 11, 24, 10)
        assert clocks["resolution"].due_at == oslo(2026, 11, 25, 9)  # 8 working hours: 7 today, 1 tomorrow
    await world.at(oslo(2026, 11, 24, 9, 48))
    assert sorted(w.request_id for w in await world.reminders("sla_warning")) == sorted(numbers)


async def test_a_request_filed_and_changed_in_one_transaction_keeps_one_pair_of_clocks(world: World) -> None:
    # The new-hire form opens its approval in the filing's transaction: a second change before commit.
    ivar = world.desk.actor("ivar.lund@nordlys.example")
    filed = await file_form(world.desk, world.services.catalog, ivar, WEB, "new-hire-account", {
        "name": "Kari Nordmann", "personal-email": "kari@example.com", "manager": "marte.viken@nordlys.example",
        "start-date": "2026-12-01", "laptop": "Developer 16-inch", "systems": ["Jira"], "nda-signed": "on"})
    assert not isinstance(filed, dict)
    assert (await world.request(filed.number)).waiting_reason == "approval"
    clocks = await _clocks(world, filed.number)
    assert sorted(clocks) == ["first_response", "resolution"]
    assert clocks["first_response"].started_at == world.clock.now()
    async with world.services.sessions() as session:
        kinds = sorted((await session.execute(select(Schedule.kind).where(
            Schedule.request_id == filed.number, Schedule.cancelled_at.is_(None)))).scalars())
    assert kinds == ["approval_reminder", "sla", "sla"]


async def test_an_agent_reply_meets_the_first_response_target_and_nothing_fires(world: World) -> None:
    number = await world.file("VPN is down for me", urgency="high")
    world.clock.set(oslo(2026, 11, 24, 9, 30))
    await world.desk.claim(world.actor(ALEXIS), number)
    await world.desk.reply(world.actor(ALEXIS), number, "On it")
    await world.at(oslo(2026, 11, 24, 10, 30))
    assert [o.message.extra.get("reminder") for o in await world.sent()] == []
    clocks = await _clocks(world, number)
    assert clocks["first_response"].met_at == oslo(2026, 11, 24, 9, 30)
    assert clocks["first_response"].breached_at is None


async def test_waiting_on_the_requester_stops_the_clock_and_an_answer_starts_it_again(world: World) -> None:
    number = await world.file()  # normal priority: resolution in 24 working hours
    world.clock.set(oslo(2026, 11, 24, 9, 30))
    await world.desk.claim(world.actor(ALEXIS), number)
    await world.desk.reply(world.actor(ALEXIS), number, "Which model is it?")
    world.clock.set(oslo(2026, 11, 24, 10))
    await world.desk.set_status(world.actor(ALEXIS), number, "waiting", reason="requester")
    assert (await _clocks(world, number))["resolution"].paused_at == oslo(2026, 11, 24, 10)
    await world.at(oslo(2026, 11, 26, 9, 59))  # unpaused, the warning would be due Thursday 12:12
    assert await world.reminders("sla_warning") == []
    world.clock.set(oslo(2026, 11, 26, 10))  # two working days (16 hours) later the requester answers
    await world.desk.comment(world.actor(ZACK), number, "A ThinkPad X1", from_thread=True)
    resolution = (await _clocks(world, number))["resolution"]
    assert resolution.paused_at is None and resolution.paused_hours == 16
    assert resolution.due_at == oslo(2026, 12, 1, 9)  # 24 + 16 working hours after Tuesday 09:00
    await world.at(oslo(2026, 11, 30, 12, 11))
    assert await world.reminders("sla_warning") == []
    await world.at(oslo(2026, 11, 30, 12, 12))  # 80% of 24 hours, plus the 16 paused
    [warning] = await world.reminders("sla_warning")
    assert warning.to == "dm:UALEXIS"


async def test_a_resolution_meets_the_target_and_a_reopen_resumes_it(world: World) -> None:
    number = await world.file()
    await world.desk.claim(world.actor(ALEXIS), number)
    await world.desk.reply(world.actor(ALEXIS), number, "Fixed it remotely")
    world.clock.set(oslo(2026, 11, 24, 11))
    await world.desk.set_status(world.actor(ALEXIS), number, "resolved")
    assert (await _clocks(world, number))["resolution"].met_at == oslo(2026, 11, 24, 11)
    world.clock.set(oslo(2026, 11, 25, 11))
    await world.desk.reopen(world.actor(ZACK), number, "Still broken")
    resolution = (await _clocks(world, number))["resolution"]
    assert resolution.met_at is None and resolution.paused_hours == 8, "the resolved day does not count"
    assert resolution.due_at == oslo(2026, 11, 30, 9)


def test_the_first_matching_rule_wins_with_parent_categories_and_teams() -> None:
    zone = Zone(id="x", name="X", categories=(Category(id="hardware", name="Hardware", children=(
        Category(id="laptop", name="Laptop"),)),), sla=(
        SlaRule(priority="critical", first_response_hours=0.5, resolution_hours=4),
        SlaRule(team="vip", first_response_hours=1, resolution_hours=8),
        SlaRule(category="hardware", first_response_hours=2, resolution_hours=16),
        SlaRule(first_response_hours=4, resolution_hours=24)))

    def rule(**fields: object) -> float | None:
        request = Request(priority="normal", category_id=None, team_id=None)
        for key, value in fields.items():
            setattr(request, key, value)
        found = rule_for(zone, request)
        return found.first_response_hours if found else None

    assert rule(priority="critical", team="vip", category_id="laptop") == 0.5
    assert rule(team_id="vip", category_id="laptop") == 1
    assert rule(category_id="laptop") == 2, "a rule for a category covers its children"
    assert rule() == 4
    assert rule_for(Zone(id="y", name="Y"), Request(priority="normal")) is None


def test_approval_pauses_the_clock_only_when_the_rule_says_so() -> None:
    waiting = Request(status="waiting", waiting_reason="approval")
    assert pauses(waiting, SlaRule(first_response_hours=1, resolution_hours=2, pause_on_approval=True))
    assert not pauses(waiting, SlaRule(first_response_hours=1, resolution_hours=2))
    assert pauses(Request(status="waiting", waiting_reason="requester"),
                  SlaRule(first_response_hours=1, resolution_hours=2))


async def test_the_report_counts_attainment_and_breaches_only_where_the_reader_may_look(world: World) -> None:
    late = await world.file("VPN is down", urgency="high")
    on_time = await world.file("Printer jam")
    hr = await world.file("Parental leave", zone="hr", channel="C0ASKHR")
    world.clock.set(oslo(2026, 11, 24, 9, 30))
    await world.desk.claim(world.actor(ALEXIS), on_time)
    await world.desk.reply(world.actor(ALEXIS), on_time, "On it")
    await world.at(oslo(2026, 11, 24, 10, 5))
    await world.desk.claim(world.actor(ALEXIS), late)
    await world.desk.reply(world.actor(ALEXIS), late, "Sorry for the wait")
    since, until = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    ivar = world.actor(IVAR)
    visible = world.desk.policy.request_clause(ivar, Level.READER)
    async with world.services.sessions() as session:
        report = await sla_report(session, ["it", "hr"], since, until, visible=visible)
        breaches = await sla_breaches(session, ["it", "hr"], since, until, visible=visible)
        hanna_sees = await sla_report(session, ["it", "hr"], since, until, visible=world.desk.policy.request_clause(
            world.actor("hanna.berg@nordlys.example"), Level.READER))
    first = next(r for r in report if r.kind == "first_response")
    assert (first.zone_id, first.clocks, first.met, first.met_in_time, first.breached) == ("it", 2, 2, 1, 1)
    assert first.attainment == 0.5
    assert [(b.request_id, b.kind) for b in breaches] == [(late, "first_response")]
    assert {r.zone_id for r in report} == {"it"}, "Ivar reads IT, not HR"
    assert {r.zone_id for r in hanna_sees} == {"hr"} and hr
