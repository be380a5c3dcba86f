"""The Slack fakes themselves, driven through slack_sdk's real AsyncWebClient and verified by bolt's real code."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
import pytest_asyncio
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler, AsyncServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

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

TOKEN = "xoxb-test"
SECRET = "shh-signing-secret"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlackAPI]:
    async with FakeSlackAPI(token=TOKEN) as api:
        yield api


def client_for(fake: FakeSlackAPI, token: str = TOKEN, **kwargs: Any) -> AsyncWebClient:
    # No retry handlers unless a test asks: each attempt is then exactly one recorded call.
    kwargs.setdefault("retry_handlers", [])
    return AsyncWebClient(token=token, base_url=fake.base_url, **kwargs)


@pytest.mark.asyncio
async def test_a_wrong_or_missing_token_is_invalid_auth_and_the_right_one_passes(fake: FakeSlackAPI) -> None:
    for token in ("xoxb-wrong", None):
        with pytest.raises(SlackApiError) as caught:
            await client_for(fake, token=token).auth_test()  # type: ignore[arg-type]
        assert caught.value.response.status_code == 200
        assert caught.value.response["error"] == "invalid_auth"

    answer = await client_for(fake).auth_test()
    assert (answer["user_id"], answer["bot_id"], answer["team_id"], answer["team"]) == ("UBOT", "BBOT", "T1", "Acme")
    assert [c.failed for c in fake.calls_to("auth.test")] == [True, True, False]
    assert fake.last("auth.test").headers["Authorization"] == f"Bearer {TOKEN}"

    # A token form field (older clients, curl) is accepted too, and kept out of the recorded args.
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{fake.base_url}auth.test", data={"token": TOKEN, "x": "1"}) as res:
            assert (await res.json())["ok"] is True
    assert fake.last("auth.test").args == {"x": "1"}


@pytest.mark.asyncio
async def test_post_message_gives_unique_increasing_ts_and_records_json_and_form_bodies_alike(
    fake: FakeSlackAPI,
) -> None:
    client = client_for(fake)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    sent = [await client.chat_postMessage(channel="C1", text=f"m{i}", blocks=blocks) for i in range(3)]
    # The same call form-encoded (blocks as JSON text), as slack_sdk does when given data=...
    form = {"channel": "C1", "text": "m3", "blocks": json.dumps(blocks)}
    sent.append(await client.api_call("chat.postMessage", data=form))

    stamps = [r["ts"] for r in sent]
    assert stamps == sorted(stamps) and len(set(stamps)) == 4
    assert stamps[0] == "1700000000.000100"
    assert all(c.args["blocks"] == blocks for c in fake.calls_to("chat.postMessage"))
    assert fake.last("chat.postMessage").args["text"] == "m3"
    assert sent[0]["message"]["bot_id"] == "BBOT"
    assert fake.call_count("chat.postMessage") == len(fake.delivered("chat.postMessage")) == 4

    reply = await client.chat_postMessage(channel="U7", text="dm", thread_ts=stamps[0])
    assert reply["channel"] == "DU7"  # posting to a user id lands in the DM
    await client.chat_update(channel="C1", ts=stamps[1], text="edited")
    assert fake.messages[("C1", stamps[1])]["text"] == "edited"
    await client.chat_delete(channel="C1", ts=stamps[2])
    assert ("C1", stamps[2]) not in fake.messages
    with pytest.raises(SlackApiError, match="message_not_found"):
        await client.chat_update(channel="C1", ts="1.2", text="x")
    ephemeral = await client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert ephemeral["message_ts"] > stamps[-1]
    with pytest.raises(SlackApiError, match="no_text"):
        await client.api_call("chat.postMessage", json={"channel": "C1"})


@pytest.mark.asyncio
async def test_users_info_answers_from_the_registry(fake: FakeSlackAPI) -> None:
    fake.add_user("U1", "ada@example.com", "Ada Lovelace")
    client = client_for(fake)
    user = (await client.users_info(user="U1"))["user"]
    assert user["profile"]["email"] == "ada@example.com"
    assert (user["real_name"], user["tz"], user["is_bot"]) == ("Ada Lovelace", "Europe/Oslo", False)
    assert fake.last("users.info").args["user"] == "U1"  # sent as a GET query string
    with pytest.raises(SlackApiError, match="user_not_found"):
        await client.users_info(user="U404")
    assert len(fake.delivered("users.info")) == 1 and fake.call_count("users.info") == 2


@pytest.mark.asyncio
async def test_users_info_tells_the_locale_only_when_asked(fake: FakeSlackAPI) -> None:
    fake.add_user("U1", "ada@example.com", "Ada Lovelace", locale="nb-NO")
    client = client_for(fake)
    assert "locale" not in (await client.users_info(user="U1"))["user"]
    assert (await client.users_info(user="U1", include_locale=True))["user"]["locale"] == "nb-NO"


@pytest.mark.asyncio
async def test_dm_views_reactions_permalinks_and_unknown_methods(fake: FakeSlackAPI) -> None:
    client = client_for(fake)
    assert (await client.conversations_open(users="U1"))["channel"]["id"] == "DU1"
    assert (await client.conversations_open(users=["U1"]))["channel"]["id"] == "DU1"

    modal = {"type": "modal", "callback_id": "file", "title": {"type": "plain_text", "text": "File"}, "blocks": []}
    opened = (await client.views_open(trigger_id="t1", view=modal))["view"]
    assert opened["id"] and opened["callback_id"] == "file"
    updated = (await client.views_update(view_id=opened["id"], view={**modal, "callback_id": "file2"}))["view"]
    assert updated["id"] == opened["id"] and updated["callback_id"] == "file2"
    pushed = (await client.views_push(trigger_id="t2", view=modal))["view"]
    assert pushed["id"] != opened["id"]
    home = {"type": "home", "blocks": []}
    first = (await client.views_publish(user_id="U1", view=home))["view"]
    again = (await client.views_publish(user_id="U1", view=home))["view"]
    assert first["id"] == again["id"] and first["type"] == "home"
    with pytest.raises(SlackApiError, match="not_found"):
        await client.views_update(view_id="V404", view=modal)

    await client.reactions_add(channel="C1", timestamp="1.1", name="eyes")
    with pytest.raises(SlackApiError, match="already_reacted"):
        await client.reactions_add(channel="C1", timestamp="1.1", name="eyes")
    link = await client.chat_getPermalink(channel="C1", message_ts="1700000000.000100")
    assert link["permalink"].endswith("/archives/C1/p1700000000000100")
    with pytest.raises(SlackApiError, match="unknown_method"):
        await client.api_call("no.such.method")


@pytest.mark.asyncio
async def test_rate_limit_answers_429_with_retry_after(fake: FakeSlackAPI) -> None:
    fake.rate_limit_next("chat.postMessage", 1, retry_after=7)
    client = client_for(fake)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C1", text="hi")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert caught.value.response["error"] == "ratelimited"
    await client.chat_postMessage(channel="C1", text="hi")
    assert fake.call_count("chat.postMessage") == 2 and len(fake.delivered("chat.postMessage")) == 1

    # slack_sdk's own rate-limit handler honours the header and gets through on the next attempt.
    fake.clear()
    fake.rate_limit_next("chat.postMessage", 1, retry_after=0)
    await client_for(fake, retry_handlers=[AsyncRateLimitErrorRetryHandler()]).chat_postMessage(channel="C1", text="x")
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]


@pytest.mark.asyncio
async def test_server_errors_and_ok_false_are_attempts_not_deliveries(fake: FakeSlackAPI) -> None:
    fake.fail_next("chat.postMessage", 1)
    with pytest.raises(SlackApiError) as caught:
        await client_for(fake).chat_postMessage(channel="C1", text="hi")
    assert caught.value.response.status_code == 500

    # slack_sdk's server-error handler retries 500 and 503: two failures, then the message gets through.
    fake.fail_next("chat.postMessage", 1)
    fake.fail_next("chat.postMessage", 1, status=503)
    immediately = FixedValueRetryIntervalCalculator(0)
    retrying = client_for(fake, retry_handlers=[AsyncServerErrorRetryHandler(5, interval_calculator=immediately)])
    await retrying.chat_postMessage(channel="C1", text="hi")
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [500, 500, 503, 200]
    assert len(fake.delivered("chat.postMessage")) == 1

    fake.error_next("chat.postMessage", "channel_not_found")
    with pytest.raises(SlackApiError) as caught:
        await client_for(fake).chat_postMessage(channel="C1", text="hi")
    assert caught.value.response.status_code == 200 and caught.value.response["error"] == "channel_not_found"
    assert fake.last("chat.postMessage").failed


@pytest.mark.asyncio
async def test_down_switch_answers_503_to_everything_until_cleared(fake: FakeSlackAPI) -> None:
    client = client_for(fake)
    fake.down = True
    for call in (client.auth_test(), client.chat_postMessage(channel="C1", text="x")):
        with pytest.raises(SlackApiError) as caught:
            await call
        assert caught.value.response.status_code == 503
    fake.down = False
    await client.chat_postMessage(channel="C1", text="x")
    assert [c.status for c in fake.calls] == [503, 503, 200]


@pytest.mark.asyncio
async def test_hang_makes_the_client_time_out_and_stays_a_failed_attempt(fake: FakeSlackAPI) -> None:
    fake.hang_next("chat.postMessage", 1, seconds=30)
    with pytest.raises(asyncio.TimeoutError):
        await client_for(fake, timeout=0.2).chat_postMessage(channel="C1", text="slow")
    assert fake.last("chat.postMessage").failed

    # A hang shorter than the client's patience is only slow: it is delivered.
    fake.hang_next("chat.postMessage", 1, seconds=0.05)
    await client_for(fake).chat_postMessage(channel="C1", text="late")
    assert [c.failed for c in fake.calls_to("chat.postMessage")] == [True, False]


@pytest.mark.asyncio
async def test_stop_does_not_wait_for_hung_requests() -> None:
    api = await FakeSlackAPI(token=TOKEN).start()
    api.hang_next("auth.test", 1, seconds=60)
    pending = asyncio.create_task(client_for(api).auth_test())
    await api.wait_for("auth.test")
    started = time.monotonic()
    await api.stop()
    assert time.monotonic() - started < 2
    with pytest.raises((SlackApiError, aiohttp.ClientError)):
        await pending


@pytest.mark.asyncio
async def test_wait_for_wakes_on_the_call_and_times_out_naming_what_it_saw(fake: FakeSlackAPI) -> None:
    client = client_for(fake)
    posting = asyncio.create_task(client.chat_postMessage(channel="C1", text="hi"))
    await fake.wait_for("chat.postMessage")
    assert fake.last("chat.postMessage").args["text"] == "hi"
    await posting

    fake.fail_next("auth.test", 1)
    with pytest.raises(SlackApiError):
        await client.auth_test()
    with pytest.raises(TimeoutError, match=r"1 delivered call\(s\) to auth\.test, got 0"):
        await fake.wait_for("auth.test", delivered=True, timeout=0.05)
    with pytest.raises(TimeoutError, match=r"chat\.postMessage x1, auth\.test \(failed\) x1"):
        await fake.wait_for("views.open", timeout=0.05)


def test_signature_verifies_with_slack_sdk_and_fails_when_tampered_or_stale() -> None:
    verifier = SignatureVerifier(SECRET)
    body = event_body({"type": "app_mention", "user": "U1", "text": "hi", "channel": "C1", "ts": "1.1"}, "Ev1")
    headers = sign_request(body, SECRET)
    assert headers["Content-Type"] == "application/json"
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body.replace(b"hi", b"ho"), headers)
    assert not verifier.is_valid_request(body, sign_request(body, "another-secret"))
    assert not verifier.is_valid_request(body, sign_request(body, SECRET, timestamp=int(time.time()) - 6 * 60))

    form = command_body("/desk", "help", "U1", "C1")
    assert sign_request(form, SECRET)["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(form.decode())["command"] == ["/desk"]
    payload = json.loads(parse_qs(interaction_body({"type": "x", "text": "a b&c"}).decode())["payload"][0])
    assert payload == {"type": "x", "text": "a b&c"}


@pytest.mark.asyncio
async def test_bolt_accepts_every_body_shape_and_answers_through_the_fake(fake: FakeSlackAPI) -> None:
    app = AsyncApp(client=client_for(fake), signing_secret=SECRET, process_before_response=True)
    seen: dict[str, Any] = {}

    @app.command("/desk")
    async def command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        seen["command"] = command["text"]
        await respond("on it")

    @app.event("app_mention")
    async def mention(event: dict[str, Any], client: AsyncWebClient) -> None:
        seen["event"] = event["text"]
        await client.chat_postMessage(channel=event["channel"], text="hello", thread_ts=event["ts"])

    @app.action("take")
    async def take(ack: Any, action: dict[str, Any], body: dict[str, Any]) -> None:
        await ack()
        seen["action"] = (action["value"], body["container"]["channel_id"])

    @app.view("file")
    async def submitted(ack: Any, view: dict[str, Any]) -> None:
        await ack()
        seen["view"] = view["state"]["values"]["subject"]["input"]["value"]

    @app.shortcut("file_from_message")
    async def shortcut(ack: Any, shortcut: dict[str, Any]) -> None:
        await ack()
        seen["shortcut"] = shortcut["message"]["text"]

    bodies = [
        command_body("/desk", "printer", "U1", "C1", response_url=fake.response_url("cmd")),
        event_body({"type": "app_mention", "user": "U1", "text": "<@UBOT> help", "channel": "C1", "ts": "5.5"}, "Ev9"),
        interaction_body(block_actions_payload("take", "R-1", channel_id="C9")),
        interaction_body(view_submission_payload("file", {"subject": {"input": "No VPN"}})),
        interaction_body(message_shortcut_payload("file_from_message", message_text="screen is black")),
    ]
    for body in bodies:
        headers: dict[str, str | Sequence[str]] = {**sign_request(body, SECRET)}
        request = AsyncBoltRequest(body=body.decode(), headers=headers)
        assert (await app.async_dispatch(request)).status == 200

    assert seen == {"command": "printer", "event": "<@UBOT> help", "action": ("R-1", "C9"),
                    "view": "No VPN", "shortcut": "screen is black"}
    assert fake.last("response_url").args == {"text": "on it", "_hook": "cmd"}
    assert fake.last("chat.postMessage").args["thread_ts"] == "5.5"
    assert fake.call_count("auth.test") == 1  # bolt authorizes once, against the fake
    unsigned = AsyncBoltRequest(body=bodies[0].decode(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (await app.async_dispatch(unsigned)).status == 401


async def test_a_file_is_served_at_its_url_private_to_the_bot_token_only(fake: FakeSlackAPI) -> None:
    item = fake.add_file("F1", "report.pdf", b"%PDF-1.4 report", "application/pdf")
    assert item["size"] == 15 and item["url_private_download"].startswith(item["url_private"])
    async with aiohttp.ClientSession() as http:
        async with http.get(item["url_private"], headers={"Authorization": f"Bearer {TOKEN}"}) as response:
            assert response.status == 200 and response.content_type == "application/pdf"
            assert await response.read() == b"%PDF-1.4 report"
        for headers in ({}, {"Authorization": "Bearer xoxb-someone-else"}):  # as Slack: its sign-in page
            async with http.get(item["url_private"], headers=headers) as response:
                assert response.status == 200 and response.content_type == "text/html"
                assert b"%PDF" not in await response.read()
    assert [c.failed for c in fake.calls_to("files-pri")] == [False, True, True]
