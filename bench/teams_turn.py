"""How fast Teams gets its answer: `zonedesk serve` against a bare botbuilder bot, same load, same run.

Fires N authenticated personal-chat message activities at a fixed rate (open loop: activity i leaves at
i/rate whatever the answers do) at a running `zonedesk serve`, and prints the latency until the HTTP
answer (median, p99, max) and the answered requests per second. Then the same load against a bare
botbuilder bot (stock `CloudAdapter.process`, stock `ConfigurationBotFrameworkAuthentication`, an
`ActivityHandler` that does nothing): the floor any botbuilder bot pays for JWT validation and a turn.

Every token is validated for real: the OpenID metadata and signing keys are served from a thread of this
process (which mints the tokens with the same key), the connector and its token endpoint run in their own
process (`tests/fakes/botframework.py`). Each zonedesk activity looks its sender up in the roster once,
files a request in the database, and leaves the confirmation and the triage announcement to the outbox,
which sends them to the fake connector during the run.

    python bench/teams_turn.py [--activities 1000] [--rate 100] [--config app.yaml]

Two rounds: one channel token for every activity (as Teams reuses its token for about an hour), then a
distinct token on each activity (every one validated from scratch: the worst case). SQLite (a fresh file
per run). Not run as a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.botframework import FakeConnector, OpenIdServer, mint_channel_token  # noqa: E402

APP_ID = "b3e1c2d4-5f60-4a7b-8c9d-0e1f2a3b4c5d"
APP_PASSWORD = "bench-bot-secret"
TENANT = "bench-tenant-0000"
USERS = 50
CONFIG = ROOT / "app.yaml"


def free_port() -> int:
    """An unused local TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def activity(i: int, service_url: str, run: str) -> dict[str, Any]:
    """One personal-chat message to the bot from one of USERS people."""
    user = i % USERS
    return {
        "type": "message", "id": f"{run}{1_700_000_000_000 + i}", "timestamp": "2026-11-24T08:00:00.000Z",
        "serviceUrl": service_url, "channelId": "msteams",
        "from": {"id": f"29:1bench{user}", "name": f"Person {user}", "aadObjectId": f"aad-bench-{user}"},
        "conversation": {"id": f"a:1benchchat{user}", "conversationType": "personal", "tenantId": TENANT},
        "recipient": {"id": f"28:{APP_ID}", "name": "Zonedesk"},
        "text": f"Printer on floor {i % 7} is jammed again (#{i})",
        "channelData": {"tenant": {"id": TENANT}},
    }


# ---------------------------------------------------------------- the connector, and the bare bot
def run_connector(port_file: str) -> None:
    """The Bot Connector and token endpoint with USERS people in the roster (its own process)."""

    async def serve() -> None:
        async with FakeConnector(APP_ID, APP_PASSWORD) as fake:
            for user in range(USERS):
                fake.add_member(f"aad-bench-{user}", f"29:1bench{user}", f"Person {user}", f"p{user}@bench.example")
            Path(port_file).write_text(json.dumps({"service_url": fake.service_url,  # noqa: ASYNC240 - once, at start
                                                   "token_url": fake.token_url}))
            await asyncio.Event().wait()

    asyncio.run(serve())


