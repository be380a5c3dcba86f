"""Fuzzing POST /slack/events with valid signatures and malformed bodies: never a 5xx, never half a request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_signing import sign_request
from tests.reliability.harness import BOT_TOKEN, SIGNING_SECRET, Served, sqlite_rows
from tests.security.background import Background

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                max_size=4), max_leaves=12)
EVENT = st.fixed_dictionaries({
    "type": st.sampled_from(["event_callback", "url_verification", "app_rate_limited", "nonsense"]),
    "event_id": st.text(max_size=20), "team_id": st.text(max_size=12),
    "event": st.fixed_dictionaries({"type": st.sampled_from(["message", "app_mention", "app_home_opened", "x"]),
                                    "channel": st.text(max_size=12), "user": st.text(max_size=12),
                                    "channel_type": st.sampled_from(["im", "channel", ""]),
                                    "text": st.text(max_size=200), "ts": st.text(max_size=20)},
                                   optional={"thread_ts": st.text(max_size=20), "subtype": st.text(max_size=15),
                                             "bot_id": st.text(max_size=8)}),
})
PAYLOAD = st.fixed_dictionaries({
    "type": st.sampled_from(["block_actions", "view_submission", "message_action", "shortcut", "x"]),
}, optional={"user": JSON, "actions": JSON, "view": JSON, "trigger_id": st.text(max_size=20),
             "callback_id": st.text(max_size=20), "message": JSON, "channel": JSON})
BODY = st.one_of(
    st.binary(max_size=300),
    JSON.map(lambda v: json.dumps(v).encode()),
    EVENT.map(lambda v: json.dumps(v).encode()),
    PAYLOAD.map(lambda v: urlencode({"payload": json.dumps(v)}).encode()),
    st.dictionaries(st.sampled_from(["command", "text", "user_id", "channel_id", "trigger_id", "response_url",
                                     "team_id"]), st.text(max_size=60)).map(lambda d: urlencode(d).encode()),
)




@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    folder = tmp_path_factory.mktemp("fuzz")
    background = Background()
    fake = FakeSlackAPI(token=BOT_TOKEN)
    background.run(fake.start())
    url = f"sqlite+aiosqlite:///{folder}/fuzz.db"
    server = Served(folder, url, {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                                  "SLACK_API_URL": fake.base_url})
    background.run(server.start())
    yield server, url
    server.stop()
    background.run(fake.stop())
    background.close()
    log = Path(folder / "server.log").read_text()
    assert "Traceback" not in log or "unexpected error" not in log, log[-3000:]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODY, content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded"]))
def test_signed_garbage_never_gets_a_5xx(running: tuple[Served, str], body: bytes, content_type: str) -> None:
    server, _ = running
    headers = sign_request(body, SIGNING_SECRET)
    headers["Content-Type"] = content_type
    response = requests.post(server.url + "/slack/events", data=body, headers=headers, timeout=10)
    assert response.status_code < 500, (response.status_code, response.text[:300], body[:200])


def test_after_the_fuzz_nothing_is_half_written(running: tuple[Served, str]) -> None:
    server, url = running
    assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
    orphans = sqlite_rows(url, "SELECT count(*) FROM requests r WHERE NOT EXISTS "
                               "(SELECT 1 FROM events e WHERE e.request_id = r.id AND e.kind = 'filed')")
    assert orphans == [(0,)], "a request without its history event means a half-written action"


def test_a_bad_signature_is_401_even_for_garbage(running: tuple[Served, str]) -> None:
    server, _ = running
    for body in (b"", b"{}", b"payload=%7B%7D", b"\xff\xfe"):
        headers = sign_request(body, "not-the-secret")
        assert requests.post(server.url + "/slack/events", data=body, headers=headers, timeout=10).status_code == 401
