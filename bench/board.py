"""The status board at volume: `bot.desk.board.open_board` (what GET /board runs before rendering) on seeded
requests, and GET /board itself over HTTP (rendering, session and all) through the real web channel.

The database is seeded with `bot.store.seed` (replies, status moves, SLA clocks) to `--requests`; then
each case runs `--repeat` times after one warm-up, and the median, p95 and p99 are printed:

- the IT zone's board for an IT agent (IT holds about three quarters of the seeded requests), its team's
  board, the zone's board filtered as on lists (assignee none, priority high), and the HTTP page; as a
  baseline, a small signed-in page (`/forms`), which costs what every page's frame costs.

Besides the wall time it prints the median CPU time of this process (the server runs in it), which a busy
machine inflates far less than the wall clock.

    python bench/board.py [--requests 100000] [--repeat 50] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from multidict import MultiDict
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import empty_database, percentiles  # noqa: E402
from bot import store  # noqa: E402
from bot.desk.board import BoardScope, open_board  # noqa: E402
from bot.desk.filters import RequestFilter  # noqa: E402
from bot.people.signin import SignIn  # noqa: E402
from bot.server import build_services, create_app  # noqa: E402
from bot.store.seed import seed  # noqa: E402

AGENT = "alexis.baker@nordlys.example"  # IT support






async def _time(label: str, call: Callable[[], Awaitable[object]], repeat: int) -> None:
    """Wall time of each call, and the process's CPU time (every thread: the server is in this process),
    which a busy shared machine inflates far less than the wall clock."""
    await call()
    timings, cpu = [], []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        await call()
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    median, p95, p99 = percentiles(timings)
    print(f"  {label:<44} {median:7.1f} ms {p95:7.1f} ms {p99:7.1f} ms {statistics.median(cpu) * 1000:7.1f} ms",
          flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--postgres", help="PostgreSQL URL, emptied first (default: a fresh SQLite file)")
    parser.add_argument("--keep", help="a SQLite file to seed once and measure again on later runs")
    parser.add_argument("--reuse", action="store_true",
                        help="with --postgres: keep what it holds, seed up to --requests")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="zonedesk-board-"))
    url = args.postgres or f"sqlite+aiosqlite:///{args.keep or folder / 'board.db'}"
    if not args.keep and not args.reuse:
        await empty_database(url)
    await store.upgrade_async(url)
    env = {"ZONEDESK_SECRET_KEY": "bench-secret-key-0123456789abc"}
    services = build_services(ROOT / "app.yaml", url, env=env)
    started = time.perf_counter()
    async with services.sessions() as session:
        there = int(await session.scalar(text("SELECT count(*) FROM requests")) or 0)
    seeded = there + await seed(services.config, url, max(0, args.requests - there), now=services.clock.now(),
                                days=365)
    if not store.is_sqlite(url):  # what autovacuum does after a bulk load: statistics and the visibility map
        async with services.engine.connect() as conn:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text("VACUUM ANALYZE"))
    print(f"board on {services.engine.dialect.name}: {seeded:,} requests seeded in "
          f"{time.perf_counter() - started:.0f} s; {args.repeat} runs each after a warm-up")
    print(f"  {'case':<44} {'median':>9} {'p95':>9} {'p99':>9} {'CPU med.':>9}")
    desk = services.desk
    agent = desk.actor(AGENT, channel="web")
    narrowed = RequestFilter.from_query(MultiDict([("assignee", "none"), ("priority", "high")]), services.config)
    app = await create_app(services, env={}, background=False)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    # As `zonedesk serve` does once started: what lives as long as the process stays out of the cyclic
    # collector's full passes (without it a full pass over the seeding's leftovers lands in the p95).
    gc.collect()
    gc.freeze()
    try:
        await _time("zone board (IT)", lambda: open_board(desk, agent, BoardScope("it")), args.repeat)
        await _time("team board (IT support)", lambda: open_board(desk, agent, BoardScope("it", "it-support")),
                    args.repeat)
        await _time("zone board, assignee none and priority high",
                    lambda: open_board(desk, agent, BoardScope("it"), narrowed), args.repeat)
        link = await SignIn(services.sessions, services.clock, services.secret_key,
                            services.config.organisation.base_url).create_link(AGENT)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            page = await (await http.get(base + urlsplit(link).path)).text()
            csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            await http.post(base + urlsplit(link).path, data={"csrf": csrf})

            async def get_board() -> None:
                async with http.get(base + "/board?zone=it") as response:
                    assert response.status == 200, response.status
                    await response.read()

            await _time("GET /board?zone=it over HTTP (rendered)", get_board, args.repeat)

            async def get_signed_in_page() -> None:  # the page frame's own cost: session, language, navigation
                async with http.get(base + "/forms") as response:
                    assert response.status == 200, response.status
                    await response.read()

            await _time("baseline: GET /forms over HTTP", get_signed_in_page, args.repeat)
    finally:
        await runner.cleanup()
        await services.engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
