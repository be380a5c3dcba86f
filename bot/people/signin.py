"""One-time sign-in links: signed, expiring, single use (the use is recorded in the database)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.errors import DeskError
from bot.model import LoginToken

LINK_TTL = timedelta(minutes=15)


class SignIn:
    """Creates and redeems sign-in links for the web channel."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock, key: bytes, base_url: str) -> None:
        self.sessions = sessions
        self.clock = clock
        self.serializer = URLSafeSerializer(key, salt="zonedesk-login")
        self.base_url = base_url.rstrip("/")

    async def create_link(self, email: str, ttl: timedelta = LINK_TTL) -> str:
        """A URL that signs `email` in once, within `ttl`."""
        now = self.clock.now()
        jti = secrets.token_urlsafe(24)
        async with self.sessions() as session, session.begin():
            session.add(LoginToken(jti=jti, email=email.strip().lower(), created_at=now, expires_at=now + ttl))
        return f"{self.base_url}/login/{self.serializer.dumps(jti)}"

    async def redeem(self, token: str) -> str:
        """The e-mail a link signs in; raises DeskError when forged, expired or already used."""
        try:
            jti = self.serializer.loads(token)
        except BadSignature as exc:
            raise DeskError("This sign-in link is not valid. Ask for a new one.") from exc
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            row = await session.get(LoginToken, str(jti))
            if row is None:
                raise DeskError("This sign-in link is not valid. Ask for a new one.")
            if row.expires_at <= now:
                raise DeskError("This sign-in link has expired. Ask for a new one.")
            used = await session.execute(
                update(LoginToken).where(LoginToken.jti == row.jti, LoginToken.used_at.is_(None))
                .values(used_at=now).execution_options(synchronize_session=False))
            if used.rowcount != 1:  # type: ignore[attr-defined]
                raise DeskError("This sign-in link was already used. Ask for a new one.")
            return row.email
