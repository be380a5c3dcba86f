"""Three scheduler replicas in their own processes on one PostgreSQL; one is SIGKILLed mid-run: all done once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import store
from bot.model import Outbox, Schedule
from bot.scheduler.rows import Timer, arm
from tests.conftest import POSTGRES_OK
from tests.scheduler.probe import PROBE

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not POSTGRES_OK, reason="needs ZONEDESK_TEST_POSTGRES_URL (CI sets it)")]

ROOT = Path(__file__).resolve().parents[2]
ITEMS = 2000
LEASE_SECONDS = 2


def _replica(url: str, worker: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "tests.scheduler.replica", url, worker, str(LEASE_SECONDS),
                                 "50"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


async def test_three_replicas_and_a_kill_do_every_timer_exactly_once(tmp_path: Path, own_postgres: str) -> None:
    url = own_postgres
    await store.upgrade_async(url)
    engine = store.create_engine(url)
    sessions = store.sessionmaker(engine)
    due = datetime.now(UTC) + timedelta(seconds=2)  # all three are up by then, so all three share the work
    async with sessions() as session, session.begin():
        await arm(session, [Timer(f"probe:{n}", PROBE, due, None, {"n": n, "work": 0.004}) for n in range(ITEMS)])

    async def count(*where: object) -> int:
        async with sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Schedule).where(*where)) or 0)

    started = time.monotonic()
    replicas = {name: _replica(url, name, tmp_path / f"{name}.log") for name in ("r1", "r2", "victim")}
    try:
        deadline = time.monotonic() + 60
        victim = Schedule.claimed_by.like("victim:%")
        # Kill it mid-job: after some work, while it holds claimed rows it has not finished.
        while (await count(victim, Schedule.done_at.is_not(None)) < 100
               or not await count(victim, Schedule.done_at.is_(None))):
            assert time.monotonic() < deadline, (tmp_path / "victim.log").read_text()
            await asyncio.sleep(0.01)  # watching another process's progress, not waiting for time to pass
        replicas["victim"].send_signal(signal.SIGKILL)
        replicas["victim"].wait(timeout=30)
        left_when_killed = await count(Schedule.done_at.is_(None))
        stranded = await count(victim, Schedule.done_at.is_(None))
        async with sessions() as session:
            stranded_ids = set((await session.execute(
                select(Schedule.id).where(victim, Schedule.done_at.is_(None)))).scalars())
        for name in ("r1", "r2"):
            assert replicas[name].wait(timeout=60) == 0, (tmp_path / f"{name}.log").read_text()
        async with sessions() as session:
            outbox, distinct = (await session.execute(select(func.count(), func.count(func.distinct(
                Outbox.conversation))).where(Outbox.platform == "probe"))).one()
            tokens = (await session.execute(select(Schedule.claimed_by).where(Schedule.kind == PROBE))).scalars()
            by_worker = Counter(str(token).split(":")[0] for token in tokens)
        assert left_when_killed > 0 and stranded > 0, "the kill came mid-run, mid-job"
        assert await count(Schedule.done_at.is_not(None)) == ITEMS, "none missed"
        assert (outbox, distinct) == (ITEMS, ITEMS), "each done exactly once"
        # Every row the victim held is taken over after its lease (a slow live replica's row may be too:
        # that is the lease working, and the outbox count above shows it still ran once).
        async with sessions() as session:
            retaken = set((await session.execute(select(Schedule.id).where(
                Schedule.id.in_(stranded_ids), Schedule.attempts > 1, Schedule.done_at.is_not(None)))).scalars())
        assert len(stranded_ids) == stranded and retaken == stranded_ids, \
            "the victim's claims were taken over after the lease"
        assert set(by_worker) == {"r1", "r2", "victim"}, by_worker
        print(f"replicas: {dict(by_worker)} done, {left_when_killed} left when the victim died "
              f"({stranded} claimed by it), {time.monotonic() - started:.1f} s")
    finally:
        for process in replicas.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
        await engine.dispose()