def run_bare(port: int, metadata_url: str, issuer: str, token_url: str) -> None:
    """The floor: stock CloudAdapter.process over an ActivityHandler that does nothing (its own process)."""
    from types import SimpleNamespace

    from aiohttp import web
    from botbuilder.core import ActivityHandler
    from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

    from tests.fakes.botframework import BOTFRAMEWORK_SCOPE, ClientSecretCredentialsFactory, warm_openid_metadata

    configuration = SimpleNamespace(APP_ID=APP_ID, APP_PASSWORD=APP_PASSWORD, APP_TYPE="MultiTenant",
                                    TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=metadata_url,
                                    TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=issuer,
                                    TO_CHANNEL_FROM_BOT_OAUTH_SCOPE=BOTFRAMEWORK_SCOPE,
                                    TO_CHANNEL_FROM_BOT_LOGIN_URL="https://login.microsoftonline.com/botframework.com")
    credentials = ClientSecretCredentialsFactory(APP_ID, APP_PASSWORD, token_url=token_url)
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(configuration, credentials_factory=credentials))
    bot = ActivityHandler()
    warm_openid_metadata(metadata_url)  # as a careful bare bot would: no request waits for the keys

    async def route(request: web.Request) -> web.StreamResponse:
        return await adapter.process(request, bot)

    app = web.Application()
    app.router.add_post("/api/messages", route)
    app.router.add_get("/healthz", lambda _: web.Response(text="ok"))  # type: ignore[arg-type,return-value]
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# ---------------------------------------------------------------- load
async def wait_up(url: str, process: subprocess.Popen[Any], seconds: float = 60) -> None:
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
            await asyncio.sleep(0.1)  # polling another process: there is no event to wait on
    raise RuntimeError(f"{url} did not come up")


async def fire(url: str, tokens: list[str], service_url: str, count: int, rate: float, run: str, pid: int
               ) -> tuple[list[float], float, int, float]:
    """Send `count` activities at `rate`/s; return latencies (s), wall time, non-2xx answers, server CPU (s).

    Activity i carries tokens[i % len(tokens)]: one token for all (as Teams does for an hour), or one each.
    """
    bodies = [json.dumps(activity(i, service_url, run)) for i in range(count)]
    headers = {"Authorization": f"Bearer {tokens[0]}", "Content-Type": "application/json"}
    latencies: list[float] = []
    failures = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        # Warm up: the first turn fetches an outbound token and each sender's roster entry; not counted.
        for user in range(USERS):
            warm = json.dumps(activity(10**6 + user, service_url, run + "w"))
            async with http.post(url, data=warm, headers=headers) as response:
                await response.read()

        async def one(i: int, body: str, at: float) -> None:
            nonlocal failures
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            own = {"Authorization": f"Bearer {tokens[i % len(tokens)]}", "Content-Type": "application/json"}
            started = time.perf_counter()
            async with http.post(url, data=body, headers=own) as response:
                await response.read()
                if response.status >= 300:
                    failures += 1
            latencies.append(time.perf_counter() - started)

        start = time.perf_counter() + 0.2
        cpu = cpu_seconds(pid)
        await asyncio.gather(*(one(i, body, start + i / rate) for i, body in enumerate(bodies)))
        wall = time.perf_counter() - start
        cpu = cpu_seconds(pid) - cpu
    return latencies, wall, failures, cpu


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(label: str, latencies: list[float], wall: float, failures: int, cpu: float) -> dict[str, float]:
    """Print one line of figures and return them (cpu: the server's CPU seconds during the load)."""
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    figures = {"median_ms": statistics.median(ordered) * 1000, "p99_ms": p99 * 1000, "max_ms": ordered[-1] * 1000,
               "rps": len(ordered) / wall, "cpu_ms": cpu * 1000 / len(ordered)}
    print(f"{label:<30} median {figures['median_ms']:6.1f} ms   p99 {figures['p99_ms']:6.1f} ms   "
          f"max {figures['max_ms']:6.1f} ms   {figures['rps']:6.1f} req/s   non-2xx {failures}   "
          f"server CPU {figures['cpu_ms']:.1f} ms/activity", flush=True)
    return figures


