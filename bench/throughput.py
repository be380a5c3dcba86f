"""Requests filed per second through the desk, beside plain SQL inserting the same rows.

Each filed request writes the request, its origin-thread link, its history event, its outbox rows (a
confirmation to the requester's Slack thread and a triage announcement), its timers (the scheduler is
wired in as `zonedesk serve` wires it) and its de-duplication key, in one transaction with its group.

Two shapes of load, single process:

- one at a time: each filing waits for the previous one (a quiet desk; every group holds one request);
- a burst: `--concurrency` filings in flight at once (events arriving faster than one commit), which
  the desk's group commit (`bot.desk.intake.IntakeQueue`) files in shared transactions.

The plain-SQL baseline inserts the same rows, table by table with one multi-row statement each, in
the same transactions: it replays the group sizes the desk used. Both run on the same driver.

Each shape runs `--rounds` times, desk and baseline alternating, and prints the medians and the
range: on a shared machine one round's absolute figures can be a third off.

    python bench/throughput.py [--count 3000] [--concurrency 32] [--rounds 3] [--postgres URL]
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import empty_database  # noqa: E402
from bot import store  # noqa: E402
from bot.delivery.channels import ChannelInfo  # noqa: E402
from bot.desk import Origin  # noqa: E402
from bot.scheduler import install  # noqa: E402
from bot.server import Services, build_services  # noqa: E402


def _services(url: str) -> Services:
    services = build_services(ROOT / "app.yaml", url, env={"ZONEDESK_SECRET_KEY": "bench-secret-key-0123456789abc"})
    install(services, env={"ZONEDESK_SCHEDULER": "off"})  # timers follow every change; no tick
    services.desk.enable(ChannelInfo("slack"))
    return services


async def run_desk(url: str, count: int, tag: str, concurrency: int) -> tuple[float, list[float], list[int]]:
    """(seconds, latency of each filing, sizes of the groups the desk committed)."""
    services = _services(url)
    desk = services.desk
    actor = desk.actor("zack@nordlys.example", "Zack McKinnon", channel="slack")
    timings: list[float] = []
    numbers = iter(range(count))

    async def filer() -> None:
        for i in numbers:
            origin = Origin("slack", "T1", "C0ITHELP", None, f"{tag}.{i:06d}", "U123")
            started = time.perf_counter()
            await desk.file_request(actor, origin, f"Laptop will not start #{i}", "It beeps three times.",
                                    dedupe_key=f"slack:event:{tag}{i}")
            timings.append(time.perf_counter() - started)

    before = len(desk.queue.groups)
    started = time.perf_counter()
    await asyncio.gather(*(filer() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    groups = desk.queue.groups[before:]
    await services.engine.dispose()
    return elapsed, timings, groups


REQUEST_ROW = ("('it', 'it-support', 'zack@nordlys.example', 'Zack', 'zack@nordlys.example', :title{i}, "
               "'It beeps three times.', 'request', 'new', 'normal', 'normal', 'slack', 'T1', 'C0ITHELP', :msg{i}, "
               "'U123', :now, :now)")
REQUESTS = ("INSERT INTO requests (zone_id, team_id, requester_email, requester_name, filed_by_email, title, "
            "description, type, status, urgency, priority, origin_platform, origin_workspace, origin_channel, "
            "origin_message, origin_user, created_at, updated_at) VALUES {rows} RETURNING id")
INBOUND = "INSERT INTO inbound (key, source, received_at, processed_at, attempts) VALUES (:k, 'slack', :now, :now, 0)"
LINKS = ("INSERT INTO thread_links (platform, channel, thread, request_id, purpose) VALUES ('slack', 'C0ITHELP', "
         ":msg, :id, 'origin')")
EVENTS = ("INSERT INTO events (request_id, at, actor_email, actor_name, channel, kind, data) VALUES (:id, :now, "
          "'zack@nordlys.example', 'Zack', 'slack', 'filed', :data)")
OUTBOX = ("INSERT INTO outbox (request_id, platform, kind, conversation, target, payload, status, attempts, "
          "created_at, next_attempt_at) VALUES (:id, 'slack', :kind, :conv, :target, :payload, 'pending', 0, :now, "
          ":now)")
CLOCKS = ("INSERT INTO sla_clocks (request_id, kind, target_hours, started_at, paused_hours) VALUES (:id, :kind, "
          ":target, :now, 0)")
SCHEDULES = ("INSERT INTO schedules (key, kind, request_id, due_at, data, attempts) VALUES (:key, :kind, :id, :due, "
             ":data, 0)")


async def per_request(url: str, table: str) -> list[str]:
    """The kinds of timer (or SLA clock) rows the desk wrote per filed request; the baseline writes as many."""
    engine = store.create_engine(url)
    async with engine.connect() as conn:
        requests = (await conn.execute(text("SELECT count(*) FROM requests"))).scalar() or 1
        kinds = (await conn.execute(text(f"SELECT kind, count(*) FROM {table} GROUP BY kind"))).all()
    await engine.dispose()
    return [str(kind) for kind, n in kinds for _ in range(round(n / requests))]


async def run_baseline(url: str, groups: list[int], tag: str, kinds: list[str], clocks: list[str]) -> float:
    """Seconds to write the same rows as the desk, in transactions of the same sizes."""
    engine = store.create_engine(url)
    payload = json.dumps({"message": {"text": "Request #1 is filed", "buttons": []}})
    target = json.dumps({"channel": "C0ITHELP", "thread": "1"})
    statements = {size: text(REQUESTS.format(rows=", ".join(REQUEST_ROW.format(i=i) for i in range(size))))
                  for size in set(groups)}
    n = 0
    started = time.perf_counter()
    for size in groups:
        now = datetime.now(UTC)
        numbers = range(n, n + size)
        n += size
        async with engine.begin() as conn:
            await conn.execute(text(INBOUND), [{"k": f"base:{tag}{i}", "now": now} for i in numbers])
            values: dict[str, object] = {"now": now}
            for j, i in enumerate(numbers):
                values[f"title{j}"], values[f"msg{j}"] = f"Laptop #{i}", f"b{tag}.{i:06d}"
            ids = [int(r[0]) for r in await conn.execute(statements[size], values)]
            msgs = [f"b{tag}.{i:06d}" for i in numbers]
            await conn.execute(text(LINKS), [{"msg": m, "id": rid} for m, rid in zip(msgs, ids, strict=True)])
            await conn.execute(text(EVENTS), [{"id": rid, "now": now, "data": json.dumps({"zone": "it"})}
                                              for rid in ids])
            await conn.execute(text(OUTBOX), [
                {"id": rid, "now": now, "kind": kind, "conv": conv, "target": target, "payload": payload}
                for rid, m in zip(ids, msgs, strict=True)
                for kind, conv in (("confirmation", f"slack:C0ITHELP:{m}"), ("triage", "slack:C0ITTRIAGE:"))])
            if clocks:
                await conn.execute(text(CLOCKS), [{"id": rid, "kind": kind, "target": 8.0, "now": now}
                                                  for rid in ids for kind in clocks])
            if kinds:
                await conn.execute(text(SCHEDULES), [
                    {"key": f"{kind}{k}:{tag}:{rid}", "kind": kind, "id": rid, "due": now + timedelta(hours=8),
                     "data": "{}"} for rid in ids for k, kind in enumerate(kinds)])
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return elapsed


def _p99(timings: list[float]) -> float:
    ordered = sorted(timings)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def _spread(values: list[float], unit: str = "") -> str:
    """The median, and the range when there were several rounds."""
    middle = statistics.median(values)
    if len(values) == 1:
        return f"{middle:,.0f}{unit}"
    return f"{middle:,.0f}{unit} (rounds: {min(values):,.0f}-{max(values):,.0f})"


async def bench(label: str, url: str, count: int, concurrency: int, rounds: int) -> None:
    await empty_database(url)
    await store.upgrade_async(url)
    # Warm both paths (imports, statement caches), then measure.
    await run_desk(url, 100, "warm", 1)
    kinds, clocks = await per_request(url, "schedules"), await per_request(url, "sla_clocks")
    await run_baseline(url, [1] * 50, "warm", kinds, clocks)
    print(f"{label}: {count} requests per round, {rounds} rounds (each request: request, thread link, event, "
          f"2 outbox rows, {len(kinds)} timers, {len(clocks)} SLA clocks, its key)")
    for shape, width in (("one at a time", 1), (f"burst of {concurrency}", concurrency)):
        desk_rates, base_rates, ratios, medians, p99s, sizes = [], [], [], [], [], []
        for r in range(rounds):  # alternating, so a slow spell of a shared machine hits both sides
            tag = f"run{width}r{r}"
            seconds, timings, groups = await run_desk(url, count, tag, width)
            base = await run_baseline(url, groups, tag, kinds, clocks)
            desk_rates.append(count / seconds)
            base_rates.append(count / base)
            ratios.append(100 * base / seconds)
            medians.append(statistics.median(timings) * 1000)
            p99s.append(_p99(timings) * 1000)
            sizes.append(count / len(groups))
        print(f" {shape}: {statistics.median(sizes):.1f} requests per transaction on average")
        print(f"  {'zonedesk':<22} {_spread(desk_rates):>34} requests/s   each waits: median "
              f"{statistics.median(medians):6.2f} ms, p99 {statistics.median(p99s):6.2f} ms")
        print(f"  {'plain SQL, same groups':<22} {_spread(base_rates):>34} requests/s")
        print(f"  {'ratio':<22} {_spread(ratios, '%'):>34} of the plain-SQL baseline (median of the rounds)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="desk and baseline alternate this many times")
    parser.add_argument("--postgres", default=os.environ.get("ZONEDESK_BENCH_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        await bench("SQLite (WAL)", f"sqlite+aiosqlite:///{folder}/bench.db", args.count, args.concurrency, args.rounds)
    if args.postgres:
        await bench("PostgreSQL", args.postgres, args.count, args.concurrency, args.rounds)
    else:
        print("PostgreSQL: skipped (pass --postgres URL or set ZONEDESK_BENCH_POSTGRES_URL)")


if __name__ == "__main__":
    asyncio.run(main())
