"""Microsoft's side of the Bot Framework over real HTTP: OpenID keys, channel tokens, the connector, the token endpoint.

The fakes let botbuilder's own code run unchanged in tests: its JWT validation fetches our OpenID metadata
and keys, and its connector client sends replies to our connector with a token from our token endpoint.

- `OpenIdServer` serves `/.well-known/openid-configuration` and `/keys` from its own thread, because the
  SDK fetches them with blocking `requests` from inside the event loop.
- `mint_channel_token` signs a token the way the channel does (RS256, `kid` header, claims `iss`, `aud`,
  `exp`, `nbf`, `serviceurl`; no `ver`); its keyword arguments produce each bad case.
- `FakeConnector` is an aiohttp server for the `/v3/conversations/...` and `/v3/teams/...` routes plus the
  OAuth token endpoint, recording every call, with failure injection.
- `ClientSecretCredentialsFactory` is production-shaped code (meant to move to `adapters/teams`): a
  botbuilder credentials factory that gets its token from a configurable token URL without MSAL.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import http
import json
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any, Literal, Self
from urllib.parse import unquote, urlsplit

import aiohttp
import jwt
import requests
from aiohttp import web
from botframework.connector.auth import AppCredentials, ServiceClientCredentialsFactory
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

BOTFRAMEWORK_ISSUER = "https://api.botframework.com"
BOTFRAMEWORK_SCOPE = "https://api.botframework.com"
DEFAULT_TOKEN_URL = "https://login.invalid/botframework.com/oauth2/v2.0/token"  # tests pass the fake's own
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


# --------------------------------------------------------------------------------------------------------------------
# Signing keys and channel tokens
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    """An RSA key pair with the key id the channel puts in the token header."""

    kid: str
    private_key: rsa.RSAPrivateKey

    def jwk(self, endorsements: Iterable[str]) -> dict[str, Any]:
        """The public half as Microsoft publishes it: a JWK with the channels that endorse it."""
        public = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "n": public["n"],
            "e": public["e"],
            "endorsements": list(endorsements),
        }

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


# One key pair per process, not per server: botbuilder caches keys per metadata URL for a day, process-wide,
# so a later server that happens to get a reused port must publish the same keys to stay consistent.
_KEYS: dict[str, SigningKey] = {}
_KEYS_LOCK = threading.Lock()


def signing_key(which: Literal["good", "rogue"] = "good") -> SigningKey:
    """The key the OpenID server publishes ("good") or a key nobody publishes ("rogue")."""
    with _KEYS_LOCK:
        if which not in _KEYS:
            private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _KEYS[which] = SigningKey(kid=f"zd-{which}-{secrets.token_hex(4)}", private_key=private_key)
        return _KEYS[which]


def mint_channel_token(
    app_id: str,
    service_url: str,
    *,
    issuer: str = BOTFRAMEWORK_ISSUER,
    audience: str | None = None,
    expires_in: float = 3600,
    not_before: float = 0,
    key: Literal["good", "rogue"] = "good",
    kid: str | None = None,
    extra_claims: dict[str, Any] | None = None,
    omit: Iterable[str] = (),
    now: float | None = None,
) -> str:
    """A bearer token as the Bot Framework channel sends it to the bot.

    Bad cases: `expires_in=-600` (expired: the SDK allows 300 s of clock skew), `not_before=600`,
    `issuer=...`, `audience=...`, `service_url=...` differing from the activity's, `key="rogue"` (signed by an
    unpublished key, with its own kid) or `key="rogue", kid=signing_key().kid` (forged under the published kid),
    `omit=("serviceurl",)` / `omit=("kid",)` (the header's kid), `extra_claims={"ver": "1.0", ...}`.
    See `malformed_channel_token` for tokens that are not well-formed.
    """
    signer = signing_key(key)
    issued = time.time() if now is None else now
    claims: dict[str, Any] = {
        "serviceurl": service_url,
        "nbf": int(issued + not_before),
        "exp": int(issued + expires_in),
        "iss": issuer,
        "aud": app_id if audience is None else audience,
    }
    claims.update(extra_claims or {})
    omitted = set(omit)
    for name in omitted:
        claims.pop(name, None)
    headers = {} if "kid" in omitted else {"kid": signer.kid if kid is None else kid}
    return jwt.encode(claims, signer.private_key, algorithm="RS256", headers=headers)


def malformed_channel_token(
    kind: Literal["garbage", "truncated", "unsigned", "hs256"],
    app_id: str = "00000000-0000-0000-0000-000000000000",
    service_url: str = "http://127.0.0.1/",
) -> str:
    """A token that is not a valid RS256 JWT: garbage, a cut-off signature, `alg: none`, or HS256 keyed with
    the published public key (the algorithm-confusion attack)."""
    if kind == "garbage":
        return "not-a-jwt"
    good = mint_channel_token(app_id, service_url)
    if kind == "truncated":
        return good[:-12]
    _, payload_b64, _ = good.split(".")
    header = {"alg": "none" if kind == "unsigned" else "HS256", "typ": "JWT", "kid": signing_key().kid}
    signing_input = f"{_b64(json.dumps(header).encode())}.{payload_b64}"
    if kind == "unsigned":
        return f"{signing_input}."
    signature = hmac.new(signing_key().public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --------------------------------------------------------------------------------------------------------------------
# OpenID metadata and keys
# --------------------------------------------------------------------------------------------------------------------


class OpenIdServer:
    """The channel's OpenID configuration and JWKS, served from a daemon thread on 127.0.0.1.

    Use as `with OpenIdServer() as openid: ...` or `start()` / `stop()`. `hits` lists the paths fetched, so a test
    can see what the SDK cached; `latency` (seconds) delays every answer, to show who waits for it.
    """

    def __init__(
        self,
        *,
        issuer: str = BOTFRAMEWORK_ISSUER,
        endorsements: Iterable[str] = ("msteams",),
        publish_rogue: bool = False,
    ) -> None:
        self.issuer = issuer
        self.endorsements = list(endorsements)
        self.publish_rogue = publish_rogue
        self.latency = 0.0
        self.hits: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------------------------

    def start(self) -> Self:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openid", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        url = self.metadata_url
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
        forget_openid_metadata(url)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses --------------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("OpenIdServer is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/keys"

    # -- tokens -----------------------------------------------------------------------------------------------------

    def mint(self, app_id: str, service_url: str, **kwargs: Any) -> str:
        """`mint_channel_token` with this server's issuer as the default."""
        kwargs.setdefault("issuer", self.issuer)
        return mint_channel_token(app_id, service_url, **kwargs)

    # -- serving ----------------------------------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        path = urlsplit(request.path).path
        with self._lock:
            self.hits.append(path)
        if self.latency:
            time.sleep(self.latency)  # simulated network latency, on the server's thread
        if path == "/.well-known/openid-configuration":
            body: dict[str, Any] = {
                "issuer": self.issuer,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": self.jwks_url,
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        elif path == "/keys":
            keys = [signing_key("good").jwk(self.endorsements)]
            if self.publish_rogue:
                keys.append(signing_key("rogue").jwk(self.endorsements))
            body = {"keys": keys}
        else:
            request.send_error(404)
            return
        payload = json.dumps(body).encode()
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)


def forget_openid_metadata(metadata_url: str) -> None:
    """Drop botbuilder's process-wide cache entry for a metadata URL (it would otherwise live for a day)."""
    from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor

    JwtTokenExtractor.metadataCache.pop(metadata_url, None)


def botbuilder_configuration(
    openid: OpenIdServer, *, app_id: str, app_password: str, app_type: str = "MultiTenant"
) -> SimpleNamespace:
    """The configuration object `ConfigurationBotFrameworkAuthentication` reads, pointed at the fake OpenID server.

    Setting any `TO_BOT_FROM_CHANNEL_*` key switches botbuilder to its "parameterized" authentication, where every
    key left unset is None rather than Microsoft's default: so the outbound scope and login URL are set here too.
    """
    return SimpleNamespace(
        APP_ID=app_id,
        APP_PASSWORD=app_password,
        APP_TYPE=app_type,
        TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=openid.metadata_url,
        TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=openid.issuer,
        TO_CHANNEL_FROM_BOT_OAUTH_SCOPE=BOTFRAMEWORK_SCOPE,
        TO_CHANNEL_FROM_BOT_LOGIN_URL="https://login.invalid/botframework.com",  # unused: credentials are injected
    )


def teams_message(
    *,
    service_url: str,
    conversation_id: str,
    text: str = "hello",
    app_id: str = "00000000-0000-0000-0000-000000000000",
    user_id: str = "29:1user",
    aad_object_id: str = "11111111-1111-1111-1111-111111111111",
    tenant_id: str = "22222222-2222-2222-2222-222222222222",
    activity_id: str | None = None,
    channel_id: str = "msteams",
) -> dict[str, Any]:
    """A Teams message activity as the channel posts it to the bot (JSON, camelCase)."""
    return {
        "type": "message",
        "id": activity_id or str(1_700_000_000_000 + secrets.randbelow(10**9)),
        "timestamp": "2026-11-24T08:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": channel_id,
        "from": {"id": user_id, "name": "Test User", "aadObjectId": aad_object_id},
        "conversation": {"id": conversation_id, "tenantId": tenant_id},
        "recipient": {"id": f"28:{app_id}", "name": "Zonedesk"},
        "text": text,
        "channelData": {"tenant": {"id": tenant_id}},
    }


# --------------------------------------------------------------------------------------------------------------------
# Connector and token endpoint
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class Call:
    """One request the fake received and what it answered (status 0: the connection was dropped)."""

    route: str
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0
    response: Any = None

    @property
    def bearer(self) -> str | None:
        value = next((v for k, v in self.headers.items() if k.lower() == "authorization"), "")
        scheme, _, token = value.partition(" ")
        return token if scheme == "Bearer" and token else None

    @property
    def conversation_id(self) -> str | None:
        return self.params.get("conversation_id")

    @property
    def activity_id(self) -> str | None:
        return self.params.get("activity_id")

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class _Route:
    name: str
    method: str
    segments: tuple[str, ...]


# Literal segments first where shapes collide ("activities/history" before "activities/{activity_id}").
_ROUTES = (
    _Route("token", "POST", ("{tenant}", "oauth2", "v2.0", "token")),
    _Route("get_conversations", "GET", ("v3", "conversations")),
    _Route("create_conversation", "POST", ("v3", "conversations")),
    _Route("send_to_conversation", "POST", ("v3", "conversations", "{conversation_id}", "activities")),
    _Route("send_conversation_history", "POST", ("v3", "conversations", "{conversation_id}", "activities", "history")),
    _Route("reply_to_activity", "POST", ("v3", "conversations", "{conversation_id}", "activities", "{activity_id}")),
    _Route("update_activity", "PUT", ("v3", "conversations", "{conversation_id}", "activities", "{activity_id}")),
    _Route("delete_activity", "DELETE", ("v3", "conversations", "{conversation_id}", "activities", "{activity_id}")),
    _Route("get_conversation_members", "GET", ("v3", "conversations", "{conversation_id}", "members")),
    _Route("get_conversation_member", "GET", ("v3", "conversations", "{conversation_id}", "members", "{member_id}")),
    _Route("get_paged_members", "GET", ("v3", "conversations", "{conversation_id}", "pagedmembers")),
    _Route("get_team_details", "GET", ("v3", "teams", "{team_id}")),
    _Route("get_team_channels", "GET", ("v3", "teams", "{team_id}", "conversations")),
)
ROUTE_NAMES = frozenset(route.name for route in _ROUTES) | {"file"}  # "file": add_attachment, add_download


@dataclass
class _Failure:
    status: int
    retry_after: float | None
    body: Any


class FakeTokenEndpoint:
    """The AAD client-credentials grant for one bot: tokens are opaque strings the connector then accepts."""

    def __init__(
        self,
        app_id: str,
        app_password: str,
        *,
        expires_in: int = 3600,
    ) -> None:
        self.app_id = app_id
        self.app_password = app_password
        self.expires_in = expires_in
        self.issued: list[str] = []
        self._valid: set[str] = set()

    def is_valid(self, token: str | None) -> bool:
        return token is not None and token in self._valid

    def expire_all(self) -> None:
        """Make every token issued so far unacceptable to the connector (it answers 401)."""
        self._valid.clear()

    def grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer a token request as login.microsoftonline.com does: 200 with a token, or an OAuth error."""
        if form.get("grant_type") != "client_credentials":
            return 400, _oauth_error("unsupported_grant_type", "AADSTS70003: grant_type must be client_credentials.")
        if form.get("client_id") != self.app_id:
            return 400, _oauth_error("unauthorized_client", "AADSTS700016: Application not found in the directory.")
        if not secrets.compare_digest(form.get("client_secret", ""), self.app_password):
            return 401, _oauth_error("invalid_client", "AADSTS7000215: Invalid client secret provided.")
        if not form.get("scope", "").endswith("/.default"):
            return 400, _oauth_error("invalid_scope", "AADSTS1002012: The provided value for scope is not valid.")
        token = f"fake-aad.{secrets.token_urlsafe(24)}"
        self.issued.append(token)
        self._valid.add(token)
        return 200, {
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "ext_expires_in": self.expires_in,
            "access_token": token,
        }


def _oauth_error(code: str, description: str) -> dict[str, Any]:
    aadsts = description.removeprefix("AADSTS").split(":", 1)[0]
    return {"error": code, "error_description": description, "error_codes": [int(aadsts)]}


def _connector_error(status: int, code: str | None = None, message: str | None = None) -> dict[str, Any]:
    phrase = http.HTTPStatus(status).phrase
    return {"error": {"code": code or phrase.replace(" ", ""), "message": message or phrase}}


class FakeConnector:
    """The Bot Connector service (and the AAD token endpoint) on 127.0.0.1, for botbuilder's real connector client.

    `service_url` goes in the activities the bot receives; `token_url` in the credentials factory. Every request is
    recorded in `calls`; `await wait_for(route, count)` waits for them. Route names are those in `ROUTE_NAMES`,
    named after the ConnectorClient methods. Path parameters are URL-decoded from the raw path, so a conversation
    id like `19:abc@thread.tacv2;messageid=1700000000001` arrives intact.

    Connector routes answer 401 unless the bearer token came from this fake's token endpoint (`check_auth=False`
    turns that off). `fail_next(route, times, status)` injects errors; `down = True` drops every connector
    connection without an answer (the token endpoint stays up), recorded with status 0.
    """

    def __init__(
        self,
        app_id: str = "00000000-0000-0000-0000-000000000000",
        app_password: str = "fake-secret",
        *,
        check_auth: bool = True,
        path_prefix: str = "/amer",
        tenant: str = "botframework.com",
    ) -> None:
        self.tokens = FakeTokenEndpoint(app_id, app_password)
        self.check_auth = check_auth
        self.path_prefix = "/" + path_prefix.strip("/") if path_prefix.strip("/") else ""
        self.tenant = tenant
        self.down = False  # outage switch: connector connections are dropped while set
        self.calls: list[Call] = []
        self.members: dict[str, dict[str, Any]] = {}
        self.teams: dict[str, dict[str, Any]] = {}
        self.activities: dict[str, dict[str, Any]] = {}  # activity id -> latest activity JSON (with conversation)
        self.files: dict[str, tuple[bytes, str, bool]] = {}  # path -> (bytes, content type, needs the bot token)
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._sequence = 0
        self._changed: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- lifecycle --------------------------------------------------------------------------------------------------

    async def start(self) -> Self:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- addresses --------------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if not self._port:
            raise RuntimeError("FakeConnector is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def service_url(self) -> str:
        """As Teams sends it: with a regional path and a trailing slash."""
        return f"{self.base_url}{self.path_prefix}/"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/{self.tenant}/oauth2/v2.0/token"

    # -- test controls ----------------------------------------------------------------------------------------------

    def fail_next(
        self, route: str, times: int = 1, status: int = 429, *, retry_after: float | None = 1, body: Any = None
    ) -> None:
        """Answer the next `times` calls to `route` with `status` (429 and 503 carry `Retry-After`)."""
        self._check_route(route)
        for _ in range(times):
            self._failures[route].append(_Failure(status, retry_after if status in (429, 503) else None, body))

    def add_member(
        self,
        aad_object_id: str,
        user_id: str,
        name: str,
        email: str,
        upn: str | None = None,
        *,
        given_name: str | None = None,
        surname: str | None = None,
        tenant_id: str | None = None,
        role: str = "user",
    ) -> dict[str, Any]:
        """Register a person as Teams returns them from the members routes (a TeamsChannelAccount)."""
        first, _, last = name.partition(" ")
        member = {
            "id": user_id,
            "name": name,
            "aadObjectId": aad_object_id,
            "email": email,
            "userPrincipalName": upn or email,
            "givenName": given_name or first,
            "surname": surname or last or None,
            "tenantId": tenant_id,
            "userRole": role,
        }
        self.members[user_id] = member
        return member

    def add_team(
        self, team_id: str, name: str, *, aad_group_id: str | None = None, channels: Iterable[tuple[str, str]] = ()
    ) -> dict[str, Any]:
        """Register a team for `/v3/teams/{teamId}`; `channels` are (conversation id, name) pairs."""
        channel_list = [{"id": team_id, "name": None}, *({"id": cid, "name": cname} for cid, cname in channels)]
        team = {
            "id": team_id,
            "name": name,
            "aadGroupId": aad_group_id or str(secrets.token_hex(16)),
            "channelCount": len(channel_list),
            "memberCount": len(self.members),
            "type": "standard",
            "_channels": channel_list,
        }
        self.teams[team_id] = team
        return team

    # -- assertions -------------------------------------------------------------------------------------------------

    def calls_to(self, route: str) -> list[Call]:
        """Every call to one route, in order, whatever it was answered."""
        self._check_route(route, allow_unknown=True)
        return [c for c in self.calls if c.route == route]

    def delivered(self, route: str) -> list[Call]:
        """Calls to one route that were answered 2xx."""
        return [c for c in self.calls_to(route) if c.succeeded]

    def last(self, route: str) -> Call:
        calls = self.calls_to(route)
        if not calls:
            raise AssertionError(f"no call to {route!r}; seen: {self._seen()}")
        return calls[-1]

    def clear(self) -> None:
        """Forget recorded calls and pending failures (members, teams and activities stay)."""
        self.calls.clear()
        self._failures.clear()

    async def wait_for(
        self,
        route: str,
        count: int = 1,
        timeout: float = 5.0,
        *,
        delivered: bool = False,
    ) -> list[Call]:
        """Wait until `route` has been answered `count` times (or, with `delivered`, answered 2xx); return those."""
        if self._changed is None:
            raise RuntimeError("start() the fake first")
        seen = self.delivered if delivered else self.calls_to
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: len(seen(route)) >= count)
        except TimeoutError:
            kind = "delivered " if delivered else ""
            raise TimeoutError(
                f"waited {timeout}s for {count} {kind}call(s) to {route}, got {len(seen(route))}; seen: {self._seen()}"
            ) from None
        return seen(route)

    def _seen(self) -> list[str]:
        return [f"{c.method} {c.path} -> {c.status}" for c in self.calls]

    def conversation(self, conversation_id: str) -> list[dict[str, Any]]:
        """The activities currently in a conversation (a channel's threads count as the channel)."""
        base = _base_conversation(conversation_id)
        return [a for a in self.activities.values() if _base_conversation(a["conversation"]["id"]) == base]

    def add_attachment(self, attachment_id: str, data: bytes, content_type: str = "image/png") -> str:
        """A picture pasted into a message: served by the connector at its contentUrl
        (`v3/attachments/{id}/views/original`) to the bot's token only. Returns the contentUrl."""
        path = f"{self.path_prefix}/v3/attachments/{attachment_id}/views/original"
        self.files[path] = (data, content_type, True)
        return f"{self.base_url}{path}"

    def add_download(self, file_id: str, data: bytes) -> str:
        """A file sent in a personal chat: a pre-authorised download link (no token wanted, as SharePoint's)."""
        path = f"/personal/download/{file_id}"
        self.files[path] = (data, "application/octet-stream", False)
        return f"{self.base_url}{path}?tempauth=fake-{file_id}"

    # -- serving ----------------------------------------------------------------------------------------------------

    async def _file(self, request: web.Request) -> web.StreamResponse:
        data, content_type, guarded = self.files[request.rel_url.path]
        call = Call(route="file", method=request.method, path=request.rel_url.raw_path, params={},
                    query=dict(request.rel_url.query), headers=dict(request.headers), body=None)
        self.calls.append(call)
        try:
            if guarded and self.check_auth and not self.tokens.is_valid(call.bearer):
                call.status = 401
                return web.json_response({"message": "Authorization has been denied for this request."}, status=401)
            call.status = 200
            return web.Response(body=data, headers={"Content-Type": content_type})
        finally:
            await self._notify()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.method == "GET" and request.rel_url.path in self.files:
            return await self._file(request)
        route, params = self._match(request.method, request.rel_url.raw_path)
        body: Any = None
        if route == "token":
            body = dict(await request.post())
        elif request.can_read_body:
            raw = await request.read()
            body = json.loads(raw) if raw else None
        call = Call(
            route=route,
            method=request.method,
            path=request.rel_url.raw_path,
            params=params,
            query=dict(request.rel_url.query),
            headers=dict(request.headers),
            body=body,
        )
        self.calls.append(call)
        try:
            if self.down and route != "token":
                if request.transport is not None:
                    request.transport.abort()
                raise web.HTTPServiceUnavailable()  # never reaches the client: the connection is gone
            status, payload, headers = self._answer(call)
            call.status, call.response = status, payload
            text = "" if payload is None else json.dumps(payload)
            return web.Response(status=status, text=text, content_type="application/json", headers=headers)
        finally:
            await self._notify()

    def _answer(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        if call.route == "unknown":
            return 404, _connector_error(404, "NotFound", f"No route for {call.method} {call.path}"), {}
        if call.route == "token":
            failure = self._take_failure("token")
            if failure:
                return self._failure_response(failure)
            status, payload = self.tokens.grant(call.body)
            return status, payload, {}
        if self.check_auth and not self.tokens.is_valid(call.bearer):
            return 401, {"message": "Authorization has been denied for this request."}, {}
        failure = self._take_failure(call.route)
        if failure:
            return self._failure_response(failure)
        status, payload = getattr(self, f"_on_{call.route}")(call)
        return status, payload, {}

    def _failure_response(self, failure: _Failure) -> tuple[int, Any, dict[str, str]]:
        headers = {"Retry-After": f"{failure.retry_after:g}"} if failure.retry_after is not None else {}
        return failure.status, failure.body if failure.body is not None else _connector_error(failure.status), headers

    def _take_failure(self, route: str) -> _Failure | None:
        queue = self._failures.get(route)
        return queue.popleft() if queue else None

    async def _notify(self) -> None:
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()

    def _match(self, method: str, raw_path: str) -> tuple[str, dict[str, str]]:
        segments = [s for s in raw_path.split("/") if s]
        prefix = [s for s in self.path_prefix.split("/") if s]
        for route in _ROUTES:
            candidate = segments
            if route.name != "token":
                if candidate[: len(prefix)] != prefix:
                    continue
                candidate = candidate[len(prefix) :]
            if route.method != method or len(candidate) != len(route.segments):
                continue
            params: dict[str, str] = {}
            for pattern, segment in zip(route.segments, candidate, strict=True):
                if pattern.startswith("{"):
                    params[pattern[1:-1]] = unquote(segment)
                elif pattern != segment:
                    break
            else:
                return route.name, params
        return "unknown", {}

    def _check_route(self, route: str, *, allow_unknown: bool = False) -> None:
        if route not in ROUTE_NAMES and not (allow_unknown and route == "unknown"):
            raise ValueError(f"unknown route {route!r}; known: {sorted(ROUTE_NAMES)}")

    def _next_id(self) -> str:
        # Teams message ids are epoch milliseconds; a counter keeps them unique and ordered.
        self._sequence += 1
        return str(1_700_000_000_000 + self._sequence)

    def _store(self, conversation_id: str, activity: dict[str, Any], activity_id: str) -> None:
        stored = dict(activity)
        stored["id"] = activity_id
        stored["conversation"] = {**(activity.get("conversation") or {}), "id": conversation_id}
        self.activities[activity_id] = stored

    def _find_activity(self, conversation_id: str, activity_id: str) -> dict[str, Any] | None:
        found = self.activities.get(activity_id)
        if found and _base_conversation(found["conversation"]["id"]) == _base_conversation(conversation_id):
            return found
        return None

    # -- route handlers: (status, JSON body) ------------------------------------------------------------------------

    def _on_get_conversations(self, call: Call) -> tuple[int, Any]:
        ids = sorted({_base_conversation(a["conversation"]["id"]) for a in self.activities.values()})
        return 200, {"conversations": [{"id": cid} for cid in ids], "continuationToken": None}

    def _on_create_conversation(self, call: Call) -> tuple[int, Any]:
        params = call.body or {}
        channel = ((params.get("channelData") or {}).get("channel") or {}).get("id")
        activity = params.get("activity")
        if channel:
            if not activity:
                return 400, _connector_error(400, "BadArgument", "Activity is required to start a channel thread.")
            activity_id = self._next_id()
            conversation_id = f"{channel};messageid={activity_id}"
            self._store(conversation_id, activity, activity_id)
            return 201, {"id": conversation_id, "activityId": activity_id}
        if not params.get("members"):
            return 400, _connector_error(400, "BadArgument", "Members are required for a personal conversation.")
        conversation_id = f"a:1zd{self._next_id()}"
        response: dict[str, Any] = {"id": conversation_id}
        if activity:
            activity_id = self._next_id()
            self._store(conversation_id, activity, activity_id)
            response["activityId"] = activity_id
        return 201, response

    def _on_send_to_conversation(self, call: Call) -> tuple[int, Any]:
        activity_id = self._next_id()
        self._store(call.params["conversation_id"], call.body or {}, activity_id)
        return 201, {"id": activity_id}

    def _on_send_conversation_history(self, call: Call) -> tuple[int, Any]:
        return 200, {"id": self._next_id()}

    def _on_reply_to_activity(self, call: Call) -> tuple[int, Any]:
        activity_id = self._next_id()
        activity = dict(call.body or {})
        activity.setdefault("replyToId", call.params["activity_id"])
        self._store(call.params["conversation_id"], activity, activity_id)
        return 201, {"id": activity_id}

    def _on_update_activity(self, call: Call) -> tuple[int, Any]:
        conversation_id, activity_id = call.params["conversation_id"], call.params["activity_id"]
        if self._find_activity(conversation_id, activity_id) is None:
            return 404, _connector_error(404, "ActivityNotFoundInConversation", "Activity not found.")
        self._store(conversation_id, call.body or {}, activity_id)
        return 200, {"id": activity_id}

    def _on_delete_activity(self, call: Call) -> tuple[int, Any]:
        conversation_id, activity_id = call.params["conversation_id"], call.params["activity_id"]
        if self._find_activity(conversation_id, activity_id) is None:
            return 404, _connector_error(404, "ActivityNotFoundInConversation", "Activity not found.")
        del self.activities[activity_id]
        return 200, None

    def _on_get_conversation_members(self, call: Call) -> tuple[int, Any]:
        return 200, list(self.members.values())

    def _on_get_conversation_member(self, call: Call) -> tuple[int, Any]:
        member = self._find_member(call.params["member_id"])
        if member is None:
            return 404, _connector_error(404, "MemberNotFoundInConversation", "The member was not found.")
        return 200, member

    def _on_get_paged_members(self, call: Call) -> tuple[int, Any]:
        members = list(self.members.values())
        size = int(call.query.get("pageSize") or 200)
        start = int(call.query.get("continuationToken") or 0)
        page = members[start : start + size]
        more = start + size < len(members)
        return 200, {"members": page, "continuationToken": str(start + size) if more else None}

    def _on_get_team_details(self, call: Call) -> tuple[int, Any]:
        team = self.teams.get(call.params["team_id"])
        if team is None:
            return 404, _connector_error(404, "NotFound", "Team not found.")
        return 200, {k: v for k, v in team.items() if not k.startswith("_")}

    def _on_get_team_channels(self, call: Call) -> tuple[int, Any]:
        team = self.teams.get(call.params["team_id"])
        if team is None:
            return 404, _connector_error(404, "NotFound", "Team not found.")
        return 200, {"conversations": team["_channels"]}

    def _find_member(self, member_id: str) -> dict[str, Any] | None:
        # Teams accepts either the 29: user id or the AAD object id here.
        if member_id in self.members:
            return self.members[member_id]
        wanted = member_id.lower()
        return next((m for m in self.members.values() if (m["aadObjectId"] or "").lower() == wanted), None)


def _base_conversation(conversation_id: str) -> str:
    return conversation_id.split(";messageid=", 1)[0]


# --------------------------------------------------------------------------------------------------------------------
# Outbound credentials from a configurable token URL (production-shaped: meant to move to adapters/teams)
# --------------------------------------------------------------------------------------------------------------------


def check_token_url(url: str) -> str:
    """Accept https anywhere and plain http only on loopback; return the URL."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url
    raise ValueError(f"token URL must be https (plain http only on loopback): {url!r}")


@dataclass
class _CachedToken:
    value: str
    refresh_at: float  # fetch a new one from here on, when we can do so without blocking
    expires_at: float  # never hand it out from here on


@dataclass
class ClientSecretTokens:
    """OAuth client-credentials tokens for one app, cached per scope.

    The async path (`get`) renews a token five minutes before it expires; the blocking path (`get_blocking`, used
    by msrest's synchronous `signed_session`) keeps using it until 30 s before, so it rarely has to fetch.
    """

    app_id: str
    app_password: str = field(repr=False)
    token_url: str = DEFAULT_TOKEN_URL
    timeout: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _cache: dict[str, _CachedToken] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        check_token_url(self.token_url)

    def cached(self, scope: str, *, until_expiry: bool = False) -> str | None:
        with self._lock:
            entry = self._cache.get(scope)
        if entry is None:
            return None
        deadline = entry.expires_at if until_expiry else entry.refresh_at
        return entry.value if deadline > self.clock() else None

    async def get(self, scope: str) -> str:
        """The token for `scope`, fetched without blocking the event loop when the cache has none."""
        token = self.cached(scope)
        if token:
            return token
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as session,
            session.post(self.token_url, data=self._form(scope)) as response,
        ):
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
            return self._remember(scope, response.status, body)

    def get_blocking(self, scope: str, force_refresh: bool = False) -> str:
        """The token for `scope`; on a cache miss this blocks on `requests` (never call it on the event loop)."""
        token = None if force_refresh else self.cached(scope, until_expiry=True)
        if token:
            return token
        response = requests.post(self.token_url, data=self._form(scope), timeout=self.timeout)
        try:
            body = response.json()
        except ValueError:
            body = None
        return self._remember(scope, response.status_code, body)

    def invalidate(self, scope: str | None = None) -> None:
        with self._lock:
            if scope is None:
                self._cache.clear()
            else:
                self._cache.pop(scope, None)

    def _form(self, scope: str) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_id": self.app_id,
            "client_secret": self.app_password,
            "scope": scope if scope.endswith("/.default") else f"{scope}/.default",
        }

    def _remember(self, scope: str, status: int, body: Any) -> str:
        if status != 200 or not isinstance(body, dict) or not body.get("access_token"):
            error = body.get("error", "unknown_error") if isinstance(body, dict) else "unknown_error"
            description = body.get("error_description", "") if isinstance(body, dict) else ""
            raise PermissionError(f"token endpoint answered {status}: {error} {description}".rstrip())
        expires_in = float(body.get("expires_in") or 3600)
        now = self.clock()
        entry = _CachedToken(
            value=str(body["access_token"]),
            refresh_at=now + expires_in - min(300.0, expires_in / 2),
            expires_at=now + expires_in - min(30.0, expires_in / 4),
        )
        with self._lock:
            self._cache[scope] = entry
        return entry.value


class ClientSecretCredentials(AppCredentials):
    """msrest credentials for the connector client: a bearer token from `ClientSecretTokens`.

    msrest calls `signed_session` (and so `get_access_token`) synchronously on the event loop; the factory fetches
    the token asynchronously before handing these credentials out, so that call normally finds it cached.
    """

    def __init__(self, app_id: str, oauth_scope: str, tokens: ClientSecretTokens | None) -> None:
        super().__init__(app_id=app_id, oauth_scope=oauth_scope)
        self._tokens = tokens

    def get_access_token(self, force_refresh: bool = False) -> str:
        if self._tokens is None:
            return ""
        return self._tokens.get_blocking(self.oauth_scope, force_refresh)


class ClientSecretCredentialsFactory(ServiceClientCredentialsFactory):
    """botbuilder's `credentials_factory` with an app id, a secret and a token URL (BOTFRAMEWORK_TOKEN_URL).

    Replaces MSAL (which refuses plain-http authorities) and shares one token cache across connector clients: the
    stock factory builds a new MSAL app, and so fetches a new token, for every turn.
    """

    def __init__(
        self,
        app_id: str,
        app_password: str,
        *,
        token_url: str = DEFAULT_TOKEN_URL,
        default_scope: str = BOTFRAMEWORK_SCOPE,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app_id = app_id
        self.default_scope = default_scope
        self.tokens = (
            ClientSecretTokens(app_id, app_password, token_url=token_url, timeout=timeout, clock=clock)
            if app_id
            else None
        )

    async def is_valid_app_id(self, app_id: str) -> bool:
        return bool(self.app_id) and app_id == self.app_id

    async def is_authentication_disabled(self) -> bool:
        return not self.app_id

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> AppCredentials:
        # login_endpoint and validate_authority describe MSAL's authority; the token URL replaces both.
        if self.tokens is None:
            return ClientSecretCredentials("", oauth_scope or self.default_scope, None)
        if app_id != self.app_id:
            raise PermissionError(f"no credentials for app id {app_id!r}")
        scope = oauth_scope or self.default_scope
        await self.tokens.get(scope)
        return ClientSecretCredentials(app_id, scope, self.tokens)


def warm_openid_metadata(metadata_url: str) -> None:
    """Fetch the channel's signing keys into botbuilder's process-wide cache. Blocking: run it in an executor.

    botbuilder fetches them with `requests` (no timeout) inside `authenticate_request`, on the event loop, on the
    first request and again once a day; warming at start-up (and every few hours) keeps that off the request path.
    """
    from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor

    metadata = JwtTokenExtractor.get_open_id_metadata(metadata_url)
    # `_refresh` is a coroutine without awaits (blocking inside), so a private loop in this thread runs it.
    asyncio.run(metadata._refresh())