async def bench_zonedesk(openid: OpenIdServer, urls: dict[str, str], tokens: list[str], count: int, rate: float,
                         workdir: Path, label: str) -> dict[str, float]:
    """Start `zonedesk serve` with Teams against the fakes, fire the load, stop it."""
    port = free_port()
    database = f"sqlite+aiosqlite:///{workdir}/zonedesk-{port}.db"  # a fresh file each run
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "ZONEDESK_"))}
    env.update(MICROSOFT_APP_ID=APP_ID, MICROSOFT_APP_PASSWORD=APP_PASSWORD,
               BOTFRAMEWORK_OPENID_METADATA_URL=openid.metadata_url, BOTFRAMEWORK_TOKEN_ISSUER=openid.issuer,
               BOTFRAMEWORK_TOKEN_URL=urls["token_url"], ZONEDESK_DATABASE_URL=database,
               ZONEDESK_SECRET_KEY="bench-secret-key-0123456789abcdef", ZONEDESK_LOG_LEVEL="WARNING",
               ZONEDESK_SCHEDULER="off")
    command = [sys.executable, "-m", "bot.cli", "serve", "--config", str(CONFIG), "--port", str(port)]
    log_path = workdir / f"serve-{port}.log"  # a file, not a pipe: a full pipe would stall the server
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=log)  # noqa: ASYNC220
        try:
            await wait_up(f"http://127.0.0.1:{port}/healthz", server)
            latencies, wall, failures, cpu = await fire(f"http://127.0.0.1:{port}/api/messages", tokens,
                                                        urls["service_url"], count, rate, "zd", server.pid)
            return report(label, latencies, wall, failures, cpu)
        finally:
            server.terminate()
            server.wait(timeout=30)
            if server.returncode not in (0, -15):
                print(log_path.read_text()[-2000:], file=sys.stderr)


async def bench_bare(openid: OpenIdServer, urls: dict[str, str], tokens: list[str], count: int, rate: float,
                     label: str) -> dict[str, float]:
    """The same load against the bare botbuilder bot."""
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--bare", str(port), openid.metadata_url,  # noqa: ASYNC220
                               openid.issuer, urls["token_url"]], stdout=subprocess.DEVNULL)
    try:
        await wait_up(f"http://127.0.0.1:{port}/healthz", server)
        latencies, wall, failures, cpu = await fire(f"http://127.0.0.1:{port}/api/messages", tokens,
                                                    urls["service_url"], count, rate, "bb", server.pid)
        return report(label, latencies, wall, failures, cpu)
    finally:
        server.terminate()
        server.wait(timeout=30)


async def main(count: int, rate: float) -> None:
    """Run both and print the comparison."""
    with tempfile.TemporaryDirectory() as workdir, OpenIdServer() as openid:
        port_file = Path(workdir) / "connector.json"
        connector = subprocess.Popen([sys.executable, __file__, "--connector", str(port_file)])  # noqa: ASYNC220
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists() and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # another process: there is no event to wait on
            urls = json.loads(port_file.read_text())
            # One channel token for the whole run, as Teams reuses its token for an hour; then, as the worst
            # case, a distinct token on every activity (each one validated from scratch).
            shared = [mint_channel_token(APP_ID, urls["service_url"], issuer=openid.issuer)]
            fresh = [mint_channel_token(APP_ID, urls["service_url"], issuer=openid.issuer,
                                        extra_claims={"jti": f"bench-{i}"}) for i in range(count)]
            print(f"{count} authenticated personal-chat messages at {rate:.0f}/s; latency until the HTTP answer",
                  flush=True)
            for name, tokens in (("one token", shared), ("a token each", fresh)):
                bare = await bench_bare(openid, urls, tokens, count, rate, f"bare botbuilder, {name}")
                ours = await bench_zonedesk(openid, urls, tokens, count, rate, Path(workdir), f"zonedesk, {name}")
                print(f"{name}: zonedesk p99 {ours['p99_ms']:.1f} ms = {ours['p99_ms'] / bare['p99_ms']:.2f}x bare; "
                      f"median {ours['median_ms'] / bare['median_ms']:.2f}x bare", flush=True)
        finally:
            connector.terminate()
            connector.wait(timeout=30)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--connector":
        run_connector(sys.argv[2])
    elif len(sys.argv) > 5 and sys.argv[1] == "--bare":
        run_bare(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--activities", type=int, default=1000)
        parser.add_argument("--rate", type=float, default=100.0)
        parser.add_argument("--config", type=Path, default=CONFIG, help="app.yaml of the zonedesk server")
        args = parser.parse_args()
        CONFIG = args.config.resolve()
        asyncio.run(main(args.activities, args.rate))
