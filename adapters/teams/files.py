"""Files people attach in Teams: named as references on the request, fetched when someone opens them on the web.

An activity's attachments that are files become `FileRef`s; nothing is downloaded when the message arrives:

- a picture pasted into a message (`image/*` with a `contentUrl` on the connector, the activity's own
  authenticated `serviceUrl` host, e.g. `/v3/attachments/{id}/views/original`) is fetched with the bot's
  connector token, which is only ever sent to that host;
- a file sent in a personal chat (`application/vnd.microsoft.teams.file.download.info`) carries a
  pre-authorised `downloadUrl` on SharePoint: fetched without any token (sending the bot's token to
  SharePoint would hand it to a host that does not need it), from SharePoint's hosts or the connector's only.

Other attachments are not files the bot may fetch: the message's own HTML copy, cards, and channel files,
which Teams shares as SharePoint links (`reference`) that only Microsoft Graph permissions could open.
"""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.files import FileRef, Unavailable

PLATFORM = "teams"
DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"
SHAREPOINT = (".sharepoint.com", ".sharepoint.us", ".sharepoint.de", ".sharepoint.cn", ".sharepoint-df.com")
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

Token = Callable[[], Awaitable[str]]


def files_of_activity(activity: Any) -> tuple[FileRef, ...]:
    """The files a message activity carries, as references."""
    service_url = str(getattr(activity, "service_url", "") or "")
    found: list[FileRef] = []
    for item in getattr(activity, "attachments", None) or ():
        kind = str(getattr(item, "content_type", "") or "")
        name = str(getattr(item, "name", "") or "")
        content = getattr(item, "content", None)
        if kind == DOWNLOAD_INFO and isinstance(content, dict) and isinstance(content.get("downloadUrl"), str):
            file_type = str(content.get("fileType") or "")
            declared = mimetypes.guess_type(f"x.{file_type}")[0] or "" if file_type else ""
            found.append(FileRef(PLATFORM, name or f"file.{file_type or 'bin'}", declared, None,
                                 {"kind": "download", "url": content["downloadUrl"], "service_url": service_url,
                                  "unique_id": str(content.get("uniqueId") or "")}))
        elif kind.startswith("image/") and getattr(item, "content_url", None):
            extension = mimetypes.guess_extension(kind) or ""
            found.append(FileRef(PLATFORM, name or f"image{extension}", kind, None,
                                 {"kind": "connector", "url": str(item.content_url), "service_url": service_url}))
    return tuple(found)


class TeamsFiles:
    """Teams' files: pictures from the connector with the bot's token, personal-chat files by their own link."""

    def __init__(self, token: Token, *, timeout: float = 30.0) -> None:
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)

    @staticmethod
    def _allowed(url: str, hosts: Callable[[str], bool]) -> bool:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not hosts(host):
            return False
        return parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK)

    async def fetch(self, ref: Mapping[str, Any], limit: int) -> AsyncIterator[bytes]:
        """The file's bytes, in pieces (Unavailable when Teams refuses, the host is not its, or it is too large)."""
        url, kind = str(ref.get("url") or ""), ref.get("kind")
        service_host = urlsplit(str(ref.get("service_url") or "")).hostname or ""
        headers: dict[str, str] = {}
        if kind == "connector":
            if not service_host or not self._allowed(url, lambda host: host == service_host):
                raise Unavailable("a picture not on the activity's connector")
            headers["Authorization"] = f"Bearer {await self.token()}"
        elif kind == "download":
            if not self._allowed(url, lambda host: host == service_host or host.endswith(SHAREPOINT)):
                raise Unavailable("a download link not on SharePoint")
        else:
            raise Unavailable(f"not a Teams file reference: {kind!r}")
        async with aiohttp.ClientSession(timeout=self.timeout) as http:
            try:
                async with http.get(url, headers=headers, allow_redirects=False) as response:
                    if response.status != 200:
                        raise Unavailable(f"Teams answered {response.status}")
                    if (response.content_length or 0) > limit:
                        raise Unavailable(f"larger than {limit} bytes")
                    seen = 0
                    async for piece in response.content.iter_chunked(64 * 1024):
                        seen += len(piece)
                        if seen > limit:
                            raise Unavailable(f"larger than {limit} bytes")
                        yield piece
            except aiohttp.ClientError as exc:
                raise Unavailable(f"Teams could not be reached: {exc}") from exc
