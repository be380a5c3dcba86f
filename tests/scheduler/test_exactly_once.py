"""Exactly once: restarts, dead claimants, concurrent ticks, cancels mid-claim and failures each do the work once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.model import Outbox, Schedule
from bot.scheduler import Scheduler, install
from bot.scheduler.rows import Timer, arm, claim_due, take
from bot.server import Services
from tests.scheduler import probe
from tests.scheduler.world import ALEXIS, World, oslo


async def _probes(world: World, count: int, due: datetime, **data: object) -> None:
    async with world.services.sessions() as session, session.begin():
        await arm(session, [Timer(f"probe:{n}", probe.PROBE, due, None, {"n": n, **data}) for n in range(count)])


async def _probe_counts(world: World) -> tuple[int, int, int]:
    """(outbox rows, distinct timers in them, timers done)."""
    async with world.services.sessions() as session:
        rows, distinct = (await session.execute(select(func.count(), func.count(func.distinct(Outbox.conversation)))
                                                .where(Outbox.platform == "probe"))).one()
        done = await session.scalar(select(func.count()).where(Schedule.kind == probe.PROBE,
                                                               Schedule.done_at.is_not(None)))
    return int(rows), int(distinct), int(done or 0)


async def test_what_fell_due_while_down_runs_once_when_a_replica_comes_back(world: World) -> None:
    await world.desk.claim(world.actor(ALEXIS), await world.file())  # stale reminder due Tuesday 13:00
    world.scheduler = Scheduler(world.desk, world.clock, worker_id="after-restart")
    await world.at(oslo(2026, 11, 25, 10))
    assert len(await world.reminders("stale")) == 1
    await world.at(oslo(2026, 11, 25, 10, 1))
    assert await world.reminders("stale") == []


async def test_a_claim_left_by_a_dead_replica_is_taken_over_after_its_lease_and_run_once(world: World) -> None:
    await _probes(world, 3, world.clock.now())
    async with world.services.sessions() as session, session.begin():
        dead = await claim_due(session, world.clock.now(), "dead:1", timedelta(seconds=60), 10)
    assert len(dead) == 3
    await world.at(world.clock.now() + timedelta(seconds=59))
    assert await _probe_counts(world) == (0, 0, 0), "the lease still holds"
    await world.at(world.clock.now() + timedelta(seconds=2))
    assert await _probe_counts(world) == (3, 3, 3)
    async with world.services.sessions() as session, session.begin():
        assert not await take(session, dead, world.clock.now()), "the dead claim can no longer finish"
    async with world.services.sessions() as session:
        attempts = (await session.execute(select(Schedule.attempts).where(Schedule.kind == probe.PROBE))).scalars()
        assert set(attempts) == {2}


async def test_concurrent_ticks_of_two_replicas_do_each_timer_once(world: World) -> None:
    await _probes(world, 300, world.clock.now())
    other = Scheduler(world.desk, world.clock, worker_id="other", batch=25)
    world.scheduler.batch = 25
    reports = await asyncio.gather(world.scheduler.tick(), other.tick(), world.scheduler.tick())
    assert sum(r.done for r in reports) == 300
    assert await _probe_counts(world) == (300, 300, 300)


async def test_a_timer_cancelled_after_it_was_claimed_does_not_run(world: World) -> None:
    number = await world.file()
    await world.desk.claim(world.actor(ALEXIS), number)
    world.clock.set(oslo(2026, 11, 24, 13))
    async with world.services.sessions() as session, session.begin():
        claimed = await claim_due(session, world.clock.now(), "slow:1", timedelta(seconds=60), 10)
    stale = next(c for c in claimed if c.kind == "stale_reminder")
    await world.desk.reply(world.actor(ALEXIS), number, "Still on it")  # re-arms the stale reminder
    async with world.services.sessions() as session, session.begin():
        assert not await take(session, [stale], world.clock.now())
    assert await world.reminders("stale") == []


async def test_a_failing_job_leaves_no_trace_retries_with_back_off_and_gives_up(world: World) -> None:
    await _probes(world, 1, world.clock.now())
    async with world.services.sessions() as session, session.begin():
        await arm(session, [Timer("probe:bad", probe.PROBE, world.clock.now(), None, {"n": 1, "fail": True})])
    report = await world.scheduler.tick()
    assert (report.done, report.failed) == (1, 1), "a failure does not hold the others up"
    assert await _probe_counts(world) == (1, 1, 1), "the failed run's outbox row rolled back with it"
    for minutes in (1, 2, 4, 8, 16, 60):  # 60 s, 120 s, 240 s... back-off between attempts
        await world.at(world.clock.now() + timedelta(minutes=minutes))
    async with world.services.sessions() as session:
        bad = (await session.execute(select(Schedule).where(Schedule.key == "probe:bad"))).scalar_one()
    assert bad.done_at is not None and bad.attempts == 5
    assert bad.outcome == "failed: RuntimeError: the probe was told to fail"
    assert (await _probe_counts(world))[:2] == (1, 1)


async def test_install_hooks_timers_always_and_ticks_unless_turned_off(services: Services) -> None:
    off = install(services, env={"ZONEDESK_SCHEDULER": "off"})
    assert services.desk.timers is off.timers
    assert [name for name, _, _ in services.periodic] == []
    services.extras.clear()
    install(services, env={"ZONEDESK_SCHEDULER_INTERVAL": "2"})
    assert [(name, seconds) for name, seconds, _ in services.periodic] == [("scheduler", 2.0)]
