"""Files people attach in Slack: named as references on the request, fetched with the bot's token when opened.

A message's `files` (a `file_share` message, or files added to a thread reply) become `FileRef`s: Slack's
file id, name, mimetype, size and `url_private_download`. Nothing is downloaded when the message
arrives. When someone who may see the file opens it on the web, `SlackFiles.fetch` asks Slack for it
with the bot token in the Authorization header (as Slack requires) and streams it on; the token is only
ever sent to Slack's own file hosts (or the host `SLACK_API_URL` names), never to a URL a message made up.
A file Slack names without its details (`file_access: check_file_info`, as in Slack Connect channels) is
kept by its id; its address is asked of `files.info` when it is opened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.files import FileRef, Unavailable

PLATFORM = "slack"
SLACK_FILE_HOSTS = ("files.slack.com", "files.slack-gov.com")
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
SKIPPED_MODES = frozenset({"tombstone", "hidden_by_limit", "external"})  # deleted, beyond a free plan, a link


def files_of_event(event: Mapping[str, Any]) -> tuple[FileRef, ...]:
    """The files a message event carries, as references (files Slack no longer shows are left out)."""
    found: list[FileRef] = []
    for item in event.get("files") or ():
        if not isinstance(item, dict) or item.get("mode") in SKIPPED_MODES:
            continue
        url = item.get("url_private_download") or item.get("url_private")
        if not isinstance(item.get("id"), str):
            continue
        if not isinstance(url, str) or not url:
            if item.get("file_access") != "check_file_info":
                continue
            url = ""  # asked of files.info when opened
        size = item.get("size")
        found.append(FileRef(PLATFORM, str(item.get("name") or item.get("title") or item["id"]),
                             str(item.get("mimetype") or ""), size if isinstance(size, int) else None,
                             {"id": item["id"], "url": url}))
    return tuple(found)


class SlackFiles:
    """Slack's files, fetched with the bot token from Slack's file hosts only."""

    def __init__(self, token: str, api_url: str, *, timeout: float = 30.0) -> None:
        self.token = token
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        api_host = urlsplit(api_url).hostname or ""
        self.hosts = frozenset({*SLACK_FILE_HOSTS, api_host} - {"", "slack.com"})
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)

    def trusted(self, url: str) -> bool:
        """Whether the bot's token may be sent to this URL (Slack's file hosts, https; http on loopback)."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host not in self.hosts:
            return False
        return parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK)

    async def fetch(self, ref: Mapping[str, Any], limit: int) -> AsyncIterator[bytes]:
        """The file's bytes from Slack, in pieces (Unavailable when Slack refuses or it grows past `limit`)."""
        async with aiohttp.ClientSession(timeout=self.timeout) as http:
            url = str(ref.get("url") or "") or await self._address(http, str(ref.get("id") or ""))
            if not self.trusted(url):
                raise Unavailable(f"not a Slack file address: {urlsplit(url).hostname!r}")
            try:
                # No redirects: a redirect could carry the token elsewhere, and Slack serves files directly.
                async with http.get(url, headers={"Authorization": f"Bearer {self.token}"},
                                    allow_redirects=False) as response:
                    kind = response.headers.get("Content-Type", "")
                    if response.status != 200 or kind.startswith("text/html"):
                        # Slack answers a bad token or a file it will not give with its sign-in page (HTML).
                        raise Unavailable(f"Slack answered {response.status} {kind}")
                    if (response.content_length or 0) > limit:
                        raise Unavailable(f"larger than {limit} bytes")
                    seen = 0
                    async for piece in response.content.iter_chunked(64 * 1024):
                        seen += len(piece)
                        if seen > limit:
                            raise Unavailable(f"larger than {limit} bytes")
                        yield piece
            except aiohttp.ClientError as exc:
                raise Unavailable(f"Slack could not be reached: {exc}") from exc

    async def _address(self, http: aiohttp.ClientSession, file_id: str) -> str:
        """A file's download address, from `files.info` (for files a message named by id only)."""
        if not file_id:
            raise Unavailable("a Slack file without an id")
        try:
            async with http.post(self.api_url + "files.info", data={"file": file_id},
                                 headers={"Authorization": f"Bearer {self.token}"}) as response:
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, ValueError) as exc:
            raise Unavailable(f"Slack could not be asked about the file: {exc}") from exc
        item = answer.get("file") if isinstance(answer, dict) and answer.get("ok") else None
        url = (item.get("url_private_download") or item.get("url_private")) if isinstance(item, dict) else None
        if not isinstance(url, str) or not url:
            raise Unavailable(f"files.info answered {answer.get('error') if isinstance(answer, dict) else answer!r}")
        return url
