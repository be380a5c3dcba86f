"""Bot Framework authentication both ways, through the SDK's own JWT path with three corrections.

Inbound tokens are validated by `ConfigurationBotFrameworkAuthentication` (issuer, audience = our app
id, signing key from the channel's OpenID metadata, expiry, `serviceurl` = the activity's), configured
with `BOTFRAMEWORK_OPENID_METADATA_URL` / `BOTFRAMEWORK_TOKEN_ISSUER`; a token without an `exp` is
refused here, as the SDK would accept it (`expiry`). The corrections
(docs/decisions/0005-teams-sdk-workarounds.md):

1. **Keys off the event loop.** The SDK fetches the OpenID metadata and keys with blocking `requests`
   (no timeout) inside `authenticate_request`, on the loop, on the first request and once a day after.
   `OffLoopOpenIdMetadata` takes the SDK's place in its process-wide cache: fetches run in a worker
   thread, one at a time, warmed at start-up and refreshed every few hours by a background job.
2. **Connector calls on the loop, no retries inside a send.** The SDK sends with `requests` in worker
   threads (GIL contention with the loop) and msrest retries 5xx three times and sleeps through 429
   Retry-After in there; `ConnectorTransport` sends with aiohttp and answers the first response as it
   is, since the outbox already retries with back-off.
3. **Pooled connector clients.** The SDK builds a new connector client (and HTTP session) per turn;
   `PooledConnectorFactory` keeps one per service URL, whose credentials read the shared token cache.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import logging
import threading
import time
from types import SimpleNamespace
from typing import Any

import aiohttp
import requests
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector import AsyncBfPipeline, BotFrameworkConnectorConfiguration
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    ServiceClientCredentialsFactory,
    UserTokenClient,
)
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor, _OpenIdConfig, _OpenIdMetadata
from botframework.connector.skills import BotFrameworkClient
from jwt.algorithms import RSAAlgorithm
from msrest.pipeline import Request as PipelineRequest
from msrest.pipeline import Response as PipelineResponse
from msrest.pipeline.async_abc import AsyncHTTPSender
from msrest.universal_http import ClientRequest
from msrest.universal_http.aiohttp import AioHttpClientResponse
from msrest.universal_http.async_abc import AsyncClientResponse

from adapters.teams.settings import CHANNEL_SCOPE, TeamsSettings

log = logging.getLogger(__name__)

KEYS_MAX_AGE = 24 * 3600.0  # the SDK's own rule: keys older than a day are fetched again
UNKNOWN_KEY_PAUSE = 300.0  # an unknown kid triggers a fetch at most this often (key rotation, not a DoS lever)
FETCH_TIMEOUT = 10.0
VERDICTS_MAX = 4096  # accepted tokens remembered (the channel uses a handful at a time)
SEND_TIMEOUT = 10.0  # seconds for a connector request (msrest's default is 100)
USER_AGENT = "Zonedesk (botbuilder-python)"


class OffLoopOpenIdMetadata(_OpenIdMetadata):  # type: ignore[misc]  # untyped base (botbuilder)
    """The channel's signing keys, fetched in a worker thread; what the SDK's JWT extractor asks for keys."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.fetched_at: float | None = None  # time.monotonic() of the last successful fetch
        self.tried_at = float("-inf")
        self.fetches = 0
        self._guard = threading.Lock()
        self._running: concurrent.futures.Future[None] | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="zd-openid")
        self._parsed: dict[str, _OpenIdConfig] = {}  # kid -> public key, parsed once per fetch (not per token)
        self._parsed_from: object = None

    def _fetch_blocking(self) -> None:
        """Fetch metadata then keys (in the worker thread)."""
        self.tried_at = time.monotonic()
        response = requests.get(self.url, timeout=FETCH_TIMEOUT)
        response.raise_for_status()
        keys_response = requests.get(response.json()["jwks_uri"], timeout=FETCH_TIMEOUT)
        keys_response.raise_for_status()
        keys = keys_response.json()["keys"]
        if not isinstance(keys, list):
            raise ValueError("the JWKS has no key list")
        self.keys = keys
        self.fetched_at = time.monotonic()
        self.fetches += 1

    async def refresh(self) -> None:
        """Fetch the keys now, in the worker thread; concurrent callers share one fetch (from any event loop)."""
        with self._guard:
            running = self._running
            if running is None or running.done():
                running = self._running = self._pool.submit(self._fetch_blocking)
        await asyncio.wrap_future(running)

    async def _refresh(self) -> None:  # the SDK's name for it, should anything call it
        await self.refresh()

    def stale(self) -> bool:
        """No keys yet, or keys older than a day."""
        return self.fetched_at is None or time.monotonic() - self.fetched_at > KEYS_MAX_AGE

    async def get(self, key_id: str) -> _OpenIdConfig | None:
        """The key a token names; None for an unknown one (the SDK then fails the token: 401)."""
        if self.stale():
            await self.refresh()
        found = self._find(key_id)
        if found is None and time.monotonic() - self.tried_at > UNKNOWN_KEY_PAUSE:
            await self.refresh()  # the channel may have rotated its keys
            found = self._find(key_id)
        return found

    def _find(self, key_id: str) -> _OpenIdConfig | None:
        keys = self.keys
        parsed = self._parsed.get(key_id) if self._parsed_from is keys else None
        if parsed is not None:
            return parsed
        for key in keys or []:
            if isinstance(key, dict) and key_id and key.get("kid") == key_id:
                parsed = _OpenIdConfig(RSAAlgorithm.from_jwk(json.dumps(key)), key.get("endorsements", []))
                if self._parsed_from is not keys:  # parsed keys belong to one fetched key list
                    self._parsed, self._parsed_from = {}, keys
                self._parsed[key_id] = parsed
                return parsed
        return None


