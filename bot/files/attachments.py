"""Attachments on a request: recorded with the message that brought them, listed and opened by those who may.

Chat files are recorded as references (`record_files`, called by `bot.desk.receive` inside the same
transaction as the request or comment they came with); mail attachments are stored bytes
(`store_attachment`, for the e-mail channel, inside its own filing or comment transaction). Who may list
or open them is `Policy.sees_attachment`: everyone who sees the request, for the files of its filing
message and public comments; only those who read notes, for files on internal notes. A file of a
request one may not see reads as not found, like the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.access import Actor, Level
from bot.desk.approvers import level_of
from bot.desk.unit import Tx, Unit
from bot.errors import NotFound
from bot.files.kinds import safe_filename
from bot.files.sources import Files
from bot.files.store import FileStore
from bot.model import Attachment, Request

STORED = "stored"
MAX_PER_MESSAGE = 20  # files recorded from one message; Slack allows 10 a message, Teams about as many
SWEEP_AFTER = timedelta(days=1)  # bytes no row names are removed once this old (a rolled-back filing)
_ATTACHMENTS = cast(Table, Attachment.__table__)


@dataclass(frozen=True)
class FileRef:
    """A file a chat platform holds, as its message named it: kept as a reference, fetched when opened."""

    platform: str
    name: str
    declared_type: str = ""
    size: int | None = None
    ref: dict[str, Any] = field(default_factory=dict)  # what the platform's source needs to fetch it


@dataclass(frozen=True)
class AttachmentView:
    """An attachment as the request page lists it."""

    id: int
    comment_id: int | None
    filename: str
    size: int | None
    public: bool
    created_at: datetime


def files_of(unit: Unit) -> Files:
    """The process's files (set by the server on the desk); a desk without them stores nothing."""
    files = getattr(unit, "files", None)
    if not isinstance(files, Files):
        raise RuntimeError("no file store: the server sets Unit.files at start")
    return files


async def record_files(tx: Tx, request: Request, comment_id: int | None, public: bool, actor: Actor,
                       files: Sequence[FileRef]) -> list[int]:
    """Record chat files as references on a request (or one of its comments), in the caller's transaction."""
    rows = [{"request_id": request.id, "comment_id": comment_id, "public": public,
             "filename": safe_filename(f.name)[:255], "declared_type": (f.declared_type or "")[:255],
             "size": f.size if f.size is None or f.size >= 0 else None, "uploader_email": actor.email,
             "channel": actor.channel[:20], "source": f.platform[:10], "store_key": None, "ref": f.ref,
             "created_at": tx.now} for f in files[:MAX_PER_MESSAGE]]
    if not rows:
        return []
    ids = (await tx.session.execute(insert(_ATTACHMENTS).returning(_ATTACHMENTS.c.id), rows)).scalars().all()
    return [int(i) for i in ids]


async def store_attachment(tx: Tx, request_id: int, comment_id: int | None, filename: str, content_type: str,
                           data: bytes, *, uploader: Actor, public: bool = True) -> int:
    """Store a file's bytes (e-mail) in the file store and record it on a request or one of its comments.

    Call it inside the transaction that files the request or writes the comment (`file_request(after=...)`,
    `comment(after=...)`). Beyond the store's limit it raises `FileTooLarge` (a DeskError naming the file,
    its size and the limit) before anything is written; catch it to keep the message without that file.
    `uploader` is who sent it (erasure of that person deletes the file); `public` False for a note's file.
    The bytes are content-addressed: a retried message stores nothing twice, and bytes whose transaction
    rolled back are swept a day later (`sweep`).
    """
    key = files_of(tx.unit).store.put(data, filename)
    row = {"request_id": request_id, "comment_id": comment_id, "public": public,
           "filename": safe_filename(filename)[:255], "declared_type": (content_type or "")[:255],
           "size": len(data), "uploader_email": uploader.email, "channel": uploader.channel[:20],
           "source": STORED, "store_key": key, "ref": None, "created_at": tx.now}
    return int((await tx.session.execute(insert(_ATTACHMENTS).returning(_ATTACHMENTS.c.id), [row])).scalar_one())


async def attachments_of(unit: Unit, actor: Actor, number: int) -> tuple[AttachmentView, ...]:
    """The files of a request this person may see, oldest first (NotFound for a request they may not know)."""
    async with unit.sessions() as session:
        request = await session.get(Request, number)
        if request is None:
            raise NotFound(number)
        level = await level_of(unit.policy, session, actor, request)
        if level == Level.NONE:
            raise NotFound(number)
        query = select(Attachment).where(Attachment.request_id == number).order_by(Attachment.id)
        if not unit.policy.sees_attachment(level, public=False):
            query = query.where(Attachment.public.is_(True))
        return tuple(AttachmentView(a.id, a.comment_id, a.filename, a.size, a.public, a.created_at)
                     for a in (await session.execute(query)).scalars())


async def open_attachment(unit: Unit, actor: Actor, number: int, attachment_id: int) -> Attachment:
    """One file of a request, if this person may open it; anything else reads as not found."""
    async with unit.sessions() as session:
        row = await session.get(Attachment, attachment_id)
        request = await session.get(Request, number)
        if row is None or request is None or row.request_id != number:
            raise NotFound(number)
        level = await level_of(unit.policy, session, actor, request)
        if not unit.policy.sees_attachment(level, public=row.public):
            raise NotFound(number)
        session.expunge(row)
        return row


async def forget_uploads(session: AsyncSession | AsyncConnection, email: str) -> list[str]:
    """Erasure: delete the attachments a person sent; returns the store keys those rows named (for
    `drop_unnamed` after commit, so a rolled-back erasure loses no bytes)."""
    keys = [k for k in (await session.execute(select(Attachment.store_key).where(
        Attachment.uploader_email == email, Attachment.store_key.is_not(None)))).scalars() if k]
    await session.execute(delete(Attachment).where(Attachment.uploader_email == email))
    return keys


async def drop_unnamed(session: AsyncSession | AsyncConnection, store: FileStore, keys: Sequence[str]) -> int:
    """Delete the bytes of those keys that no attachment names any more; returns how many went."""
    if not keys:
        return 0
    named = set((await session.execute(select(Attachment.store_key).where(
        Attachment.store_key.in_(set(keys))))).scalars())
    gone = 0
    for key in sorted(set(keys) - named):
        store.delete(key)
        gone += 1
    return gone


async def sweep(session: AsyncSession, store: FileStore, now: datetime) -> int:
    """Retention: remove stored bytes no attachment names (a filing rolled back after the bytes were written,
    rows gone with their request), once older than `SWEEP_AFTER`; returns how many went."""
    gone = 0
    batch: list[str] = []
    for key in store.keys(older_than=now - SWEEP_AFTER):
        batch.append(key)
        if len(batch) >= 500:
            gone += await drop_unnamed(session, store, batch)
            batch = []
    return gone + await drop_unnamed(session, store, batch)
