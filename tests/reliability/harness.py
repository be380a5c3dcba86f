"""A real `zonedesk serve` process behind the fakes, that tests can start, SIGKILL and restart."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from tests.fakes.slack_signing import command_body, event_body, sign_request

ROOT = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "reliability-signing-secret"
BOT_TOKEN = "xoxb-reliability"
SECRET_KEY = "reliability-secret-key-0123456789"
_ts = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """One server process; the database outlives it (that is the point)."""

    def __init__(self, workdir: Path, database_url: str, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.database_url = database_url
        self.extra = env
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 60) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "ZONEDESK_"))}
        env.update(ZONEDESK_DATABASE_URL=self.database_url, ZONEDESK_SECRET_KEY=SECRET_KEY,
                   ZONEDESK_SCHEDULER="off", ZONEDESK_LOG_LEVEL="WARNING", ZONEDESK_LEASE_SECONDS="3")
        env.update(self.extra)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve", "--config", str(ROOT / "app.yaml"), "--port",
                 str(self.port)], cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
                try:
                    async with http.get(self.url + "/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)  # readiness poll of another process, not a timing assumption
        raise TimeoutError(f"server did not become healthy: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing, like a crashed machine."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


class SlackClient:
    """Sends requests to /slack/events exactly as Slack signs them."""

    def __init__(self, http: aiohttp.ClientSession, server: Served) -> None:
        self.http = http
        self.server = server

    async def post(self, body: bytes, retry: int = 0, reason: str = "http_timeout") -> int | None:
        """The HTTP status, or None when the connection failed (the server was down or died mid-request)."""
        headers = sign_request(body, SIGNING_SECRET)
        if retry:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": reason})
        try:
            async with self.http.post(self.server.url + "/slack/events", data=body, headers=headers,
                                      timeout=aiohttp.ClientTimeout(total=10)) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return None


async def until(check: Any, why: Any = lambda: "", timeout: float = 60) -> None:
    """Wait for another process's progress (a poll, not a timing assumption); fail with `why()`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, f"the server did not catch up in time: {why()}"
        await asyncio.sleep(0.1)


def dm_event(user: str, text: str, event_id: str) -> tuple[bytes, str]:
    """A DM to the bot, as the Events API delivers it; returns (body, message ts)."""
    ts = f"1710000000.{next(_ts):06d}"
    event = {"type": "message", "channel": f"D{user}", "channel_type": "im", "user": user, "text": text, "ts": ts,
             "event_ts": ts, "team": "T1"}
    return event_body(event, event_id), ts


def desk_command(user: str, text: str, trigger: str, response_url: str) -> bytes:
    return command_body("/desk", text, user, f"D{user}", trigger_id=trigger, response_url=response_url)


def sqlite_rows(database_url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Read the server's SQLite database directly (the test is another process)."""
    path = database_url.split("///", 1)[1]
    with sqlite3.connect(path, timeout=30) as conn:
        return list(conn.execute(sql, args))


def thread_posts(fake: Any, channel: str, thread: str) -> list[str]:
    """Texts delivered into one thread, in delivery order."""
    texts = []
    for call in fake.delivered("chat.postMessage"):
        if call.args.get("channel") == channel and call.args.get("thread_ts") == thread:
            texts.append(json.dumps(call.args.get("blocks") or call.args.get("text")))
    return texts


async def until_async(check: Callable[[], Awaitable[bool]], why: Any = lambda: "", timeout: float = 60) -> None:
    """`until` for a check that must itself await (a query of the server's database)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, f"the server did not catch up in time: {why()}"
        await asyncio.sleep(0.1)


async def database_rows(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    """Read the server's database (SQLite file or PostgreSQL) directly: the test is another process."""
    if database_url.startswith("sqlite"):
        return sqlite_rows(database_url, sql)
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


async def login_link(database_url: str, email: str) -> str:
    """A one-time sign-in link, from `zonedesk login-link` as an operator runs it (path only: any replica)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "ZONEDESK_"))}
    env.update(ZONEDESK_DATABASE_URL=database_url, ZONEDESK_SECRET_KEY=SECRET_KEY, ZONEDESK_LOG_LEVEL="WARNING")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "login-link", email, "--config", str(ROOT / "app.yaml"), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()[-2000:]
    [link] = [line for line in out.decode().splitlines() if "/login/" in line]
    return "/login/" + link.rsplit("/login/", 1)[1].strip()


async def folded_into_a_sent_digest(rows: Callable[[str], Awaitable[list[tuple[Any, ...]]]]) -> None:
    """Every row folded into a digest points at a sent row of its conversation: announced once, in it."""
    table = {int(i): (status, conversation, result if not isinstance(result, str) else json.loads(result))
             for i, status, conversation, result in await rows("SELECT id, status, conversation, result FROM outbox")}
    for row_id, (status, conversation, result) in table.items():
        if status == "folded":
            digest = table.get(int(result["digest"]))
            assert digest is not None and digest[:2] == ("sent", conversation), (row_id, result, digest)
