"""Slack down for a while (5xx, 429 with Retry-After, an outage): every reply accepted meanwhile is
delivered once it recovers, in order per thread, and Retry-After is honoured."""

from __future__ import annotations

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

REQUESTER = ("UREQ", "maja.berg@nordlys.example", "Maja Berg")
AGENT = ("UFRIDA", "frida.dahl@nordlys.example", "Frida Dahl")  # DMs land in the Front desk zone


def _texts(fake: FakeSlackAPI, thread: str) -> list[str]:
    return [str(c.args.get("text") or "") for c in fake.delivered("chat.postMessage")
            if c.args.get("thread_ts") == thread]


async def test_replies_accepted_during_an_outage_arrive_in_order_after_it(tmp_path: Path) -> None:
    async with FakeSlackAPI(token=BOT_TOKEN) as fake, aiohttp.ClientSession() as http:
        for user, email, name in (REQUESTER, AGENT):
            fake.add_user(user, email, name)
        url = f"sqlite+aiosqlite:///{tmp_path}/outage.db"
        server = Served(tmp_path, url, {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                                        "SLACK_API_URL": fake.base_url})
        slack = SlackClient(http, server)
        await server.start()
        try:
            body, thread = dm_event(REQUESTER[0], "VPN drops every few minutes", "EvOutage1")
            assert await slack.post(body) == 200
            await until(lambda: any("is filed with" in t for t in _texts(fake, thread)), lambda: fake.calls[-3:])
            assert await slack.post(desk_command(AGENT[0], "help", "trig-hello", fake.response_url())) == 200
            await until(lambda: fake.call_count("response_url") >= 1, lambda: "the agent never got an answer")
            fake.down = True  # Slack answers 503 to everything, the bot's Web API calls included
            replies = [f"Update {i}: still investigating" for i in range(1, 6)]
            for i, text in enumerate(replies):
                body = desk_command(AGENT[0], f"reply 1 {text}", f"trig-outage-{i}", fake.response_url())
                assert await slack.post(body) == 200
            await until(lambda: sqlite_rows(url, "SELECT count(*) FROM comments")[0][0] == len(replies),
                         lambda: "replies were not accepted during the outage")
            await until(lambda: fake.call_count("chat.postMessage") > len(fake.delivered("chat.postMessage")),
                         lambda: "no delivery attempt during the outage")
            assert not any("Update" in t for t in _texts(fake, thread))
            fake.down = False
            fake.rate_limit_next("chat.postMessage", times=1, retry_after=2)
            await until(lambda: sum("Update" in t for t in _texts(fake, thread)) == len(replies),
                         lambda: _texts(fake, thread))
            delivered = [t for t in _texts(fake, thread) if "Update" in t]
            assert [next(r for r in replies if r in t) for t in delivered] == replies, "order per thread"
            attempts = fake.calls_to("chat.postMessage")
            limited = next(i for i, c in enumerate(attempts) if c.status == 429)
            assert attempts[limited + 1].at - attempts[limited].at >= 2.0, "Retry-After was not honoured"
        finally:
            server.stop()
