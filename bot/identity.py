"""Platform users matched to people by e-mail, and stored conversation references (cached in the database)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.model import ConversationRef, Identity


class Directory:
    """Who a Slack or Teams user is; adapters ask it before calling the platform's user lookup."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock,
                 max_age: timedelta = timedelta(hours=12)) -> None:
        self.sessions = sessions
        self.clock = clock
        self.max_age = max_age
        self._memory: dict[tuple[str, str], tuple[datetime, str | None, str]] = {}

    async def lookup(self, platform: str, user_id: str, *, stale_ok: bool = False) -> tuple[str | None, str] | None:
        """The (e-mail, name) remembered for a platform user, if fresh enough (any age with `stale_ok`:
        when the platform's own lookup fails, yesterday's answer beats refusing the person)."""
        now = self.clock.now()
        cached = self._memory.get((platform, user_id))
        if cached is not None and (stale_ok or now - cached[0] < self.max_age):
            return cached[1], cached[2]
        async with self.sessions() as session:
            row = await session.get(Identity, (platform, user_id))
        if row is None or (not stale_ok and now - row.fetched_at >= self.max_age):
            return None
        self._memory[(platform, user_id)] = (row.fetched_at, row.email, row.name)
        return row.email, row.name

    async def remember(self, platform: str, user_id: str, email: str | None, name: str,
                       data: dict[str, Any] | None = None) -> None:
        """Store what the platform said about a user (e-mail lower-cased), so DMs can find them later."""
        now = self.clock.now()
        email = email.strip().lower() if email else None
        async with self.sessions() as session, session.begin():
            row = await session.get(Identity, (platform, user_id))
            if row is None:
                session.add(Identity(platform=platform, user_id=user_id, email=email, name=name,
                                     data=data or {}, fetched_at=now))
            else:
                row.email, row.name, row.data, row.fetched_at = email, name, data or row.data, now
        self._memory[(platform, user_id)] = (now, email, name)

    async def users_of(self, email: str, platform: str) -> list[tuple[str, dict[str, Any]]]:
        """Platform user ids (and stored data) known for an e-mail."""
        async with self.sessions() as session:
            rows = await session.execute(select(Identity.user_id, Identity.data).where(
                Identity.platform == platform, Identity.email == email.lower()))
            return [(str(u), dict(d or {})) for u, d in rows]

    async def save_reference(self, key: str, platform: str, reference: dict[str, Any]) -> None:
        """Keep a conversation reference so later messages reach the same conversation."""
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            row = await session.get(ConversationRef, key)
            if row is None:
                session.add(ConversationRef(key=key, platform=platform, reference=reference, updated_at=now))
            else:
                row.reference, row.updated_at = reference, now

    async def reference(self, key: str) -> dict[str, Any] | None:
        """A stored conversation reference, if any."""
        async with self.sessions() as session:
            row = await session.get(ConversationRef, key)
            return None if row is None else dict(row.reference)
