"""Requests filed per second through the desk, beside plain SQL inserting the same rows.

Each filed request is one transaction holding the request, its history event and its outbox rows
(a confirmation to the requester's Slack thread and a triage announcement). The baseline inserts
the same rows with plain SQL (SQLAlchemy Core `text()`), on the same driver, in the same number of
transactions. Single process, one connection at a time, like one replica's intake path.

    python bench/throughput.py [--count 3000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import store  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.desk import Desk, Origin  # noqa: E402


async def _reset(url: str) -> None:
    if store.is_sqlite(url):
        return
    engine = store.create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def run_desk(url: str, count: int, tag: str) -> list[float]:
    config = load_config(ROOT / "app.yaml")
    engine = store.create_engine(url)
    desk = Desk(config, store.sessionmaker(engine), SystemClock(), platforms=frozenset({"slack"}))
    actor = desk.actor("zack@nordlys.example", "Zack McKinnon", channel="slack")
    timings = []
    for i in range(count):
        origin = Origin("slack", "T1", "C0ITHELP", None, f"{tag}.{i:06d}", "U123")
        started = time.perf_counter()
        await desk.file_request(actor, origin, f"Laptop will not start #{i}", "It beeps three times.",
                                dedupe_key=f"slack:event:{tag}{i}")
        timings.append(time.perf_counter() - started)
    await engine.dispose()
    return timings


BASELINE = [
    ("INSERT INTO inbound (key, source, received_at, processed_at, attempts) VALUES (:k, 'slack', :now, :now, 0)"),
    ("INSERT INTO requests (zone_id, team_id, requester_email, requester_name, filed_by_email, title, description,"
     " type, status, urgency, priority, origin_platform, origin_workspace, origin_channel, origin_message,"
     " origin_user, created_at, updated_at) VALUES ('it', 'it-support', 'zack@nordlys.example', 'Zack', "
     "'zack@nordlys.example', :title, 'It beeps three times.', 'request', 'new', 'normal', 'normal', 'slack', 'T1',"
     " 'C0ITHELP', :msg, 'U123', :now, :now) RETURNING id"),
    ("INSERT INTO thread_links (platform, channel, thread, request_id, purpose) VALUES ('slack', 'C0ITHELP', :msg,"
     " :id, 'origin')"),
    ("INSERT INTO events (request_id, at, actor_email, actor_name, channel, kind, data) VALUES (:id, :now,"
     " 'zack@nordlys.example', 'Zack', 'slack', 'filed', :data)"),
    ("INSERT INTO outbox (request_id, platform, kind, conversation, target, payload, status, attempts, created_at,"
     " next_attempt_at) VALUES (:id, 'slack', 'confirmation', :conv, :target, :payload, 'pending', 0, :now, :now)"),
    ("INSERT INTO outbox (request_id, platform, kind, conversation, target, payload, status, attempts, created_at,"
     " next_attempt_at) VALUES (:id, 'slack', 'triage', 'slack:C0ITTRIAGE:', :target, :payload, 'pending', 0, :now,"
     " :now)"),
]


async def run_baseline(url: str, count: int, tag: str) -> list[float]:
    engine = store.create_engine(url)
    timings = []
    payload = json.dumps({"message": {"text": "Request #1 is filed", "buttons": []}})
    target = json.dumps({"channel": "C0ITHELP", "thread": "1"})
    for i in range(count):
        now = datetime.now(UTC)
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(text(BASELINE[0]), {"k": f"base:{tag}{i}", "now": now})
            msg = f"b{tag}.{i:06d}"
            rid = (await conn.execute(text(BASELINE[1]), {"title": f"Laptop #{i}", "msg": msg, "now": now})).scalar()
            await conn.execute(text(BASELINE[2]), {"msg": msg, "id": rid})
            await conn.execute(text(BASELINE[3]), {"id": rid, "now": now, "data": json.dumps({"zone": "it"})})
            await conn.execute(text(BASELINE[4]), {"id": rid, "now": now, "conv": f"slack:C0ITHELP:{msg}",
                                                   "target": target, "payload": payload})
            await conn.execute(text(BASELINE[5]), {"id": rid, "now": now, "target": target, "payload": payload})
        timings.append(time.perf_counter() - started)
    await engine.dispose()
    return timings


def describe(name: str, timings: list[float]) -> float:
    ordered = sorted(timings)
    rate = len(timings) / sum(timings)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    print(f"  {name:<10} {rate:8.0f} requests/s   median {statistics.median(timings) * 1000:6.2f} ms"
          f"   p99 {p99 * 1000:6.2f} ms")
    return rate


async def bench(label: str, url: str, count: int) -> None:
    await _reset(url)
    await store.upgrade_async(url)
    # Warm both paths (imports, statement caches), then measure in alternation.
    await run_desk(url, 50, "warm")
    await run_baseline(url, 50, "warm")
    desk = await run_desk(url, count, "run")
    base = await run_baseline(url, count, "run")
    print(f"{label}: {count} requests, one transaction each (request + event + 2 outbox rows)")
    d = describe("zonedesk", desk)
    b = describe("plain SQL", base)
    print(f"  ratio      {d / b:8.0%} of the plain-SQL baseline")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--postgres", default=os.environ.get("ZONEDESK_BENCH_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        await bench("SQLite (WAL)", f"sqlite+aiosqlite:///{folder}/bench.db", args.count)
    if args.postgres:
        await bench("PostgreSQL", args.postgres, args.count)
    else:
        print("PostgreSQL: skipped (pass --postgres URL or set ZONEDESK_BENCH_POSTGRES_URL)")


if __name__ == "__main__":
    asyncio.run(main())
