"""Every error a browser can meet is the desk's own page: unknown addresses, bad path parameters, wrong methods,
bodies too large or unreadable, and failures, for anyone, signed in or not."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.web.conftest import REQUESTER, Browser, Page


def _is_our_page(page: Page, status: int, title: str) -> None:
    assert page.status == status, (page.status, page.text)
    assert page.headers["Content-Type"].startswith("text/html")
    assert f"<title>{title} · Nordlys AS</title>" in page.html
    assert '<link rel="stylesheet" href="/static/zonedesk.css">' in page.html
    assert "Back to the front page" in page.text
    assert f"{status}: " not in page.text  # not aiohttp's bare "404: Not Found"
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/requests/abc", "/requests/-1", "/requests/1234567890", "/tasks/x1",
                                  "/forms/Not_Lower", "/no/such/page", "/desk/", "/static/nothing.css",
                                  "/requests/%00", "/login/", "/" + "x" * 2000,
                                  "/auth/oidc/start", "/auth/oidc/callback"])  # single sign-on not configured
async def test_an_address_that_leads_nowhere_is_our_not_found_page(browsers: Callable[[], Browser],
                                                                    path: str) -> None:
    page = await browsers().get(path)
    _is_our_page(page, 404, "Not found")
    assert "There is no page at this address." in page.text


async def test_a_signed_in_person_keeps_their_header_on_an_error_page(browsers: Callable[[], Browser]) -> None:
    browser = browsers()
    await browser.sign_in(REQUESTER)
    page = await browser.get("/requests/abc")
    _is_our_page(page, 404, "Not found")
    assert "Zack" in page.text and "Sign out" in page.text and "My requests" in page.text
    assert (await browser.get("/requests")).status == 200  # the session survived the error page


@pytest.mark.parametrize(("method", "path", "allowed"), [("GET", "/logout", "POST"), ("PUT", "/requests", "GET"),
                                                         ("DELETE", "/", "GET")])
async def test_a_wrong_method_is_our_page_and_says_what_the_address_takes(browsers: Callable[[], Browser],
                                                                          method: str, path: str, allowed: str) -> None:
    browser = browsers()
    async with browser.http.request(method, browser.base + path) as response:
        page = Page(response.status, str(response.url), await response.text(), dict(response.headers))
    _is_our_page(page, 405, "Not possible here")
    assert f"This address does not take a {method} request." in page.text
    assert allowed in page.headers["Allow"]


async def test_a_body_too_large_is_our_page_and_nothing_is_filed(browsers: Callable[[], Browser]) -> None:
    browser = browsers()
    await browser.sign_in(REQUESTER)
    await browser.get("/new/it")
    page = await browser.post("/requests", {"zone": "it", "title": "Huge", "description": "x" * (3 * 1024 * 1024)})
    _is_our_page(page, 413, "Too large")
    assert "nothing was saved" in page.text
    assert "Huge" not in (await browser.get("/requests")).text


@pytest.mark.parametrize(("content_type", "body"), [
    ("multipart/form-data; boundary=b", b"--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nno end"),
    ("application/x-www-form-urlencoded; charset=no-such-charset", b"csrf=x&title=y"),
    ("application/x-www-form-urlencoded; charset=utf-8", b"title=\xff\xfe"),
])
async def test_a_form_body_that_cannot_be_read_is_our_bad_request_page(browsers: Callable[[], Browser],
                                                                       content_type: str, body: bytes) -> None:
    browser = browsers()
    await browser.sign_in(REQUESTER)
    async with browser.http.post(browser.base + "/requests", data=body,
                                 headers={"Content-Type": content_type}) as response:
        page = Page(response.status, str(response.url), await response.text(), dict(response.headers))
    _is_our_page(page, 400, "Bad request")
    assert "could not read what your browser sent" in page.text


async def test_platform_endpoints_and_health_keep_their_json(browsers: Callable[[], Browser]) -> None:
    browser = browsers()
    async with browser.http.get(browser.base + "/healthz") as response:
        assert response.status == 200 and (await response.json())["status"] == "ok"


async def test_a_page_that_fails_unexpectedly_is_our_page_with_a_reference(browsers: Callable[[], Browser],
                                                                           caplog: pytest.LogCaptureFixture,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    browser = browsers()
    await browser.sign_in(REQUESTER)
    site = browser.services.extras["web"]

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(site.desk, "list_requests", broken)
    page = await browser.get("/requests")
    _is_our_page(page, 500, "Something went wrong")
    assert "tell your administrator the reference" in page.text
    assert any(r.levelname == "ERROR" and "ref" in r.getMessage() for r in caplog.records)


async def test_a_request_nobody_may_see_reads_as_not_found(browsers: Callable[[], Browser]) -> None:
    browser = browsers()
    await browser.sign_in(REQUESTER)
    page = await browser.get("/requests/999")
    _is_our_page(page, 404, "Not found")
    assert "Request #999 was not found." in page.text
