"""Sustained mixed load on a running `zonedesk serve` through the real HTTP endpoints.

Slack DM events, `/desk list` commands, Claim clicks on triage announcements and Teams personal-chat
messages, signed or tokened exactly as the platforms do, at a fixed rate for a set time, with the
fakes of the Slack Web API and the Bot connector answering from a process of their own. Prints the
acknowledgement latency (median, p99, p99.9, max), errors, the server's peak RSS, its own event-loop
stalls, and the outbox backlog at the end. Optionally seeds the database first.

    python bench/load.py [--seconds 60] [--rate 200] [--seed-requests 100000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.botframework import FakeConnector, OpenIdServer, teams_message  # noqa: E402
from tests.fakes.slack_api import FakeSlackAPI  # noqa: E402
from tests.fakes.slack_signing import (  # noqa: E402
    block_actions_payload,
    command_body,
    event_body,
    interaction_body,
    sign_request,
)
from tests.reliability.harness import Served  # noqa: E402

SLACK_TOKEN, SLACK_SECRET = "xoxb-load", "load-signing-secret"
APP_ID, APP_PASSWORD = "5d3c8a71-0b4e-4f2a-9c61-7e2f9a0b1c2d", "load-client-secret"
PEOPLE = 50
AGENT = ("UFRIDA", "frida.dahl@nordlys.example", "Frida Dahl")  # the front desk's dispatcher in app.yaml


@dataclass(frozen=True)
class Fakes:
    """Where the fakes of the Slack Web API and the Bot connector listen (in a process of their own)."""

    slack_url: str
    response_url: str  # with {} for the hook
    service_url: str
    token_url: str

    @staticmethod
    def posts(pipe: Connection) -> int:
        """Messages the fake Slack accepted so far."""
        pipe.send("posts")
        return int(pipe.recv())


def run_fakes(pipe: Connection) -> None:
    """The platforms' side, in its own process: answering the server's 300-odd API calls a second on the
    load generator's event loop made the generator late to read answers, which counted as ack latency."""
    asyncio.run(_serve_fakes(pipe))


