"""The durable inbox: an inbound event is recorded under its unique key before it is acknowledged.

Slack wants its acknowledgement within 3 seconds and does not retry what was acknowledged, so a
process killed between the ack and the commit would lose the request. Recording the event first
(one small INSERT that is also the de-duplication) and processing it after the ack closes that gap:
`recover` finishes, after a restart, whatever was acknowledged but not processed. The action marks
the key processed in its own transaction (`Desk.transaction(dedupe_key=...)`), so it runs once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.model import Inbound
from bot.store import unavailable

log = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], Awaitable[None]]


class Inbox:
    """Records inbound events once and runs their handler; several replicas may share it."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock,
                 lease: timedelta = timedelta(seconds=60), max_attempts: int = 5) -> None:
        self.sessions = sessions
        self.clock = clock
        self.lease = lease
        self.max_attempts = max_attempts
        self.handlers: dict[str, Handler] = {}
        self._sequences: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def register(self, source: str, handler: Handler) -> None:
        """The handler for events recorded with this source; it receives (key, payload)."""
        self.handlers[source] = handler

    async def accept(self, key: str, source: str, payload: dict[str, Any] | None, sequence: str | None = None
                     ) -> bool:
        """Record an event; False when the key was seen before (a retry or a double click).

        Events with the same `sequence` (one sender) are processed in the order they arrived: one
        that would overtake an older, still pending event of its sequence waits for `recover`.
        """
        now = self.clock.now()
        try:
            async with self.sessions() as session, session.begin():
                session.add(Inbound(key=key, source=source, sequence=sequence, payload=payload, received_at=now,
                                    claimed_until=now + self.lease, attempts=1))
        except IntegrityError:
            return False
        return True

    async def payload(self, key: str) -> dict[str, Any] | None:
        """The payload recorded under a key (a later click finishing what an earlier event started)."""
        async with self.sessions() as session:
            row = await session.get(Inbound, key)
            return None if row is None or row.payload is None else dict(row.payload)

    async def process(self, key: str, source: str, payload: dict[str, Any]) -> None:
        """Run the handler for a freshly accepted event, then make sure the key reads as processed."""
        handler = self.handlers.get(source)
        if handler is None:
            log.error("inbox: no handler for %s", source)
            return
        sequence = await self._sequence_of(key)
        lock = self._sequences.setdefault(sequence, asyncio.Lock()) if sequence else None
        async with lock or contextlib.nullcontext():  # FIFO: one sender's events in arrival order here
            if await self._overtakes(key):
                return
            try:
                await handler(key, payload)
            except Exception as exc:
                if unavailable(exc):  # the row keeps its lease; `recover` takes it up once the database is back
                    log.warning("inbox: database unreachable while handling %s; it will be retried", key)
                    return
                log.exception("inbox: handler for %s failed (key %s)", source, key)
                await self._failed(key, exc)
                return
            await self._done(key)

    async def _sequence_of(self, key: str) -> str | None:
        async with self.sessions() as session:
            return await session.scalar(select(Inbound.sequence).where(Inbound.key == key))

    async def _overtakes(self, key: str) -> bool:
        """True (and the event is left for `recover`) while an older event of its sequence is pending."""
        async with self.sessions() as session, session.begin():
            row = await session.get(Inbound, key)
            if row is None or row.sequence is None:
                return False
            older = await session.scalar(select(Inbound.key).where(
                Inbound.sequence == row.sequence, Inbound.processed_at.is_(None), Inbound.key != row.key,
                Inbound.received_at < row.received_at).limit(1))
            if older is None:
                return False
            row.claimed_until = None  # due for recover(), which replays the sequence in arrival order
        log.info("inbox: %s waits for an older event of the same sender", key)
        return True

    async def _done(self, key: str) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(update(Inbound).where(Inbound.key == key, Inbound.processed_at.is_(None))
                                  .values(processed_at=self.clock.now(), claimed_until=None))

    async def _failed(self, key: str, exc: Exception) -> None:
        async with self.sessions() as session, session.begin():
            row = await session.get(Inbound, key)
            if row is None or row.processed_at is not None:
                return
            row.error = f"{type(exc).__name__}: {exc}"[:1000]
            row.claimed_until = None  # due for `recover`
            if row.attempts >= self.max_attempts:
                row.processed_at = self.clock.now()  # parked with its error; visible in the table

    async def recover(self, limit: int = 100) -> int:
        """Process events that were accepted but never finished (a crash, a database blip)."""
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            rows = list((await session.execute(
                select(Inbound).where(
                    Inbound.processed_at.is_(None),
                    or_(Inbound.claimed_until.is_(None), Inbound.claimed_until < now),
                ).order_by(Inbound.received_at).limit(limit)
            )).scalars())
            mine = []
            for row in rows:
                claimed = await session.execute(
                    update(Inbound).where(Inbound.key == row.key, Inbound.processed_at.is_(None),
                                          or_(Inbound.claimed_until.is_(None), Inbound.claimed_until < now))
                    .values(claimed_until=now + self.lease, attempts=Inbound.attempts + 1)
                    .execution_options(synchronize_session=False))
                if claimed.rowcount == 1:  # type: ignore[attr-defined]
                    mine.append((row.key, row.source, dict(row.payload or {})))
        for key, source, payload in mine:
            await self.process(key, source, payload)
        return len(mine)
