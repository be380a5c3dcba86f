"""How fast Slack gets its acknowledgement: `zonedesk serve` against a bare bolt app, same load, same run.

Fires N signed DM events at a fixed rate (open loop: event i leaves at i/rate whatever the answers do)
at a running `zonedesk serve` whose Slack Web API is a local fake, and prints the acknowledgement
latency (median, p99, max) and the answered requests per second. Then the same load against a bare
slack-bolt `AsyncApp` that verifies the signature and only acks: the floor any bolt app pays.
Each zonedesk request records the event in the inbox before the ack and files a request after it;
the script also reports how long the server took to file all of them.

    python bench/slack_ack.py [--events 1000] [--rate 200]

SQLite always (a fresh file); PostgreSQL too when ZONEDESK_DATABASE_URL names one (its tables are
emptied first, so point it at a scratch database). Not run as a test.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret"
USERS = 50


def free_port() -> int:
    """An unused local TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def signed(body: str, secret: str = SECRET) -> dict[str, str]:
    """Headers exactly as Slack signs a request (v0, HMAC-SHA256 over `v0:<ts>:<body>`)."""
    ts = str(int(time.time()))
    signature = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={signature}",
            "Content-Type": "application/json"}


def dm_event(i: int, run: str) -> str:
    """One DM to the bot from one of USERS people."""
    user = f"U{i % USERS:08d}"
    return json.dumps({
        "token": "x", "team_id": "T0BENCH", "api_app_id": "A0BENCH", "type": "event_callback",
        "event_id": f"Ev{run}{i:07d}", "event_time": int(time.time()),
        "event": {"type": "message", "channel": f"D{i % USERS:08d}", "channel_type": "im", "user": user,
                  "text": f"Printer on floor {i % 7} is jammed again (#{i})", "ts": f"{1_700_000_000 + i}.000100",
                  "event_ts": f"{1_700_000_000 + i}.000100"},
    })


