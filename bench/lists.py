"""Request lists at volume: `bot.desk.listing` (what GET /list, its CSV, saved views and the board read
through) on seeded requests, and GET /list itself over HTTP (rendering, session and all).

The database is seeded with `bot.store.seed` (replies, status moves, SLA clocks) to `--requests`; then
each case runs `--repeat` times after one warm-up, and the median, p95 and p99 are printed. An IT agent
reads them (IT holds about three quarters of the seeded requests):

- the first page of the default list (everything one may see, most recently updated first), the queue,
  page 200 of the default list (through its cursor), the list narrowed (assignee none, priority high),
  sorted by title, by due time and by priority, filtered by text, by SLA state and by a personal label,
  the capped count under the list, the HTTP page, and the whole CSV of a narrowed list.

    python bench/lists.py [--requests 100000] [--repeat 50] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from multidict import MultiDict
from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import empty_database, percentiles  # noqa: E402
from bot import store  # noqa: E402
from bot.desk.listing import Cursor, ListQuery, count_requests, list_page  # noqa: E402
from bot.model import Label, Request  # noqa: E402
from bot.people.signin import SignIn  # noqa: E402
from bot.server import build_services, create_app  # noqa: E402
from bot.store.seed import seed  # noqa: E402

AGENT = "alexis.baker@nordlys.example"  # IT support






async def _time(label: str, call: Callable[[], Awaitable[object]], repeat: int) -> None:
    await call()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        timings.append(time.perf_counter() - started)
    median, p95, p99 = percentiles(timings)
    print(f"  {label:<48} {median:7.1f} ms {p95:7.1f} ms {p99:7.1f} ms", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--postgres", help="PostgreSQL URL, emptied first (default: a fresh SQLite file)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="zonedesk-lists-"))
    url = args.postgres or f"sqlite+aiosqlite:///{folder}/lists.db"
    await empty_database(url)
    await store.upgrade_async(url)
    env = {"ZONEDESK_SECRET_KEY": "bench-secret-key-0123456789abc"}
    services = build_services(ROOT / "app.yaml", url, env=env)
    started = time.perf_counter()
    seeded = await seed(services.config, url, args.requests, now=services.clock.now(), days=365)
    async with services.engine.begin() as conn:  # the agent labels one request in fifty "vip"
        ids = (await conn.execute(select(Request.id).where(Request.zone_id == "it"))).scalars().all()
        await conn.execute(insert(Label), [{"request_id": n, "owner_email": AGENT, "label": "vip"}
                                           for n in ids[::50]])
        if not store.is_sqlite(url):
            await conn.execute(text("ANALYZE"))
    print(f"lists on {services.engine.dialect.name}: {seeded:,} requests seeded in "
          f"{time.perf_counter() - started:.0f} s; {args.repeat} runs each after a warm-up")
    print(f"  {'case':<48} {'median':>9} {'p95':>9} {'p99':>9}")
    desk, config = services.desk, services.config
    agent = desk.actor(AGENT, channel="web")

    def asked(**values: str) -> ListQuery:
        return ListQuery.from_query(MultiDict(values), config)

    deep: Cursor | None = None
    default = asked()
    for _page in range(200):  # where page 201 starts, as "Next" would have carried it
        deep = (await list_page(desk, agent, default.filter, default.sort, after=deep)).next
    cases = {
        "first page, everything I may see": asked(),
        "queue (open, my zones)": asked(scope="queue"),
        "assignee none, priority high": asked(assignee="none", priority="high"),
        "sorted by title": asked(sort="title", dir="asc"),
        "sorted by due time": asked(sort="due", dir="asc"),
        "sorted by priority": asked(sort="priority"),
        "text 'printer'": asked(q="printer"),
        "SLA breached": asked(sla="breached"),
        "my label 'vip'": asked(label="vip"),
    }
    app = await create_app(services, env={}, background=False)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        for label, lq in cases.items():
            await _time(label, lambda lq=lq: list_page(desk, agent, lq.filter, lq.sort), args.repeat)  # type: ignore[misc]
        await _time("page 201 of everything (cursor)",
                    lambda: list_page(desk, agent, default.filter, default.sort, after=deep), args.repeat)
        await _time("count under the list (capped at 10,000)",
                    lambda: count_requests(desk, agent, default.filter), args.repeat)
        await _time("count, assignee none and priority high",
                    lambda: count_requests(desk, agent, cases["assignee none, priority high"].filter), args.repeat)
        link = await SignIn(services.sessions, services.clock, services.secret_key,
                            config.organisation.base_url).create_link(AGENT)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            page = await (await http.get(base + urlsplit(link).path)).text()
            csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            await http.post(base + urlsplit(link).path, data={"csrf": csrf})

            async def get(path: str) -> None:
                async with http.get(base + path) as response:
                    assert response.status == 200, response.status
                    await response.read()

            await _time("GET /list over HTTP (rendered)", lambda: get("/list"), args.repeat)
            await _time("GET /list?scope=queue&priority=high over HTTP", lambda: get("/list?scope=queue&priority=high"),
                        args.repeat)
            rows = (await count_requests(desk, agent, cases["assignee none, priority high"].filter)).number
            await _time(f"CSV of assignee none, priority high ({rows:,} rows)",
                        lambda: get("/list.csv?assignee=none&priority=high"), max(3, args.repeat // 10))
    finally:
        await runner.cleanup()
        await services.engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
