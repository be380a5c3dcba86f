"""The daily digest: each team's open work in its triage channel, on working days only."""

from __future__ import annotations

from tests.scheduler.world import ALEXIS, World, oslo


async def _digests(world: World) -> list[tuple[str, str, dict[str, str]]]:
    return [(o.to, o.message.title or "", dict(o.message.fields)) for o in await world.sent(digests=True)
            if "digest" in o.message.extra]


async def test_a_team_hears_of_its_open_unassigned_breaching_and_waiting_work_each_working_morning(
        world: World) -> None:
    await world.file("VPN is down", urgency="high")
    await world.file("New screen please")
    waiting = await world.file("Install Figma")
    await world.desk.claim(world.actor(ALEXIS), waiting)
    await world.desk.set_status(world.actor(ALEXIS), waiting, "waiting", reason="requester")
    await world.at(oslo(2026, 11, 24, 9))
    assert await _digests(world) == [], "Tuesday's went out before anything was filed"
    await world.at(oslo(2026, 11, 25, 7, 59))
    assert await _digests(world) == []
    await world.at(oslo(2026, 11, 25, 8))
    [(where, title, fields)] = await _digests(world)
    assert where == "channel:C0ITTRIAGE" and title == "IT support: daily digest for Wednesday 25 November"
    assert fields == {"Open": "3", "Unassigned": "2", "Breaching SLA": "2", "Waiting": "1"}, (
        "both unassigned requests missed their first response; the waiting one's clock stands still")


async def test_no_digest_on_a_weekend_and_one_on_monday(world: World) -> None:
    await world.file("New screen please")
    await world.at(oslo(2026, 11, 26, 17))
    days = []
    for day in (27, 28, 29, 30):  # Friday to Monday, 08:30 Oslo
        await world.at(oslo(2026, 11, day, 8, 30))
        days += [(day, title) for _, title, _ in await _digests(world)]
    assert days == [(27, "IT support: daily digest for Friday 27 November"),
                    (30, "IT support: daily digest for Monday 30 November")]


async def test_a_digest_missed_while_down_runs_once_on_return(world: World) -> None:
    await world.file("New screen please")
    await world.at(oslo(2026, 11, 24, 9))  # arms Wednesday's
    await world.at(oslo(2026, 11, 27, 12))  # back on Friday at noon
    assert len(await _digests(world)) == 1, "Wednesday's, late, once; Thursday's and Friday's were never due"
    await world.at(oslo(2026, 11, 30, 8))
    assert len(await _digests(world)) == 1
