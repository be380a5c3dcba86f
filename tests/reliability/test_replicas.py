"""Two `zonedesk serve` replicas on one PostgreSQL database behind the fake Slack: events split across
them (and retried to the other one), every request filed once, every outbox row sent once."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import aiohttp
import asyncpg  # type: ignore[import-untyped]
import pytest

from tests.conftest import POSTGRES_OK
from tests.fakes.slack_api import FakeSlackAPI
from tests.reliability.harness import BOT_TOKEN, SIGNING_SECRET, Served, SlackClient, dm_event, until

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not POSTGRES_OK, reason="needs ZONEDESK_TEST_POSTGRES_URL (CI sets it)")]
async def _count(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def test_two_replicas_share_the_work_and_do_everything_once(tmp_path: Path, own_postgres: str) -> None:
    url = own_postgres
    async with FakeSlackAPI(token=BOT_TOKEN) as fake, aiohttp.ClientSession() as http:
        users = [(f"UREP{i}", f"colleague{i}@nordlys.example", f"Colleague {i}") for i in range(5)]
        for user, email, name in users:
            fake.add_user(user, email, name)
        env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.base_url}
        first = Served(tmp_path / "a", url, env)
        second = Served(tmp_path / "b", url, env)
        for replica in (first, second):
            os.makedirs(replica.workdir, exist_ok=True)
        await first.start()  # migrates the empty database
        await second.start()
        try:
            clients = [SlackClient(http, first), SlackClient(http, second)]
            events = [dm_event(users[i % 5][0], f"Replica problem {i}", f"EvReplica{i}") for i in range(30)]
            for i, (body, _) in enumerate(events):
                assert await clients[i % 2].post(body) == 200
                if i % 3 == 0:  # Slack retries this one, and the load balancer sends it to the other replica
                    assert await clients[(i + 1) % 2].post(body, retry=1) == 200
            await until(lambda: len([c for c in fake.delivered("chat.postMessage") if "is filed with" in str(c.args)])
                        >= len(events), lambda: len(fake.delivered("chat.postMessage")))
            assert await _count(url, "SELECT count(*) FROM requests") == len(events)
            assert await _count(url, "SELECT count(DISTINCT origin_message) FROM requests") == len(events)
            confirmations = [c.args["thread_ts"] for c in fake.delivered("chat.postMessage")
                             if "is filed with" in str(c.args)]
            assert sorted(confirmations) == sorted(ts for _, ts in events), "each confirmation exactly once"
            unsent = [-1]

            async def count_unsent() -> None:
                unsent[0] = await _count(url, "SELECT count(*) FROM outbox WHERE status NOT IN ('sent', 'folded')")

            for _ in range(600):  # triage announcements may still be on their way after the confirmations
                await count_unsent()
                if unsent[0] == 0:
                    break
                await asyncio.sleep(0.1)  # polling the replicas' progress
            assert unsent[0] == 0, f"{unsent[0]} outbox rows never sent"
            # one post per request, or a digest listing a burst of them: each request named once
            triage = [number for c in fake.delivered("chat.postMessage")
                      for number in re.findall(r"New request #(\d+):", str(c.args.get("text")))]
            assert len(triage) == len(set(triage)) == len(events), "each triage announcement exactly once"
        finally:
            first.stop()
            second.stop()
    logs = (first.log.read_text(), second.log.read_text())
    assert all("is serving" in log for log in logs)
