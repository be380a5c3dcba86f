"""A file sent with the request page's answer, reply or note form: stored with that comment, under the same
access as the comment, refused over the form beyond the limit with nothing written."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.model import Attachment, Comment
from bot.server import Services
from tests.web.conftest import FINANCE_AGENT, HR_AGENT, Browser, Page, number_of

REQUESTER = "zack@nordlys.example"
IT_AGENT = "alexis.baker@nordlys.example"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x03" * 700
LIMIT = 2048


@pytest.fixture
def files_limit() -> int:
    return LIMIT


async def send(browser: Browser, path: str, fields: dict[str, str], name: str, data: bytes, kind: str) -> Page:
    """Submit a form with a file, as a browser sends a multipart form."""
    form = aiohttp.FormData()
    form.add_field("csrf", browser.token or "")
    for key, value in fields.items():
        form.add_field(key, value)
    form.add_field("file", data, filename=name, content_type=kind)
    async with browser.http.post(browser.base + path, data=form) as response:
        return await browser._page(response)


async def get_bytes(browser: Browser, path: str) -> tuple[int, bytes, dict[str, str]]:
    async with browser.http.get(browser.base + path) as response:
        return response.status, await response.read(), dict(response.headers)


async def count(services: Services, model: type) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_file_sent_with_an_answer_and_a_note_is_kept_with_each(services: Services,
                                                                       browsers: Callable[[], Browser]) -> None:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    number = number_of(await requester.file("Printer jammed", "On floor 3."))
    page = await requester.get(f"/requests/{number}")
    assert 'enctype="multipart/form-data"' in page.html and "at most 2 KB" in page.text
    page = await send(requester, f"/requests/{number}/comment", {"comment": "Here is a photo", "once": "a1"},
                      "jam.png", PNG, "image/png")
    assert page.status == 200 and "jam.png" in page.text

    agent = browsers()
    await agent.sign_in(IT_AGENT)
    await agent.get(f"/requests/{number}")
    await send(agent, f"/requests/{number}/note", {"note": "Service log", "once": "b1"}, "service.log",
               b"error 42\n" * 10, "text/plain")
    async with services.sessions() as session:
        rows = list((await session.execute(select(Attachment).order_by(Attachment.id))).scalars())
        comments = {c.id: c for c in (await session.execute(select(Comment))).scalars()}
    assert [(r.filename, comments[r.comment_id or 0].body, r.public, r.uploader_email) for r in rows] == [
        ("jam.png", "Here is a photo", True, REQUESTER), ("service.log", "Service log", False, IT_AGENT)]

    status, body, headers = await get_bytes(agent, f"/requests/{number}/files/{rows[0].id}")
    assert status == 200 and body == PNG and headers["Content-Type"] == "image/png"
    status, _, _ = await get_bytes(requester, f"/requests/{number}/files/{rows[1].id}")
    assert status == 404  # the note's file is not the requester's to open
    assert "service.log" not in (await requester.get(f"/requests/{number}")).text


async def test_a_file_over_the_limit_is_refused_over_the_form_and_nothing_is_written(
        services: Services, browsers: Callable[[], Browser]) -> None:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    number = number_of(await requester.file("Scanner broken"))
    await requester.get(f"/requests/{number}")
    before = await count(services, Comment)
    page = await send(requester, f"/requests/{number}/comment", {"comment": "The whole scan", "once": "c1"},
                      "scan.pdf", b"%PDF" * 1000, "application/pdf")
    assert page.status == 400
    assert "The file scan.pdf is too large (4 KB; at most 2 KB)." in page.text
    assert "The whole scan" in page.html  # what was typed stays in the form
    assert await count(services, Comment) == before and await count(services, Attachment) == 0


async def test_a_consultee_sees_the_public_files_of_what_they_read_and_never_a_note_s(
        services: Services, browsers: Callable[[], Browser]) -> None:
    """Asked for their view, a colleague opens the photo the requester sent but not the file on an internal
    note, neither through the request page's links; once the question is withdrawn, none of them."""
    requester = browsers()
    await requester.sign_in(REQUESTER)
    number = number_of(await requester.file("Printer jammed", "On floor 3."))
    await requester.get(f"/requests/{number}")
    await send(requester, f"/requests/{number}/comment", {"comment": "Here is a photo", "once": "c1"},
               "jam.png", PNG, "image/png")
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    await agent.get(f"/requests/{number}")
    await send(agent, f"/requests/{number}/note", {"note": "Service log", "once": "d1"}, "service.log",
               b"error 42\n" * 10, "text/plain")
    await agent.post(f"/requests/{number}/consult", {"consult_person": HR_AGENT, "consult_question": "Seen this?"})
    async with services.sessions() as session:
        photo, log = list((await session.execute(select(Attachment.id).order_by(Attachment.id))).scalars())

    colleague = browsers()
    await colleague.sign_in(HR_AGENT)
    page = await colleague.get(f"/consult/{number}")
    assert page.status == 200
    assert f'href="/consult/{number}/files/{photo}"' in page.html and "jam.png" in page.text
    assert "service.log" not in page.text and f"/files/{log}" not in page.html
    status, body, headers = await get_bytes(colleague, f"/consult/{number}/files/{photo}")
    assert status == 200 and body == PNG and headers["X-Content-Type-Options"] == "nosniff"
    assert (await get_bytes(colleague, f"/consult/{number}/files/{log}"))[0] == 404  # a note's file
    assert (await get_bytes(colleague, f"/requests/{number}/files/{photo}"))[0] == 404  # not the request page's
    outsider = browsers()
    await outsider.sign_in(FINANCE_AGENT)
    assert (await get_bytes(outsider, f"/consult/{number}/files/{photo}"))[0] == 404  # never asked

    await agent.post(f"/requests/{number}/unconsult", {"person": HR_AGENT})
    assert (await get_bytes(colleague, f"/consult/{number}/files/{photo}"))[0] == 404
