"""Scheduler ticks over a large table of pending timers: does a tick grow with what is due, not the total?

For 10,000 and 100,000 pending schedule rows with 1% due, on SQLite and PostgreSQL, prints the time
one tick takes to find and claim the due rows, and to run them (each writing one outbox row in the
transaction that marks it done). Then a real-time run: timers falling due over some seconds while a
replica ticks every second, as `zonedesk serve` does; prints the lateness of each fired timer
(from its due time to the commit of its work), median, p99 and max.

    python bench/scheduler.py [--postgres URL] [--sizes 10000,100000] [--due 0.01] [--live-seconds 10]

Targets: one tick over 1,000 due rows under 1 s; lateness p99 under 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, func, insert, select, text, update  # noqa: E402

from bot import store  # noqa: E402
from bot.clock import FakeClock, SystemClock  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.desk import Desk  # noqa: E402
from bot.model import Outbox, Schedule  # noqa: E402
from bot.scheduler import JobContext, Scheduler, job  # noqa: E402
from bot.scheduler.rows import claim_due  # noqa: E402

BENCH = "bench"


@job(BENCH)
async def bench_job(context: JobContext) -> str:
    """A timer's work: one outbox row stamped with the wall time it was written."""
    context.tx.enqueue(platform="bench", kind="bench", conversation=context.row.key,
                       target={"due": context.row.due_at.isoformat()},
                       payload={"ran": time.time()})
    return "ran"


async def fresh(url: str) -> None:
    if url.startswith("postgresql"):
        engine = store.create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    else:
        forget_sqlite(url)
    await store.upgrade_async(url)


def forget_sqlite(url: str) -> None:
    """Remove a SQLite database file and its journal."""
    path = store.sqlite_path(url)
    for suffix in ("", "-wal", "-shm"):
        if path is not None:
            Path(f"{path}{suffix}").unlink(missing_ok=True)


async def fill(sessions: Any, total: int, due: int, now: datetime) -> int:
    """`total` pending rows; `due` of them due (in the last minute), the rest over the next 30 days."""
    rows = []
    for n in range(total):
        when = now - timedelta(seconds=n % 60) if n < due else now + timedelta(seconds=60 + (n * 7919) % 2_592_000)
        rows.append({"key": f"bench:{n}", "kind": BENCH, "request_id": None, "due_at": when, "data": {},
                     "attempts": 0})
    async with sessions() as session, session.begin():
        for start in range(0, total, 5000):
            await session.execute(insert(Schedule), rows[start:start + 5000])
    return due


async def claim_only(sessions: Any, now: datetime, batch: int) -> tuple[float, int]:
    """Find and claim every due row, batch after batch, as a tick does before running them."""
    started, claimed = time.perf_counter(), 0
    while True:
        async with sessions() as session, session.begin():
            got = await claim_due(session, now, f"bench:{claimed}", timedelta(seconds=60), batch)
        claimed += len(got)
        if len(got) < batch:
            return time.perf_counter() - started, claimed


async def unclaim(sessions: Any) -> None:
    async with sessions() as session, session.begin():
        await session.execute(update(Schedule).values(claimed_until=None, claimed_by=None, attempts=0))


async def sizes(url: str, cases: list[tuple[int, int]]) -> None:
    config = load_config(ROOT / "app.yaml")
    for total, due_count in cases:
        await fresh(url)
        engine = store.create_engine(url)
        sessions = store.sessionmaker(engine)
        now = datetime.now(UTC).replace(microsecond=0)
        clock = FakeClock(now)
        due = await fill(sessions, total, due_count, now)
        if url.startswith("postgresql"):
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE schedules"))
        scheduler = Scheduler(Desk(config, sessions, clock), clock, worker_id="bench", batch=200)
        for zone in config.zones:  # build the calendars once, as a running server has
            scheduler.calendars.of_zone(zone.id)
        claim_s, claimed = await claim_only(sessions, now, 200)
        await unclaim(sessions)
        started = time.perf_counter()
        report = await scheduler.tick()
        tick_s = time.perf_counter() - started
        async with sessions() as session:
            written = await session.scalar(select(func.count()).select_from(Outbox))
        idle_started = time.perf_counter()
        await scheduler.tick()
        idle_s = time.perf_counter() - idle_started
        print(f"  {total:>7,} pending, {due:>5,} due: find+claim {claim_s * 1000:7.1f} ms ({claimed} rows) | "
              f"whole tick {tick_s * 1000:7.1f} ms ({report.done} run, {written} outbox rows, "
              f"{tick_s / max(report.done, 1) * 1000:.2f} ms each) | idle tick {idle_s * 1000:.1f} ms")
        await engine.dispose()


async def live(url: str, seconds: float, per_second: int, interval: float) -> None:
    """Timers fall due over `seconds` while a replica ticks every `interval` s on the wall clock."""
    await fresh(url)
    engine = store.create_engine(url)
    sessions = store.sessionmaker(engine)
    start = datetime.now(UTC) + timedelta(seconds=1)
    rows = [{"key": f"live:{n}", "kind": BENCH, "request_id": None, "attempts": 0, "data": {},
             "due_at": start + timedelta(seconds=n / per_second)} for n in range(int(seconds * per_second))]
    async with sessions() as session, session.begin():
        await session.execute(insert(Schedule), rows)
    scheduler = Scheduler(Desk(load_config(ROOT / "app.yaml"), sessions, SystemClock()), worker_id="live")
    deadline = time.monotonic() + seconds + 3
    ticks = []
    while time.monotonic() < deadline:
        began = time.perf_counter()
        await scheduler.tick()
        ticks.append(time.perf_counter() - began)
        await asyncio.sleep(max(0.0, interval - (time.perf_counter() - began)))  # the server's interval job
    async with sessions() as session:
        found = (await session.execute(select(Outbox.target, Outbox.payload))).all()
        await session.execute(delete(Outbox))
    late = sorted(p["ran"] - datetime.fromisoformat(t["due"]).timestamp() for t, p in found)
    p99 = late[int(len(late) * 0.99) - 1] if late else float("nan")
    print(f"  live: {len(late)}/{len(rows)} fired over {seconds:.0f} s, tick every {interval:g} s: lateness "
          f"median {statistics.median(late):.2f} s, p99 {p99:.2f} s, max {late[-1]:.2f} s; "
          f"longest tick {max(ticks) * 1000:.0f} ms")
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", help="PostgreSQL URL of a database this bench may empty")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--due", type=float, default=0.01, help="share of the rows that is due")
    parser.add_argument("--live-seconds", type=float, default=10)
    parser.add_argument("--live-rate", type=int, default=100, help="timers falling due per second in the live run")
    args = parser.parse_args()
    totals = [int(n) for n in args.sizes.split(",")]
    # Each size with its share due, then the largest with the smallest's due count: the due count
    # decides the cost, not the table's size.
    cases = [(total, int(total * args.due)) for total in totals]
    cases.append((max(totals), int(min(totals) * args.due)))
    folder = Path(tempfile.mkdtemp(prefix="zonedesk-sched-bench-"))
    backends = [("SQLite", f"sqlite+aiosqlite:///{folder}/bench.db")]
    if args.postgres:
        backends.append(("PostgreSQL", args.postgres))
    for name, url in backends:
        print(f"{name}:")
        await sizes(url, cases)
        await live(url.replace("bench.db", "live.db"), args.live_seconds, args.live_rate, 1.0)


if __name__ == "__main__":
    asyncio.run(main())
