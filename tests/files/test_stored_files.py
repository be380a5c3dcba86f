"""Stored files (what the e-mail channel keeps): written through `store_attachment` inside the filing's own
transaction, served over real HTTP by what their bytes are, refused beyond the size limit with nothing
half-written, and gone with their rows on erasure and from the sweep when no row names them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.desk import Desk, Origin
from bot.desk.unit import Tx
from bot.errors import DeskError
from bot.files import FileTooLarge, LocalFileStore, files_of, store_attachment
from bot.files.attachments import sweep
from bot.i18n import speaking
from bot.model import Attachment, Request
from bot.server import Services
from bot.store.backup import erase_person
from tests.web.conftest import Browser

REQUESTER = "zack@nordlys.example"
OTHER = "kari.nordmann@nordlys.example"
IT_AGENT = "alexis.baker@nordlys.example"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x02" * 500
PAGE = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'
LIMIT = 4096


@pytest.fixture
def files_limit() -> int:
    return LIMIT


async def file_with(desk: Desk, email: str, title: str, files: list[tuple[str, str, bytes]]) -> int:
    """A request filed by mail as the e-mail channel files one: its attachments in the filing's transaction."""
    actor = desk.actor(email, channel="email")

    async def attach(tx: Tx, request: Request) -> None:
        for name, kind, data in files:
            await store_attachment(tx, request.id, None, name, kind, data, uploader=actor)

    filed = await desk.file_request(actor, Origin("email"), title, "See the attachments.", zone_id="it",
                                    after=attach)
    return filed.number


async def get_bytes(browser: Browser, path: str) -> tuple[int, bytes, dict[str, str]]:
    async with browser.http.get(browser.base + path) as response:
        return response.status, await response.read(), dict(response.headers)


async def stored(services: Services) -> list[Attachment]:
    async with services.sessions() as session:
        return list((await session.execute(select(Attachment).order_by(Attachment.id))).scalars())


async def test_stored_files_are_served_by_what_their_bytes_are(services: Services,
                                                               browsers: Callable[[], Browser]) -> None:
    number = await file_with(services.desk, REQUESTER, "Files", [
        ("invoice.html", "text/plain", PAGE), ("chart.png", "application/octet-stream", PNG),
        ("logo.svg", "image/svg+xml", SVG), ('Bjørn "report"\r\n2026.txt', "text/plain", "Årsrapport\n".encode())])
    page_row, png_row, svg_row, text_row = await stored(services)
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    page = await agent.get(f"/requests/{number}")
    assert "invoice.html" in page.text and "chart.png" in page.text

    status, body, headers = await get_bytes(agent, f"/requests/{number}/files/{page_row.id}")
    assert status == 200 and body == PAGE  # declared text/plain, but it is a page: a download only
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"] == 'attachment; filename="invoice.html"'
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in headers["Content-Security-Policy"] and "default-src 'none'" in headers[
        "Content-Security-Policy"]

    status, body, headers = await get_bytes(agent, f"/requests/{number}/files/{png_row.id}")
    assert status == 200 and body == PNG  # declared octet-stream, but it is a picture: shown
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Disposition"] == 'inline; filename="chart.png"'
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, _, headers = await get_bytes(agent, f"/requests/{number}/files/{png_row.id}?download=1")
    assert headers["Content-Disposition"] == 'attachment; filename="chart.png"'

    status, body, headers = await get_bytes(agent, f"/requests/{number}/files/{svg_row.id}")
    assert status == 200 and headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment;")

    status, body, headers = await get_bytes(agent, f"/requests/{number}/files/{text_row.id}")
    assert body == "Årsrapport\n".encode() and headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["Content-Disposition"] == (
        "inline; filename=\"Bj_rn 'report' 2026.txt\"; filename*=UTF-8''Bj%C3%B8rn%20%27report%27%202026.txt")

    stranger = browsers()  # another requester: not found, as the request
    await stranger.sign_in(OTHER)
    status, body, _ = await get_bytes(stranger, f"/requests/{number}/files/{png_row.id}")
    assert status == 404 and PNG not in body


async def test_a_file_over_the_limit_is_refused_with_its_size_and_nothing_is_written(services: Services) -> None:
    with speaking("en"), pytest.raises(FileTooLarge) as refused:
        await file_with(services.desk, REQUESTER, "Big scan", [("note.txt", "text/plain", b"small"),
                                                              ("scan.pdf", "application/pdf", b"%PDF" * 2000)])
    assert isinstance(refused.value, DeskError)
    assert refused.value.message == "The file scan.pdf is too large (8 KB; at most 4 KB)."
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Request)) == 0  # the filing rolled back
        assert await session.scalar(select(func.count()).select_from(Attachment)) == 0
    store = files_of(services.desk).store
    # The small file written before the refusal names no row: the sweep takes it once a day old; the big one
    # never was written.
    assert len(list(store.keys())) == 1
    assert await sweep_now(services) == 0  # too fresh: its transaction may still be committing
    age(services, timedelta(hours=25))
    await services.retention()  # the hourly retention job sweeps it
    assert list(store.keys()) == []
    with speaking("nb"):
        assert "for stor" in FileTooLarge("x.pdf", 9000, 4096).message


async def sweep_now(services: Services) -> int:
    async with services.sessions() as session:
        return await sweep(session, files_of(services.desk).store, services.clock.now())


def age(services: Services, by: timedelta) -> None:
    """Make every stored file look written `by` ago (file times, as the sweep reads them)."""
    store = files_of(services.desk).store
    assert isinstance(store, LocalFileStore)
    written = (services.clock.now() - by).timestamp()
    for path in store.root.rglob("*"):
        if path.is_file():
            os.utime(path, (written, written))


async def test_erasure_deletes_a_persons_files_and_keeps_bytes_another_row_names(services: Services) -> None:
    mine = await file_with(services.desk, REQUESTER, "Mine", [("cv.pdf", "application/pdf", b"%PDF-1.4 cv"),
                                                              ("shared.png", "image/png", PNG)])
    theirs = await file_with(services.desk, OTHER, "Theirs", [("same.png", "image/png", PNG)])
    store = files_of(services.desk).store
    assert len(list(store.keys())) == 2  # the same bytes are kept once
    done = await erase_person(services.engine, REQUESTER, services.clock.now(), store)
    assert done["files"] == 1
    rows = await stored(services)
    assert [(r.request_id, r.filename) for r in rows] == [(theirs, "same.png")]
    assert store.get(rows[0].store_key or "") == PNG and len(list(store.keys())) == 1
    assert mine != theirs
    age(services, timedelta(days=2))
    assert await sweep_now(services) == 0  # what a row names stays
