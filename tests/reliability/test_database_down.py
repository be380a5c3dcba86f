"""PostgreSQL stopped for a few seconds under load: what arrives meanwhile gets an error answer (so Slack
sends it again), never a silent 200; /healthz says the database is unreachable; the same server process
recovers by itself when the database is back, and in the end every event is filed exactly once.

This stops the real PostgreSQL server at ZONEDESK_TEST_POSTGRES_URL (CI runs tests one at a time) and
always starts it again, whatever happens.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import asyncpg  # type: ignore[import-untyped]
import pytest

from bot.server import UNAVAILABLE_TEXT
from tests.conftest import POSTGRES_OK, POSTGRES_URL
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_signing import sign_request
from tests.reliability.harness import (
    BOT_TOKEN,
    SIGNING_SECRET,
    Served,
    SlackClient,
    desk_command,
    dm_event,
    until,
)

LOCAL = any(host in (POSTGRES_URL or "") for host in ("@127.0.0.1:", "@localhost:"))
CAN_STOP = shutil.which("pg_ctlcluster") is not None and hasattr(os, "geteuid") and os.geteuid() == 0
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_OK, reason="needs ZONEDESK_TEST_POSTGRES_URL (CI sets it)"),
    pytest.mark.skipif(not (LOCAL and CAN_STOP), reason="needs a local PostgreSQL that pg_ctlcluster can stop (root)"),
]
PEOPLE = [(f"UDOWN{i}", f"down{i}@nordlys.example", f"Person {i}") for i in range(8)]
AGENT = ("UFRIDA", "frida.dahl@nordlys.example", "Frida Dahl")


def _cluster(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action, *(
        ["-m", "fast"] if action == "stop" else [])], check=True, capture_output=True, timeout=60)


def _ready() -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], check=False).returncode == 0


@pytest.fixture
def postgres_switch(own_postgres: str) -> Iterator[str]:
    """The test's database, and leave to stop PostgreSQL: it is started again afterwards even if the
    test failed half-way (before its database is dropped)."""
    try:
        yield own_postgres
    finally:
        if not _ready():
            _cluster("start")


async def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def _health(http: aiohttp.ClientSession, server: Served) -> tuple[int, dict[str, object]]:
    async with http.get(server.url + "/healthz") as response:
        return response.status, await response.json()


async def test_requests_during_a_database_outage_fail_loudly_and_nothing_is_lost(
        tmp_path: Path, postgres_switch: str) -> None:
    url = postgres_switch
    async with FakeSlackAPI(token=BOT_TOKEN) as fake, aiohttp.ClientSession() as http:
        for user, email, name in [*PEOPLE, AGENT]:
            fake.add_user(user, email, name)
        server = Served(tmp_path, url, {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                                        "SLACK_API_URL": fake.base_url})
        slack = SlackClient(http, server)
        await server.start()
        assert server.process is not None
        pid = server.process.pid
        answers: dict[str, list[int | None]] = {}
        bodies: dict[str, bytes] = {}
        threads: dict[str, str] = {}
        stop_load = asyncio.Event()

        async def load() -> None:
            """Steady intake, about 25 events a second, as long as the test wants."""
            i = 0
            while not stop_load.is_set():
                event_id = f"EvDown{i:04d}"
                body, ts = dm_event(PEOPLE[i % len(PEOPLE)][0], f"Outage-time problem {i}", event_id)
                bodies[event_id], threads[event_id] = body, ts
                answers[event_id] = [await slack.post(body)]
                i += 1
                try:
                    await asyncio.wait_for(stop_load.wait(), timeout=0.04)  # pacing the load, not a timing check
                except TimeoutError:
                    pass

        def errors() -> int:
            return sum(1 for a in answers.values() if a[0] != 200)

        try:
            loader = asyncio.create_task(load())
            await until(lambda: len(answers) >= 15, lambda: "the load did not start")
            assert errors() == 0, "errors before the outage"
            before_stop = len(answers)  # stopping takes a while; requests answered during it may already fail
            await asyncio.to_thread(_cluster, "stop")
            await until(lambda: errors() >= 10, lambda: f"no error answers during the outage: {answers}")
            status, health = await _health(http, server)
            assert (status, health["database"]) == (503, "unreachable"), health
            command = desk_command(AGENT[0], "list", "trig-during-outage", fake.response_url())
            async with http.post(server.url + "/slack/events", data=command,
                                 headers=sign_request(command, SIGNING_SECRET)) as response:
                assert response.status == 200, "a slash command is answered in words, not a failed dispatch"
                assert (await response.json())["text"] == UNAVAILABLE_TEXT
            await asyncio.to_thread(_cluster, "start")
            await until(_ready, lambda: "PostgreSQL did not start")
            healthy: list[int] = []

            async def probe() -> None:
                healthy.append((await _health(http, server))[0])

            for _ in range(300):
                await probe()
                if healthy[-1] == 200:
                    break
                await asyncio.sleep(0.1)  # poll the other process until it reconnects
            assert healthy[-1] == 200, "the server did not recover by itself"
            after = len(answers)
            await until(lambda: len(answers) >= after + 15, lambda: "the load stopped after the outage")
            stop_load.set()
            await loader
            assert server.process.poll() is None and server.process.pid == pid, "the server had to be restarted"
            assert all(a[0] == 200 for eid, a in list(answers.items())[after + 3:]), "errors after recovery"

            failed = {eid for eid, a in answers.items() if a[0] != 200}
            assert failed, "no request met the outage"
            assert all(answers[eid][0] == 503 for eid in failed), {eid: answers[eid] for eid in failed}
            assert min(list(answers).index(eid) for eid in failed) >= before_stop, "a request failed before the outage"

            for eid in sorted(failed):  # Slack sends again what it got no 2xx for
                assert await slack.post(bodies[eid], retry=1) == 200, eid

            await until(lambda: len([c for c in fake.delivered("chat.postMessage") if "is filed with" in str(c.args)])
                        >= len(answers), lambda: f"{len(fake.delivered('chat.postMessage'))} of {len(answers)}")
            filed = await _rows(url, "SELECT origin_message, count(*) FROM requests GROUP BY origin_message")
            assert sorted(str(ts) for ts, _ in filed) == sorted(threads.values()), "a request was lost"
            assert all(n == 1 for _, n in filed), "a request was filed twice"
            confirmations = [c.args["thread_ts"] for c in fake.delivered("chat.postMessage")
                             if "is filed with" in str(c.args)]
            assert sorted(confirmations) == sorted(threads.values()), "each confirmation exactly once"
            assert await _rows(url, "SELECT count(*) FROM inbound WHERE processed_at IS NULL") == [(0,)]
        finally:
            stop_load.set()
            server.stop()
    log = server.log.read_text()
    assert "database unreachable" in log and "database reachable again" in log
