"""Signing in with one-time links, sessions in signed cookies, signing out, and the headers every page carries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from bot.clock import FakeClock
from bot.server import Services
from tests.web.conftest import IT_AGENT, REQUESTER, Browser, Page, link_for


async def test_a_signed_out_visitor_is_told_how_to_get_a_link(browsers: Callable[[], Browser]) -> None:
    visitor = browsers()
    home = await visitor.get("/")
    assert home.status == 200
    assert "zonedesk login-link you@example.com" in home.text
    assert "no e-mail channel" in home.text
    private = await visitor.get("/requests")
    assert private.status == 401 and "zonedesk login-link" in private.text


async def test_a_link_signs_in_once(browsers: Callable[[], Browser], web_services: Services) -> None:
    link = await link_for(web_services, REQUESTER)
    path = urlsplit(link).path
    late = browsers()
    assert "Sign in" in (await late.get(path)).text  # opened now, pressed after someone else used the link
    first = browsers()
    landing = await first.open_link(link)
    assert landing.status == 200 and landing.url.endswith("/")
    assert "Signed in as Zack." in landing.text and "What do you need help with?" in landing.text

    pressed = await late.post(path)
    assert pressed.status == 400 and "This sign-in link was already used. Ask for a new one." in pressed.text
    assert (await late.get("/requests")).status == 401


def _offers_the_button(page: Page) -> bool:
    return 'action="/login/' in page.html


async def test_a_used_link_says_so_when_opened(browsers: Callable[[], Browser], web_services: Services) -> None:
    """Issue 16 #12: the page that opens says the link is spent, before anyone presses Sign in."""
    link = await link_for(web_services, REQUESTER)
    await browsers().open_link(link)
    opened = await browsers().get(urlsplit(link).path)
    assert opened.status == 400 and "This sign-in link was already used. Ask for a new one." in opened.text
    assert not _offers_the_button(opened) and "zonedesk login-link" in opened.text


async def test_an_expired_link_says_so_when_opened_and_when_pressed(browsers: Callable[[], Browser],
                                                                    web_services: Services, clock: FakeClock) -> None:
    link = await link_for(web_services, REQUESTER)
    path = urlsplit(link).path
    early = browsers()
    assert _offers_the_button(await early.get(path))
    clock.advance(timedelta(minutes=16))
    opened = await browsers().get(path)
    assert opened.status == 400 and "This sign-in link has expired. Ask for a new one." in opened.text
    assert not _offers_the_button(opened)
    pressed = await early.post(path)  # the page was opened in time, the button pressed too late
    assert pressed.status == 400 and "This sign-in link has expired. Ask for a new one." in pressed.text
    assert (await early.get("/requests")).status == 401


async def test_looking_at_a_link_many_times_does_not_use_it_up(browsers: Callable[[], Browser],
                                                               web_services: Services) -> None:
    """Link previews (Slack, Teams, mail scanners) GET the link, maybe several times; it still works."""
    link = await link_for(web_services, REQUESTER)
    for _ in range(3):
        preview = await browsers().get(urlsplit(link).path)
        assert preview.status == 200 and _offers_the_button(preview)
    landing = await browsers().open_link(link)
    assert "Signed in as Zack." in landing.text


async def test_a_forged_or_garbled_link_is_refused(browsers: Callable[[], Browser], web_services: Services) -> None:
    link = await link_for(web_services, REQUESTER)
    for path in (urlsplit(link).path[:-3] + "xyz", "/login/not-a-token", "/login/" + "A" * 500):
        page = await browsers().get(path)
        assert page.status == 400 and "This sign-in link is not valid." in page.text, path
        assert not _offers_the_button(page)


async def test_staff_land_on_the_desk(browsers: Callable[[], Browser]) -> None:
    agent = browsers()
    landing = await agent.sign_in(IT_AGENT)
    assert landing.url.endswith("/desk") and "Signed in as Alexis Baker" in landing.text and "Queue" in landing.text


async def test_the_session_cookie_is_signed_http_only_and_same_site(browsers: Callable[[], Browser],
                                                                   web_services: Services) -> None:
    browser = browsers()
    path = urlsplit(await link_for(web_services, REQUESTER)).path
    await browser.get(path)
    async with browser.http.post(browser.base + path, data={"csrf": browser.token or ""},
                                 allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/"
        cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=43200" in cookie

    tampered = browsers()
    value = cookie.split(";")[0].split("=", 1)[1]
    tampered.http.cookie_jar.update_cookies({"zonedesk_session": value[:-4] + "AAAA"})
    assert (await tampered.get("/requests")).status == 401


async def test_a_session_ends_after_twelve_hours(browsers: Callable[[], Browser], clock: FakeClock) -> None:
    browser = browsers()
    await browser.sign_in(REQUESTER)
    clock.advance(timedelta(hours=11, minutes=59))
    assert (await browser.get("/requests")).status == 200
    clock.advance(timedelta(minutes=2))
    page = await browser.get("/requests")
    assert page.status == 401 and "zonedesk login-link" in page.text


async def test_sign_out_needs_the_form_token(browsers: Callable[[], Browser]) -> None:
    browser = browsers()
    await browser.sign_in(REQUESTER)
    refused = await browser.post("/logout", csrf=False)
    assert refused.status == 403 and "nothing was changed" in refused.text
    assert (await browser.get("/requests")).status == 200
    await browser.get("/requests")
    out = await browser.post("/logout")
    assert out.status == 200 and "You are signed out." in out.text
    assert (await browser.get("/requests")).status == 401


async def test_pages_carry_the_security_headers(browsers: Callable[[], Browser]) -> None:
    browser = browsers()
    for page in (await browser.get("/"), await browser.sign_in(REQUESTER), await browser.get("/requests/99")):
        csp = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert "script-src" not in csp  # no script at all: default-src 'none' covers it
        assert page.headers["X-Frame-Options"] == "DENY"
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in page.html
    async with browser.http.get(browser.base + "/static/zonedesk.css") as css:
        assert css.status == 200 and css.content_type == "text/css"
        assert css.headers["X-Content-Type-Options"] == "nosniff"
