"""The Slack scenario harness: the real server on an ephemeral port, the fake Web API, signed requests.

`slack` starts `create_app(services, env=...)` exactly as `zonedesk serve` would (no background
workers: tests drive the outbox with `deliver()`), points the Web API at `FakeSlackAPI`, and posts
bodies signed as Slack signs them. `settle()` waits for the work started after each ack, so nothing
in these tests sleeps.
"""

from __future__ import annotations

import html
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
import yaml
from aiohttp import web
from sqlalchemy import func, select

from adapters.slack.app import SlackRuntime
from bot.clock import FakeClock
from bot.model import Inbound, Outbox, Request
from bot.server import Services, build_services, create_app
from tests.conftest import ROOT
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_signing import (
    block_actions_payload,
    command_body,
    event_body,
    interaction_body,
    message_shortcut_payload,
    sign_request,
    view_submission_payload,
)

TOKEN = "xoxb-zonedesk-test"
SECRET = "slack-signing-secret-for-tests"

# People of the sample company (app.yaml) and one outsider, as Slack users.
ZACK = "UZACK"  # not in app.yaml: a plain requester
ALEXIS = "UALEXIS"  # IT agent
IVAR = "UIVAR"  # IT agent and zone manager
HANNA = "UHANNA"  # HR agent
FRIDA = "UFRIDA"  # dispatcher (front desk)
SIRI = "USIRI"  # facilities agent
PEOPLE = {
    ZACK: ("zack@nordlys.example", "Zack McKinnon"),
    ALEXIS: ("alexis.baker@nordlys.example", "Alexis Baker"),
    IVAR: ("ivar.lund@nordlys.example", "Ivar Lund"),
    HANNA: ("hanna.berg@nordlys.example", "Hanna Berg"),
    FRIDA: ("frida.dahl@nordlys.example", "Frida Dahl"),
    SIRI: ("siri.nilsen@nordlys.example", "Siri Nilsen"),
}
DM = "D0ZACK"
IT_HELP = "C0ITHELP"  # intake channel mapped to IT in app.yaml
IT_TRIAGE = "C0ITTRIAGE"
FRONT_DESK = "C0FRONTDESK"  # triage of the dispatcher zone, where unrouted DMs go


@dataclass
class Answer:
    """What our server answered Slack."""

    status: int
    text: str

    def json(self) -> Any:
        """The body as JSON (view_submission errors, url_verification)."""
        return json.loads(self.text)


@dataclass
class SlackWorld:
    """One running server with its fake Slack, and helpers that speak as Slack."""

    services: Services
    fake: FakeSlackAPI
    http: aiohttp.ClientSession
    url: str
    clock: FakeClock
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def runtime(self) -> SlackRuntime:
        """The mounted Slack channel."""
        return self.services.extras["slack"]  # type: ignore[no-any-return]

    def next_ts(self) -> str:
        """A fresh message timestamp."""
        return f"1732{next(self._ids):06d}.000100"

    async def post(self, body: bytes, *, secret: str = SECRET, timestamp: int | None = None,
                   headers: dict[str, str] | None = None) -> Answer:
        """POST a body to /slack/events, signed as Slack signs it."""
        signed = sign_request(body, secret, timestamp)
        signed.update(headers or {})
        async with self.http.post(self.url, data=body, headers=signed) as response:
            return Answer(response.status, await response.text())

    async def event(self, event: dict[str, Any], event_id: str | None = None, **headers: str) -> Answer:
        """Deliver one Events API event and wait for the work it starts."""
        answer = await self.post(event_body(event, event_id or f"Ev{next(self._ids):08d}"), headers=headers)
        await self.settle()
        return answer

    async def message(self, user: str, text: str, *, channel: str = DM, thread: str | None = None,
                      ts: str | None = None, event_id: str | None = None, **extra: Any) -> str:
        """A person posts a message; returns its ts."""
        ts = ts or self.next_ts()
        event: dict[str, Any] = {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
                                 "event_ts": ts, "channel_type": "im" if channel.startswith("D") else "channel"}
        if thread:
            event["thread_ts"] = thread
        event.update(extra)
        answer = await self.event(event, event_id)
        assert answer.status == 200, answer
        return ts

    async def command(self, user: str, command: str, text: str = "", *, channel: str = "C0GENERAL",
                      trigger_id: str | None = None) -> Answer:
        """A slash command; the private answer goes to the fake's response_url."""
        trigger = trigger_id or f"trigger-{next(self._ids)}"
        answer = await self.post(command_body(command, text, user, channel, trigger,
                                              self.fake.response_url(trigger)))
        await self.settle()
        return answer

    async def desk(self, user: str, text: str) -> str:
        """`/desk <text>` and the private answer it got."""
        trigger = f"trigger-{next(self._ids)}"
        answer = await self.command(user, "/desk", text, trigger_id=trigger)
        assert answer.status == 200 and answer.text == "", answer
        return self.answer_to(trigger)

    def answer_to(self, hook: str) -> str:
        """The text posted to one response_url, as Slack shows it (entities decoded)."""
        calls = [c for c in self.fake.calls_to("response_url") if c.args.get("_hook") == hook]
        assert calls, f"nothing posted to response_url {hook}"
        return html.unescape(str(calls[-1].args["text"]))

    async def interact(self, payload: dict[str, Any]) -> Answer:
        """A click, shortcut or modal submission."""
        answer = await self.post(interaction_body(payload))
        await self.settle()
        return answer

    async def click(self, user: str, action_id: str, value: str, *, channel: str = IT_TRIAGE,
                    message: dict[str, Any] | None = None, view: dict[str, Any] | None = None,
                    trigger_id: str | None = None) -> tuple[Answer, str]:
        """A person clicks a button; returns our answer and the response_url hook used."""
        hook = trigger_id or f"click-{next(self._ids)}"
        payload = block_actions_payload(action_id, value, user_id=user, channel_id=channel, view=view,
                                        trigger_id=hook, response_url=self.fake.response_url(hook),
                                        message_ts=(message or {}).get("ts", "1700000000.000100"))
        if message is not None and view is None:
            payload["message"] = message
        return await self.interact(payload), hook

    async def submit(self, user: str, view: dict[str, Any], values: dict[str, dict[str, Any]]) -> Answer:
        """Submit a modal the bot opened (same callback and metadata), with these input values."""
        payload = view_submission_payload(view["callback_id"], values, user_id=user,
                                          private_metadata=view.get("private_metadata", ""), view_id=view["id"])
        return await self.interact(payload)

    async def shortcut(self, user: str, text: str, *, channel: str = "C0GENERAL", ts: str | None = None
                       ) -> Answer:
        """The message shortcut "Create request" on someone's message."""
        trigger = f"shortcut-{next(self._ids)}"
        return await self.interact(message_shortcut_payload(
            "create_request", user_id=user, channel_id=channel, message_ts=ts or self.next_ts(),
            message_text=text, trigger_id=trigger, response_url=self.fake.response_url(trigger)))

    async def settle(self) -> None:
        """Wait for everything our server started after its acknowledgements."""
        await self.runtime.settle()

    async def deliver(self) -> int:
        """Finish pending work and send everything due from the outbox."""
        await self.settle()
        return await self.services.outbox.drain()

    async def count(self, model: Any, *where: Any) -> int:
        """Rows of a table (requests, inbound, outbox)."""
        async with self.services.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    async def requests(self) -> int:
        """How many requests exist."""
        return await self.count(Request)

    async def inbound(self) -> int:
        """How many inbound keys were recorded."""
        return await self.count(Inbound)

    async def pending(self) -> int:
        """Outbox rows waiting to be sent."""
        return await self.count(Outbox, Outbox.status == "pending")

    def posts(self, channel: str) -> list[dict[str, Any]]:
        """Messages the bot posted to one channel as they now read (with their ts), oldest first."""
        return [message for (where, _), message in self.fake.messages.items() if where == channel]

    def actor(self, user: str) -> Any:
        """The desk actor of one of PEOPLE (for reading state the way that person may)."""
        email, name = PEOPLE[user]
        return self.services.desk.actor(email, name, channel="slack")