def install_metadata(url: str) -> OffLoopOpenIdMetadata:
    """Put our off-loop fetcher in the SDK's process-wide metadata cache for `url` (once per URL)."""
    current = JwtTokenExtractor.metadataCache.get(url)
    if isinstance(current, OffLoopOpenIdMetadata):
        return current
    metadata = OffLoopOpenIdMetadata(url)
    JwtTokenExtractor.metadataCache[url] = metadata
    return metadata


class ConnectorTransport(AsyncHTTPSender[ClientRequest, AsyncClientResponse]):
    """msrest's HTTP sender for connector clients, over one pooled aiohttp session on the event loop.

    The SDK's default sends with `requests` in worker threads: every send then costs a thread hand-off
    and GIL contention with the loop (the answer latency of everything else suffers), and msrest's
    urllib3 policy retries 5xx three times and sleeps through Retry-After inside the send. Here a send
    is one aiohttp request, answered as it comes: the outbox decides about retries.
    """

    def __init__(self, timeout: float = SEND_TIMEOUT) -> None:
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The pooled session, made on first use inside the running loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout),
                                                  connector=aiohttp.TCPConnector(limit=64))
        return self._session

    async def __aenter__(self) -> ConnectorTransport:
        return self

    async def __aexit__(self, *exc_details: Any) -> None:
        return None

    async def send(self, request: PipelineRequest[ClientRequest], **config: Any
                   ) -> PipelineResponse[ClientRequest, AsyncClientResponse]:
        """Send one connector request and read its body (msrest deserialises it synchronously)."""
        http = request.http_request
        answer = await self.session().request(http.method, http.url, headers=dict(http.headers), data=http.data)
        response = AioHttpClientResponse(http, answer)
        await response.load_body()
        answer.release()
        return PipelineResponse(request, response)

    async def close(self) -> None:
        """Close the pooled connections (server shutdown)."""
        if self._session is not None:
            await self._session.close()


class PooledConnectorFactory(ConnectorFactory):  # type: ignore[misc]  # untyped base (botbuilder)
    """One connector client per service URL and audience, shared by every turn and every send."""

    def __init__(self, app_id: str, scope: str, login_url: str,
                 credentials: ServiceClientCredentialsFactory, transport: ConnectorTransport) -> None:
        self.app_id = app_id
        self.scope = scope
        self.login_url = login_url
        self.credentials = credentials
        self.transport = transport
        self._clients: dict[tuple[str, str], ConnectorClient] = {}

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        """A connector client for `service_url`, its token fresh in the shared cache."""
        scope = audience or self.scope
        credentials = await self.credentials.create_credentials(self.app_id, scope, self.login_url, True)
        key = (service_url, scope)
        client = self._clients.get(key)
        if client is None:
            config = BotFrameworkConnectorConfiguration(credentials, service_url, pipeline_type=AsyncBfPipeline,
                                                        sender=self.transport)
            config.add_user_agent(USER_AGENT)
            client = self._clients[key] = ConnectorClient(credentials, custom_configuration=config)
        return client


