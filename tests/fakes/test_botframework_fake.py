"""The Bot Framework fakes, driven through botbuilder's real JWT validation and its real connector client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import jwt
import pytest
import pytest_asyncio
from botbuilder.core import BotAdapter, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, ChannelAccount, ConversationParameters
from botframework.connector.aio import ConnectorClient
from botframework.connector.models import ErrorResponseException
from botframework.connector.teams import TeamsConnectorClient
from msrest.exceptions import ClientRequestError

from tests.fakes.botframework import (
    BOTFRAMEWORK_SCOPE,
    ClientSecretCredentialsFactory,
    FakeConnector,
    OpenIdServer,
    botbuilder_configuration,
    malformed_channel_token,
    mint_channel_token,
    signing_key,
    teams_message,
    warm_openid_metadata,
)

APP_ID = "7c0f5a4e-1d2b-4c3a-9e8f-0a1b2c3d4e5f"
APP_PASSWORD = "fake-bot-secret"
CHANNEL = "19:3f1c2b7a9d@thread.tacv2"
THREAD = f"{CHANNEL};messageid=1699999999999"
ROOT_MESSAGE = "1699999999999"


@pytest.fixture
def openid() -> Iterator[OpenIdServer]:
    with OpenIdServer() as server:
        yield server


@pytest_asyncio.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    async with FakeConnector(APP_ID, APP_PASSWORD) as fake:
        yield fake


@pytest.fixture
def credentials(connector: FakeConnector) -> ClientSecretCredentialsFactory:
    return ClientSecretCredentialsFactory(APP_ID, APP_PASSWORD, token_url=connector.token_url)


@pytest.fixture
def auth(openid: OpenIdServer, credentials: ClientSecretCredentialsFactory) -> ConfigurationBotFrameworkAuthentication:
    configuration = botbuilder_configuration(openid, app_id=APP_ID, app_password=APP_PASSWORD)
    return ConfigurationBotFrameworkAuthentication(configuration, credentials_factory=credentials)


def incoming(connector: FakeConnector, **overrides: Any) -> Activity:
    body = teams_message(service_url=connector.service_url, conversation_id=THREAD, app_id=APP_ID, **overrides)
    return Activity().deserialize(body)


async def connector_client(auth: ConfigurationBotFrameworkAuthentication, connector: FakeConnector) -> ConnectorClient:
    result = await auth.authenticate_request(incoming(connector), "Bearer " + mint(connector))
    return await result.connector_factory.create(connector.service_url, result.audience)


def mint(connector: FakeConnector, **kwargs: Any) -> str:
    return mint_channel_token(APP_ID, connector.service_url, **kwargs)


# -- inbound: botbuilder's JWT validation against the fake OpenID server -------------------------------------------


@pytest.mark.asyncio
async def test_a_channel_token_is_accepted_and_names_the_bot(
    auth: ConfigurationBotFrameworkAuthentication, connector: FakeConnector
) -> None:
    result = await auth.authenticate_request(incoming(connector), "Bearer " + mint(connector))

    claims = result.claims_identity.claims
    assert claims["aud"] == APP_ID
    assert claims["serviceurl"] == connector.service_url
    assert "ver" not in claims
    assert result.audience == BOTFRAMEWORK_SCOPE
    assert result.connector_factory is not None


# What botbuilder 4.17.1 raises for each bad header: an adapter must turn any exception into 401.
BAD_HEADERS: list[tuple[str, Callable[[FakeConnector], str | None], type[BaseException], str | None]] = [
    ("expired", lambda c: "Bearer " + mint(c, expires_in=-600), jwt.ExpiredSignatureError, "expired"),
    ("not yet valid", lambda c: "Bearer " + mint(c, not_before=600), jwt.ImmatureSignatureError, "nbf"),
    ("wrong issuer", lambda c: "Bearer " + mint(c, issuer="https://sts.example.com"), PermissionError, "Identity"),
    ("wrong audience", lambda c: "Bearer " + mint(c, audience="another-bot"), PermissionError, "Invalid AppId"),
    ("no audience", lambda c: "Bearer " + mint(c, omit=("aud",)), PermissionError, "'aud' claim missing"),
    (
        "wrong serviceurl",
        lambda c: "Bearer " + mint_channel_token(APP_ID, "https://smba.example.com/amer/"),
        PermissionError,
        "Invalid 'serviceurl'",
    ),
    ("no serviceurl", lambda c: "Bearer " + mint(c, omit=("serviceurl",)), PermissionError, "'serviceurl' claim"),
    ("no issuer", lambda c: "Bearer " + mint(c, omit=("iss",)), KeyError, "iss"),
    ("unpublished key", lambda c: "Bearer " + mint(c, key="rogue"), IndexError, None),
    (
        "forged under the published kid",
        lambda c: "Bearer " + mint(c, key="rogue", kid=signing_key("good").kid),
        jwt.InvalidSignatureError,
        None,
    ),
    ("no kid", lambda c: "Bearer " + mint(c, omit=("kid",)), IndexError, None),
    ("garbage", lambda c: "Bearer " + malformed_channel_token("garbage"), jwt.DecodeError, None),
    (
        "truncated signature",
        lambda c: "Bearer " + malformed_channel_token("truncated", APP_ID, c.service_url),
        jwt.DecodeError,  # InvalidSignatureError is a DecodeError too
        None,
    ),
    (
        "alg none",
        lambda c: "Bearer " + malformed_channel_token("unsigned", APP_ID, c.service_url),
        Exception,
        "algorithm not in allowed list",
    ),
    (
        "HS256 keyed with the public key",
        lambda c: "Bearer " + malformed_channel_token("hs256", APP_ID, c.service_url),
        Exception,
        "algorithm not in allowed list",
    ),
    ("not Bearer", lambda c: "Basic " + mint(c), PermissionError, "Identity missing"),
    ("Bearer without token", lambda c: "Bearer", AttributeError, "claims"),
    ("empty header", lambda c: "", AttributeError, "claims"),
    ("no header", lambda c: None, PermissionError, "not authorized"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("header", "expected", "match"), [case[1:] for case in BAD_HEADERS], ids=[c[0] for c in BAD_HEADERS]
)
async def test_bad_tokens_are_rejected(
    auth: ConfigurationBotFrameworkAuthentication,
    connector: FakeConnector,
    header: Callable[[FakeConnector], str | None],
    expected: type[BaseException],
    match: str | None,
) -> None:
    with pytest.raises(expected, match=match):
        await auth.authenticate_request(incoming(connector), header(connector))


@pytest.mark.asyncio
async def test_a_channel_the_key_does_not_endorse_is_rejected(
    auth: ConfigurationBotFrameworkAuthentication, connector: FakeConnector
) -> None:
    with pytest.raises(Exception, match="endorsement"):
        await auth.authenticate_request(incoming(connector, channel_id="webchat"), "Bearer " + mint(connector))


@pytest.mark.asyncio
async def test_signing_keys_are_fetched_once_and_cached(
    auth: ConfigurationBotFrameworkAuthentication, openid: OpenIdServer, connector: FakeConnector
) -> None:
    for _ in range(3):
        await auth.authenticate_request(incoming(connector), "Bearer " + mint(connector))
    # An unknown kid does not refetch either: the SDK refreshes at most once an hour for that.
    with pytest.raises(IndexError):
        await auth.authenticate_request(incoming(connector), "Bearer " + mint(connector, key="rogue"))

    assert openid.hits == ["/.well-known/openid-configuration", "/keys"]


@pytest.mark.asyncio
async def test_the_first_key_fetch_blocks_the_event_loop(
    auth: ConfigurationBotFrameworkAuthentication, openid: OpenIdServer, connector: FakeConnector
) -> None:
    openid.latency = 0.2  # per request; the SDK makes two, one after the other
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    started = time.perf_counter()
    await auth.authenticate_request(incoming(connector), "Bearer " + mint(connector))
    elapsed = time.perf_counter() - started
    ticker.cancel()

    assert elapsed >= 0.4
    assert ticks <= 1, "the loop ran other tasks while botbuilder fetched the keys"


@pytest.mark.asyncio
async def test_keys_warmed_in_an_executor_keep_the_request_path_off_the_network(
    auth: ConfigurationBotFrameworkAuthentication, openid: OpenIdServer, connector: FakeConnector
) -> None:
    await asyncio.to_thread(warm_openid_metadata, openid.metadata_url)
    assert len(openid.hits) == 2
    openid.latency = 5.0  # any fetch on the request path would now be obvious

    started = time.perf_counter()
    await auth.authenticate_request(incoming(connector), "Bearer " + mint(connector))

    assert time.perf_counter() - started < 1.0
    assert len(openid.hits) == 2


# -- outbound: botbuilder's connector client against the fake connector --------------------------------------------


@pytest.mark.asyncio
async def test_a_reply_reaches_the_connector_with_the_token_endpoints_token(
    auth: ConfigurationBotFrameworkAuthentication, connector: FakeConnector
) -> None:
    client = await connector_client(auth, connector)

    response = await client.conversations.reply_to_activity(
        THREAD, ROOT_MESSAGE, Activity(type="message", text="On it", conversation=None)
    )

    [token_call] = connector.calls_to("token")
    assert token_call.body["client_id"] == APP_ID
    assert token_call.body["scope"] == "https://api.botframework.com/.default"
    [reply] = connector.delivered("reply_to_activity")
    assert reply.conversation_id == THREAD  # `;messageid=` survives the URL encoding
    assert reply.activity_id == ROOT_MESSAGE
    assert reply.body["text"] == "On it"
    assert reply.bearer == token_call.response["access_token"]
    assert reply.path.startswith("/amer/v3/conversations/19%3A")
    assert response.id == reply.response["id"]
    assert connector.conversation(CHANNEL)[0]["replyToId"] == ROOT_MESSAGE


@pytest.mark.asyncio
async def test_cloud_adapter_replies_in_the_thread_through_the_fakes(
    auth: ConfigurationBotFrameworkAuthentication, connector: FakeConnector
) -> None:
    adapter = CloudAdapter(auth)

    async def logic(turn_context: TurnContext) -> None:
        await turn_context.send_activity("Request #42 filed")

    await adapter.process_activity("Bearer " + mint(connector), incoming(connector, text="help"), logic)

    [sent] = await connector.wait_for("reply_to_activity", delivered=True)
    assert sent.conversation_id == THREAD
    assert sent.body["text"] == "Request #42 filed"


@pytest.mark.asyncio
async def test_one_token_serves_many_connector_clients(
    auth: ConfigurationBotFrameworkAuthentication, connector: FakeConnector
) -> None:
    for text in ("one", "two", "three"):
        client = await connector_client(auth, connector)
        await client.conversations.send_to_conversation(THREAD, Activity(type="message", text=text))

    assert len(connector.calls_to("token")) == 1
    assert [c.body["text"] for c in connector.delivered("send_to_conversation")] == ["one", "two", "three"]


@pytest.mark.asyncio
async def test_tokens_are_fetched_again_shortly_before_they_expire(connector: FakeConnector) -> None:
    now = [1000.0]
    factory = ClientSecretCredentialsFactory(APP_ID, APP_PASSWORD, token_url=connector.token_url, clock=lambda: now[0])

    async def token_at(seconds: float) -> str:
        now[0] = 1000.0 + seconds
        credentials = await factory.create_credentials(APP_ID, BOTFRAMEWORK_SCOPE, "", True)
        return str(credentials.get_access_token())

    first = await token_at(0)
    held = await factory.create_credentials(APP_ID, BOTFRAMEWORK_SCOPE, "", True)
    again = await token_at(3600 - 301)
    now[0] = 1000.0 + 3600 - 100  # renewal due, token still valid: msrest's blocking call must not fetch
    still = held.get_access_token()
    renewed = await token_at(3600 - 100)

    assert first == again == still != renewed
    assert len(connector.calls_to("token")) == 2


@pytest.mark.asyncio
async def test_a_wrong_secret_is_refused_by_the_token_endpoint(connector: FakeConnector) -> None:
    factory = ClientSecretCredentialsFactory(APP_ID, "not-the-secret", token_url=connector.token_url)

    with pytest.raises(PermissionError, match="401: invalid_client"):
        await factory.create_credentials(APP_ID, BOTFRAMEWORK_SCOPE, "", True)
    [call] = connector.calls_to("token")
    assert call.status == 401
    assert call.response["error"] == "invalid_client"


@pytest.mark.asyncio
async def test_credentials_are_only_for_this_bot_and_plain_http_only_on_loopback(
    credentials: ClientSecretCredentialsFactory,
) -> None:
    assert await credentials.is_valid_app_id(APP_ID)
    assert not await credentials.is_valid_app_id("another-bot")
    assert not await credentials.is_authentication_disabled()
    with pytest.raises(PermissionError):
        await credentials.create_credentials("another-bot", BOTFRAMEWORK_SCOPE, "", True)
    with pytest.raises(ValueError, match="https"):
        ClientSecretCredentialsFactory(APP_ID, APP_PASSWORD, token_url="http://login.example.com/t/oauth2/v2.0/token")


@pytest.mark.asyncio
async def test_the_connector_refuses_requests_without_a_token_it_issued(
    auth: ConfigurationBotFrameworkAuthentication, connector: FakeConnector
) -> None:
    url = f"{connector.service_url}v3/conversations/{CHANNEL}/activities"
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"Authorization": "Bearer " + mint(connector)}):
            async with session.post(url, json={"type": "message"}, headers=headers) as response:
                assert response.status == 401

    client = await connector_client(auth, connector)
    connector.tokens.expire_all()
    with pytest.raises(ErrorResponseException) as refused:
        await client.conversations.send_to_conversation(CHANNEL, Activity(type="message", text="late"))
    assert refused.value.response.status_code == 401
    assert connector.delivered("send_to_conversation") == []


@pytest.mark.asyncio
async def test_conversations_activities_and_members(
    auth: ConfigurationBotFrameworkAuthentication, connector: FakeConnector
) -> None:
    ada = connector.add_member("aad-ada", "29:1ada", "Ada Lovelace", "ada@example.com")
    connector.add_member("aad-bob", "29:1bob", "Bob Smith", "bob@example.com", "bob@corp.example.com")
    client = await connector_client(auth, connector)

    thread = await client.conversations.create_conversation(
        ConversationParameters(
            is_group=True,
            channel_data={"channel": {"id": CHANNEL}},
            activity=Activity(type="message", text="New request #7"),
        )
    )
    personal = await client.conversations.create_conversation(
        ConversationParameters(members=[ChannelAccount(id="29:1ada")], tenant_id="tenant-1")
    )
    card = await client.conversations.reply_to_activity(
        thread.id, thread.activity_id, Activity(type="message", text="Approve?")
    )
    await client.conversations.update_activity(thread.id, card.id, Activity(type="message", text="Approved"))
    await client.conversations.delete_activity(thread.id, thread.activity_id)
    member = await client.conversations.get_conversation_member(thread.id, "aad-ada")
    members = await client.conversations.get_conversation_members(thread.id)

    assert thread.id == f"{CHANNEL};messageid={thread.activity_id}"
    assert personal.id.startswith("a:")
    assert [a["text"] for a in connector.conversation(CHANNEL)] == ["Approved"]
    assert member.id == "29:1ada" and member.additional_properties["email"] == ada["email"]
    assert [m.name for m in members] == ["Ada Lovelace", "Bob Smith"]
    with pytest.raises(ErrorResponseException) as missing:
        await client.conversations.get_conversation_member(thread.id, "aad-nobody")
    assert missing.value.response.status_code == 404


@pytest.mark.asyncio
async def test_teams_info_reads_members_and_team_details(
    auth: ConfigurationBotFrameworkAuthentication, connector: FakeConnector
) -> None:
    connector.add_member("aad-ada", "29:1ada", "Ada Lovelace", "ada@example.com", "ada@corp.example.com")
    connector.add_team("19:team@thread.tacv2", "Service Desk", channels=[(CHANNEL, "Requests")])
    client = await connector_client(auth, connector)
    context = TurnContext(CloudAdapter(auth), incoming(connector))
    context.turn_state[BotAdapter.BOT_CONNECTOR_CLIENT_KEY] = client

    member = await TeamsInfo.get_member(context, "aad-ada")
    # TeamsConnectorClient is synchronous (blocking requests): keep it off the loop that serves the fake.
    teams_client = TeamsConnectorClient(client.config.credentials, connector.service_url)
    details = await asyncio.to_thread(teams_client.teams.get_team_details, "19:team@thread.tacv2")

    assert member.user_principal_name == "ada@corp.example.com"
    assert connector.last("get_conversation_member").params == {"conversation_id": THREAD, "member_id": "aad-ada"}
    assert details.name == "Service Desk"
    assert connector.last("get_team_details").bearer == connector.tokens.issued[0]


# -- failure injection and msrest's own retries ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_throttling_reaches_the_caller_with_retry_after(
    auth: ConfigurationBotFrameworkAuthentication, connector: FakeConnector
) -> None:
    client = await connector_client(auth, connector)
    connector.fail_next("send_to_conversation", status=429, retry_after=2)

    with pytest.raises(ErrorResponseException) as throttled:
        await client.conversations.send_to_conversation(THREAD, Activity(type="message", text="hi"))

    assert throttled.value.response.status_code == 429
    assert throttled.value.response.headers["Retry-After"] == "2"
    assert len(connector.calls_to("send_to_conversation")) == 1  # msrest does not retry 429


@pytest.mark.asyncio
async def test_msrest_retries_5xx_on_put_but_never_on_post(
    auth: ConfigurationBotFrameworkAuthentication, connector: FakeConnector
) -> None:
    client = await connector_client(auth, connector)
    sent = await client.conversations.send_to_conversation(THREAD, Activity(type="message", text="v1"))

    connector.fail_next("update_activity", status=502)
    await client.conversations.update_activity(THREAD, sent.id, Activity(type="message", text="v2"))
    connector.fail_next("reply_to_activity", status=500)
    with pytest.raises(ErrorResponseException) as failed:
        await client.conversations.reply_to_activity(THREAD, sent.id, Activity(type="message", text="r"))

    assert [c.status for c in connector.calls_to("update_activity")] == [502, 200]
    assert failed.value.response.status_code == 500
    assert [c.status for c in connector.calls_to("reply_to_activity")] == [500]


@pytest.mark.asyncio
async def test_precondition_failed_is_not_retried(
    auth: ConfigurationBotFrameworkAuthentication, connector: FakeConnector
) -> None:
    client = await connector_client(auth, connector)
    sent = await client.conversations.send_to_conversation(THREAD, Activity(type="message", text="v1"))
    connector.fail_next("update_activity", status=412)

    with pytest.raises(ErrorResponseException) as failed:
        await client.conversations.update_activity(THREAD, sent.id, Activity(type="message", text="v2"))

    assert failed.value.response.status_code == 412
    assert len(connector.calls_to("update_activity")) == 1


@pytest.mark.asyncio
async def test_a_down_connector_drops_the_connection(
    auth: ConfigurationBotFrameworkAuthentication, connector: FakeConnector
) -> None:
    client = await connector_client(auth, connector)
    connector.down = True

    with pytest.raises(ClientRequestError):
        await client.conversations.send_to_conversation(THREAD, Activity(type="message", text="hi"))

    connector.down = False
    await client.conversations.send_to_conversation(THREAD, Activity(type="message", text="again"))
    assert [c.status for c in connector.calls_to("send_to_conversation")] == [0, 201]


@pytest.mark.asyncio
async def test_wait_for_sees_calls_made_by_other_tasks_and_times_out_with_what_it_saw(
    auth: ConfigurationBotFrameworkAuthentication, connector: FakeConnector
) -> None:
    client = await connector_client(auth, connector)

    async def deliver() -> None:
        for text in ("a", "b"):
            await client.conversations.send_to_conversation(THREAD, Activity(type="message", text=text))

    task = asyncio.create_task(deliver())
    calls = await connector.wait_for("send_to_conversation", 2, delivered=True)
    await task

    assert [c.body["text"] for c in calls] == ["a", "b"]
    with pytest.raises(TimeoutError, match="send_to_conversation"):
        await connector.wait_for("send_to_conversation", 3, timeout=0.05)
    with pytest.raises(ValueError, match="unknown route"):
        connector.fail_next("send_message")
