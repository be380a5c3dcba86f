"""One scheduler replica as its own process: ticks on the real clock until no probe timer is left open.

Usage: python -m tests.scheduler.replica DATABASE_URL WORKER_ID LEASE_SECONDS BATCH
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot import store
from bot.clock import SystemClock
from bot.config import load_config
from bot.desk import Desk
from bot.model import Schedule
from bot.scheduler import Scheduler
from tests.scheduler.probe import PROBE

ROOT = Path(__file__).resolve().parents[2]


async def main(url: str, worker: str, lease: float, batch: int) -> None:
    engine = store.create_engine(url)
    sessions = store.sessionmaker(engine)
    desk = Desk(load_config(ROOT / "app.yaml"), sessions, SystemClock())
    scheduler = Scheduler(desk, worker_id=worker, lease=timedelta(seconds=lease), batch=batch)
    print("ready", flush=True)
    while True:
        report = await scheduler.tick()
        if report.claimed:
            continue
        async with sessions() as session:
            left = await session.scalar(select(func.count()).where(
                Schedule.kind == PROBE, Schedule.done_at.is_(None), Schedule.cancelled_at.is_(None)))
        if not left:
            break
        await asyncio.sleep(0.05)  # an idle replica's poll interval, as the server's interval job has
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))
