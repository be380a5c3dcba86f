"""Single sign-on with OpenID Connect, driven through the real server and a fake provider over real HTTP.

Each browser follows redirects as a browser does: our `/auth/oidc/start`, the provider's authorisation
endpoint, our callback, the page it lands on. The provider's switches make it misbehave; every refusal
must be our own page, in the visitor's language, with no session and a log line that names the reason
and nothing of the person but their domain.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from adapters.web.oidc import COOKIE
from bot.clock import FakeClock
from bot.i18n import translator
from bot.server import Services, build_services, create_app
from tests.fakes.oidc_provider import CLIENT_ID, CLIENT_SECRET, FakeOidcProvider, s256
from tests.untranslated import english_left
from tests.web.conftest import IT_AGENT, REQUESTER, SECRET, Browser, Page

ROOT = Path(__file__).resolve().parents[2]
SECRET_ENV = "ZONEDESK_TEST_OIDC_SECRET"
LOG = "adapters.web.oidc"

NOT_VERIFIED = "Zonedesk could not verify what Microsoft sent, so you were not signed in."
NOT_CONFIRMED = "Microsoft did not confirm this sign-in, so you were not signed in."
STATE_REFUSED = "This sign-in was already used, has expired, or was started in another browser"
UNVERIFIED = "Microsoft has not verified your e-mail address, so Zonedesk cannot tell who you are."


def sign_in_block(issuer: str, **oidc: Any) -> str:
    """The `sign_in:` section of app.yaml for the fake provider."""
    lines = ["sign_in:", "  oidc:", f"    issuer: {issuer}", f"    client_id: {CLIENT_ID}",
             f"    client_secret_env: {SECRET_ENV}", "    label: Microsoft"]
    lines += [f"    {key}: {value}" for key, value in oidc.items()]
    return "\n".join(lines) + "\n"


def write_config(folder: Path, base_url: str, extra: str = "") -> Path:
    """The sample app.yaml (its forms and saved replies beside it) served at `base_url`, plus `extra`."""
    text = (ROOT / "app.yaml").read_text(encoding="utf-8")
    text = text.replace("base_url: http://127.0.0.1:3000", f"base_url: {base_url}", 1)
    path = folder / "app.yaml"
    path.write_text(text + "\n" + extra, encoding="utf-8")
    for data in ("forms", "saved_replies"):
        if not (folder / data).exists():
            (folder / data).symlink_to(ROOT / data)
    return path


@dataclass
class World:
    """The server (with single sign-on configured against `provider`), its services, and browsers."""

    base: str
    services: Services
    provider: FakeOidcProvider
    browser: Callable[..., Browser]

    def callback(self) -> str:
        return f"{self.base}/auth/oidc/callback"


@pytest.fixture
async def provider(clock: FakeClock) -> AsyncIterator[FakeOidcProvider]:
    """The fake provider, telling the time by the test's clock."""
    async with FakeOidcProvider(now=lambda: clock.now().timestamp()) as fake:
        yield fake


@pytest.fixture
async def open_world(tmp_path: Path, sqlite_url: str, clock: FakeClock,
                     provider: FakeOidcProvider) -> AsyncIterator[Callable[..., Awaitable[World]]]:
    """Start the server with `sign_in.oidc` (keyword arguments add keys to it; `secret=None` leaves the
    environment without the client secret)."""
    cleanups: list[Callable[[], Awaitable[None]]] = []

    async def start(*, secret: str | None = CLIENT_SECRET, **oidc: Any) -> World:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        path = write_config(tmp_path, base, sign_in_block(provider.issuer, **oidc))
        services = build_services(path, sqlite_url, clock=clock, env={"ZONEDESK_SECRET_KEY": SECRET})
        app = await create_app(services, env={SECRET_ENV: secret} if secret else {}, background=False)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        provider.redirect_uris = {f"{base}/auth/oidc/callback"}
        sessions: list[aiohttp.ClientSession] = []

        def browser(language: str | None = None) -> Browser:
            headers = {"Accept-Language": language} if language else {}
            http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers=headers)
            sessions.append(http)
            return Browser(base, http, services)

        async def stop() -> None:
            for http in sessions:
                await http.close()
            await runner.cleanup()
            await services.engine.dispose()

        cleanups.append(stop)
        return World(base, services, provider, browser)

    yield start
    for stop in cleanups:
        await stop()


