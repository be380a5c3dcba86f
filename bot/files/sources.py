"""Where the bytes of an attachment come from: the file store, or the chat platform that holds them.

A channel that keeps files as references (Slack, Teams) registers a `FileSource` for its platform when it
is mounted (`Files.sources[platform] = ...`); `bot/` never imports it. A source fetches with the bot's own
credentials only from hosts that platform serves files from, and streams: nothing is kept here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from bot.files.store import FileStore

CHUNK = 64 * 1024


class Unavailable(Exception):
    """The platform would not give the file (deleted, no longer shared, the platform down, a host not its own)."""


class FileSource(Protocol):
    """A platform's files, fetched when someone opens them."""

    def fetch(self, ref: Mapping[str, Any], limit: int) -> AsyncIterator[bytes]:
        """The file's bytes in pieces; raises Unavailable (before the first piece) when it cannot be had,
        and stops with Unavailable when it runs past `limit` bytes."""
        ...


class Files:
    """The file store and the platforms' file sources, built once per process (`bot.server`)."""

    def __init__(self, store: FileStore) -> None:
        self.store = store
        self.sources: dict[str, FileSource] = {}

    async def stream(self, source: str, store_key: str | None, ref: Mapping[str, Any] | None
                     ) -> AsyncIterator[bytes]:
        """The bytes of one attachment, wherever they are (Unavailable when they cannot be had)."""
        if source == "stored":
            data = self.store.get(store_key or "") if store_key else None
            if data is None:
                raise Unavailable("the stored file is gone")
            for start in range(0, len(data), CHUNK):
                yield data[start:start + CHUNK]
            if not data:
                yield b""
            return
        platform = self.sources.get(source)
        if platform is None or ref is None:
            raise Unavailable(f"no {source} channel to fetch the file from")
        async for piece in platform.fetch(ref, self.store.limit):
            yield piece
