"""Teams against a real `zonedesk serve` process: Microsoft's side faked over HTTP in the test process.

`teams_env` is the environment a served process needs for Teams (every Microsoft endpoint local: the
OpenID metadata and keys of `OpenIdServer`, the token endpoint and connector of `FakeConnector`).
`TeamsClient` posts activities to one server's `/api/messages` with a channel token minted and signed
as the Bot Framework channel signs it, so the served process validates every request for real.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.fakes.botframework import FakeConnector, OpenIdServer, mint_channel_token
from tests.reliability.harness import Served
from tests.teams.conftest import Person as TeamsPerson

APP_ID = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
APP_PASSWORD = "reliability-teams-client-secret"
BOT = f"28:{APP_ID}"
TENANT = "72f988bf-0000-4000-8000-0000000rel01"


def teams_env(openid: OpenIdServer, connector: FakeConnector) -> dict[str, str]:
    """The Teams part of a served process's environment."""
    return {"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": APP_PASSWORD,
            "BOTFRAMEWORK_OPENID_METADATA_URL": openid.metadata_url, "BOTFRAMEWORK_TOKEN_ISSUER": openid.issuer,
            "BOTFRAMEWORK_TOKEN_URL": connector.token_url}


def enrol(connector: FakeConnector, people: list[TeamsPerson]) -> None:
    """Put people in the tenant's roster (what `TeamsInfo.get_member` answers)."""
    for person in people:
        connector.add_member(person.aad, person.user_id, person.name, person.email, tenant_id=TENANT)


@dataclass
class Answer:
    """What the server answered the channel (status None: the connection failed)."""

    status: int | None
    body: Any


class TeamsClient:
    """Speaks as the Teams channel to one served process."""

    def __init__(self, http: aiohttp.ClientSession, server: Served, openid: OpenIdServer,
                 connector: FakeConnector) -> None:
        self.http = http
        self.server = server
        self.connector = connector
        # One token for the whole run, as Teams reuses its token for about an hour.
        self.token = mint_channel_token(APP_ID, connector.service_url, issuer=openid.issuer)

    async def post(self, activity: dict[str, Any]) -> Answer:
        """POST one activity to /api/messages."""
        try:
            async with self.http.post(self.server.url + "/api/messages", json=activity,
                                      headers={"Authorization": f"Bearer {self.token}"},
                                      timeout=aiohttp.ClientTimeout(total=20)) as response:
                text = await response.text()
                return Answer(response.status, await response.json(content_type=None) if text else None)
        except (aiohttp.ClientError, TimeoutError):
            return Answer(None, None)


def personal_activity(connector: FakeConnector, person: TeamsPerson, activity_id: str, **fields: Any
                      ) -> dict[str, Any]:
    """An activity from `person` in their personal chat with the bot, as Teams sends it."""
    activity = {
        "id": activity_id,
        "timestamp": "2026-11-24T08:00:00.000Z",
        "serviceUrl": connector.service_url,
        "channelId": "msteams",
        "from": {"id": person.user_id, "name": person.name, "aadObjectId": person.aad},
        "conversation": {"id": person.chat, "conversationType": "personal", "tenantId": TENANT},
        "recipient": {"id": BOT, "name": "Zonedesk"},
        "channelData": {"tenant": {"id": TENANT}},
        "locale": "en-GB",
    }
    activity.update(fields)
    return activity


def message(connector: FakeConnector, person: TeamsPerson, text: str, activity_id: str,
            reply_to: str | None = None) -> dict[str, Any]:
    """`person` writes to the bot (replying to one of its messages with `reply_to`)."""
    extra = {"replyToId": reply_to} if reply_to else {}
    return personal_activity(connector, person, activity_id, type="message", text=text, **extra)


def invoke(connector: FakeConnector, person: TeamsPerson, name: str, value: Any, activity_id: str
           ) -> dict[str, Any]:
    """An invoke (a card click, a dialog's submit) from `person`'s personal chat."""
    return personal_activity(connector, person, activity_id, type="invoke", name=name, value=value)


def click(connector: FakeConnector, person: TeamsPerson, action: dict[str, Any], activity_id: str
          ) -> dict[str, Any]:
    """`person` clicks an Action.Execute button of a card the bot sent them."""
    assert action["type"] == "Action.Execute", action
    value = {"action": {"type": "Action.Execute", "verb": action["verb"], "data": action["data"]},
             "trigger": "manual"}
    return invoke(connector, person, "adaptiveCard/action", value, activity_id)


def sent_to(connector: FakeConnector, conversation: str) -> list[dict[str, Any]]:
    """Activities the bot delivered into one conversation (proactively or as replies), in order."""
    return [call.body for call in connector.calls
            if call.succeeded and call.route in {"send_to_conversation", "reply_to_activity"}
            and call.conversation_id == conversation]


def card(activity: dict[str, Any]) -> dict[str, Any]:
    """The Adaptive Card an activity carries."""
    [attachment] = activity["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive", attachment
    return attachment["content"]  # type: ignore[no-any-return]


def card_text(content: dict[str, Any]) -> str:
    """What a person reads on a card: every TextBlock and fact, joined, the markdown escapes rendered."""
    out: list[str] = []
    for element in content.get("body", []):
        if element.get("type") == "TextBlock":
            out.append(str(element.get("text", "")))
        elif element.get("type") == "FactSet":
            out += [f"{f['title']}: {f['value']}" for f in element["facts"]]
    return re.sub(r"\\(.)", r"\1", "\n".join(out))


def buttons(content: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A card's actions by title."""
    return {a["title"]: a for a in content.get("actions", [])}


def texts_in(connector: FakeConnector, conversation: str) -> list[str]:
    """What a person reads in a conversation: the text of each card the bot delivered there."""
    return [card_text(card(a)) for a in sent_to(connector, conversation) if a.get("attachments")]


def new_threads(connector: FakeConnector, channel: str) -> list[dict[str, Any]]:
    """First activities of the threads the bot started in a channel (triage announcements)."""
    return [c.body["activity"] for c in connector.delivered("create_conversation")
            if ((c.body.get("channelData") or {}).get("channel") or {}).get("id") == channel]
