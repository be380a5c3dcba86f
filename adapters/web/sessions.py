"""Web sessions in signed cookies: who is signed in, their CSRF token, and one-shot flash messages.

The cookie holds `{"e": email or None, "t": csrf token, "s": signed-in at, "f": flashes}`, signed with
the server's secret key by itsdangerous. Its age is read from the injected clock, so expiry is tested
without waiting. Nothing here is secret from its holder; it only cannot be forged or stretched.
See docs/decisions/0003-web-sessions.md.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from bot.clock import Clock

COOKIE = "zonedesk_session"
SESSION_TTL = timedelta(hours=12)
FLASH_LIMIT = 5


class ClockSigner(TimestampSigner):
    """itsdangerous' timestamp signer, told the time by our clock instead of `time.time()`."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock

    def get_timestamp(self) -> int:
        """Seconds since the epoch, from the injected clock."""
        return int(self.clock.now().timestamp())


@dataclass
class Session:
    """One browser's session; `changed` says the cookie must be written again."""

    email: str | None
    csrf: str
    since: int
    flashes: list[tuple[str, str]] = field(default_factory=list)
    changed: bool = False

    def flash(self, text: str, kind: str = "ok") -> None:
        """A message shown once, on the next page this browser sees (kind: ok | error)."""
        self.flashes = [*self.flashes, (kind, text)][-FLASH_LIMIT:]
        self.changed = True

    def take_flashes(self) -> list[tuple[str, str]]:
        """The waiting messages, removed from the session."""
        taken, self.flashes = self.flashes, []
        if taken:
            self.changed = True
        return taken

    def csrf_matches(self, submitted: str | None) -> bool:
        """The form carried this session's CSRF token (compared in constant time)."""
        return bool(submitted) and hmac.compare_digest(str(submitted).encode(), self.csrf.encode())


class SessionCodec:
    """Reads and writes the session cookie."""

    def __init__(self, key: bytes, clock: Clock, *, secure: bool) -> None:
        self.clock = clock
        self.secure = secure
        self.serializer = URLSafeTimedSerializer(key, salt="zonedesk-web-session", signer=ClockSigner,
                                                 signer_kwargs={"clock": clock})

    def _now(self) -> int:
        return int(self.clock.now().timestamp())

    def fresh(self, email: str | None = None) -> Session:
        """A new session (anonymous, or just signed in) with a new CSRF token."""
        return Session(email=email, csrf=secrets.token_urlsafe(32), since=self._now(), changed=True)

    def read(self, request: web.Request) -> Session:
        """The browser's session; a fresh anonymous one when the cookie is missing, forged or too old."""
        raw = request.cookies.get(COOKIE)
        if raw:
            max_age = int(SESSION_TTL.total_seconds())
            try:
                data = self.serializer.loads(raw, max_age=max_age)
            except BadSignature:
                data = None
            if isinstance(data, dict) and isinstance(data.get("t"), str) and isinstance(data.get("s"), int):
                # The signature's age restarts whenever the cookie is rewritten; `s` keeps the 12 hours absolute.
                if 0 <= self._now() - data["s"] <= max_age:
                    email = data.get("e")
                    flashes = [(str(k), str(t)) for k, t in data.get("f", [])][-FLASH_LIMIT:]
                    return Session(email=email if isinstance(email, str) else None, csrf=data["t"],
                                   since=data["s"], flashes=flashes)
        return self.fresh()

    def write(self, response: web.StreamResponse, session: Session) -> None:
        """Set the cookie, expiring 12 hours after sign-in."""
        value = self.serializer.dumps({"e": session.email, "t": session.csrf, "s": session.since,
                                       "f": session.flashes})
        remaining = max(0, int(SESSION_TTL.total_seconds()) - (self._now() - session.since))
        response.set_cookie(COOKIE, value, max_age=remaining, path="/", httponly=True, samesite="Lax",
                            secure=self.secure)

    def clear(self, response: web.StreamResponse) -> None:
        """Remove the cookie (sign out)."""
        response.del_cookie(COOKIE, path="/")
