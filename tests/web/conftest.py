"""The web channel served for real on an ephemeral port, and browsers (cookie jars) that sign in by link."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web

from bot.clock import FakeClock
from bot.people.signin import SignIn
from bot.server import Services, build_services, create_app

ROOT = Path(__file__).resolve().parents[2]
SECRET = "web-test-secret-key-0123456789abcdef"

REQUESTER = "zack@nordlys.example"  # not in app.yaml: a plain requester
IT_AGENT = "alexis.baker@nordlys.example"
IT_AGENT_2 = "ivar.lund@nordlys.example"
HR_AGENT = "hanna.berg@nordlys.example"  # HR service only, not in the private Employee relations team
HR_PRIVATE = "olav.strand@nordlys.example"  # HR service and Employee relations
FINANCE_AGENT = "erika.schmitt@nordlys.example"  # Payroll

_CSRF = re.compile(r'name="csrf" value="([^"]*)"')
_TAGS = re.compile(r"<[^>]+>")


@dataclass
class Page:
    """What the browser got: status, final URL, the HTML, and its visible text."""

    status: int
    url: str
    html: str
    headers: dict[str, str]

    @property
    def text(self) -> str:
        """The text a person reads (tags dropped, entities decoded, spaces collapsed)."""
        return " ".join(html.unescape(_TAGS.sub(" ", self.html)).split())

    @property
    def csrf(self) -> str | None:
        """The CSRF token in the page's forms."""
        found = _CSRF.search(self.html)
        return found.group(1) if found else None


class Browser:
    """One person's browser: its own cookie jar; follows redirects like a browser does."""

    def __init__(self, base: str, http: aiohttp.ClientSession, services: Services) -> None:
        self.base = base
        self.http = http
        self.services = services
        self.token: str | None = None

    async def _page(self, response: aiohttp.ClientResponse) -> Page:
        page = Page(response.status, str(response.url), await response.text(), dict(response.headers))
        if page.csrf:
            self.token = page.csrf
        return page

    async def get(self, path: str) -> Page:
        """GET a page."""
        async with self.http.get(self.base + path) as response:
            return await self._page(response)

    async def post(self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True) -> Page:
        """Submit a form (with the CSRF token of the last page seen unless `csrf=False`)."""
        form = dict(data or {})
        if csrf:
            if self.token is None:
                await self.get("/")
            form.setdefault("csrf", self.token or "")
        async with self.http.post(self.base + path, data=form) as response:
            return await self._page(response)

    async def open_link(self, link: str) -> Page:
        """Open a sign-in link and press its button."""
        path = urlsplit(link).path
        await self.get(path)
        return await self.post(path)

    async def sign_in(self, email: str) -> Page:
        """Sign in with a fresh one-time link."""
        return await self.open_link(await link_for(self.services, email))

    async def file(self, title: str, description: str = "", *, zone: str = "it", category: str = "",
                   urgency: str = "normal") -> Page:
        """File a request through the portal's form."""
        await self.get(f"/new/{zone}")
        return await self.post("/requests", {"zone": zone, "category": category, "urgency": urgency,
                                             "title": title, "description": description})


async def link_for(services: Services, email: str) -> str:
    """A one-time sign-in link, as `zonedesk login-link` prints it."""
    return await SignIn(services.sessions, services.clock, services.secret_key,
                        services.config.organisation.base_url).create_link(email)


def number_of(page: Page) -> int:
    """The request number of a request page the browser landed on."""
    found = re.search(r"/requests/(\d+)$", page.url)
    assert found, page.url
    return int(found.group(1))


@pytest.fixture
async def web_services(sqlite_url: str, clock: FakeClock) -> AsyncIterator[Services]:
    """The core on a fresh SQLite database (the web channel is about HTTP, not the database)."""
    built = build_services(ROOT / "app.yaml", sqlite_url, clock=clock, env={"ZONEDESK_SECRET_KEY": SECRET})
    yield built
    await built.engine.dispose()


@pytest.fixture
async def server(web_services: Services) -> AsyncIterator[str]:
    """The real aiohttp server with the channels `zonedesk serve` mounts (only the web: no chat secrets)."""
    app = await create_app(web_services, env={}, background=False)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


@pytest.fixture
async def browsers(server: str, web_services: Services) -> AsyncIterator[Callable[[], Browser]]:
    """Open a new browser (cookie jar); all are closed after the test."""
    sessions: list[aiohttp.ClientSession] = []

    def open_browser() -> Browser:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies on 127.0.0.1
        sessions.append(http)
        return Browser(server, http, web_services)

    yield open_browser
    for http in sessions:
        await http.close()