@pytest.fixture
async def world(open_world: Callable[..., Awaitable[World]]) -> World:
    """The server with the simplest single sign-on: verified e-mail addresses of any domain."""
    return await open_world()


async def sign_in_with_sso(browser: Browser, next_path: str | None = "/requests") -> Page:
    """Press "Sign in with Microsoft" (from a page at `next_path`) and follow every redirect."""
    query = f"?next={quote(next_path, safe='')}" if next_path is not None else ""
    return await browser.get(f"/auth/oidc/start{query}")


async def hop(browser: Browser, url: str) -> str:
    """One request without following its redirect; the address it redirects to."""
    async with browser.http.get(url, allow_redirects=False) as response:
        assert response.status in (302, 303), (response.status, await response.text())
        return response.headers["Location"]


async def signed_in(browser: Browser) -> bool:
    return (await browser.get("/requests")).status == 200


def has_attempt_cookie(browser: Browser, world: World) -> bool:
    return COOKIE in browser.http.cookie_jar.filter_cookies(URL(world.callback()))


# ---------------------------------------------------------------------------------------------- signing in


async def test_the_sign_in_page_offers_the_provider_and_comes_back_to_the_page(world: World) -> None:
    visitor = world.browser()
    front = await visitor.get("/")
    assert "Sign in with Microsoft" in front.text
    assert 'href="/auth/oidc/start?next=/"' in front.html
    private = await visitor.get("/requests?page=2")
    assert private.status == 401
    assert 'href="/auth/oidc/start?next=/requests%3Fpage%3D2"' in private.html


async def test_a_requester_signs_in_and_lands_on_the_page_they_wanted(world: World) -> None:
    zack = world.browser()
    landed = await sign_in_with_sso(zack, "/requests")
    assert landed.status == 200 and urlsplit(landed.url).path == "/requests"
    assert "Signed in as Zack McKinnon." in landed.text
    assert await signed_in(zack)
    assert not has_attempt_cookie(zack, world)  # the attempt is gone with its use

    # The flow was the authorisation code flow with PKCE S256, state and nonce, to our callback.
    asked = world.provider.called("/authorize")[-1].params
    assert asked["response_type"] == "code" and asked["client_id"] == CLIENT_ID
    assert asked["redirect_uri"] == world.callback() and asked["scope"] == "openid email profile"
    assert asked["code_challenge_method"] == "S256" and asked["state"] and asked["nonce"]
    exchanged = world.provider.called("/token")[-1]
    assert s256(exchanged.params["code_verifier"]) == asked["code_challenge"]
    assert exchanged.headers["Authorization"].startswith("Basic ")  # client_secret_basic when offered
    assert "client_secret" not in exchanged.params


async def test_staff_land_on_the_desk_under_the_name_app_yaml_gives(world: World) -> None:
    world.provider.user = {"sub": "u-2", "email": IT_AGENT.upper(), "email_verified": True, "name": "A. B."}
    alexis = world.browser()
    landed = await sign_in_with_sso(alexis, None)
    assert urlsplit(landed.url).path == "/desk" and "Signed in as Alexis Baker." in landed.text


@pytest.mark.parametrize("next_path", ["//evil.example/x", "https://evil.example/", "/login/abc", "/\\evil",
                                       "/requests?q=" + "x" * 600])
async def test_a_next_page_elsewhere_lands_on_the_front_page(world: World, next_path: str) -> None:
    landed = await sign_in_with_sso(world.browser(), next_path)
    assert landed.url == world.base + "/" and "Signed in as Zack McKinnon." in landed.text


