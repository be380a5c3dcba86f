"""The Teams scenario harness: the real server on an ephemeral port, Microsoft's side faked over real HTTP.

`teams` starts `create_app(services, env=...)` as `zonedesk serve` would (no background workers: tests
send the outbox with `deliver()`), with the OpenID metadata, the token endpoint and the connector all
local (`tests/fakes/botframework.py`). Activities are posted to `/api/messages` with tokens minted and
signed as the Bot Framework channel signs them, so the SDK's real JWT validation runs on every request.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from sqlalchemy import func, select

from adapters.teams.app import TeamsRuntime
from bot.clock import FakeClock
from bot.model import Comment, Inbound, Outbox, Request
from bot.server import Services, build_services, create_app
from tests.conftest import ROOT
from tests.fakes.botframework import FakeConnector, OpenIdServer, mint_channel_token

APP_ID = "5d3c8a71-0b4e-4f2a-9c61-7e2f9a0b1c2d"
APP_PASSWORD = "teams-client-secret-for-tests"
BOT = f"28:{APP_ID}"
TENANT = "72f988bf-0000-4000-8000-00000000a1b2"
TEAM = "19:nordlysteam@thread.tacv2"


@dataclass(frozen=True)
class Person:
    """Someone in the sample company, as Teams knows them."""

    user_id: str  # the 29: Teams user id
    aad: str  # the AAD object id
    name: str
    email: str

    @property
    def chat(self) -> str:
        """Their personal chat with the bot."""
        return f"a:1{self.user_id[3:]}chat"


KARI = Person("29:1kari", "aad-kari-0001", "Kari Nordmann", "kari.nordmann@nordlys.example")  # not in app.yaml
ALEXIS = Person("29:1alexis", "aad-alexis-0002", "Alexis Baker", "alexis.baker@nordlys.example")  # IT agent
IVAR = Person("29:1ivar", "aad-ivar-0003", "Ivar Lund", "ivar.lund@nordlys.example")  # IT agent
FRIDA = Person("29:1frida", "aad-frida-0004", "Frida Dahl", "frida.dahl@nordlys.example")  # dispatcher
HANNA = Person("29:1hanna", "aad-hanna-0005", "Hanna Berg", "hanna.berg@nordlys.example")  # HR agent
MARTE = Person("29:1marte", "aad-marte-0006", "Marte Viken", "marte.viken@nordlys.example")  # approver
PEOPLE = (KARI, ALEXIS, IVAR, FRIDA, HANNA, MARTE)

IT_HELP = "19:ithelp@thread.tacv2"  # mapped to IT in app.yaml
IT_TRIAGE = "19:ittriage@thread.tacv2"
FRONT_DESK = "19:frontdesk@thread.tacv2"
GENERAL = "19:general@thread.tacv2"  # not mapped: unrouted (the front desk)


@dataclass
class Answer:
    """What our server answered the channel."""

    status: int
    body: Any


def teams_env(openid: OpenIdServer, connector: FakeConnector, **overrides: str) -> dict[str, str]:
    """The environment `zonedesk serve` would get for Teams, every Microsoft endpoint local."""
    env = {"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": APP_PASSWORD,
           "BOTFRAMEWORK_OPENID_METADATA_URL": openid.metadata_url, "BOTFRAMEWORK_TOKEN_ISSUER": openid.issuer,
           "BOTFRAMEWORK_TOKEN_URL": connector.token_url, "ZONEDESK_SECRET_KEY": "test-secret-key-0123456789abcdef"}
    env.update(overrides)
    return env


@dataclass
class TeamsWorld:
    """One running server with Microsoft's side faked, and helpers that speak as the Teams channel."""

    services: Services
    connector: FakeConnector
    openid: OpenIdServer
    http: aiohttp.ClientSession
    url: str
    clock: FakeClock
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def runtime(self) -> TeamsRuntime:
        """The mounted Teams channel."""
        return self.services.extras["teams"]  # type: ignore[no-any-return]

    def next_id(self) -> str:
        """A fresh message id (Teams uses epoch milliseconds)."""
        return str(1_732_000_000_000 + next(self._ids))

    def token(self, **kwargs: Any) -> str:
        """A channel token for this bot and the fake connector's service URL (bad cases via kwargs)."""
        kwargs.setdefault("issuer", self.openid.issuer)
        return mint_channel_token(APP_ID, self.connector.service_url, **kwargs)

    async def post(self, activity: dict[str, Any], *, authorization: str | None = None,
                   token: str | None = None) -> Answer:
        """POST one activity to /api/messages with a valid token (or the header given)."""
        header = authorization if authorization is not None else f"Bearer {token or self.token()}"
        headers = {"Authorization": header} if header else {}
        async with self.http.post(self.url, json=activity, headers=headers) as response:
            text = await response.text()
            body = await response.json(content_type=None) if text else None
            return Answer(response.status, body)

    def activity(self, person: Person, kind: str, conversation: str, **fields: Any) -> dict[str, Any]:
        """An activity from `person` in a conversation (personal chat or channel), as Teams sends it."""
        channel = kind == "channel"
        data: dict[str, Any] = {"tenant": {"id": TENANT}}
        if channel:
            data.update(team={"id": TEAM}, channel={"id": conversation.split(";messageid=")[0]})
        activity = {
            "id": fields.pop("id", None) or self.next_id(),
            "timestamp": "2026-11-24T08:00:00.000Z",
            "serviceUrl": self.connector.service_url,
            "channelId": "msteams",
            "from": {"id": person.user_id, "name": person.name, "aadObjectId": person.aad},
            "conversation": {"id": conversation, "conversationType": kind, "tenantId": TENANT,
                             **({"isGroup": True} if channel else {})},
            "recipient": {"id": BOT, "name": "Zonedesk"},
            "channelData": data,
            "locale": "en-GB",
        }
        activity.update(fields)
        return activity

    async def say(self, person: Person, text: str, *, reply_to: str | None = None, id: str | None = None,
                  token: str | None = None) -> tuple[Answer, str]:
        """`person` writes to the bot in their personal chat; returns our answer and the message id."""
        activity = self.activity(person, "personal", person.chat, type="message", text=text, id=id)
        if reply_to:
            activity["replyToId"] = reply_to
        return await self.post(activity, token=token), activity["id"]

    async def post_in_channel(self, person: Person, text: str, *, channel: str = IT_HELP, root: str | None = None,
                              mention: bool = True, id: str | None = None) -> tuple[Answer, str]:
        """`person` posts in a channel (a new post, or a reply in the thread of `root`), mentioning the bot."""
        message_id = id or self.next_id()
        conversation = f"{channel};messageid={root or message_id}"
        body = f"<at>Zonedesk</at> {text}" if mention else text
        activity = self.activity(person, "channel", conversation, type="message", text=body, id=message_id)
        if mention:
            activity["entities"] = [{"type": "mention", "text": "<at>Zonedesk</at>",
                                     "mentioned": {"id": BOT, "name": "Zonedesk"}}]
        if root:
            activity["replyToId"] = root
        return await self.post(activity), message_id

    async def invoke(self, person: Person, name: str, value: Any, *, conversation: str | None = None,
                     kind: str = "personal", id: str | None = None, reply_to: str | None = None) -> Answer:
        """An invoke activity (a card click, a dialog, the message extension) from `person`."""
        activity = self.activity(person, kind, conversation or person.chat, type="invoke", name=name, value=value,
                                 id=id or f"f:{self.next_id()}")
        if reply_to:
            activity["replyToId"] = reply_to
        return await self.post(activity)

    async def click(self, person: Person, action: dict[str, Any], *, conversation: str | None = None,
                    kind: str = "personal", id: str | None = None) -> Answer:
        """`person` clicks an Action.Execute button of a card the bot posted."""
        assert action["type"] == "Action.Execute", action
        value = {"action": {"type": "Action.Execute", "verb": action["verb"], "data": action["data"]},
                 "trigger": "manual"}
        return await self.invoke(person, "adaptiveCard/action", value, conversation=conversation, kind=kind, id=id)

    async def deliver(self) -> int:
        """Send everything due from the outbox."""
        return await self.services.outbox.drain()

    async def count(self, model: Any, *where: Any) -> int:
        """Rows of a table."""
        async with self.services.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    async def requests(self) -> int:
        """How many requests exist."""
        return await self.count(Request)

    async def comments(self) -> int:
        """How many comments (replies, notes) exist."""
        return await self.count(Comment)

    async def inbound(self) -> int:
        """How many inbound keys were recorded."""
        return await self.count(Inbound)

    async def pending(self) -> int:
        """Outbox rows waiting to be sent."""
        return await self.count(Outbox, Outbox.status == "pending")

    def sent_to(self, conversation: str) -> list[dict[str, Any]]:
        """Activities the bot sent into one conversation (a channel thread counts only for its own id)."""
        out = []
        for call in self.connector.calls:
            if not call.succeeded:
                continue
            if call.route in {"send_to_conversation", "reply_to_activity"} and call.conversation_id == conversation:
                out.append(call.body)
            elif (call.route == "create_conversation" and (call.response or {}).get("id") == conversation
                  and call.body.get("activity")):
                out.append(call.body["activity"])
        return out

    def new_threads(self, channel: str) -> list[tuple[str, dict[str, Any]]]:
        """Threads the bot started in a channel: (conversation id, first activity)."""
        return [(c.response["id"], c.body["activity"]) for c in self.connector.delivered("create_conversation")
                if ((c.body.get("channelData") or {}).get("channel") or {}).get("id") == channel]

    def actor(self, person: Person) -> Any:
        """The desk actor of one person (to read state the way they may)."""
        return self.services.desk.actor(person.email, person.name, channel="teams")


