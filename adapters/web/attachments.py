"""Attachments on the web: `GET /requests/{n}/files/{id}` opens one, the request page lists them, and its
answer, reply and note forms take one file each (`posted_file`: stored in the file store with the comment).

The file is fetched where it lives (the file store, or Slack or Teams with the bot's own token, which
never reaches the browser) and streamed through this server. Who may open it is `Policy.sees_attachment`
(`bot.files.attachments.open_attachment`): a file of a request the reader may not see, or of an
internal note they may not read, is the 404 page like the request. What the bytes are decides how they
are served (`bot.files.kinds`): images, PDF and plain text may be shown; everything else only downloads,
always with `nosniff` and a sandboxing Content-Security-Policy. `?download=1` downloads any file.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from aiohttp.web_request import FileField

from adapters.web.pages import add_security_headers
from adapters.web.site import Site, Visit
from bot.desk.conversation import AfterComment
from bot.desk.unit import Tx
from bot.files import FileTooLarge, Unavailable, attachments_of, files_of, open_attachment, store_attachment
from bot.files.attachments import STORED
from bot.files.kinds import SNIFF_BYTES, content_disposition, served_as
from bot.files.sources import Files
from bot.files.store import megabytes
from bot.i18n import _
from bot.model import Attachment, Request
from bot.server import SERVICES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShownFile:
    """A file as the request page lists it: its link, name and size in the reader's words."""

    url: str
    filename: str
    size: str | None


async def files_for_page(site: Site, visit: Visit, number: int) -> dict[int | None, list[ShownFile]]:
    """The request's files this reader may see, by the comment they came with (None: the filing message)."""
    shown: dict[int | None, list[ShownFile]] = {}
    for item in await attachments_of(site.desk, visit.user, number):
        shown.setdefault(item.comment_id, []).append(ShownFile(
            f"/requests/{number}/files/{item.id}", item.filename,
            megabytes(item.size) if item.size is not None else None))
    return shown


def upload_limit(site: Site, visit: Visit) -> str:
    """The largest file the request page's forms take, in the reader's words: the file store's limit, or
    the server's limit on a whole form (what the browser sends with it) when that is smaller."""
    return megabytes(min(files_of(site.desk).store.limit, visit.request.client_max_size - 64 * 1024))


async def posted_file(visit: Visit, *, public: bool) -> AfterComment | None:
    """The file posted with a comment, reply or note form, as the hook that stores it with that comment in
    the comment's own transaction (None when no file was chosen). Beyond the store's limit it raises
    `FileTooLarge` before anything is written, which the page shows over the form."""
    posted = (await visit.request.post()).get("file")
    if not isinstance(posted, FileField) or not posted.filename:
        return None
    data = posted.file.read()
    if not data:
        return None
    limit = files_of_visit(visit).store.limit
    if len(data) > limit:
        raise FileTooLarge(posted.filename, len(data), limit)
    name, kind, uploader = posted.filename, posted.content_type or "", visit.user

    async def store(tx: Tx, request: Request, comment_id: int) -> None:
        await store_attachment(tx, request.id, comment_id, name, kind, data, uploader=uploader, public=public)

    return store


def files_of_visit(visit: Visit) -> Files:
    """The process's files, from the visit's application."""
    return files_of(visit.request.app[SERVICES].desk)


class AttachmentRoutes:
    """`GET /requests/{number}/files/{id}`."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Mount the route that opens a file."""
        router.add_get(r"/requests/{number:\d{1,9}}/files/{id:\d{1,12}}", self.site.route(self.open))

    async def open(self, visit: Visit) -> web.StreamResponse:
        """Stream one file to a reader who may open it (the 404 page for anyone else)."""
        number, attachment_id = int(visit.request.match_info["number"]), int(visit.request.match_info["id"])
        return await serve_file(self.site, visit, await open_attachment(self.site.desk, visit.user, number,
                                                                        attachment_id))


async def serve_file(site: Site, visit: Visit, row: Attachment) -> web.StreamResponse:
    """Stream one file the caller has let this visitor open, served as its bytes say (see the module)."""
    number, attachment_id = row.request_id, row.id
    pieces = files_of(site.desk).stream(row.source, row.store_key, row.ref).__aiter__()
    try:
        head, done = await _head(pieces)
    except Unavailable as exc:
        log.info("web: file %s of #%s could not be fetched: %s", attachment_id, number, exc)
        if row.source == STORED:
            said = _("Zonedesk no longer has the file {name}. Ask the person who sent it to send it again.",
                     name=row.filename)
        else:
            said = _("{platform} did not give Zonedesk the file {name}: it may have been deleted or unshared "
                     "there. Ask the person who sent it to send it again.", platform=row.source.capitalize(),
                     name=row.filename)
        return site.problem(visit, 502, _("The file cannot be opened"), said)
    served = served_as(head, row.filename, row.declared_type)
    inline = served.inline and visit.request.query.get("download") != "1"
    response = web.StreamResponse(status=200)
    response.headers.update({
        "Content-Type": served.content_type,
        "Content-Disposition": content_disposition(row.filename, inline=inline),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": served.policy,
        "Cache-Control": "private, no-store",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Referrer-Policy": "no-referrer",
    })
    add_security_headers(response)
    await response.prepare(visit.request)
    await response.write(head)
    if not done:
        try:
            async for piece in pieces:
                await response.write(piece)
        except Unavailable as exc:  # cut off half way (too large, the platform went away): no whole file
            log.warning("web: file %s of #%s stopped half way: %s", attachment_id, number, exc)
            response.force_close()
            if visit.request.transport is not None:
                visit.request.transport.close()
            return response
    await response.write_eof()
    return response


async def _head(pieces: AsyncIterator[bytes]) -> tuple[bytes, bool]:
    """The first `SNIFF_BYTES` of a stream (or all of a shorter one), and whether the stream ended."""
    head = b""
    while len(head) < SNIFF_BYTES:
        try:
            head += await pieces.__anext__()
        except StopAsyncIteration:
            return head, True
    return head, False
