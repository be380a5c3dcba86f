"""The analytics page's reads at volume: what GET /analytics runs (`bot.analytics.build_report`, every figure
and chart, and `bot.analytics.details.build_details`, the lists beneath them) over a year of seeded
history, for a zone manager of one zone and for a person who manages every zone.

The database is seeded in two steps with `bot.store.seed` (replies, status moves with reopenings, SLA
clocks, surveys, filed over the last `--days` days, and each request's first response and resolution
measured in calendar and working time as the desk measures them, `bot.analytics.measuring`: the seeding
time includes that): first `--small` requests, measured, then up to `--requests`, measured again.
Each step times every case `--repeat` times (after one warm-up call):

- one zone (a zone manager of IT, the busiest zone) and all zones (a manager of every zone), each as the
  page opens (the last four weeks by week), and with `period=week` and `period=month` over the last 365
  days: every figure of the page with its totals, and its lists.

It prints the median, p95 and p99 of each case, the growth of the process's peak RSS while the case ran
(the most resident memory ever, so growth means a new high) and the Python heap's peak during one call
(tracemalloc), and a baseline in the same process: `SELECT count(*) FROM requests`, timed the same way.
Memory flat in the number of requests means the two steps show the same heap peak, except on SQLite, which
lacks `percentile_cont`: there Python sorts the range's measured seconds to pick the percentiles (the
exception issue 19 allows), so the heap peak grows with the measured requests of the range.

    python bench/analytics.py [--requests 100000] [--small 10000] [--repeat 20] [--postgres URL]
                              [--keep] [--database FILE]

With --keep the database is not emptied and, when it already holds requests, is measured as it is (after
the migrations run): seed once, then time code changes against the same data.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import empty_database, percentiles  # noqa: E402
from bot import store  # noqa: E402
from bot.access import Actor  # noqa: E402
from bot.analytics import Query, build_report  # noqa: E402
from bot.analytics.details import build_details  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.server import Services, build_services  # noqa: E402
from bot.store.seed import seed  # noqa: E402

ONE_ZONE = "ivar.lund@nordlys.example"  # manages IT in app.yaml
ALL_ZONES = "all.zones@nordlys.example"  # added to a copy of app.yaml, managing every zone


def _config_with_reader_of_everything(folder: Path) -> Path:
    """A copy of app.yaml with one more person: a manager of every zone (decision 0010's organisation-wide
    reader), whose figures are the all-zones case."""
    config = load_config(ROOT / "app.yaml")
    zones = ", ".join(z.id for z in config.zones)
    person = f"  - {{email: {ALL_ZONES}, name: All Zones, roles: [zone_manager], manages: [{zones}]}}\n"
    source = (ROOT / "app.yaml").read_text()
    path = folder / "app.yaml"
    path.write_text(source.replace("people:\n", "people:\n" + person, 1))
    for name in ("forms", "saved_replies"):  # app.yaml names these folders relative to itself
        if (ROOT / name).exists() and not (folder / name).exists():
            (folder / name).symlink_to(ROOT / name)
    return path




def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")




async def _time(call: Callable[[], Awaitable[object]], repeat: int) -> tuple[list[float], float, float]:
    """(seconds of each call, peak RSS growth in MB, Python heap peak in MB of one call)."""
    await call()  # warm-up: caches, the statement cache, SQLite's pages
    before = _peak_rss_mb()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        timings.append(time.perf_counter() - started)
    grown = _peak_rss_mb() - before
    tracemalloc.start()
    await call()
    heap = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return timings, grown, heap


def _cases(services: Services) -> list[tuple[str, Actor, Query]]:
    today = services.clock.now().astimezone(ZoneInfo("Europe/Oslo")).date()
    first = today - timedelta(days=364)
    one, everyone = services.desk.actor(ONE_ZONE, channel="web"), services.desk.actor(ALL_ZONES, channel="web")
    return [*((f"{who}, as it opens (4 weeks)", actor, Query()) for who, actor in (("one zone", one),
                                                                                  ("all zones", everyone))),
            *((f"{who}, {period} over a year", actor, Query(period=period, first=first, last=today))
              for who, actor in (("one zone", one), ("all zones", everyone)) for period in ("week", "month"))]


async def _page(services: Services, actor: Actor, query: Query) -> object:
    """What GET /analytics reads: every figure and chart (`build_report`) and the lists beneath them
    (`build_details`: breaches, survey comments, the backlog's age)."""
    return await build_report(services.desk, actor, query), await build_details(services.desk, actor, query)


async def measure(services: Services, repeat: int, requests: int) -> None:
    """Time every case and the baseline on what the database holds now, and print one line each."""
    print(f"\n{requests:,} requests ({repeat} runs each, after a warm-up)")
    print(f"  {'case':<36} {'median':>9} {'p95':>9} {'p99':>9}   {'peak RSS +':>10} {'heap peak':>10}")

    async def count() -> object:
        async with services.desk.readers() as session:
            return await session.scalar(text("SELECT count(*) FROM requests"))

    rows: list[tuple[str, Callable[[], Awaitable[object]]]] = [("baseline: SELECT count(*)", count)]
    for label, actor, query in _cases(services):
        rows.append((label, lambda actor=actor, query=query: _page(services, actor, query)))
    for label, call in rows:
        timings, grown, heap = await _time(call, repeat)
        median, p95, p99 = percentiles(timings)
        print(f"  {label:<36} {median:7.1f} ms {p95:7.1f} ms {p99:7.1f} ms   {grown:7.1f} MB {heap:7.2f} MB",
              flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000, help="measure first at this many (0: skip)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--days", type=int, default=365, help="how far back the seeded requests were filed")
    parser.add_argument("--postgres", help="PostgreSQL URL, emptied first (default: a fresh SQLite file)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the seeded database: reuse it if it already holds requests (SQLite: --database)")
    parser.add_argument("--database", type=Path, help="the SQLite file to seed (or reuse with --keep)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="zonedesk-analytics-"))
    url = args.postgres or f"sqlite+aiosqlite:///{(args.database or folder / 'analytics.db').resolve()}"
    if not args.keep:
        if args.database and args.database.exists():
            args.database.unlink()
        await empty_database(url)
    await store.upgrade_async(url)
    services = build_services(_config_with_reader_of_everything(folder), url,
                              env={"ZONEDESK_SECRET_KEY": "bench-secret-key-0123456789abc"})
    print(f"analytics on {services.engine.dialect.name}: the page's reads (build_report and build_details) over "
          f"{args.days} days of seeded history")
    try:
        async with services.engine.connect() as conn:
            seeded = int(await conn.scalar(text("SELECT count(*) FROM requests")) or 0)
        if seeded:  # --keep: measure what the database already holds, without seeding
            print(f"\nreusing {seeded:,} seeded requests")
            await measure(services, args.repeat, seeded)
            return
        for target in sorted({n for n in (args.small, args.requests) if n}):
            started = time.perf_counter()
            # A seed of its own per step: the second step adds different requests, spread over the same year.
            seeded += await seed(services.config, url, target - seeded, rng_seed=7 + seeded, now=services.clock.now(),
                                 days=args.days)
            if not store.is_sqlite(url):
                async with services.engine.begin() as conn:
                    await conn.execute(text("ANALYZE"))
            print(f"\nseeded to {seeded:,} requests in {time.perf_counter() - started:.0f} s")
            await measure(services, args.repeat, seeded)
    finally:
        await services.engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
