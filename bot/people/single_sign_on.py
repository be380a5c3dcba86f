"""Single sign-on with OpenID Connect: who a provider (Entra ID, Slack...) says someone is, checked.

The authorisation code flow with PKCE (S256), state and nonce, as the relying party (`RelyingParty`):
`Attempt.new` makes the values one sign-in needs (kept by the browser in a signed cookie between the
redirect and the callback, see `adapters/web/oidc.py`), `authorization_url` sends the browser to the
provider, and `finish` turns the code it brings back into a person. `finish` spends the attempt's state
in the database first (a replay is refused even with an old cookie, on any replica), exchanges the code
at the token endpoint with the PKCE verifier and the client secret, verifies the ID token against the
issuer's published keys (signature, iss, aud, azp, exp, iat, nonce, at_hash) and matches the person by a
*verified* e-mail address (`email` with `email_verified: true`, or the claim `trust_email_claim` names,
for domains in `allowed_domains`). Each refusal is a `Refused` with a reason the web page is chosen by.

Authlib does the protocol (authorisation URL, PKCE challenge, the token request with the client's
authentication, the ID token's claims rules) and joserfc the signature; the discovery document and
the keys are cached per process (the keys fetched again when a token names a key we do not have).
See docs/decisions/0009-single-sign-on.md.
"""

from __future__ import annotations

import asyncio
import enum
import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.config import OidcSignIn, insecure_url
from bot.model import LoginToken
from bot.people.signin import EMAIL, EMAIL_MAX

log = logging.getLogger(__name__)

ATTEMPT_TTL = timedelta(minutes=10)  # from the redirect to the provider until the callback
LEEWAY = 60  # seconds of clock difference allowed with the provider (exp, iat)
DISCOVERY_TTL = timedelta(hours=1)
KEYS_TTL = timedelta(hours=24)
KEYS_REFETCH_AFTER = timedelta(seconds=60)  # a token naming an unknown key fetches the keys at most this often
HTTP_TIMEOUT = 10.0  # seconds for each call to the provider
# Only public-key signatures: an HS256 token would be checked with the client secret, which we never do.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
STATE_PREFIX = "oidc:"  # spent states share `login_tokens` with one-time links (both: a sign-in, usable once)


class Refusal(enum.StrEnum):
    """Why a sign-in was refused (logged; the web page is chosen by it)."""

    STATE = "state"  # no attempt with this state in the browser: missing, replayed, expired, another browser's
    PROVIDER_ERROR = "provider_error"  # the provider sent the browser back with `error=...`
    UNREACHABLE = "unreachable"  # the provider did not answer (network, 5xx)
    MISCONFIGURED = "misconfigured"  # its discovery document cannot be used (issuer mismatch, plain http...)
    EXCHANGE = "exchange"  # the token endpoint refused the code (PKCE verifier, client secret, a used code)
    VERIFICATION = "verification"  # the ID token failed verification (signature, audience, issuer, expiry, nonce)
    NO_EMAIL = "no_email"  # no e-mail address among the claims
    UNVERIFIED = "unverified"  # an address the provider does not vouch for
    DOMAIN = "domain"  # an address of a domain `allowed_domains` leaves out


class Refused(Exception):
    """A sign-in that must not happen; `detail` is for the log and never holds a token or an address."""

    def __init__(self, reason: Refusal, detail: str = "", *, domain: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.detail = detail
        self.domain = domain


@dataclass(frozen=True)
class Attempt:
    """One sign-in between the redirect to the provider and its callback: what only this browser may know."""

    state: str
    nonce: str
    verifier: str  # the PKCE code verifier; the provider gets its S256 hash
    next: str  # where to land afterwards (a same-site path)
    started: int  # seconds since the epoch

    @classmethod
    def new(cls, next_path: str, now: datetime) -> Attempt:
        """Fresh random values (state 43 characters, verifier 64: within RFC 7636's 43-128)."""
        return cls(state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32),
                   verifier=secrets.token_urlsafe(48), next=next_path, started=int(now.timestamp()))

    def expired(self, now: datetime) -> bool:
        """Started longer ago than ATTEMPT_TTL (or, by a wrong clock, in the future)."""
        age = now.timestamp() - self.started
        return not 0 <= age <= ATTEMPT_TTL.total_seconds()

    def matches(self, state: str) -> bool:
        """The callback's `state` is this attempt's (compared in constant time)."""
        return hmac.compare_digest(self.state.encode(), state.encode("utf-8", "replace"))


@dataclass(frozen=True)
class SignedIn:
    """Who the provider vouched for."""

    email: str
    name: str | None


