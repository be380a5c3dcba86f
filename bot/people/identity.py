"""Platform users matched to people by e-mail, and stored conversation references (cached in the database)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import Insert

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
        changed = {"email": email, "name": name, "fetched_at": now, **({"data": data} if data else {})}
        async with self.sessions() as session, session.begin():
            await session.execute(_upsert(session, Identity, ("platform", "user_id"), {
                "platform": platform, "user_id": user_id, "data": data or {}, **changed}, changed))
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
        changed = {"reference": reference, "updated_at": now}
        async with self.sessions() as session, session.begin():
            await session.execute(_upsert(session, ConversationRef, ("key",), {
                "key": key, "platform": platform, **changed}, changed))

    async def reference(self, key: str) -> dict[str, Any] | None:
        """A stored conversation reference, if any."""
        async with self.sessions() as session:
            row = await session.get(ConversationRef, key)
            return None if row is None else dict(row.reference)


def _upsert(session: AsyncSession, model: type[Identity] | type[ConversationRef], keys: tuple[str, ...],
            values: dict[str, Any], changed: dict[str, Any]) -> Insert:
    """INSERT, or UPDATE `changed` when the row exists: one statement, so two first sightings of the same
    person or conversation at once (a re-sent activity, two replicas) cannot both try to insert it."""
    if session.get_bind().dialect.name == "postgresql":
        on_postgres = postgresql.insert(model).values(**values)
        return on_postgres.on_conflict_do_update(index_elements=list(keys),
                                                 set_={name: on_postgres.excluded[name] for name in changed})
    on_sqlite = sqlite.insert(model).values(**values)
    return on_sqlite.on_conflict_do_update(index_elements=list(keys),
                                           set_={name: on_sqlite.excluded[name] for name in changed})
