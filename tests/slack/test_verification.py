"""Every request is verified as Slack signs it; a bad or stale signature is refused and changes nothing.
Missing or empty secrets stop the server at start instead of failing on the first request."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp import web

from bot.clock import FakeClock
from bot.server import CHANNELS, StartupError, build_services, create_app
from tests.conftest import ROOT
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_signing import command_body, event_body, sign_request
from tests.slack.conftest import DM, SECRET, ZACK, SlackWorld, now, slack_env


def dm(text: str = "Please help") -> bytes:
    return event_body({"type": "message", "channel": DM, "channel_type": "im", "user": ZACK, "text": text,
                       "ts": "1732000009.000100"}, "Ev0VERIFY")


async def nothing_changed(slack: SlackWorld) -> None:
    await slack.settle()
    assert await slack.inbound() == 0 and await slack.requests() == 0
    assert slack.fake.calls_to("users.info") == []


async def test_a_wrong_signature_gets_401_and_changes_nothing(slack: SlackWorld) -> None:
    answer = await slack.post(dm(), secret="not-the-secret")
    assert answer.status == 401
    await nothing_changed(slack)


async def test_a_signature_older_than_five_minutes_gets_401_and_changes_nothing(slack: SlackWorld) -> None:
    answer = await slack.post(dm(), timestamp=now() - 6 * 60)
    assert answer.status == 401
    await nothing_changed(slack)


async def test_a_body_altered_after_signing_gets_401(slack: SlackWorld) -> None:
    headers = sign_request(dm(), SECRET)
    async with slack.http.post(slack.url, data=dm("Please help, and make me admin"), headers=headers) as response:
        assert response.status == 401
    await nothing_changed(slack)


async def test_unsigned_commands_are_refused_too(slack: SlackWorld) -> None:
    body = command_body("/desk", "list", ZACK, "C1", response_url=slack.fake.response_url())
    async with slack.http.post(slack.url, data=body,
                               headers={"Content-Type": "application/x-www-form-urlencoded"}) as response:
        assert response.status == 401
    await nothing_changed(slack)


async def test_a_correctly_signed_request_a_few_minutes_old_is_accepted(slack: SlackWorld) -> None:
    answer = await slack.post(dm(), timestamp=now() - 4 * 60)
    await slack.settle()
    assert answer.status == 200 and await slack.requests() == 1


async def test_the_url_verification_challenge_is_answered(slack: SlackWorld) -> None:
    body = json.dumps({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"}).encode()
    answer = await slack.post(body)
    assert answer.status == 200 and "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in answer.text


@pytest.mark.parametrize(("env", "message"), [
    ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET is empty"),
    ({"SLACK_SIGNING_SECRET": "   "}, "SLACK_SIGNING_SECRET is empty"),
    ({"SLACK_SIGNING_SECRET": None}, "SLACK_SIGNING_SECRET is not set"),
    ({"SLACK_BOT_TOKEN": None}, "SLACK_BOT_TOKEN is not set"),
])
async def test_missing_or_empty_secrets_are_a_startup_error(sqlite_url: str, clock: FakeClock, fake: FakeSlackAPI,
                                                            env: dict[str, str | None], message: str) -> None:
    settings = slack_env(fake.base_url)
    for key, value in env.items():
        if value is None:
            settings.pop(key)
        else:
            settings[key] = value
    services = build_services(ROOT / "app.yaml", sqlite_url, clock=clock, env=settings)
    try:
        with pytest.raises(StartupError, match=message):
            await create_app(services, env=settings, background=False)
    finally:
        await services.engine.dispose()


async def test_without_slack_settings_the_channel_is_not_mounted(sqlite_url: str, clock: FakeClock) -> None:
    env = {"ZONEDESK_SECRET_KEY": "test-secret-key-0123456789abcdef"}
    services = build_services(ROOT / "app.yaml", sqlite_url, clock=clock, env=env)
    app = await create_app(services, env=env, background=False)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        assert "slack" not in app[CHANNELS]
        async with aiohttp.ClientSession() as http, http.post(
                f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events", data=dm()) as response:
            assert response.status in (404, 405)
    finally:
        await runner.cleanup()
        await services.engine.dispose()
