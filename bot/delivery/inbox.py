"""The durable inbox: an inbound event is recorded under its unique key before it is acknowledged.

Slack wants its acknowledgement within 3 seconds and does not retry what was acknowledged, so a
process killed between the ack and the commit would lose the request. Recording the event first
(one small INSERT that is also the de-duplication) and processing it after the ack closes that gap:
`recover` finishes, after a restart, whatever was acknowledged but not processed. The action marks
the key processed in its own transaction (`Desk.transaction(dedupe_key=...)`), so it runs once.

One sender's events run in arrival order. The process that holds a sender's lock first runs that
sender's older events it owns itself (accepted here, not run yet), so a later event never waits for
the recovery job just because its task reached the lock first. Only an older event this process
cannot run (held by another replica, or failed and waiting to be retried) sets the later one aside.
The hot path is Core SQL, not the ORM: at a few hundred events a second its unit of work was the
largest cost of the whole process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, bindparam, delete, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.model import Inbound, UtcDateTime
from bot.store import unavailable

log = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], Awaitable[None]]

# One statement records an event or finds it seen before: no exception, no rollback for a retry.
_ACCEPT = text(
    "INSERT INTO inbound (key, source, sequence, payload, received_at, claimed_until, attempts) "
    "VALUES (:key, :source, :sequence, :payload, :received_at, :claimed_until, 1) "
    "ON CONFLICT (key) DO NOTHING RETURNING key"
).bindparams(bindparam("payload", type_=JSON()), bindparam("received_at", type_=UtcDateTime()),
             bindparam("claimed_until", type_=UtcDateTime()))


@dataclass
class _Owned:
    """An event this process recorded or claimed and has not run yet."""

    source: str
    sequence: str | None
    received_at: datetime
    payload: dict[str, Any] | None = None  # the live payload, once its task has handed it over


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
        self._owned: dict[str, _Owned] = {}
        self._settled: dict[str, bool] = {}  # keys being run -> marked processed by the action's own commit

    def register(self, source: str, handler: Handler) -> None:
        """The handler for events recorded with this source; it receives (key, payload)."""
        self.handlers[source] = handler

    def settled(self, keys: Iterable[str]) -> None:
        """The desk committed these keys as processed (`Desk.on_settled`): no second write is needed."""
        for key in keys:
            if key in self._settled:
                self._settled[key] = True

    async def accept(self, key: str, source: str, payload: dict[str, Any] | None, sequence: str | None = None
                     ) -> bool:
        """Record an event; False when the key was seen before (a retry or a double click).

        Events with the same `sequence` (one sender) are processed in the order they arrived.
        """
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            fresh = (await session.execute(_ACCEPT, {
                "key": key, "source": source, "sequence": sequence, "payload": payload, "received_at": now,
                "claimed_until": now + self.lease})).first() is not None
        if fresh:
            self._owned[key] = _Owned(source, sequence, now)
        return fresh

    async def payload(self, key: str) -> dict[str, Any] | None:
        """The payload recorded under a key (a later click finishing what an earlier event started)."""
        async with self.sessions() as session:
            payload = await session.scalar(select(Inbound.payload).where(Inbound.key == key))
            return None if payload is None else dict(payload)

    async def process(self, key: str, source: str, payload: dict[str, Any]) -> None:
        """Run the handler for an event this process accepted (or recovered), in its sender's order.

        A key this process does not own (already run as an older event of its sender, or never
        accepted here) is left alone.
        """
        owned = self._owned.get(key)
        if owned is None:
            return
        owned.payload = payload
        lock = self._sequences.setdefault(owned.sequence, asyncio.Lock()) if owned.sequence else None
        async with lock or contextlib.nullcontext():  # FIFO: one sender's events in arrival order here
            if self._owned.get(key) is not owned:
                return  # an event of the same sender that held the lock first ran it already
            if owned.sequence is not None and not await self._run_older(key, owned):
                return
            self._owned.pop(key, None)
            await self._run(key, source, payload)

    async def _run_older(self, key: str, owned: _Owned) -> bool:
        """Run the sender's pending older events this process owns; False (the event is set aside) when
        one of them cannot run now (another replica holds it, it failed, or the database went away)."""
        async with self.sessions() as session:
            older = list((await session.execute(
                select(Inbound.key).where(Inbound.sequence == owned.sequence, Inbound.processed_at.is_(None),
                                          Inbound.received_at < owned.received_at, Inbound.key != key)
                .order_by(Inbound.received_at))).scalars())
        for earlier in older:
            mine = self._owned.pop(earlier, None)
            if mine is None or not await self._run(earlier, mine.source, mine.payload):
                await self._set_aside(key)
                return False
        return True

    async def _run(self, key: str, source: str, payload: dict[str, Any] | None) -> bool:
        """Run one event's handler and record the outcome; True when it is done."""
        handler = self.handlers.get(source)
        if handler is None:
            log.error("inbox: no handler for %s", source)
            return False
        if payload is None:  # owned, but its task has not handed the live payload over: the recorded one
            payload = await self.payload(key) or {}
        self._settled[key] = False
        try:
            await handler(key, payload)
        except Exception as exc:
            if unavailable(exc):  # the row keeps its lease; `recover` takes it up once the database is back
                log.warning("inbox: database unreachable while handling %s; it will be retried", key)
                return False
            log.exception("inbox: handler for %s failed (key %s)", source, key)
            await self._failed(key, exc)
            return False
        finally:
            marked = self._settled.pop(key, False)
        if not marked:
            await self._done(key)
        return True

    async def _set_aside(self, key: str) -> None:
        """Leave an event for `recover`, which replays its sender's events in arrival order."""
        self._owned.pop(key, None)
        async with self.sessions() as session, session.begin():
            await session.execute(update(Inbound).where(Inbound.key == key, Inbound.processed_at.is_(None))
                                  .values(claimed_until=None).execution_options(synchronize_session=False))
        log.info("inbox: %s waits for an older event of the same sender", key)

    async def _done(self, key: str) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(update(Inbound).where(Inbound.key == key, Inbound.processed_at.is_(None))
                                  .values(processed_at=self.clock.now(), claimed_until=None)
                                  .execution_options(synchronize_session=False))

    async def _failed(self, key: str, exc: Exception) -> None:
        async with self.sessions() as session, session.begin():
            row = await session.get(Inbound, key)
            if row is None or row.processed_at is not None:
                return
            row.error = f"{type(exc).__name__}: {exc}"[:1000]
            row.claimed_until = None  # due for `recover`
            if row.attempts >= self.max_attempts:
                row.processed_at = self.clock.now()  # parked with its error; visible in the table

    async def prune(self, keep: timedelta = timedelta(days=14), limit: int = 5000) -> int:
        """Delete processed events older than `keep` (their payloads hold what people wrote).

        A retry or double click comes within minutes, so the keys are kept far longer than any of
        them; a zone choice clicked after that is told the message is too old. At most `limit` rows
        a call, so the job never holds a long transaction; returns how many went.
        """
        cutoff = self.clock.now() - keep
        async with self.sessions() as session, session.begin():
            old = select(Inbound.key).where(Inbound.processed_at.is_not(None), Inbound.processed_at < cutoff
                                            ).limit(limit).scalar_subquery()
            result = await session.execute(delete(Inbound).where(Inbound.key.in_(old))
                                           .execution_options(synchronize_session=False))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def recover(self, limit: int = 100) -> int:
        """Process events that were accepted but never finished (a crash, a database blip, set aside)."""
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
                    self._owned[row.key] = _Owned(row.source, row.sequence, row.received_at)
        for key, source, payload in mine:
            await self.process(key, source, payload)
        return len(mine)