class RelyingParty:
    """Zonedesk as the client of one OpenID provider."""

    def __init__(self, settings: OidcSignIn, client_secret: str, redirect_uri: str, clock: Clock,
                 sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.redirect_uri = redirect_uri
        self.clock = clock
        self.sessions = sessions
        self.http = AsyncOAuth2Client(settings.client_id, client_secret, scope=" ".join(settings.scopes),
                                      redirect_uri=redirect_uri, code_challenge_method="S256",
                                      timeout=HTTP_TIMEOUT)
        self._lock = asyncio.Lock()
        self._metadata: tuple[datetime, dict[str, Any]] | None = None
        self._keys: tuple[datetime, KeySet] | None = None

    async def close(self) -> None:
        """Close the connections to the provider."""
        await self.http.aclose()

    # ------------------------------------------------------------------ the flow
    async def authorization_url(self, attempt: Attempt) -> str:
        """Where to send the browser: the provider's authorisation endpoint with state, nonce and the PKCE
        challenge."""
        metadata = await self.metadata()
        url, _state = self.http.create_authorization_url(metadata["authorization_endpoint"], state=attempt.state,
                                                         code_verifier=attempt.verifier, nonce=attempt.nonce)
        return str(url)

    async def finish(self, attempt: Attempt, code: str) -> SignedIn:
        """The person a callback's `code` signs in; `Refused` says why not.

        The attempt (already matched to the callback's state) is spent first, so it works once."""
        if attempt.expired(self.clock.now()):
            raise Refused(Refusal.STATE, "the attempt expired")
        await self._spend(attempt)
        metadata = await self.metadata()
        tokens = await self._exchange(metadata, attempt, code)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise Refused(Refusal.VERIFICATION, "the token response has no id_token")
        access_token = tokens.get("access_token")
        claims = await self._verify(metadata, id_token, attempt.nonce,
                                    access_token if isinstance(access_token, str) else None)
        return self.person(claims)

    def person(self, claims: Mapping[str, Any]) -> SignedIn:
        """The person verified claims name: a verified address (or the trusted claim's), of an allowed domain."""
        trusted = self.settings.trust_email_claim
        email = claims.get("email")
        candidate: Any = None
        if claims.get("email_verified") in (True, "true"):
            candidate = email
        elif trusted == "preferred_username":
            candidate = claims.get("preferred_username")
        elif trusted == "email" and "email_verified" not in claims:  # an explicit `false` is never trusted
            candidate = email
        if candidate is None:
            offered = email or (claims.get("preferred_username") if trusted == "preferred_username" else None)
            raise Refused(Refusal.UNVERIFIED if offered else Refusal.NO_EMAIL, domain=_domain(offered))
        address = str(candidate).strip().lower()
        if len(address) > EMAIL_MAX or not EMAIL.match(address):
            raise Refused(Refusal.NO_EMAIL, "the claim is not an e-mail address")
        if not self.settings.domain_allowed(address):
            raise Refused(Refusal.DOMAIN, domain=_domain(address))
        name = claims.get("name")
        return SignedIn(address, (name.strip()[:200] or None) if isinstance(name, str) else None)

    # ------------------------------------------------------------------ the provider's documents
    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document, checked, cached for DISCOVERY_TTL."""
        now = self.clock.now()
        if self._metadata is not None and now - self._metadata[0] < DISCOVERY_TTL:
            return self._metadata[1]
        async with self._lock:
            if self._metadata is not None and now - self._metadata[0] < DISCOVERY_TTL:
                return self._metadata[1]
            issuer = self.settings.issuer
            document = await self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
            if document.get("issuer") != issuer:
                raise Refused(Refusal.MISCONFIGURED, "the discovery document names another issuer than app.yaml")
            for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                value = document.get(key)
                if not isinstance(value, str) or insecure_url(value) is not None:
                    raise Refused(Refusal.MISCONFIGURED, f"{key} is missing or not https")
            self._metadata = (now, document)
            return document

    async def _key_set(self, *, refresh: bool = False) -> KeySet:
        """The issuer's signing keys, cached for KEYS_TTL; `refresh` fetches them again (a key we do not
        know), at most once every KEYS_REFETCH_AFTER so a stream of bad tokens cannot hammer the provider."""
        now = self.clock.now()
        cached = self._keys
        if cached is not None and (now - cached[0] < KEYS_REFETCH_AFTER or
                                   (not refresh and now - cached[0] < KEYS_TTL)):
            return cached[1]
        async with self._lock:
            if self._keys is not cached and self._keys is not None:
                return self._keys[1]  # another sign-in fetched them meanwhile
            metadata = self._metadata[1] if self._metadata is not None else {}
            document = await self._get_json(str(metadata.get("jwks_uri") or ""))
            keys = document.get("keys")
            usable = [k for k in keys if isinstance(k, dict) and k.get("kty") in {"RSA", "EC", "OKP"}
                      and k.get("use", "sig") == "sig"] if isinstance(keys, list) else []
            try:
                key_set = KeySet.import_key_set({"keys": usable})
            except (JoseError, ValueError, TypeError) as exc:
                raise Refused(Refusal.MISCONFIGURED, f"the published keys cannot be read ({type(exc).__name__})"
                              ) from exc
            self._keys = (now, key_set)
            return key_set

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self.http.request("GET", url, withhold_token=True)
        except httpx2.HTTPError as exc:
            raise Refused(Refusal.UNREACHABLE, f"GET {_where(url)}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise Refused(Refusal.UNREACHABLE, f"GET {_where(url)}: HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError as exc:
            raise Refused(Refusal.MISCONFIGURED, f"GET {_where(url)}: not JSON") from exc
        if not isinstance(document, dict):
            raise Refused(Refusal.MISCONFIGURED, f"GET {_where(url)}: not a JSON object")
        return document

    # ------------------------------------------------------------------ the steps of `finish`
    async def _spend(self, attempt: Attempt) -> None:
        """Record the state as used, in the database: a second callback with it is refused on any replica."""
        now = self.clock.now()
        try:
            async with self.sessions() as session, session.begin():
                session.add(LoginToken(jti=STATE_PREFIX + attempt.state, email="", created_at=now,
                                       expires_at=datetime.fromtimestamp(attempt.started, now.tzinfo) + ATTEMPT_TTL,
                                       used_at=now))
        except IntegrityError as exc:
            raise Refused(Refusal.STATE, "the state was already used") from exc

    async def _exchange(self, metadata: dict[str, Any], attempt: Attempt, code: str) -> dict[str, Any]:
        """The token endpoint's answer for the code, sent with the PKCE verifier and the client's secret."""
        methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        method = next((m for m in ("client_secret_basic", "client_secret_post") if m in methods), None)
        if method is None:
            raise Refused(Refusal.MISCONFIGURED, "the token endpoint takes no client secret")
        try:
            tokens = await self.http.fetch_token(metadata["token_endpoint"], grant_type="authorization_code",
                                                 code=code, code_verifier=attempt.verifier,
                                                 redirect_uri=self.redirect_uri, auth=self.http.client_auth(method))
        except OAuthError as exc:
            raise Refused(Refusal.EXCHANGE, f"the token endpoint answered {_word(exc.error)}") from exc
        except httpx2.HTTPStatusError as exc:
            status = exc.response.status_code
            reason = Refusal.UNREACHABLE if status >= 500 else Refusal.EXCHANGE
            raise Refused(reason, f"the token endpoint answered HTTP {status}") from exc
        except httpx2.HTTPError as exc:
            raise Refused(Refusal.UNREACHABLE, f"the token endpoint: {type(exc).__name__}") from exc
        except ValueError as exc:
            raise Refused(Refusal.EXCHANGE, "the token endpoint answered no JSON object") from exc
        finally:
            self.http.token = None  # nothing of one person's tokens stays on the shared client
        return dict(tokens)

    async def _verify(self, metadata: dict[str, Any], id_token: str, nonce: str,
                      access_token: str | None) -> Mapping[str, Any]:
        """The ID token's claims once its signature (the issuer's keys) and claims (ours) hold."""
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in offered if a in SIGNING_ALGORITHMS]
        if not algorithms:
            raise Refused(Refusal.MISCONFIGURED, "the provider signs ID tokens with no public-key algorithm")
        settings = self.settings
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": settings.issuer},
            "aud": {"essential": True, "value": settings.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "nonce": {"essential": True, "value": nonce},
        }
        params = {"nonce": nonce, "client_id": settings.client_id, "access_token": access_token}
        try:
            try:
                token = jwt.decode(id_token, await self._key_set(), algorithms=algorithms)
            except InvalidKeyIdError:  # the provider may have rotated its keys: fetch them again, once
                token = jwt.decode(id_token, await self._key_set(refresh=True), algorithms=algorithms)
            claims = CodeIDToken(token.claims, token.header, options, params)
            claims.validate(now=int(self.clock.now().timestamp()), leeway=LEEWAY)
        except JoseError as exc:
            raise Refused(Refusal.VERIFICATION, f"{type(exc).__name__}: {exc.error}"
                          + (f" {exc.description}" if exc.description else "")) from exc
        return dict(claims)


def _domain(address: object) -> str | None:
    """The domain of an address, for logs (never the address itself)."""
    if not isinstance(address, str) or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].strip().lower()[:100] or None


def _where(url: str) -> str:
    """An address for the log: scheme, host and path, no query."""
    return url.split("?", 1)[0][:200]


def _word(value: object) -> str:
    """A protocol error code for the log (`invalid_grant`), or `?` when it is anything else."""
    text = str(value or "")
    return text if len(text) <= 40 and text.replace("_", "").isalnum() and text.isascii() else "?"