def card_of(activity: dict[str, Any]) -> dict[str, Any]:
    """The Adaptive Card an activity carries."""
    [attachment] = activity["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    return attachment["content"]  # type: ignore[no-any-return]


def card_markdown(card: dict[str, Any]) -> str:
    """Every TextBlock and fact of a card as the card holds it (markdown, user text escaped), joined."""
    out: list[str] = []
    for element in card.get("body", []):
        if element.get("type") == "TextBlock":
            out.append(element["text"])
        elif element.get("type") == "FactSet":
            out += [f"{f['title']}: {f['value']}" for f in element["facts"]]
    return "\n".join(out)


def card_text(card: dict[str, Any]) -> str:
    """What a person reads on a card: its markdown with the escapes rendered."""
    return re.sub(r"\\(.)", r"\1", card_markdown(card))


def actions(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A card's actions by title."""
    return {a["title"]: a for a in card.get("actions", [])}


@pytest.fixture
def openid() -> Iterator[OpenIdServer]:
    """The channel's OpenID metadata and signing keys (own thread: the SDK may fetch them blocking)."""
    with OpenIdServer() as server:
        yield server


@pytest_asyncio.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    """The Bot Connector and token endpoint, with the sample company's people in the roster."""
    async with FakeConnector(APP_ID, APP_PASSWORD) as fake:
        for person in PEOPLE:
            fake.add_member(person.aad, person.user_id, person.name, person.email, tenant_id=TENANT)
        fake.add_team(TEAM, "Nordlys", channels=[(IT_HELP, "IT help"), (IT_TRIAGE, "IT triage")])
        yield fake


async def start_world(services: Services, env: dict[str, str], connector: FakeConnector, openid: OpenIdServer,
                      clock: FakeClock) -> tuple[TeamsWorld, web.AppRunner]:
    """Mount every configured channel and listen on an ephemeral port."""
    app = await create_app(services, env=env, background=False)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    world = TeamsWorld(services, connector, openid, aiohttp.ClientSession(), f"http://127.0.0.1:{port}/api/messages",
                       clock)
    return world, runner


@pytest_asyncio.fixture
async def teams(sqlite_url: str, clock: FakeClock, connector: FakeConnector,
                openid: OpenIdServer) -> AsyncIterator[TeamsWorld]:
    """The server with the sample app.yaml and Teams configured against the fakes."""
    env = teams_env(openid, connector)
    services = build_services(ROOT / "app.yaml", sqlite_url, clock=clock, env=env)
    world, runner = await start_world(services, env, connector, openid, clock)
    try:
        yield world
    finally:
        await world.http.close()
        await runner.cleanup()
        await services.engine.dispose()
