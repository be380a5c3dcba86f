"""A fake OpenID provider (Entra ID, Slack...): a real aiohttp server on an ephemeral port.

It serves what a relying party reads: the discovery document, the JWKS (an RSA key generated at start),
the authorisation endpoint (which signs in `provider.user` at once and redirects back with a code) and
the token endpoint (which checks the client's secret, the redirect URI, the PKCE verifier against the
challenge, and that a code is used once, then returns an ID token signed with its key). Everything it
is asked is recorded. Its switches make it misbehave the ways a relying party must notice:

- `sign_with="rogue"`: the ID token is signed by a key it does not publish, under the published `kid`
  (`rogue_kid=True`: under a `kid` of its own, which sends the relying party to fetch the keys again);
- `audience=...`, `issuer=...`, `nonce=...`: the token names another client, issuer or nonce;
- `expires_in=-600`: the token expired ten minutes ago;
- `user={"email_verified": False, ...}` or without `email_verified` (Entra ID's shape): see the tests;
- `deny="access_denied"`: the browser comes back with `error=access_denied` instead of a code;
- `token_status=500`: the token endpoint fails;
- `rotate_key()`: a new signing key replaces the published one.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import unquote_plus, urlencode

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "zonedesk-test-client"
CLIENT_SECRET = "fake-oidc-client-secret-0123456789"


def new_key() -> RSAKey:
    """A fresh RSA signing key with a key id."""
    return RSAKey.generate_key(2048, parameters={"kid": f"k-{secrets.token_hex(4)}", "use": "sig", "alg": "RS256"})


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636, computed here independently of Authlib)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@dataclass
class Grant:
    """A code the authorisation endpoint issued, with what it was issued for."""

    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str | None
    method: str | None
    claims: dict[str, Any]
    used: bool = False


@dataclass
class Seen:
    """One request as the fake saw it."""

    path: str
    params: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)


class FakeOidcProvider:
    """An OpenID provider for one registered client; `async with FakeOidcProvider(...) as provider`."""

    def __init__(self, *, now: Callable[[], float] = time.time, client_id: str = CLIENT_ID,
                 client_secret: str = CLIENT_SECRET,
                 auth_methods: tuple[str, ...] = ("client_secret_basic", "client_secret_post")) -> None:
        self.now = now
        self.client_id = client_id
        self.client_secret = client_secret
        self.auth_methods = auth_methods
        self.redirect_uris: set[str] = set()  # registered; empty: any (the test registers its server's)
        self.key = new_key()
        self.rogue = new_key()
        self.user: dict[str, Any] = {"sub": "user-1", "email": "zack@nordlys.example", "email_verified": True,
                                     "name": "Zack McKinnon"}
        # Misbehaviour switches (see the module's docstring).
        self.sign_with = "good"
        self.rogue_kid = False
        self.audience: str | list[str] | None = None
        self.issuer_claim: str | None = None
        self.nonce: str | None = None
        self.expires_in = 300
        self.deny: str | None = None
        self.token_status: int | None = None
        self.grants: dict[str, Grant] = {}
        self.seen: list[Seen] = []
        self.redirects: list[str] = []  # every Location the authorisation endpoint sent the browser to
        self.issuer = ""
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> str:
        """Serve on 127.0.0.1, an ephemeral port; returns the issuer URL."""
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/jwks", self._jwks)
        app.router.add_get("/authorize", self._authorize)
        app.router.add_post("/token", self._token)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.issuer = f"http://{host}:{port}"
        return self.issuer

    async def close(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def rotate_key(self) -> None:
        """Publish a new signing key in place of the old one, and sign with it."""
        self.key = new_key()

    def called(self, path: str) -> list[Seen]:
        """The requests made to one path."""
        return [s for s in self.seen if s.path == path]

    # ------------------------------------------------------------------ endpoints
    def _record(self, request: web.Request, params: dict[str, str]) -> None:
        self.seen.append(Seen(request.path, params, dict(request.headers)))

    async def _discovery(self, request: web.Request) -> web.Response:
        self._record(request, dict(request.query))
        return web.json_response({
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": list(self.auth_methods),
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "email", "email_verified", "name", "preferred_username"],
        })

    async def _jwks(self, request: web.Request) -> web.Response:
        self._record(request, {})
        return web.json_response(KeySet([self.key]).as_dict(private=False))

    async def _authorize(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self._record(request, query)
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or (self.redirect_uris and redirect_uri not in self.redirect_uris):
            return web.Response(status=400, text="unknown client or redirect_uri")  # never redirect then
        back: dict[str, str] = {"state": query["state"]} if "state" in query else {}
        if self.deny:
            back = {"error": self.deny, "error_description": "The user said no.", **back}
        elif query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            back = {"error": "invalid_request", **back}
        elif query.get("code_challenge") and query.get("code_challenge_method") != "S256":
            back = {"error": "invalid_request", "error_description": "only S256", **back}
        else:
            code = secrets.token_urlsafe(24)
            self.grants[code] = Grant(self.client_id, redirect_uri, query.get("nonce"), query.get("code_challenge"),
                                      query.get("code_challenge_method"), dict(self.user))
            back = {"code": code, **back}
        location = f"{redirect_uri}?{urlencode(back)}"
        self.redirects.append(location)
        raise web.HTTPFound(location)

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        self._record(request, form)
        if self.token_status is not None:
            return web.Response(status=self.token_status, text="the provider is unwell")
        client_id, secret = self._client(request, form)
        if client_id != self.client_id or not secrets.compare_digest(secret, self.client_secret):
            return self._error("invalid_client", 401)
        grant = self.grants.get(form.get("code", ""))
        if form.get("grant_type") != "authorization_code" or grant is None or grant.used:
            return self._error("invalid_grant")
        grant.used = True  # a code works once, even when the exchange below fails
        if form.get("redirect_uri") != grant.redirect_uri:
            return self._error("invalid_grant")
        verifier = form.get("code_verifier")
        if grant.challenge is None:
            if verifier is not None:  # RFC 9700: a verifier for a code issued without a challenge is refused
                return self._error("invalid_grant")
        elif verifier is None or s256(verifier) != grant.challenge:
            return self._error("invalid_grant")
        access_token = secrets.token_urlsafe(24)
        return web.json_response({"access_token": access_token, "token_type": "Bearer", "expires_in": 3600,
                                  "scope": "openid email profile", "id_token": self.id_token(grant)},
                                 headers={"Cache-Control": "no-store"})

    def _client(self, request: web.Request, form: dict[str, str]) -> tuple[str, str]:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic ") and "client_secret_basic" in self.auth_methods:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return unquote_plus(user), unquote_plus(password)
        if "client_secret" in form and "client_secret_post" in self.auth_methods:
            return form.get("client_id", ""), form["client_secret"]
        return "", ""

    @staticmethod
    def _error(error: str, status: int = 400) -> web.Response:
        return web.json_response({"error": error}, status=status)

    # ------------------------------------------------------------------ tokens
    def id_token(self, grant: Grant) -> str:
        """The ID token for a grant, shaped (or bent) by the switches."""
        issued = int(self.now())
        claims: dict[str, Any] = {
            "iss": self.issuer_claim or self.issuer,
            "aud": self.audience if self.audience is not None else grant.client_id,
            "iat": issued,
            "exp": issued + self.expires_in,
            **grant.claims,
        }
        nonce = self.nonce if self.nonce is not None else grant.nonce
        if nonce is not None:
            claims["nonce"] = nonce
        key = self.key if self.sign_with == "good" else self.rogue
        kid = key.kid if self.sign_with == "good" or self.rogue_kid else self.key.kid
        return jwt.encode({"alg": "RS256", "kid": kid, "typ": "JWT"}, claims, key)
