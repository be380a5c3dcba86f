"""Outbound tokens for the Bot Connector: fetched off the event loop, cached across turns, never "auth off".

botbuilder asks its `credentials_factory` for credentials on every turn and for every proactive send,
then msrest calls `get_access_token` *synchronously on the event loop* while signing the request. The
stock factory builds a fresh MSAL app each time, so every turn fetched a new token, blocking the loop
for a round trip to Azure AD. Both factories here fetch in `create_credentials` (which is async) and
hand out credentials whose `get_access_token` only reads the cache:

- `MsalCredentialsFactory` (the default): Microsoft's login endpoint through the SDK's own
  `MicrosoftAppCredentials`/MSAL, one instance per scope so MSAL's token cache is reused, the fetch run
  in a worker thread.
- `TokenUrlCredentialsFactory` (`BOTFRAMEWORK_TOKEN_URL`): the OAuth client-credentials grant posted
  with aiohttp to a configured token URL (sovereign clouds, and the local fake token endpoint in tests:
  MSAL refuses plain-HTTP authorities). Plain HTTP only on loopback hosts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from botframework.connector.auth import AppCredentials, MicrosoftAppCredentials, ServiceClientCredentialsFactory
from msrest.pipeline import SansIOHTTPPolicy
from msrest.universal_http import ClientRequest
from msrest.universal_http.async_abc import AsyncClientResponse

from adapters.teams.settings import CHANNEL_SCOPE, checked_url

log = logging.getLogger(__name__)

REFRESH_MARGIN = 300.0  # seconds before expiry a cached token is replaced


# ignore[misc]: AppCredentials comes from botbuilder, which has no type hints (an Any base to mypy)
class CachedTokenCredentials(AppCredentials, SansIOHTTPPolicy[ClientRequest, AsyncClientResponse]):  # type: ignore[misc]
    """msrest credentials carrying a token fetched beforehand; signing a request never does I/O.

    Also a msrest pipeline policy, so a connector client on our aiohttp transport puts the bearer
    header on each request itself (the requests-based path calls `signed_session` instead).
    """

    def __init__(self, app_id: str, oauth_scope: str, read: Callable[[], str | None]) -> None:
        AppCredentials.__init__(self, app_id=app_id, oauth_scope=oauth_scope)
        self._read = read

    def on_request(self, request: Any, **kwargs: Any) -> None:
        """Sign one connector request."""
        request.http_request.headers["Authorization"] = f"Bearer {self.get_access_token()}"

    def get_access_token(self, force_refresh: bool = False) -> str:
        """The cached token (the factory fetched it a moment ago)."""
        token = self._read()
        if not token:
            # Only if the token expired between create_credentials and the send: fail the send (the outbox
            # retries it and the next create_credentials fetches a fresh one) rather than block the loop.
            raise PermissionError("no Bot Framework token in the cache; retrying will fetch one")
        return token


@dataclass
class _Token:
    value: str
    refresh_at: float


class TokenUrlCredentialsFactory(ServiceClientCredentialsFactory):  # type: ignore[misc]  # untyped base (botbuilder)
    """Client-credentials grant against `token_url`, with one cache per scope shared by every connector client."""

    def __init__(self, app_id: str, app_password: str, token_url: str, *, timeout: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not app_id:
            raise ValueError("an app id is required: an empty one would switch authentication off")
        self.app_id = app_id
        self._password = app_password
        self.token_url = checked_url("BOTFRAMEWORK_TOKEN_URL", token_url)
        self.timeout = timeout
        self.clock = clock
        self._cache: dict[str, _Token] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.fetches = 0

    async def is_valid_app_id(self, app_id: str) -> bool:
        """Only tokens addressed to this bot are accepted."""
        return app_id == self.app_id

    async def is_authentication_disabled(self) -> bool:
        """Never: the channel refuses to start without an app id."""
        return False

    def cached(self, scope: str) -> str | None:
        """A token for `scope` that is not about to expire."""
        entry = self._cache.get(scope)
        return entry.value if entry is not None and entry.refresh_at > self.clock() else None

    def invalidate(self) -> None:
        """Forget every token (the connector said 401: the token was revoked or the secret rotated)."""
        self._cache.clear()

    async def token(self, scope: str) -> str:
        """The token for `scope`, fetched once for all concurrent callers when the cache has none."""
        found = self.cached(scope)
        if found:
            return found
        lock = self._locks.setdefault(scope, asyncio.Lock())
        async with lock:
            found = self.cached(scope)
            if found:
                return found
            return await self._fetch(scope)

    async def _fetch(self, scope: str) -> str:
        form = {"grant_type": "client_credentials", "client_id": self.app_id, "client_secret": self._password,
                "scope": scope if scope.endswith("/.default") else f"{scope}/.default"}
        self.fetches += 1
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as session, \
                session.post(self.token_url, data=form) as response:
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = {}
            status = response.status
        if status != 200 or not isinstance(body, dict) or not body.get("access_token"):
            error = body.get("error", "no token") if isinstance(body, dict) else "no token"
            raise PermissionError(f"the token endpoint answered {status}: {error}")
        expires_in = float(body.get("expires_in") or 3600)
        self._cache[scope] = _Token(str(body["access_token"]),
                                    self.clock() + max(expires_in - min(REFRESH_MARGIN, expires_in / 2), 0.0))
        return str(body["access_token"])

    async def create_credentials(self, app_id: str, oauth_scope: str, login_endpoint: str,
                                 validate_authority: bool) -> AppCredentials:
        """Credentials for the connector client, with the token already in the cache."""
        if app_id != self.app_id:
            raise PermissionError(f"no credentials for app id {app_id!r}")
        scope = oauth_scope or CHANNEL_SCOPE
        await self.token(scope)
        return CachedTokenCredentials(app_id, scope, lambda: self.cached(scope))


class MsalCredentialsFactory(ServiceClientCredentialsFactory):  # type: ignore[misc]  # untyped base (botbuilder)
    """Microsoft's login endpoint through the SDK's `MicrosoftAppCredentials` (MSAL), kept off the event loop."""

    def __init__(self, app_id: str, app_password: str, login_url: str) -> None:
        if not app_id:
            raise ValueError("an app id is required: an empty one would switch authentication off")
        self.app_id = app_id
        self._password = app_password
        self.login_url = login_url
        self._credentials: dict[str, MicrosoftAppCredentials] = {}
        self._tokens: dict[str, _Token] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        """Only tokens addressed to this bot are accepted."""
        return app_id == self.app_id

    async def is_authentication_disabled(self) -> bool:
        """Never: the channel refuses to start without an app id."""
        return False

    def invalidate(self) -> None:
        """Forget cached tokens (MSAL is asked again, with force_refresh)."""
        self._tokens.clear()
        self._credentials.clear()

    def _cached(self, scope: str) -> str | None:
        entry = self._tokens.get(scope)
        return entry.value if entry is not None and entry.refresh_at > time.monotonic() else None

    async def create_credentials(self, app_id: str, oauth_scope: str, login_endpoint: str,
                                 validate_authority: bool) -> AppCredentials:
        """Credentials with a token MSAL fetched in a worker thread (MSAL's HTTP is blocking)."""
        if app_id != self.app_id:
            raise PermissionError(f"no credentials for app id {app_id!r}")
        scope = oauth_scope or CHANNEL_SCOPE
        if self._cached(scope) is None:
            lock = self._locks.setdefault(scope, asyncio.Lock())
            async with lock:
                if self._cached(scope) is None:
                    msal = self._credentials.get(scope)
                    if msal is None:
                        tenant = self.login_url.rstrip("/").rsplit("/", 1)[-1]
                        msal = self._credentials[scope] = MicrosoftAppCredentials(app_id, self._password, tenant,
                                                                                   scope)
                    token = await asyncio.get_running_loop().run_in_executor(None, msal.get_access_token)
                    # MSAL does not say when its token expires; it serves it from its cache until then, so
                    # asking again every half hour (in a thread) is cheap and never hands out a stale one.
                    self._tokens[scope] = _Token(token, time.monotonic() + 1800)
        return CachedTokenCredentials(app_id, scope, lambda: self._cached(scope))


def credentials_factory(app_id: str, app_password: str, *, token_url: str | None,
                        login_url: str) -> TokenUrlCredentialsFactory | MsalCredentialsFactory:
    """The factory for the configured token endpoint: our own grant for a token URL, else MSAL for Microsoft's."""
    if token_url:
        return TokenUrlCredentialsFactory(app_id, app_password, token_url)
    return MsalCredentialsFactory(app_id, app_password, login_url)