async def test_a_provider_taking_the_secret_in_the_form_gets_it_there(
        open_world: Callable[..., Awaitable[World]], provider: FakeOidcProvider) -> None:
    provider.auth_methods = ("client_secret_post",)
    world = await open_world()
    browser = world.browser()
    assert not await signed_in(browser)
    await sign_in_with_sso(browser)
    assert await signed_in(browser)
    assert world.provider.called("/token")[-1].params["client_secret"] == CLIENT_SECRET


async def test_sign_ins_started_in_two_tabs_both_finish(world: World) -> None:
    browser = world.browser()
    first = await hop(browser, f"{world.base}/auth/oidc/start?next=/requests")
    second = await hop(browser, f"{world.base}/auth/oidc/start?next=/")
    back_first = await hop(browser, first)
    back_second = await hop(browser, second)
    page = await browser.get(back_first.removeprefix(world.base))
    assert urlsplit(page.url).path == "/requests" and "Signed in as" in page.text
    page = await browser.get(back_second.removeprefix(world.base))
    assert page.url == world.base + "/" and "Signed in as" in page.text


async def test_keys_the_provider_rotates_are_fetched_again(world: World, clock: FakeClock) -> None:
    from datetime import timedelta

    await sign_in_with_sso(world.browser())
    world.provider.rotate_key()
    clock.advance(timedelta(minutes=2))
    browser = world.browser()
    await sign_in_with_sso(browser)
    assert await signed_in(browser)
    assert len(world.provider.called("/jwks")) == 2
    assert len(world.provider.called("/.well-known/openid-configuration")) == 1  # cached for an hour


async def test_an_entra_id_token_is_trusted_only_as_configured(open_world: Callable[..., Awaitable[World]],
                                                               provider: FakeOidcProvider) -> None:
    """Entra ID sends `preferred_username` (and `email` when asked) but no `email_verified`."""
    provider.user = {"sub": "u-3", "preferred_username": "Ivar.Lund@nordlys.example", "name": "Ivar L."}
    world = await open_world(trust_email_claim="preferred_username", allowed_domains="[nordlys.example]")
    ivar = world.browser()
    landed = await sign_in_with_sso(ivar, None)
    assert urlsplit(landed.url).path == "/desk" and "Signed in as Ivar Lund." in landed.text


# ---------------------------------------------------------------------------------------------- refusals


def _switch(provider: FakeOidcProvider, switch: str) -> None:
    if switch == "forged":
        provider.sign_with = "rogue"  # under the published key's id
    elif switch == "forged_own_kid":
        provider.sign_with, provider.rogue_kid = "rogue", True
    elif switch == "wrong_audience":
        provider.audience = "someone-else"
    elif switch == "wrong_issuer":
        provider.issuer_claim = "https://login.evil.example"
    elif switch == "expired":
        provider.expires_in = -600
    elif switch == "wrong_nonce":
        provider.nonce = "not-the-nonce"
    elif switch == "unverified":
        provider.user = {**provider.user, "email_verified": False}
    elif switch == "unverified_entra":
        provider.user = {"sub": "u-4", "email": REQUESTER, "preferred_username": REQUESTER}
    elif switch == "no_email":
        provider.user = {"sub": "u-5", "name": "Nobody"}
    elif switch == "denied":
        provider.deny = "access_denied"
    elif switch == "provider_error":
        provider.deny = "temporarily_unavailable"
    elif switch == "token_endpoint_down":
        provider.token_status = 500


REFUSALS = [
    ("forged", 400, NOT_VERIFIED, "verification"),
    ("forged_own_kid", 400, NOT_VERIFIED, "verification"),
    ("wrong_audience", 400, NOT_VERIFIED, "verification"),
    ("wrong_issuer", 400, NOT_VERIFIED, "verification"),
    ("expired", 400, NOT_VERIFIED, "verification"),
    ("wrong_nonce", 400, NOT_VERIFIED, "verification"),
    ("unverified", 403, UNVERIFIED, "unverified"),
    ("unverified_entra", 403, UNVERIFIED, "unverified"),
    ("no_email", 403, "Microsoft did not tell Zonedesk your e-mail address", "no_email"),
    ("denied", 403, "Microsoft did not sign you in (perhaps you cancelled).", "provider_error"),
    ("provider_error", 400, "Microsoft could not sign you in (temporarily_unavailable).", "provider_error"),
    ("token_endpoint_down", 502, "Microsoft cannot be reached right now", "unreachable"),
]


