"""SIGKILL during a burst of intake and replies: every acknowledged request exists once, every accepted
reply reaches its thread, none twice."""

from __future__ import annotations

import random
from pathlib import Path

import aiohttp

from tests.fakes.slack_api import FakeSlackAPI
from tests.reliability.harness import (
    BOT_TOKEN,
    SIGNING_SECRET,
    Served,
    SlackClient,
    desk_command,
    dm_event,
    sqlite_rows,
    until,
)

REQUESTERS = [(f"UREQ{i}", f"person{i}@nordlys.example", f"Person {i}") for i in range(6)]
AGENT = ("UAGENT", "frida.dahl@nordlys.example", "Frida Dahl")  # DMs land in Front desk


async def test_kill_during_intake_and_replies_loses_and_doubles_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261123)
    async with FakeSlackAPI(token=BOT_TOKEN) as fake, aiohttp.ClientSession() as http:
        for user, email, name in [*REQUESTERS, AGENT]:
            fake.add_user(user, email, name)
        url = f"sqlite+aiosqlite:///{tmp_path}/crash.db"
        server = Served(tmp_path, url, {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                                        "SLACK_API_URL": fake.base_url})
        slack = SlackClient(http, server)
        await server.start()
        try:
            # Intake burst, killed at a random point.
            events = [(*dm_event(REQUESTERS[i % 6][0], f"Problem number {i}: printer on fire", f"EvCrash{i}"),
                       f"EvCrash{i}") for i in range(24)]
            kill_at = rng.randint(6, 18)
            acked: set[str] = set()
            unanswered = []
            for i, (body, _ts, event_id) in enumerate(events):
                if i == kill_at:
                    server.kill()
                    await server.start()
                status = await slack.post(body)
                if status == 200:
                    acked.add(event_id)
                else:
                    unanswered.append((body, event_id))
            for body, event_id in unanswered:  # Slack retries what it got no 2xx for
                assert await slack.post(body, retry=1) == 200
                acked.add(event_id)
            await until(lambda: sqlite_rows(url, "SELECT count(*) FROM requests")[0][0] == len(events))
            origins = sqlite_rows(url, "SELECT origin_message, count(*) FROM requests GROUP BY origin_message")
            assert sorted(ts for ts, _ in origins) == sorted(ts for _, ts, _ in events)
            assert all(n == 1 for _, n in origins), "a request was filed twice"

            # Replies burst, killed at a random point.
            numbers = [n for (n,) in sqlite_rows(url, "SELECT id FROM requests ORDER BY id")]
            replies = [(n, f"Answer {k} to #{n}", f"trig-{n}-{k}") for k, n in enumerate(numbers[:12])]
            kill_at = rng.randint(3, 9)
            accepted = []
            for i, (number, text, trigger) in enumerate(replies):
                if i == kill_at:
                    server.kill()
                    await server.start()
                body = desk_command(AGENT[0], f"reply {number} {text}", trigger, fake.response_url())
                status = await slack.post(body)
                if status is None:
                    status = await slack.post(body, retry=1)
                assert status == 200
                accepted.append((number, text))
            await until(lambda: sqlite_rows(url, "SELECT count(*) FROM comments WHERE public = 1")[0][0]
                         == len(accepted))
            await until(lambda: all(any(text in str(c.args) for c in fake.delivered("chat.postMessage"))
                                     for _, text in accepted),
                         why=lambda: [str(c.args)[:300] for c in fake.delivered("chat.postMessage")][-3:])
            for number, text in accepted:
                (channel, thread), = sqlite_rows(url, "SELECT origin_channel, coalesce(origin_thread, origin_message)"
                                                      " FROM requests WHERE id = ?", number)
                posts = [c for c in fake.delivered("chat.postMessage") if text in str(c.args)]
                assert len(posts) == 1, f"reply to #{number} was delivered {len(posts)} times"
                assert posts[0].args["channel"] == channel and posts[0].args["thread_ts"] == thread
            confirmations = [c for c in fake.delivered("chat.postMessage") if "is filed with" in str(c.args)]
            assert sorted(c.args["thread_ts"] for c in confirmations) == sorted(ts for _, ts, _ in events)
        finally:
            server.stop()
