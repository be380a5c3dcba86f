"""With its database unreachable the server says so on every path: 503 with Retry-After where a platform
will send again, words where a person is waiting, and one warning in the log rather than a stack per
request. (The full outage-and-recovery run against a stopped PostgreSQL is tests/reliability.)"""

from __future__ import annotations

import logging
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import text

from adapters.web.sessions import COOKIE, SessionCodec
from bot import store
from bot.server import UNAVAILABLE_TEXT, Services, build_services, create_app
from tests.conftest import ROOT
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_signing import command_body, event_body, sign_request

SECRET = "unreachable-signing-secret"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once the socket is closed


@pytest_asyncio.fixture
async def unreachable() -> AsyncIterator[tuple[str, Services]]:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/gone"
    async with FakeSlackAPI(token="xoxb-unreachable") as fake:
        env = {"ZONEDESK_SECRET_KEY": "unreachable-secret-key-0123456789", "SLACK_BOT_TOKEN": "xoxb-unreachable",
               "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.base_url}
        services = build_services(ROOT / "app.yaml", url, env=env)
        app = await create_app(services, env=env, background=False)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            yield str(server.make_url("")).rstrip("/"), services
        finally:
            await server.close()
            await services.engine.dispose()


async def test_health_says_the_database_is_unreachable(unreachable: tuple[str, Services]) -> None:
    base, _ = unreachable
    async with aiohttp.ClientSession() as http, http.get(base + "/healthz") as response:
        assert response.status == 503
        assert response.headers["Retry-After"] == "5"
        body = await response.json()
    assert body["database"] == "unreachable" and body["since"]


async def test_a_slack_event_gets_503_so_slack_sends_it_again(unreachable: tuple[str, Services],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    base, _ = unreachable
    caplog.set_level(logging.INFO)
    async with aiohttp.ClientSession() as http:
        for i in range(3):
            body = event_body({"type": "message", "channel": "DU1", "channel_type": "im", "user": "U1",
                               "text": "my laptop", "ts": f"1710000000.00000{i}"}, f"EvGone{i}")
            async with http.post(base + "/slack/events", data=body, headers=sign_request(body, SECRET)) as response:
                assert response.status == 503
                assert response.headers["Retry-After"] == "5"
                assert (await response.json())["error"] == UNAVAILABLE_TEXT
    unreachable_lines = [r for r in caplog.records if "database unreachable" in r.getMessage()]
    assert len(unreachable_lines) == 1, "one warning for the outage, not one per request"
    assert not [r for r in caplog.records if r.exc_info], "an outage is not a bug: no stack traces"


async def test_a_slash_command_is_told_nothing_was_saved(unreachable: tuple[str, Services]) -> None:
    base, _ = unreachable
    body = command_body("/desk", "reply 4 on my way", "U1", "DU1", trigger_id="trig-gone",
                        response_url="http://127.0.0.1:9/respond")
    async with aiohttp.ClientSession() as http, \
            http.post(base + "/slack/events", data=body, headers=sign_request(body, SECRET)) as response:
        assert response.status == 200
        answer = await response.json()
    assert answer == {"response_type": "ephemeral", "text": UNAVAILABLE_TEXT}


async def test_a_web_page_explains_the_outage(unreachable: tuple[str, Services]) -> None:
    base, services = unreachable
    codec = SessionCodec(services.secret_key, services.clock, secure=False)
    carrier = web.Response()
    codec.write(carrier, codec.fresh("alexis.baker@nordlys.example"))
    cookie = carrier.cookies[COOKIE].value
    async with aiohttp.ClientSession(cookies={COOKIE: cookie}) as http, \
            http.get(base + "/requests", headers={"Accept": "text/html"}) as response:
        assert response.status == 503
        page = await response.text()
    assert "briefly unavailable" in page and UNAVAILABLE_TEXT in page


async def test_only_outages_count_as_outages(tmp_path: Path) -> None:
    """A missing table or a platform's socket error is a bug or someone else's outage, not the database's."""
    gone = store.create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/gone")
    with pytest.raises(Exception) as refused:
        async with gone.connect() as conn:
            await conn.execute(text("SELECT 1"))
    await gone.dispose()
    assert store.unavailable(refused.value)

    sqlite3.connect(tmp_path / "empty.db").close()
    engine = store.create_engine(f"sqlite+aiosqlite:///{tmp_path}/empty.db")
    with pytest.raises(Exception) as missing:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT * FROM no_such_table"))
    await engine.dispose()
    assert not store.unavailable(missing.value)

    with pytest.raises(aiohttp.ClientConnectionError) as platform:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{_closed_port()}/api"):
            pass
    assert not store.unavailable(platform.value)
