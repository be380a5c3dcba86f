"""Attachments from every channel, and the file store that keeps the bytes the desk must keep.

- `store`: `FileStore` (put/get/delete by key, size-limited, atomic) and its default, `LocalFileStore`
  (a folder: `ZONEDESK_FILES_DIR`); `FileTooLarge`.
- `sources`: `Files` (the store, and the `FileSource`s Slack and Teams register when mounted); `Unavailable`.
- `attachments`: `record_files` (chat references), `store_attachment` (mail bytes), `attachments_of`,
  `open_attachment`; erasure and the sweep of bytes no row names.
- `kinds`: what a file is from its bytes (`filetype`), inline or download only, `Content-Disposition`.

Decision 0017.
"""

from bot.files.attachments import (
    AttachmentView,
    FileRef,
    attachments_of,
    files_of,
    open_attachment,
    record_files,
    store_attachment,
)
from bot.files.sources import Files, FileSource, Unavailable
from bot.files.store import FileStore, FileTooLarge, LocalFileStore, store_from_env

__all__ = ["AttachmentView", "FileRef", "FileSource", "FileStore", "FileTooLarge", "Files", "LocalFileStore",
           "Unavailable", "attachments_of", "files_of", "open_attachment", "record_files", "store_attachment",
           "store_from_env"]
