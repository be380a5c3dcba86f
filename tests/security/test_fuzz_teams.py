"""Fuzzing POST /api/messages with valid channel tokens and malformed bodies: never a 5xx, never half an action.

A real `zonedesk serve` process runs against the fake OpenID keys and connector; every request carries a
token the SDK's real JWT validation accepts, so the garbage gets past authentication to what comes after.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.botframework import FakeConnector, OpenIdServer, mint_channel_token
from tests.reliability.harness import Served, sqlite_rows
from tests.reliability.teams_harness import APP_ID, APP_PASSWORD, BOT, TENANT, TeamsPerson, enrol, teams_env
from tests.security.background import Background

KARI = TeamsPerson("29:1fuzzkari", "aad-fuzz-kari", "Kari Nordmann", "kari.nordmann@nordlys.example")
ALEXIS = TeamsPerson("29:1fuzzalexis", "aad-fuzz-alexis", "Alexis Baker", "alexis.baker@nordlys.example")  # IT agent
IT_HELP = "19:ithelp@thread.tacv2"  # mapped to IT in app.yaml
FIRST_POST = "1732000000001"  # the request filed before the fuzz starts: a thread the fuzz can write into

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                max_size=4), max_leaves=12)
TEXT = st.one_of(
    st.text(max_size=120),
    st.sampled_from(["Printer on floor 3 is jammed", "desk list", "desk show 1", "desk claim 1", "desk reply 1 hi",
                     "desk note 1 <at>Alexis</at>", "desk assign 1 <at>Alexis</at>", "<at>Zonedesk</at>",
                     "<at></at><at>", "<p>a</p><br/>", "&amp;&#0;&#xffffff;", "\x00\u202e", "desk", "/desk help"]),
    st.text(max_size=30).map(lambda t: f"desk {t}"),
)
REAL_CONVERSATIONS = st.sampled_from([KARI.chat, f"{IT_HELP};messageid={FIRST_POST}", IT_HELP, "19:chat@thread.v2"])
CONVERSATIONS = st.one_of(
    REAL_CONVERSATIONS, REAL_CONVERSATIONS,
    st.from_regex(r"(a:1|19:)[A-Za-z0-9_@.;=-]{1,40}", fullmatch=True),
    st.sampled_from(["19:other@thread.tacv2;messageid=", ";messageid=;messageid=", "", "..", " ", "a" * 250])
    | st.text(max_size=60),
)
MENTIONS = st.none() | st.lists(st.fixed_dictionaries(
    {"type": st.sampled_from(["mention", "clientInfo", ""])},
    optional={"text": st.sampled_from(["<at>Zonedesk</at>", "<at>Alexis</at>", ""]) | JSON,
              "mentioned": st.fixed_dictionaries({"id": st.sampled_from([BOT, ALEXIS.user_id, ""]) | JSON},
                                                 optional={"name": JSON}) | JSON}), max_size=3)
INVOKE_NAMES = st.sampled_from([
    "adaptiveCard/action", "task/fetch", "task/submit", "composeExtension/fetchTask", "composeExtension/submitAction",
    "composeExtension/query", "composeExtension/queryLink", "composeExtension/selectItem", "composeExtension/setting",
    "composeExtension/onCardButtonClicked", "actionableMessage/executeAction", "fileConsent/invoke",
    "signin/verifyState", "signin/tokenExchange", "healthCheck", "config/fetch", "config/submit", "tab/fetch",
    "handoff/action", "application/search", "", "nonsense",
])
DIALOG_DATA = st.fixed_dictionaries({}, optional={
    "zd_dialog": st.sampled_from(["create", "reply", "assign", "comment", "form", "", "nonsense"]) | JSON,
    "number": st.sampled_from(["1", "#1", "0", "-1", "999999999999999999999", "x"]) | JSON,
    "title": st.text(max_size=80) | JSON, "description": st.text(max_size=200) | JSON,
    "zone": st.sampled_from(["it", "hr", "facilities", ""]) | JSON, "text": st.text(max_size=80) | JSON,
    "assignee": st.sampled_from(["alexis.baker@nordlys.example", ""]) | JSON,
    "form": st.sampled_from(["software-access", "office-event", "nonsense"]) | JSON,
    "msteams": JSON, "zd": JSON, "v": JSON, "m": JSON, "s": JSON, "zd_comment": JSON,
})
INVOKE_VALUE = st.one_of(
    JSON,
    st.fixed_dictionaries({"data": DIALOG_DATA}, optional={"context": JSON, "tabContext": JSON}),
    st.fixed_dictionaries({"action": st.fixed_dictionaries(
        {"type": st.sampled_from(["Action.Execute", "Action.Submit", ""]) | JSON},
        optional={"verb": st.text(max_size=20) | JSON, "data": DIALOG_DATA | JSON})}, optional={"trigger": JSON}),
    st.fixed_dictionaries({"commandId": st.sampled_from(["createRequest", "nonsense"]) | JSON}, optional={
        "data": DIALOG_DATA | JSON, "commandContext": JSON, "botMessagePreviewAction": JSON,
        "messagePayload": JSON | st.fixed_dictionaries({"id": st.text(max_size=20) | JSON}, optional={
            "body": JSON | st.fixed_dictionaries({"content": st.text(max_size=80) | JSON,
                                                  "contentType": st.sampled_from(["html", "text", ""]) | JSON}),
            "replyToId": JSON, "from": JSON})}),
)
OTHER_TYPES = st.sampled_from(["conversationUpdate", "installationUpdate", "messageReaction", "event", "typing",
                               "endOfConversation", "messageUpdate", "messageDelete", "trace", "handoff", "command",
                               "", "nonsense"])
# Fields an activity may carry, each replaced by any JSON value (wrong types, nulls, nesting), or left out.
FIELDS = ["id", "type", "name", "text", "value", "entities", "attachments", "from", "conversation", "recipient",
          "channelData", "replyToId", "locale", "timestamp", "localTimestamp", "membersAdded", "membersRemoved",
          "textFormat", "action", "relatesTo", "summary", "suggestedActions", "deliveryMode", "label", "valueType"]
REMOVABLE = ["id", "from", "conversation", "recipient", "channelData", "text", "value", "name", "timestamp", "locale"]
CONTENT_TYPES = st.sampled_from(["application/json", "application/json; charset=utf-8", "application/json; charset=x",
                                 "text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "", None])


@dataclass
class Running:
    """The served process, the fakes it talks to, and the one token the channel uses for a while."""

    server: Served
    database_url: str
    connector: FakeConnector
    token: str
    ids: Iterator[int]
    statuses: Counter[int] = field(default_factory=Counter)  # how the fuzz was answered: did it get through?

    def activity(self, person: TeamsPerson = KARI, **fields: Any) -> dict[str, Any]:
        """A well-formed activity from `person`'s personal chat, with `fields` on top."""
        activity: dict[str, Any] = {
            "id": str(next(self.ids)), "timestamp": "2026-11-24T08:00:00.000Z",
            "serviceUrl": self.connector.service_url, "channelId": "msteams",
            "from": {"id": person.user_id, "name": person.name, "aadObjectId": person.aad},
            "conversation": {"id": person.chat, "conversationType": "personal", "tenantId": TENANT},
            "recipient": {"id": BOT, "name": "Zonedesk"}, "channelData": {"tenant": {"id": TENANT}},
            "locale": "en-GB", "type": "message", "text": "hello",
        }
        activity.update(fields)
        return activity

    def post(self, body: bytes, content_type: str | None = "application/json") -> requests.Response:
        """POST a body to /api/messages with the channel's token."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        response = requests.post(self.server.url + "/api/messages", data=body, headers=headers, timeout=20)
        self.statuses[response.status_code] += 1
        return response




@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("fuzz-teams")
    background = Background()
    openid = OpenIdServer().start()
    connector = FakeConnector(APP_ID, APP_PASSWORD)
    background.run(connector.start())
    enrol(connector, [KARI, ALEXIS])
    connector.add_team("19:nordlysteam@thread.tacv2", "Nordlys", channels=[(IT_HELP, "IT help")])
    url = f"sqlite+aiosqlite:///{folder}/fuzz.db"
    server = Served(folder, url, teams_env(openid, connector))
    background.run(server.start())
    token = mint_channel_token(APP_ID, connector.service_url, issuer=openid.issuer)
    world = Running(server, url, connector, token, iter(range(int(FIRST_POST) + 1, 1_800_000_000_000)))
    first = world.activity(id=FIRST_POST, text="<at>Zonedesk</at> Printer on floor 3 is jammed",
                           conversation={"id": f"{IT_HELP};messageid={FIRST_POST}", "conversationType": "channel",
                                         "tenantId": TENANT},
                           channelData={"tenant": {"id": TENANT}, "team": {"id": "19:nordlysteam@thread.tacv2"},
                                        "channel": {"id": IT_HELP}},
                           entities=[{"type": "mention", "text": "<at>Zonedesk</at>", "mentioned": {"id": BOT}}])
    assert world.post(json.dumps(first).encode()).status_code == 200
    world.statuses.clear()
    yield world
    server.stop()
    background.run(connector.stop())
    background.close()
    openid.stop()
    log = Path(folder / "server.log").read_text()
    assert "Traceback" not in log, log[-3000:]


def activities(running: Running) -> st.SearchStrategy[dict[str, Any]]:
    """Activities of many shapes: messages and invokes with odd values, fields of the wrong type, fields missing."""
    message = st.builds(lambda person, text, conversation, kind, entities: running.activity(
        person, text=text, conversation={"id": conversation, "conversationType": kind, "tenantId": TENANT},
        entities=entities), st.sampled_from([KARI, ALEXIS]), TEXT, CONVERSATIONS,
        st.sampled_from(["personal", "channel", "groupChat", "", None]), MENTIONS)
    invoke = st.builds(lambda person, name, value, conversation: running.activity(
        person, type="invoke", name=name, value=value, id=f"f:{next(running.ids)}",
        conversation={"id": conversation, "tenantId": TENANT}),
        st.sampled_from([KARI, ALEXIS]), INVOKE_NAMES, INVOKE_VALUE, CONVERSATIONS)
    other = st.builds(lambda kind, value: running.activity(type=kind, value=value, membersAdded=[{"id": BOT}]),
                      OTHER_TYPES, JSON)
    base = st.one_of(message, invoke, other)
    wrong = st.builds(lambda activity, replaced: {**activity, **replaced}, base,
                      st.dictionaries(st.sampled_from(FIELDS), JSON, min_size=1, max_size=3))
    missing = st.builds(lambda activity, gone: {k: v for k, v in activity.items() if k not in gone}, base,
                        st.sets(st.sampled_from(REMOVABLE), min_size=1, max_size=3))
    return st.one_of(base, base, wrong, missing)  # about half well-formed enough to reach the desk


def bodies(running: Running) -> st.SearchStrategy[bytes]:
    """Bodies that are no activity at all: bytes, bare JSON values, deep nesting, JSON's odd corners."""
    def nested(depth: int, inside: bool) -> bytes:
        deep = "[" * depth + "]" * depth
        if not inside:
            return deep.encode()
        activity = json.dumps(running.activity(type="invoke", name="task/submit", value={"data": "DEEP"}))
        return activity.replace('"DEEP"', deep).encode()

    return st.one_of(
        st.binary(max_size=300),
        JSON.map(lambda v: json.dumps(v).encode()),
        st.builds(nested, st.sampled_from([65, 900, 1200, 5000, 100_000]), st.booleans()),
        st.sampled_from([b"", b"null", b"[]", b"{}", b'{"type": null}', b'{"type": "message"}', b'"message"',
                         b'{"type":"message","conversation":null}', b'{"type":"message","conversation":"x"}',
                         b"\xef\xbb\xbf{}", b"1e999999", b"NaN", b"[" * 3 + b"{" * 3]),
        # A lone surrogate escape is valid JSON but no valid text: no database stores it.
        st.builds(lambda text: json.dumps(running.activity(text=text)).encode(),
                  st.sampled_from(["\ud800", "a\udfff", "\udbff\udbff"])),
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_malformed_activities_with_a_valid_token_never_get_a_5xx(running: Running, data: st.DataObject) -> None:
    activity = data.draw(activities(running))
    response = running.post(json.dumps(activity).encode())
    assert response.status_code < 500, (response.status_code, response.text[:300], activity)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), content_type=CONTENT_TYPES)