def block_text(blocks: list[dict[str, Any]]) -> str:
    """Every piece of text in a list of blocks, joined (for asserting what a person sees)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                if isinstance(value, dict | list):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(out)


def buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    """action_id -> value of every button in the blocks."""
    found: dict[str, str] = {}
    for block in blocks:
        for element in block.get("elements", []) + ([block["accessory"]] if "accessory" in block else []):
            if element.get("type") == "button":
                found[element["action_id"]] = element.get("value", "")
    return found


def slack_env(api_url: str, **overrides: str) -> dict[str, str]:
    """The environment `zonedesk serve` would get for Slack."""
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api_url,
           "ZONEDESK_SECRET_KEY": "test-secret-key-0123456789abcdef"}
    env.update(overrides)
    return env


def config_variant(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of the sample app.yaml with one change (e.g. unrouted: ask)."""
    data = yaml.safe_load((ROOT / "app.yaml").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


async def start_world(config_path: Path, database_url: str, clock: FakeClock, fake: FakeSlackAPI
                      ) -> tuple[SlackWorld, web.AppRunner]:
    """Build services, mount every configured channel, and listen on an ephemeral port."""
    env = slack_env(fake.base_url)
    services = build_services(config_path, database_url, clock=clock, env=env)
    app = await create_app(services, env=env, background=False)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    http = aiohttp.ClientSession()
    return SlackWorld(services, fake, http, f"http://127.0.0.1:{port}/slack/events", clock), runner


@asynccontextmanager
async def serving(config_path: Path, database_url: str, clock: FakeClock, fake: FakeSlackAPI
                  ) -> AsyncIterator[SlackWorld]:
    """A running world for the length of a block; its work is finished and everything closed after."""
    world, runner = await start_world(config_path, database_url, clock, fake)
    try:
        yield world
    finally:
        await world.settle()
        await world.http.close()
        await runner.cleanup()
        await world.services.engine.dispose()


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlackAPI]:
    """The fake Slack Web API with the sample company's people as Slack users."""
    async with FakeSlackAPI(token=TOKEN) as api:
        for user, (email, name) in PEOPLE.items():
            api.add_user(user, email, name)
        api.add_user("UOTHERBOT", "", "Some Bot", is_bot=True)
        yield api


@pytest_asyncio.fixture
async def slack(sqlite_url: str, clock: FakeClock, fake: FakeSlackAPI) -> AsyncIterator[SlackWorld]:
    """The server with the sample app.yaml (unrouted DMs go to the front desk)."""
    async with serving(ROOT / "app.yaml", sqlite_url, clock, fake) as world:
        yield world


def now() -> int:
    """Real wall-clock seconds, as Slack stamps its signatures."""
    return int(time.time())
