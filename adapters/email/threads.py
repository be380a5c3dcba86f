"""Mail threads: which request a Message-ID belongs to, and the headers that keep a thread together.

Every mail about a request, received or sent, is kept by its Message-ID in `mail_messages`
(`bot.model.MailMessage`). A reply names earlier Message-IDs in In-Reply-To and References; the first
of them we know gives its request (`request_for`). Mail we send carries our own Message-ID
(`message_id`: derived from the outbox row, so a retry after a crash sends the same one and the
recipient's mail program shows it once), References back to the mail that filed the request, and a
`Thread-Index` (`thread_index`) because Outlook groups conversations by it, not by References.

The functions here take a session: call them inside a unit of work (`Tx.session`) to record in the
same transaction as the change, or with `Unit.sessions()` to read.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.model import MailMessage

_FILETIME_EPOCH = datetime(1601, 1, 1).toordinal()


async def remember(session: AsyncSession, message_id: str | None, request_id: int | None, *, direction: str,
                   address: str, automatic: bool, at: datetime) -> None:
    """Keep a Message-ID as belonging to a request (a second time is a no-op)."""
    if not message_id:
        return
    values = {"message_id": message_id[:300], "request_id": request_id, "direction": direction,
              "address": address[:254], "automatic": automatic, "at": at}
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    await session.execute(insert(MailMessage).values(**values).on_conflict_do_nothing(
        index_elements=["message_id"]))


async def request_for(session: AsyncSession, message_ids: Sequence[str]) -> int | None:
    """The request of the first of these Message-IDs that we know (the nearest one first)."""
    wanted = [m[:300] for m in message_ids if m][:60]
    if not wanted:
        return None
    rows: dict[str, int | None] = {str(mid): rid for mid, rid in (await session.execute(
        select(MailMessage.message_id, MailMessage.request_id).where(
            MailMessage.message_id.in_(wanted), MailMessage.request_id.is_not(None)))).all()}
    for mid in wanted:
        found = rows.get(mid)
        if found is not None:
            return int(found)
    return None


async def thread_of(session: AsyncSession, request_id: int) -> list[str]:
    """The Message-IDs of a request's mail, oldest first (the first is the thread's root)."""
    return list((await session.execute(select(MailMessage.message_id).where(
        MailMessage.request_id == request_id).order_by(MailMessage.at, MailMessage.id).limit(50))).scalars())


async def automatic_sent(session: AsyncSession, address: str, since: datetime) -> int:
    """How many automatic mails went to an address since a moment (the hourly cap counts these)."""
    return int(await session.scalar(select(func.count()).select_from(MailMessage).where(
        MailMessage.address == address.lower(), MailMessage.direction == "out", MailMessage.automatic.is_(True),
        MailMessage.at >= since)) or 0)


async def last_inbound_automatic(session: AsyncSession, request_id: int) -> bool:
    """Whether the newest mail received on a request was sent automatically (then nothing automatic answers)."""
    row = (await session.execute(select(MailMessage.automatic).where(
        MailMessage.request_id == request_id, MailMessage.direction == "in").order_by(
        MailMessage.at.desc(), MailMessage.id.desc()).limit(1))).scalar_one_or_none()
    return bool(row)


def message_id(domain: str, seed: str) -> str:
    """Our Message-ID for a seed (an outbox row's id and the request): the same seed, the same id."""
    digest = hashlib.sha256(seed.encode()).hexdigest()[:24]
    return f"<zd.{digest}@{domain}>"


def thread_index(root: str, sent: datetime, root_sent: datetime) -> str:
    """An Outlook `Thread-Index`: 22 bytes (a FILETIME and a GUID from the thread's root) and 5 bytes per
    reply, base64. Every mail of one request shares the root, so Outlook groups them as one conversation."""
    guid = hashlib.md5(root.encode(), usedforsecurity=False).digest()
    block = b"\x01" + struct.pack(">Q", _filetime(root_sent))[:5] + guid  # reserved byte, 5 bytes of time, GUID
    if sent > root_sent:
        delta = int((sent - root_sent) / timedelta(microseconds=1)) * 10  # 100 ns units
        child = (delta >> 18) & 0x7FFFFFFFFF  # 39 bits of the time difference, as Outlook writes them
        block += struct.pack(">Q", child << 1)[3:]
    return base64.b64encode(block).decode()


def _filetime(moment: datetime) -> int:
    naive = moment.replace(tzinfo=None)
    days = naive.toordinal() - _FILETIME_EPOCH
    seconds = days * 86400 + naive.hour * 3600 + naive.minute * 60 + naive.second
    return (seconds * 10_000_000 + naive.microsecond * 10)