def test_garbage_bodies_with_a_valid_token_never_get_a_5xx(running: Running, data: st.DataObject,
                                                           content_type: str | None) -> None:
    body = data.draw(bodies(running))
    response = running.post(body, content_type)
    assert response.status_code < 500, (response.status_code, response.text[:300], body[:200])
    if "json" not in (content_type or ""):  # no Content-Type at all reads as application/octet-stream
        assert response.status_code == 415
    else:
        assert response.status_code in (400, 401), response.status_code  # 401: an object with no serviceUrl


def test_after_the_fuzz_nothing_is_half_written(running: Running) -> None:
    url = running.database_url
    assert requests.get(running.server.url + "/healthz", timeout=10).status_code == 200
    if running.statuses:  # after the fuzz (not when run alone): much of it got through to the desk
        assert running.statuses[200] >= 20, running.statuses
    assert running.post(json.dumps(running.activity(text="Docking station flickers")).encode()).status_code == 200
    assert sqlite_rows(url, "SELECT count(*) FROM requests")[0][0] >= 2
    orphans = sqlite_rows(url, "SELECT count(*) FROM requests r WHERE NOT EXISTS "
                               "(SELECT 1 FROM events e WHERE e.request_id = r.id AND e.kind = 'filed')")
    assert orphans == [(0,)], "a request without its history event means a half-written action"
    untold = sqlite_rows(url, "SELECT count(*) FROM requests r WHERE NOT EXISTS "
                              "(SELECT 1 FROM outbox o WHERE o.request_id = r.id AND o.kind = 'confirmation')")
    assert untold == [(0,)], "a request whose requester is never told is a half-written action"
    silent = sqlite_rows(url, "SELECT count(*) FROM comments c WHERE NOT EXISTS (SELECT 1 FROM events e "
                              "WHERE e.request_id = c.request_id AND json_extract(e.data, '$.comment') = c.id)")
    assert silent == [(0,)], "a comment without its history event"
    stuck = sqlite_rows(url, "SELECT key, error FROM inbound WHERE processed_at IS NULL OR error IS NOT NULL")
    assert stuck == [], "a key claimed but never processed: its action was cut off half-way"


def test_a_bad_token_is_401_even_for_garbage(running: Running) -> None:
    for body in (b"", b"{}", b"[", b"\xff\xfe", b"[" * 5000, json.dumps(running.activity()).encode()):
        for content_type in ("application/json", "text/plain"):
            response = requests.post(running.server.url + "/api/messages", data=body, timeout=10, headers={
                "Authorization": "Bearer not-a-jwt", "Content-Type": content_type})
            assert response.status_code == 401, (body[:20], content_type, response.status_code)