# ---------------------------------------------------------------- the two servers under test, and the fake
def run_fake_api(port: int) -> None:
    """A Slack Web API stand-in answering ok for every method (its own process)."""
    counter = iter(range(10**9))

    async def api(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        data = dict(request.query)
        if request.can_read_body:
            data.update(await request.json() if request.content_type == "application/json" else await request.post())
        if method == "auth.test":
            return web.json_response({"ok": True, "user_id": "U0BOT", "bot_id": "B0BOT", "team_id": "T0BENCH"})
        if method == "users.info":
            user = str(data.get("user"))
            return web.json_response({"ok": True, "user": {"id": user, "team_id": "T0BENCH", "profile": {
                "email": f"{user.lower()}@bench.example", "real_name": f"Person {user}"}}})
        if method == "conversations.open":
            return web.json_response({"ok": True, "channel": {"id": "D" + str(data.get("users"))[1:]}})
        ts = f"{1_800_000_000 + next(counter)}.000200"
        return web.json_response({"ok": True, "channel": data.get("channel"), "ts": ts})

    app = web.Application()
    app.router.add_route("*", "/api/{method}", api)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def run_bare_bolt(port: int, api_url: str) -> None:
    """The floor: a bolt AsyncApp on aiohttp that verifies the signature and acks (its own process)."""
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    bolt = AsyncApp(client=AsyncWebClient(token="xoxb-bench", base_url=api_url), signing_secret=SECRET,
                    process_before_response=True)

    @bolt.event("message")
    async def on_message(ack: object) -> None:
        await ack()  # type: ignore[operator]

    async def route(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", route)
    app.router.add_get("/healthz", lambda _: web.Response(text="ok"))  # type: ignore[arg-type,return-value]
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# ---------------------------------------------------------------- load
async def wait_up(url: str, process: subprocess.Popen[str] | subprocess.Popen[bytes], seconds: float = 60) -> None:
    """Poll until the server answers (start-up, migrations); fail at once if it exits."""
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode} before answering {url}")
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def fire(url: str, events: int, rate: float, run: str) -> tuple[list[float], float, int]:
    """Send `events` at `rate`/s; return latencies (s), wall time, and non-2xx answers."""
    bodies = [dm_event(i, run) for i in range(events)]
    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        # Warm up: bolt's first request calls auth.test; do not count it.
        warm = dm_event(10**6, run + "w")
        async with http.post(url, data=warm, headers=signed(warm)) as response:
            await response.read()

        async def one(body: str, at: float) -> None:
            nonlocal failures
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            started = time.perf_counter()
            async with http.post(url, data=body, headers=signed(body)) as response:
                await response.read()
                if response.status >= 300:
                    failures += 1
            latencies.append(time.perf_counter() - started)

        start = time.perf_counter() + 0.2
        await asyncio.gather(*(one(body, start + i / rate) for i, body in enumerate(bodies)))
        wall = time.perf_counter() - start
    return latencies, wall, failures


def report(label: str, latencies: list[float], wall: float, failures: int) -> dict[str, float]:
    """Print one line of figures and return them."""
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    figures = {"median_ms": statistics.median(ordered) * 1000, "p99_ms": p99 * 1000, "max_ms": ordered[-1] * 1000,
               "rps": len(ordered) / wall}
    print(f"{label:<28} median {figures['median_ms']:6.1f} ms   p99 {figures['p99_ms']:6.1f} ms   "
          f"max {figures['max_ms']:6.1f} ms   {figures['rps']:6.1f} req/s   non-2xx {failures}", flush=True)
    return figures


async def filed_count(database_url: str) -> int:
    """How many requests the server has filed so far."""
    from sqlalchemy import text

    from bot import store

    engine = store.create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM requests"))).scalar() or 0)
    finally:
        await engine.dispose()


async def empty_postgres(database_url: str) -> None:
    """A scratch PostgreSQL database, migrated and emptied."""
    from sqlalchemy import text

    from bot import store
    from bot.model import Base

    await store.upgrade_async(database_url)
    engine = store.create_engine(database_url)
    async with engine.begin() as conn:
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


async def bench_zonedesk(label: str, database_url: str, api_url: str, events: int, rate: float,
                         workdir: Path) -> dict[str, float]:
    """Start `zonedesk serve` on `database_url`, fire the load, stop it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "ZONEDESK_"))}
    env.update(SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=api_url,
               ZONEDESK_DATABASE_URL=database_url, ZONEDESK_SECRET_KEY="bench-secret-key-0123456789abcdef",
               ZONEDESK_LOG_LEVEL="WARNING", ZONEDESK_SCHEDULER="off")
    command = [sys.executable, "-m", "bot.cli", "serve", "--config", str(ROOT / "app.yaml"), "--port", str(port)]
    log_path = workdir / f"serve-{port}.log"  # a file, not a pipe: a full pipe would stall the server
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=log)  # noqa: ASYNC220
        try:
            await wait_up(f"http://127.0.0.1:{port}/healthz", server)
            latencies, wall, failures = await fire(f"http://127.0.0.1:{port}/slack/events", events, rate, label[:2])
            figures = report(label, latencies, wall, failures)
            started = time.perf_counter()
            while await filed_count(database_url) < events + 1 and time.perf_counter() - started < 120:  # noqa: ASYNC110
                await asyncio.sleep(0.25)  # polling another process's database: there is no event to wait on
            done = await filed_count(database_url)
            print(f"{'':<28} filed {done - 1}/{events} requests, all within "
                  f"{wall + time.perf_counter() - started:.1f} s of the first event", flush=True)
            return figures
        finally:
            server.terminate()
            server.wait(timeout=30)
            if server.returncode not in (0, -15):
                print(log_path.read_text()[-2000:], file=sys.stderr)


async def bench_bare(api_url: str, events: int, rate: float) -> dict[str, float]:
    """The same load against the bare bolt app."""
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--bare", str(port), api_url],  # noqa: ASYNC220
                              stdout=subprocess.DEVNULL)
    try:
        await wait_up(f"http://127.0.0.1:{port}/healthz", server)
        latencies, wall, failures = await fire(f"http://127.0.0.1:{port}/slack/events", events, rate, "bb")
        return report("bare bolt (ack only)", latencies, wall, failures)
    finally:
        server.terminate()
        server.wait(timeout=30)


async def main(events: int, rate: float) -> None:
    """Run every configuration and print the comparison."""
    api_port = free_port()
    fake = subprocess.Popen([sys.executable, __file__, "--fake-api", str(api_port)])  # noqa: ASYNC220
    api_url = f"http://127.0.0.1:{api_port}/api/"
    try:
        await wait_up(f"{api_url}auth.test", fake)
        print(f"{events} signed DM events at {rate:.0f}/s; ack latency as the sender sees it", flush=True)
        bare = await bench_bare(api_url, events, rate)
        with tempfile.TemporaryDirectory() as workdir:
            sqlite = await bench_zonedesk("zonedesk serve, SQLite", f"sqlite+aiosqlite:///{workdir}/bench.db",
                                          api_url, events, rate, Path(workdir))
            results = [("SQLite", sqlite)]
            postgres_url = os.environ.get("ZONEDESK_DATABASE_URL", "")
            if postgres_url.startswith("postgresql"):
                await empty_postgres(postgres_url)
                results.append(("PostgreSQL", await bench_zonedesk("zonedesk serve, PostgreSQL", postgres_url,
                                                                   api_url, events, rate, Path(workdir))))
        for name, figures in results:
            print(f"{name}: p99 {figures['p99_ms']:.1f} ms = {figures['p99_ms'] / bare['p99_ms']:.2f}x bare; "
                  f"median {figures['median_ms'] / bare['median_ms']:.2f}x bare", flush=True)
    finally:
        fake.terminate()
        fake.wait(timeout=30)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--fake-api":
        run_fake_api(int(sys.argv[2]))
    elif len(sys.argv) > 3 and sys.argv[1] == "--bare":
        run_bare_bolt(int(sys.argv[2]), sys.argv[3])
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--events", type=int, default=1000)
        parser.add_argument("--rate", type=float, default=200.0)
        args = parser.parse_args()
        asyncio.run(main(args.events, args.rate))