class BotAuthentication(BotFrameworkAuthentication):  # type: ignore[misc]  # untyped base (botbuilder)
    """`ConfigurationBotFrameworkAuthentication` for one bot, with the corrections described above."""

    def __init__(self, settings: TeamsSettings, credentials: ServiceClientCredentialsFactory) -> None:
        self.settings = settings
        self.credentials = credentials
        # Setting the TO_BOT_FROM_CHANNEL_* keys selects the SDK's "parameterized" authentication, where
        # every key left out is None rather than Microsoft's default; so all of them are given.
        configuration = SimpleNamespace(
            APP_ID=settings.app_id,
            APP_PASSWORD=settings.app_password,
            APP_TYPE=settings.app_type,
            APP_TENANTID=settings.tenant_id,
            TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=settings.openid_metadata_url,
            TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=settings.token_issuer,
            TO_CHANNEL_FROM_BOT_OAUTH_SCOPE=CHANNEL_SCOPE,
            TO_CHANNEL_FROM_BOT_LOGIN_URL=settings.login_url,
            OAUTH_URL="https://api.botframework.com",
            VALIDATE_AUTHORITY=True,
        )
        self.metadata = install_metadata(settings.openid_metadata_url)
        self.inner = ConfigurationBotFrameworkAuthentication(configuration, credentials_factory=credentials)
        self.transport = ConnectorTransport()
        self.connectors = PooledConnectorFactory(settings.app_id, CHANNEL_SCOPE, settings.login_url, credentials,
                                                 self.transport)
        self._user_tokens: UserTokenClient | None = None
        # sha256 of (header, service URL, channel) -> (exp, keys generation, claims, caller id, audience)
        self._verdicts: dict[str, tuple[float, int, dict[str, Any], str | None, str | None]] = {}

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        """Validate the channel's token for this activity (raises on any fault: the caller answers 401).

        The channel reuses one token for about an hour; a token the SDK accepted for this service URL
        and channel is remembered until its `exp`, so the SDK's five base64 decodes and the RSA check
        are not repeated on every activity. A new fetch of the signing keys forgets every verdict.
        """
        key = verdict_key(auth_header, activity)
        found = self._verdicts.get(key)
        if found is not None:
            expires, generation, claims, caller_id, audience = found
            if time.time() < expires and generation == self.metadata.fetches:
                return self._result(ClaimsIdentity(dict(claims), True), caller_id, audience)
            self._verdicts.pop(key, None)
        result = await self.inner.authenticate_request(activity, auth_header)
        claims = dict(result.claims_identity.claims)
        exp = expiry(claims)
        if len(self._verdicts) >= VERDICTS_MAX:
            self._verdicts.pop(next(iter(self._verdicts)))
        self._verdicts[key] = (exp, self.metadata.fetches, claims, result.caller_id, result.audience)
        result.connector_factory = self.connectors
        return result

    async def authenticate_token(self, auth_header: str) -> None:
        """Validate a token on its own, without an activity (so without the `serviceurl` claim): for bodies
        that are no activity, which then get a 400 only if the token itself is genuine."""
        result = await self.inner.authenticate_request(Activity(channel_id="msteams"), auth_header)
        expiry(dict(result.claims_identity.claims))

    def _result(self, identity: ClaimsIdentity, caller_id: str | None, audience: str | None
                ) -> AuthenticateRequestResult:
        result = AuthenticateRequestResult()
        result.claims_identity = identity
        result.caller_id = caller_id
        result.audience = audience
        result.connector_factory = self.connectors
        return result

    async def authenticate_streaming_request(self, auth_header: str,
                                             channel_id_header: str) -> AuthenticateRequestResult:
        """Streaming (Direct Line ASE) is not offered."""
        raise PermissionError("streaming connections are not supported")

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        """The pooled factory (proactive sends)."""
        return self.connectors

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        """The OAuth token client, built once (the SDK builds one per turn; we never sign users in)."""
        if self._user_tokens is None:
            self._user_tokens = await self.inner.create_user_token_client(claims_identity)
        return self._user_tokens

    def create_bot_framework_client(self) -> BotFrameworkClient:
        """Skills are not used; delegated for completeness."""
        return self.inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        """The audience of outbound tokens."""
        return CHANNEL_SCOPE

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        """Delegated to the SDK."""
        return await self.inner.authenticate_channel_request(auth_header)


def expiry(claims: dict[str, Any]) -> float:
    """The token's `exp`; a token without one is refused (PyJWT checks `exp` only when it is there, so the SDK
    would accept a token that never expires; Microsoft's own validation requires it)."""
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise PermissionError("the token has no numeric expiry")
    return float(exp)


def verdict_key(auth_header: str, activity: Activity) -> str:
    """What a token's verdict depends on besides the keys and the clock: the token, the service URL the
    activity names (the `serviceurl` claim must match it) and the channel (the key's endorsements)."""
    raw = "\n".join((auth_header, activity.service_url or "", activity.channel_id or ""))
    return hashlib.sha256(raw.encode()).hexdigest()


def describe(exc: BaseException) -> str:
    """A short reason for a refused token, for the log (never for the caller)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:120]}" if text else type(exc).__name__

