"""Every activity is authenticated through the SDK's real JWT path: bad tokens get 401 and change nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from bot.server import StartupError, build_services, create_app
from tests.conftest import ROOT
from tests.fakes.botframework import FakeConnector, OpenIdServer, malformed_channel_token, signing_key
from tests.teams.conftest import APP_ID, KARI, TeamsWorld, teams_env

BAD_TOKENS: list[tuple[str, Callable[[TeamsWorld], str]]] = [
    ("expired", lambda t: "Bearer " + t.token(expires_in=-600)),
    ("not yet valid", lambda t: "Bearer " + t.token(not_before=600)),
    ("no expiry", lambda t: "Bearer " + t.token(omit=("exp",))),
    ("expiry as a string", lambda t: "Bearer " + t.token(extra_claims={"exp": str(int(time.time()) + 600)})),
    ("wrong issuer", lambda t: "Bearer " + t.token(issuer="https://sts.example.com")),
    ("wrong audience", lambda t: "Bearer " + t.token(audience="another-bot")),
    ("no audience", lambda t: "Bearer " + t.token(omit=("aud",))),
    ("no issuer", lambda t: "Bearer " + t.token(omit=("iss",))),
    ("wrong serviceUrl", lambda t: "Bearer " + t.token(extra_claims={"serviceurl": "https://smba.example.com/amer/"})),
    ("no serviceUrl", lambda t: "Bearer " + t.token(omit=("serviceurl",))),
    ("signed by an unpublished key", lambda t: "Bearer " + t.token(key="rogue")),
    ("forged under the published kid", lambda t: "Bearer " + t.token(key="rogue", kid=signing_key("good").kid)),
    ("no key id", lambda t: "Bearer " + t.token(omit=("kid",))),
    ("a skill's token", lambda t: "Bearer " + t.token(extra_claims={"ver": "1.0", "appid": "other-bot"})),
    ("garbage", lambda t: "Bearer " + malformed_channel_token("garbage")),
    ("truncated", lambda t: "Bearer " + malformed_channel_token("truncated", APP_ID, t.connector.service_url)),
    ("alg none", lambda t: "Bearer " + malformed_channel_token("unsigned", APP_ID, t.connector.service_url)),
    ("HS256 with the public key", lambda t: "Bearer " + malformed_channel_token("hs256", APP_ID,
                                                                                  t.connector.service_url)),
    ("missing header", lambda t: ""),
    ("another scheme", lambda t: "Basic " + t.token()),
    ("lower-case scheme", lambda t: "bearer " + t.token()),
    ("scheme only", lambda t: "Bearer"),
    ("two tokens", lambda t: f"Bearer {t.token()} {t.token()}"),
]


@pytest.mark.parametrize(("case", "header"), BAD_TOKENS, ids=[case for case, _ in BAD_TOKENS])
async def test_a_bad_token_is_401_and_nothing_is_written(teams: TeamsWorld, case: str,
                                                         header: Callable[[TeamsWorld], str]) -> None:
    activity = teams.activity(KARI, "personal", KARI.chat, type="message", text="Please reset my password")

    answer = await teams.post(activity, authorization=header(teams))

    assert answer.status == 401, case
    assert answer.body == {"error": "unauthorized"}
    assert await teams.requests() == 0
    assert await teams.inbound() == 0
    assert teams.connector.calls == []  # not even a roster lookup or a token fetch


async def test_an_invoke_with_a_bad_token_is_401_too(teams: TeamsWorld) -> None:
    activity = teams.activity(KARI, "personal", KARI.chat, type="invoke", name="task/fetch",
                              value={"data": {"zd_dialog": "comment", "number": "1"}})

    answer = await teams.post(activity, token=teams.token(expires_in=-600))

    assert answer.status == 401


async def test_a_token_for_another_channel_than_the_key_endorses_is_401(teams: TeamsWorld) -> None:
    activity = teams.activity(KARI, "personal", KARI.chat, type="message", text="hello", channelId="slack")

    answer = await teams.post(activity)

    assert answer.status == 401
    assert await teams.requests() == 0


async def test_a_body_that_is_no_activity_is_400_after_the_token_check(teams: TeamsWorld) -> None:
    async with teams.http.post(teams.url, data=b"{not json", headers={
            "Authorization": f"Bearer {teams.token()}", "Content-Type": "application/json"}) as response:
        assert response.status == 400
    async with teams.http.post(teams.url, data=b"{}", headers={"Content-Type": "application/json"}) as response:
        assert response.status == 401


async def test_keys_are_fetched_at_start_up_once_and_not_for_every_token(teams: TeamsWorld) -> None:
    for text in ("one", "two", "three"):
        await teams.say(KARI, text)
    await teams.post(teams.activity(KARI, "personal", KARI.chat, type="message", text="x"),
                     token=teams.token(key="rogue"))  # an unknown key does not make us fetch again at once

    assert teams.openid.hits == ["/.well-known/openid-configuration", "/keys"]


async def test_fetching_keys_does_not_hold_up_other_requests(teams: TeamsWorld) -> None:
    metadata = teams.runtime.authentication.metadata
    metadata.fetched_at = None  # as after a day: the next token makes the keys be fetched again
    teams.openid.latency = 0.5  # per request, on the OpenID server's own thread
    health = teams.url.replace("/api/messages", "/healthz")
    filing = asyncio.ensure_future(teams.say(KARI, "Monitor arm is loose"))
    waits: list[float] = []
    while not filing.done():
        started = time.perf_counter()
        async with teams.http.get(health) as response:
            assert response.status == 200
        waits.append(time.perf_counter() - started)
    answer, _ = await filing

    assert answer.status == 200
    assert metadata.fetches == 2  # at start-up, and now
    assert len(waits) >= 3 and max(waits) < 0.25  # the loop kept serving during the 1 s fetch


@pytest.mark.parametrize(("env", "message"), [
    ({"MICROSOFT_APP_ID": ""}, "MICROSOFT_APP_ID is empty"),
    ({"MICROSOFT_APP_PASSWORD": ""}, "MICROSOFT_APP_PASSWORD is empty"),
    ({"MICROSOFT_APP_TYPE": "SingleTenant"}, "MICROSOFT_APP_TENANT_ID is not set"),
    ({"MICROSOFT_APP_TYPE": "UserAssignedMSI"}, "MICROSOFT_APP_TYPE is 'UserAssignedMSI'"),
    ({"BOTFRAMEWORK_TOKEN_URL": "http://login.example.com/token"}, "BOTFRAMEWORK_TOKEN_URL must be an https://"),
    ({"BOTFRAMEWORK_OPENID_METADATA_URL": "http://10.0.0.1/openid"}, "BOTFRAMEWORK_OPENID_METADATA_URL must be"),
])
async def test_bad_settings_stop_the_server_at_start(sqlite_url: str, openid: OpenIdServer,
                                                     connector: FakeConnector, env: dict[str, Any],
                                                     message: str) -> None:
    settings = teams_env(openid, connector, **env)
    services = build_services(ROOT / "app.yaml", sqlite_url, env=settings)
    try:
        with pytest.raises(StartupError, match=message):
            await create_app(services, env=settings, background=False)
    finally:
        await services.engine.dispose()


async def test_the_channel_is_not_mounted_without_its_settings(sqlite_url: str) -> None:
    env = {"ZONEDESK_SECRET_KEY": "test-secret-key-0123456789abcdef"}
    services = build_services(ROOT / "app.yaml", sqlite_url, env=env)
    try:
        app = await create_app(services, env=env, background=False)
        assert "teams" not in services.extras
        assert all(r.resource is None or r.resource.canonical != "/api/messages" for r in app.router.routes())
    finally:
        await services.engine.dispose()


async def test_an_accepted_token_is_not_accepted_for_another_service_url(teams: TeamsWorld) -> None:
    token = teams.token()
    good, _ = await teams.say(KARI, "Projector remote is missing", token=token)
    activity = teams.activity(KARI, "personal", KARI.chat, type="message", text="Send replies elsewhere",
                              serviceUrl="https://smba.example.com/amer/")

    moved = await teams.post(activity, token=token)

    assert (good.status, moved.status) == (200, 401)
    assert await teams.requests() == 1


@pytest.mark.parametrize("service_url", ["missing", "", None, 42], ids=["missing", "empty", "null", "a number"])
async def test_an_activity_without_a_service_url_is_401_even_with_a_valid_token(teams: TeamsWorld,
                                                                                service_url: Any) -> None:
    # The SDK checks the token's `serviceurl` claim only against a service URL the activity names: without
    # one it accepted the token (and the turn then failed with a 500 replying to nowhere).
    activity = teams.activity(KARI, "personal", KARI.chat, type="message", text="Please reset my password")
    if service_url == "missing":
        del activity["serviceUrl"]
    else:
        activity["serviceUrl"] = service_url

    answer = await teams.post(activity)

    assert (answer.status, answer.body) == (401, {"error": "unauthorized"})
    assert await teams.requests() == 0
    assert await teams.inbound() == 0
    assert teams.connector.calls == []


async def test_a_body_that_is_no_activity_is_401_with_a_bad_token_and_400_with_a_good_one(teams: TeamsWorld) -> None:
    for body in (b"{not json", b"[]", b'{"type": "message", "serviceUrl": "x"}'):
        statuses = []
        for token in (teams.token(expires_in=-600), teams.token(key="rogue"), teams.token()):
            async with teams.http.post(teams.url, data=body, headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "application/json"}) as response:
                statuses.append(response.status)
        assert statuses == [401, 401, 400], body
    async with teams.http.post(teams.url, data=b"hello", headers={
            "Authorization": f"Bearer {teams.token(expires_in=-600)}", "Content-Type": "text/plain"}) as response:
        assert response.status == 401  # not 415: nothing about the body is told before the token is good
