"""A desk whose files go to the test's own folder with a small size limit (`files_limit`, which a test module
overrides), served over real HTTP, and browsers to visit it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.clock import FakeClock
from bot.server import Services, build_services, create_app
from tests.conftest import ROOT
from tests.web.conftest import Browser


@pytest.fixture
def files_limit() -> int:
    """The store's limit in bytes for these tests."""
    return 4096


@pytest.fixture
async def services(db_url: str, clock: FakeClock, tmp_path: Path, files_limit: int) -> AsyncIterator[Services]:
    built = build_services(ROOT / "app.yaml", db_url, clock=clock, env={
        "ZONEDESK_SECRET_KEY": "files-test-secret-key-0123456789abcdef",
        "ZONEDESK_FILES_DIR": str(tmp_path / "files"), "ZONEDESK_FILES_MAX_BYTES": str(files_limit)})
    yield built
    await built.engine.dispose()


@pytest.fixture
async def browsers(services: Services) -> AsyncIterator[Callable[[], Browser]]:
    app = await create_app(services, env={}, background=False)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    sessions: list[aiohttp.ClientSession] = []

    def open_browser() -> Browser:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        sessions.append(http)
        return Browser(f"http://{host}:{port}", http, services)

    yield open_browser
    for http in sessions:
        await http.close()
    await runner.cleanup()