@pytest.mark.parametrize(("switch", "status", "says", "reason"), REFUSALS, ids=[r[0] for r in REFUSALS])
async def test_a_sign_in_that_does_not_hold_is_refused_with_a_clear_page(
        world: World, caplog: pytest.LogCaptureFixture, switch: str, status: int, says: str, reason: str) -> None:
    _switch(world.provider, switch)
    visitor = world.browser()
    with caplog.at_level(logging.INFO, logger=LOG):
        page = await sign_in_with_sso(visitor)
    assert page.status == status and urlsplit(page.url).path == "/auth/oidc/callback"
    assert "Not signed in" in page.text and says in page.text
    assert "Back to the front page" in page.text  # the product's own problem page
    assert not await signed_in(visitor)
    assert not has_attempt_cookie(visitor, world)
    logged = [r.getMessage() for r in caplog.records if r.name == LOG]
    assert any(f"refused ({reason})" in line for line in logged), logged
    assert not any("zack@" in line or "eyJ" in line for line in logged), logged  # no address, no token


async def test_an_address_of_a_domain_not_allowed_is_refused(open_world: Callable[..., Awaitable[World]],
                                                             provider: FakeOidcProvider,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    provider.user = {"sub": "u-6", "email": "mallory@other.example", "email_verified": True}
    world = await open_world(allowed_domains="[nordlys.example]")
    visitor = world.browser()
    with caplog.at_level(logging.INFO, logger=LOG):
        page = await sign_in_with_sso(visitor)
    assert page.status == 403
    assert "Addresses at other.example cannot sign in to this desk with Microsoft." in page.text
    assert not await signed_in(visitor)
    logged = " ".join(r.getMessage() for r in caplog.records if r.name == LOG)
    assert "refused (domain)" in logged and "other.example" in logged and "mallory" not in logged


async def test_a_replayed_callback_is_refused_in_this_browser_and_in_another(world: World) -> None:
    zack = world.browser()
    await sign_in_with_sso(zack)
    callback = world.provider.redirects[-1]
    again = await zack.get(callback.removeprefix(world.base))
    assert again.status == 400 and STATE_REFUSED in again.text
    elsewhere = world.browser()
    page = await elsewhere.get(callback.removeprefix(world.base))
    assert page.status == 400 and STATE_REFUSED in page.text and not await signed_in(elsewhere)


async def test_a_replay_with_a_copy_of_the_cookie_is_refused_by_the_spent_state(world: World) -> None:
    """Someone who copied the browser's attempt cookie and the callback address gets nothing: the state was
    spent in the database by the first callback (whichever replica took it)."""
    victim, thief = world.browser(), world.browser()
    to_provider = await hop(victim, f"{world.base}/auth/oidc/start?next=/requests")
    callback = await hop(victim, to_provider)
    thief.http.cookie_jar.update_cookies(victim.http.cookie_jar.filter_cookies(URL(world.callback())),
                                         URL(world.callback()))
    assert (await victim.get(callback.removeprefix(world.base))).status == 200
    stolen = await thief.get(callback.removeprefix(world.base))
    assert stolen.status == 400 and STATE_REFUSED in stolen.text and not await signed_in(thief)


@pytest.mark.parametrize("query", ["?code=abc", "?code=abc&state=", "?code=abc&state=made-up", "?state=x",
                                   "?code=" + "c" * 5000 + "&state=x", ""])
async def test_a_callback_without_this_browser_s_state_is_refused(world: World, query: str) -> None:
    visitor = world.browser()
    await hop(visitor, f"{world.base}/auth/oidc/start")  # an attempt under way, with another state
    page = await visitor.get("/auth/oidc/callback" + query)
    assert page.status == 400 and STATE_REFUSED in page.text and not await signed_in(visitor)
    assert world.provider.called("/token") == []  # nothing reached the provider


async def test_an_attempt_older_than_ten_minutes_is_refused(world: World, clock: FakeClock) -> None:
    from datetime import timedelta

    visitor = world.browser()
    to_provider = await hop(visitor, f"{world.base}/auth/oidc/start")
    callback = await hop(visitor, to_provider)
    clock.advance(timedelta(minutes=11))
    page = await visitor.get(callback.removeprefix(world.base))
    assert page.status == 400 and STATE_REFUSED in page.text and not await signed_in(visitor)


async def test_a_code_issued_for_another_sign_in_is_refused_by_pkce(world: World) -> None:
    """Code injection: an attacker's code (bound to the attacker's PKCE challenge) planted in the victim's
    callback, with the victim's own state. The victim's verifier does not match, so the provider refuses."""
    attacker, victim = world.browser(), world.browser()
    attackers_callback = await hop(attacker, await hop(attacker, f"{world.base}/auth/oidc/start"))
    code = parse_qs(urlsplit(attackers_callback).query)["code"][0]
    victims_callback = await hop(victim, await hop(victim, f"{world.base}/auth/oidc/start"))
    state = parse_qs(urlsplit(victims_callback).query)["state"][0]
    page = await victim.get(f"/auth/oidc/callback?code={code}&state={state}")
    assert page.status == 400 and NOT_CONFIRMED in page.text and not await signed_in(victim)
    assert world.provider.called("/token")[-1].params["code_verifier"]


async def test_a_code_issued_without_pkce_is_refused(world: World) -> None:
    """A code got from the provider without a PKCE challenge (not through our start) does not sign in."""
    victim = world.browser()
    to_provider = await hop(victim, f"{world.base}/auth/oidc/start")
    asked = parse_qs(urlsplit(to_provider).query)
    bare = {k: v[0] for k, v in asked.items() if k not in ("code_challenge", "code_challenge_method")}
    async with victim.http.get(f"{world.provider.issuer}/authorize", params=bare,
                               allow_redirects=False) as response:
        planted = response.headers["Location"]
    page = await victim.get(planted.removeprefix(world.base))
    assert page.status == 400 and NOT_CONFIRMED in page.text and not await signed_in(victim)


async def test_a_refusal_is_said_in_the_visitor_s_language(world: World) -> None:
    world.provider.user = {**world.provider.user, "email_verified": False}
    german = world.browser("de")
    page = await sign_in_with_sso(german)
    de = translator("de")
    assert page.status == 403 and '<html lang="de"' in page.html
    assert english_left(page.text, "de") == []
    assert de.gettext("Not signed in") != "Not signed in"  # the catalogue has it: not English read as German
    assert de.gettext("Not signed in") in page.text
    expected = de.gettext("{provider} has not verified your e-mail address, so Zonedesk cannot tell who you are. "
                          "Verify it with {provider}, or sign in with a one-time link.").format(provider="Microsoft")
    assert expected in page.text
    assert de.gettext("Sign in with %(provider)s") % {"provider": "Microsoft"} in (await german.get("/")).text


async def test_a_provider_that_cannot_be_reached_is_said_as_such(world: World, caplog: pytest.LogCaptureFixture
                                                                  ) -> None:
    await world.provider.close()
    with caplog.at_level(logging.INFO, logger=LOG):
        page = await world.browser().get("/auth/oidc/start?next=/")
    assert page.status == 502 and "Microsoft cannot be reached right now" in page.text
    assert any(r.levelno == logging.WARNING and "refused (unreachable)" in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------------------------------------- not configured


async def test_without_its_secret_single_sign_on_is_off_and_says_so(open_world: Callable[..., Awaitable[World]],
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=LOG):
        world = await open_world(secret=None)
    assert any(f"{SECRET_ENV} is not set" in r.getMessage() for r in caplog.records)
    visitor = world.browser()
    assert "Sign in with Microsoft" not in (await visitor.get("/")).text
    assert (await visitor.get("/auth/oidc/start")).status == 404
    assert (await visitor.get("/auth/oidc/callback?code=x&state=y")).status == 404
