"""The file store: bytes by key, behind an interface, with a local folder as the default.

Keys are content-addressed (the SHA-256 of the bytes): the same file stored twice (a mail fetched again
after a crash, the same logo in every signature) is one file, and a key can be written again safely.
Rows in `attachments` name a key; the bytes go when the last row naming them goes (`bot.files.attachments`).
A `put` is refused beyond the size limit before anything is written, and writes a temporary file that is
renamed into place, so a reader never sees half a file and a failure leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Protocol

from bot.errors import DeskError
from bot.i18n import _, current

DEFAULT_LIMIT = 25 * 1024 * 1024  # bytes; a mail server's usual message limit, and Slack's preview limit
FOLDER_NAME = "zonedesk-files"
_KEY = re.compile(r"^[0-9a-f]{64}$")


class FileTooLarge(DeskError):
    """A file beyond the store's limit: refused with a sentence naming the file, its size and the limit."""

    def __init__(self, filename: str, size: int, limit: int) -> None:
        super().__init__(_("The file {name} is too large ({size}; at most {limit}).", name=filename,
                           size=megabytes(size), limit=megabytes(limit)))
        self.filename, self.size, self.limit = filename, size, limit


def megabytes(size: int) -> str:
    """A size for people: '3.2 MB', '120 KB', '512 B' (numbers in the spoken language's format)."""
    said = current()
    if size >= 1024 * 1024:
        return _("{size} MB", size=said.number(round(size / (1024 * 1024), 1)))
    if size >= 1024:
        return _("{size} KB", size=said.number(round(size / 1024)))
    return _("{size} B", size=said.number(size))


class FileStore(Protocol):
    """Bytes by key. Implementations must make `put` atomic (all or nothing) and `delete` idempotent."""

    limit: int  # the largest file accepted, in bytes

    def put(self, data: bytes, filename: str = "") -> str:
        """Store the bytes and return their key; FileTooLarge (nothing written) beyond `limit`."""
        ...

    def get(self, key: str) -> bytes | None:
        """The bytes of a key, or None when there are none."""
        ...

    def delete(self, key: str) -> None:
        """Remove a key's bytes (nothing happens when there are none)."""
        ...

    def keys(self, older_than: datetime | None = None) -> Iterator[str]:
        """Every key held (written before `older_than`, when given): for the sweep of files no row names."""
        ...


class LocalFileStore:
    """Files in a local folder, one per key, fanned out by the key's first two characters."""

    def __init__(self, root: Path, limit: int = DEFAULT_LIMIT, *, create: bool = False) -> None:
        self.root = root
        self.limit = limit
        if create:  # a configured folder: created (or its problem reported) at start
            root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):  # a key is ours, never a path someone typed
            raise ValueError(f"not a file store key: {key!r}")
        return self.root / key[:2] / key

    def put(self, data: bytes, filename: str = "") -> str:
        """Store the bytes under their SHA-256 (written to a temporary file, then renamed into place)."""
        if len(data) > self.limit:
            raise FileTooLarge(filename or "?", len(data), self.limit)
        key = hashlib.sha256(data).hexdigest()
        path = self._path(key)
        if path.exists():
            return key
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return key

    def get(self, key: str) -> bytes | None:
        """The bytes, or None."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        """Remove the bytes of a key, if any."""
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def keys(self, older_than: datetime | None = None) -> Iterator[str]:
        """The keys held (and temporary files a crash left, which are removed when older than `older_than`)."""
        if not self.root.exists():
            return
        limit = older_than.timestamp() if older_than is not None else None
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                try:
                    written = path.stat().st_mtime
                except FileNotFoundError:
                    continue
                if limit is not None and written >= limit:
                    continue
                if path.name.startswith(".part-"):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()  # a put interrupted by a crash
                elif _KEY.match(path.name):
                    yield path.name


def store_from_env(env: Mapping[str, str], database_file: Path | None) -> LocalFileStore:
    """The configured store: `ZONEDESK_FILES_DIR` (default: a `zonedesk-files` folder beside the SQLite
    database, or in the working directory with PostgreSQL), limited to `ZONEDESK_FILES_MAX_BYTES`
    (default 25 MB). A configured folder is created at start; the default one when the first file comes."""
    folder = env.get("ZONEDESK_FILES_DIR", "").strip()
    if folder:
        root = Path(folder)
    elif database_file is not None:
        root = database_file.resolve().parent / FOLDER_NAME
    else:
        root = Path.cwd() / FOLDER_NAME
    raw = env.get("ZONEDESK_FILES_MAX_BYTES", "").strip()
    try:
        limit = int(raw) if raw else DEFAULT_LIMIT
    except ValueError:
        raise ValueError(f"ZONEDESK_FILES_MAX_BYTES must be a number of bytes, not {raw!r}") from None
    if limit <= 0:
        raise ValueError("ZONEDESK_FILES_MAX_BYTES must be a positive number of bytes")
    return LocalFileStore(root, limit, create=bool(folder))