async def _serve_fakes(pipe: Connection) -> None:
    async with FakeSlackAPI(token=SLACK_TOKEN) as slack, FakeConnector(APP_ID, APP_PASSWORD) as connector:
        slack.add_user(*AGENT)
        for i in range(PEOPLE):
            slack.add_user(f"ULOAD{i}", f"load{i}@nordlys.example", f"Load Person {i}")
            connector.add_member(aad_object_id=f"aad-{i}", user_id=f"29:load{i}", name=f"Teams Person {i}",
                                 email=f"teamsload{i}@nordlys.example", upn=f"teamsload{i}@nordlys.example")
        pipe.send({"slack_url": slack.base_url, "response_url": slack.response_url("{}"),
                   "service_url": connector.service_url, "token_url": connector.token_url})
        loop = asyncio.get_running_loop()
        while (command := await loop.run_in_executor(None, pipe.recv)) != "stop":
            if command == "posts":
                pipe.send(len(slack.delivered("chat.postMessage")))


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=200, help="requests per second, all kinds together")
    parser.add_argument("--seed-requests", type=int, default=0, help="fill the database first (zonedesk seed)")
    parser.add_argument("--postgres", help="PostgreSQL URL (default: a fresh SQLite file)")
    parser.add_argument("--drain", type=float, default=120, help="seconds to wait for the backlog afterwards")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="zonedesk-load-"))
    url = args.postgres or f"sqlite+aiosqlite:///{folder}/load.db"
    openid = OpenIdServer().start()
    here, there = multiprocessing.get_context("spawn").Pipe()
    fakes_process = multiprocessing.get_context("spawn").Process(target=run_fakes, args=(there,), daemon=True)
    fakes_process.start()
    fakes = Fakes(**here.recv())
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as http:
        if args.seed_requests:
            env = {**os.environ, "ZONEDESK_DATABASE_URL": url}
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "seed", "--requests",
                                                        str(args.seed_requests), "--config", str(ROOT / "app.yaml"),
                                                        env=env, cwd=folder)
            await proc.wait()
        server = Served(folder, url, {
            "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": SLACK_SECRET, "SLACK_API_URL": fakes.slack_url,
            "MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": APP_PASSWORD,
            "BOTFRAMEWORK_OPENID_METADATA_URL": openid.metadata_url, "BOTFRAMEWORK_TOKEN_ISSUER": openid.issuer,
            "BOTFRAMEWORK_TOKEN_URL": fakes.token_url, "ZONEDESK_LEASE_SECONDS": "60"})
        await server.start()
        token = openid.mint(APP_ID, fakes.service_url)
        ids = itertools.count(1)
        latencies: list[float] = []
        errors = 0

        async def one(n: int) -> None:
            nonlocal errors
            kind = n % 10
            person = n % PEOPLE
            if kind < 7:  # a Slack DM files a request
                body = event_body({"type": "message", "channel": f"DLOAD{person}", "channel_type": "im",
                                   "user": f"ULOAD{person}", "text": f"Load request {n}", "ts": f"1720000000.{n:06d}",
                                   "team": "T1"}, f"EvLoad{n}")
                url_path, headers = "/slack/events", sign_request(body, SLACK_SECRET)
            elif kind == 7:  # the dispatcher lists the queue
                body = command_body("/desk", "list", AGENT[0], "DFRIDA", trigger_id=f"load-{n}",
                                    response_url=fakes.response_url.format(f"load-{n}"))
                url_path, headers = "/slack/events", sign_request(body, SLACK_SECRET)
            elif kind == 8:  # the dispatcher clicks Claim on an announcement of an earlier request
                body = interaction_body(block_actions_payload(
                    "zd:claim", str(max(1, n // 20)), user_id=AGENT[0], channel_id="C0FRONTDESK",
                    message_ts=f"1720000001.{n:06d}", trigger_id=f"load-{n}",
                    response_url=fakes.response_url.format(f"load-{n}")))
                url_path, headers = "/slack/events", sign_request(body, SLACK_SECRET)
            else:  # a Teams personal-chat message
                activity = teams_message(service_url=fakes.service_url, conversation_id=f"a:load{person}",
                                         text=f"Teams load {n}", app_id=APP_ID, user_id=f"29:load{person}",
                                         aad_object_id=f"aad-{person}", activity_id=str(1_733_000_000_000 + n))
                import json

                body = json.dumps(activity).encode()
                url_path, headers = "/api/messages", {"Authorization": f"Bearer {token}",
                                                      "Content-Type": "application/json"}
            started = time.perf_counter()
            try:
                async with http.post(server.url + url_path, data=body, headers=headers) as response:
                    await response.read()
                    if response.status >= 300:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1
            latencies.append(time.perf_counter() - started)

        tasks = []
        begin = time.perf_counter()
        total = int(args.seconds * args.rate)
        for n in range(total):
            delay = begin + n / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the load generator, not a test
            tasks.append(asyncio.create_task(one(next(ids))))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - begin
        assert server.process is not None
        rss = peak_rss_mb(server.process.pid)
        stalls = await server_stalls(http, server)
        backlog = await pending(http, server)
        kinds = await pending_kinds(url)
        unprocessed = await inbox_backlog(url)
        drain_started = time.perf_counter()
        left, waiting = backlog, unprocessed
        while (left or waiting) and time.perf_counter() - drain_started < args.drain:
            await asyncio.sleep(0.5)  # polling the server's queue, not a test
            left, waiting = await pending(http, server), await inbox_backlog(url, quiet=True)
        drained = time.perf_counter() - drain_started
        posted = fakes.posts(here)
        server.stop()
        openid.stop()
        here.send("stop")
        fakes_process.join(timeout=10)
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000

    print(f"{len(latencies)} requests in {elapsed:.1f} s ({len(latencies) / elapsed:.0f}/s; 70% Slack DMs, "
          f"10% /desk list, 10% Claim clicks, 10% Teams messages) on {'PostgreSQL' if args.postgres else 'SQLite'}"
          f"{f' with {args.seed_requests:,} seeded requests' if args.seed_requests else ''}")
    print(f"  ack latency: median {statistics.median(latencies) * 1000:.1f} ms  p99 {pct(0.99):.1f} ms  "
          f"p99.9 {pct(0.999):.1f} ms  max {ordered[-1] * 1000:.1f} ms")
    print(f"  the server's own event loop during the load: {stalls}")
    print(f"  errors: {errors}   server peak RSS: {rss:.0f} MB   outbox backlog at the end: {backlog} "
          f"({', '.join(f'{n} {kind}' for kind, n in kinds) or 'none'})")
    print(f"  events acknowledged but not yet processed at the end: {unprocessed}")
    outcome = "worked off" if not (left or waiting) else f"NOT worked off ({waiting} events, {left} messages left)"
    print(f"  the backlog was {outcome} {drained:.1f} s after the load stopped; Slack got {posted} posts in all")


async def pending(http: aiohttp.ClientSession, server: Served) -> int:
    """The server's outbox backlog, from its /metrics."""
    async with http.get(server.url + "/metrics") as response:
        metrics = await response.text()
    return int(float(next((line.split()[-1] for line in metrics.splitlines()
                           if line.startswith("zonedesk_outbox_pending ")), "0")))


async def server_stalls(http: aiohttp.ClientSession, server: Served) -> str:
    """How often and how long the server's event loop stood still (bot.server.stalls), from its /metrics: what of
    a slow acknowledgement was the server's doing rather than the load generator's or the fakes'."""
    from prometheus_client.parser import text_string_to_metric_families

    async with http.get(server.url + "/metrics") as response:
        families = {f.name: f for f in text_string_to_metric_families(await response.text())}

    def buckets(name: str) -> tuple[float, float, float]:
        """(observations, observations over 100 ms, total seconds) of a histogram, all its labels together."""
        count = over = total = 0.0
        for sample in families[name].samples:
            if sample.name.endswith("_count"):
                count += sample.value
            elif sample.name.endswith("_sum"):
                total += sample.value
            elif sample.name.endswith("_bucket") and sample.labels.get("le") == "0.1":
                over -= sample.value
        return count, over + count, total

    lags, lags_over, _ = buckets("zonedesk_event_loop_lag_seconds")
    worst = families["zonedesk_event_loop_lag_max_seconds"].samples[0].value
    passes, _, paused = buckets("zonedesk_gc_pause_seconds")
    return (f"lag over 100 ms in {lags_over:.0f} of {lags:.0f} checks, worst {worst * 1000:.0f} ms; "
            f"{passes:.0f} GC passes, {paused * 1000:.0f} ms in all")


async def inbox_backlog(url: str, *, quiet: bool = False) -> int:
    """Events acknowledged but not processed yet (intake falling behind the acks)."""
    from sqlalchemy import text

    from bot import store

    engine = store.create_engine(url)
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM inbound WHERE processed_at IS NULL"))).scalar()
        waiting = (await conn.execute(text("SELECT count(*) FROM inbound WHERE processed_at IS NULL AND "
                                           "claimed_until IS NULL"))).scalar()
    await engine.dispose()
    if not quiet:
        print(f"  (of the unprocessed events, {waiting} were set aside for the recovery job)")
    return int(count or 0)


async def pending_kinds(url: str) -> list[tuple[str, int]]:
    """What the backlog is made of (confirmations to threads, triage announcements to one channel...)."""
    from sqlalchemy import text

    from bot import store

    engine = store.create_engine(url)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT platform, kind, count(*) FROM outbox WHERE status = 'pending' "
                                        "GROUP BY platform, kind ORDER BY count(*) DESC"))).all()
    await engine.dispose()
    return [(f"{platform} {kind}", int(n)) for platform, kind, n in rows]


if __name__ == "__main__":
    asyncio.run(main())
