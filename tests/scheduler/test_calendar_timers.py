"""Timers follow the zone's calendar through Christmas closing days and a daylight-saving change."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.scheduler.world import ALEXIS, World, oslo


async def test_a_stale_reminder_skips_the_christmas_closing_days(world: World) -> None:
    world.clock.set(oslo(2026, 12, 23, 14))  # Wednesday; the 24th is closed, the 25th and 26th are holidays
    await world.desk.claim(world.actor(ALEXIS), await world.file())
    await world.at(oslo(2026, 12, 24, 12))
    await world.at(oslo(2026, 12, 28, 9, 59))
    assert await world.reminders("stale") == []
    await world.at(oslo(2026, 12, 28, 10))  # two hours on the 23rd, two on Monday the 28th
    assert [o.to for o in await world.reminders("stale")] == ["dm:UALEXIS"]


async def test_auto_close_counts_working_days_over_new_year(world: World) -> None:
    world.clock.set(oslo(2026, 12, 23, 10))
    number = await world.file()
    await world.desk.claim(world.actor(ALEXIS), number)
    await world.desk.set_status(world.actor(ALEXIS), number, "resolved")
    await world.at(oslo(2026, 12, 30, 12))
    await world.at(oslo(2027, 1, 4, 9, 59))  # the 31st is closed and New Year's Day a holiday
    assert await world.sent() == []
    await world.at(oslo(2027, 1, 4, 10))
    assert ["one more working day" in o.message.text for o in await world.sent()] == [True]
    await world.at(oslo(2027, 1, 5, 10))
    assert (await world.request(number)).closed_by == "auto"


async def test_a_reminder_lands_on_local_working_time_after_the_clocks_go_back(world: World) -> None:
    world.clock.set(oslo(2026, 10, 23, 14))  # Friday, summer time (UTC+2); winter time from Sunday
    await world.desk.claim(world.actor(ALEXIS), await world.file())
    await world.at(datetime(2026, 10, 26, 8, 59, tzinfo=UTC))  # Monday 09:59 in Oslo
    assert await world.reminders("stale") == []
    await world.at(datetime(2026, 10, 26, 9, 0, tzinfo=UTC))  # Monday 10:00 in Oslo (UTC+1)
    assert [o.to for o in await world.reminders("stale")] == ["dm:UALEXIS"]
