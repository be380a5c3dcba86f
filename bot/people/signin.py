"""One-time sign-in links: signed, expiring, single use (the use is recorded in the database)."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.errors import DeskError
from bot.i18n import N_, _
from bot.model import LoginToken

LINK_TTL = timedelta(minutes=15)
# The shape `app.yaml` accepts for people's addresses (bot.config.Email): one "@", a dot in the domain, no spaces.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EMAIL_MAX = 254  # the longest address SMTP allows
# Why a link does not sign in (said in the reader's language where refused).
NOT_VALID = N_("This sign-in link is not valid. Ask for a new one.")
EXPIRED = N_("This sign-in link has expired. Ask for a new one.")
USED = N_("This sign-in link was already used. Ask for a new one.")


def email_address(text: str) -> str:
    """`text` as the e-mail address a link signs in (trimmed, lower case); DeskError when it is none."""
    email = text.strip().lower()
    if len(email) > EMAIL_MAX or not EMAIL.match(email):
        raise DeskError(_("'{text}' is not an e-mail address; give one like you@example.com.", text=text.strip()[:80]))
    return email


class SignIn:
    """Creates, checks and redeems sign-in links for the web channel."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock, key: bytes, base_url: str) -> None:
        self.sessions = sessions
        self.clock = clock
        self.serializer = URLSafeSerializer(key, salt="zonedesk-login")
        self.base_url = base_url.rstrip("/")

    async def create_link(self, email: str, ttl: timedelta = LINK_TTL) -> str:
        """A URL that signs `email` in once, within `ttl`; DeskError when `email` is not an e-mail address."""
        address = email_address(email)
        now = self.clock.now()
        jti = secrets.token_urlsafe(24)
        async with self.sessions() as session, session.begin():
            session.add(LoginToken(jti=jti, email=address, created_at=now, expires_at=now + ttl))
        return f"{self.base_url}/login/{self.serializer.dumps(jti)}"

    def _jti(self, token: str) -> str:
        try:
            return str(self.serializer.loads(token))
        except BadSignature as exc:
            raise DeskError(_(NOT_VALID)) from exc

    async def check(self, token: str) -> str:
        """The e-mail a link would sign in, without using it up; DeskError when forged, expired or used.

        Opening a link only looks (chat apps and mail scanners fetch links to preview them), so the
        page can say at once that the link no longer works; only `redeem` spends it.
        """
        jti = self._jti(token)
        async with self.sessions() as session:
            row = await session.get(LoginToken, jti)
            if row is None:
                raise DeskError(_(NOT_VALID))
            if row.expires_at <= self.clock.now():
                raise DeskError(_(EXPIRED))
            if row.used_at is not None:
                raise DeskError(_(USED))
            return row.email

    async def redeem(self, token: str) -> str:
        """The e-mail a link signs in; raises DeskError when forged, expired or already used."""
        jti = self._jti(token)
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            row = await session.get(LoginToken, jti)
            if row is None:
                raise DeskError(_(NOT_VALID))
            if row.expires_at <= now:
                raise DeskError(_(EXPIRED))
            used = await session.execute(
                update(LoginToken).where(LoginToken.jti == row.jti, LoginToken.used_at.is_(None))
                .values(used_at=now).execution_options(synchronize_session=False))
            if used.rowcount != 1:  # type: ignore[attr-defined]
                raise DeskError(_(USED))
            return row.email
