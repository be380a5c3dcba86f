"""Single sign-on on the web: "Sign in with Microsoft" (or Slack...) through OpenID Connect.

`GET /auth/oidc/start?next=PATH` sends the browser to the provider; `GET /auth/oidc/callback` is where it
comes back. Between the two, the browser keeps the attempt (state, nonce, PKCE verifier, where to land)
in a signed cookie of its own, `zonedesk_oidc`, sent only to `/auth/oidc/` and living ten minutes; the
callback takes its attempt out of it, so the same callback cannot be used twice in one browser, and
`bot.people.single_sign_on` records the state as spent in the database, so it cannot be used again with
an old copy of the cookie either. A successful sign-in starts the web session exactly as a one-time link
does (`adapters.web.portal.start_session`); every refusal is the product's own page in the visitor's
language, and the log says why (never a token or an address, at most its domain).

Mounted when `app.yaml` has `sign_in.oidc` and the environment holds the secret it names.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer

from adapters.web.portal import same_site, start_session
from adapters.web.sessions import ClockSigner
from adapters.web.site import Site, Visit
from bot.config import OidcSignIn
from bot.i18n import N_, _
from bot.people.single_sign_on import ATTEMPT_TTL, Attempt, Refusal, Refused, RelyingParty

log = logging.getLogger(__name__)

COOKIE = "zonedesk_oidc"
COOKIE_PATH = "/auth/oidc/"
START = "/auth/oidc/start"
CALLBACK = "/auth/oidc/callback"
ATTEMPTS_KEPT = 3  # sign-ins started in several tabs at once each still finish
CODE_MAX = 4096
LANDING_MAX = 500  # the page to land on rides in the attempt cookie, which must stay well under 4 KB
# What the operator must look at, rather than the person signing in.
_OPERATOR_REASONS = {Refusal.UNREACHABLE, Refusal.MISCONFIGURED}


def single_sign_on(site: Site, env: Mapping[str, str]) -> SingleSignOn | None:
    """The single sign-on of `app.yaml`'s `sign_in.oidc`, or None when there is none or its secret is not set
    (then the server says so in one line, as for a chat channel without its secrets)."""
    settings = site.config.sign_in.oidc
    if settings is None:
        return None
    secret = env.get(settings.client_secret_env)
    if not secret:
        log.warning("single sign-on: %s is not set, so signing in with %s is off (see README: single sign-on)",
                    settings.client_secret_env, settings.label)
        return None
    return SingleSignOn(site, settings, secret)


class AttemptCookie:
    """The browser's sign-ins in progress, in a signed cookie that only the `/auth/oidc/` addresses see."""

    def __init__(self, site: Site) -> None:
        services = site.services
        self.secure = site.codec.secure
        self.serializer = URLSafeTimedSerializer(services.secret_key, salt="zonedesk-oidc", signer=ClockSigner,
                                                 signer_kwargs={"clock": services.clock})

    def read(self, request: web.Request) -> list[Attempt]:
        """The attempts this browser started in the last ten minutes (none when the cookie is forged or old)."""
        raw = request.cookies.get(COOKIE)
        if not raw:
            return []
        try:
            data = self.serializer.loads(raw, max_age=int(ATTEMPT_TTL.total_seconds()))
        except BadSignature:
            return []
        attempts = []
        for item in data if isinstance(data, list) else []:
            if isinstance(item, list) and len(item) == 5 and all(isinstance(v, str) for v in item[:4]) \
                    and isinstance(item[4], int):
                attempts.append(Attempt(*item))
        return attempts[-ATTEMPTS_KEPT:]

    def write(self, response: web.StreamResponse, attempts: list[Attempt]) -> None:
        """Keep these attempts (the newest few), or remove the cookie when none is left."""
        if not attempts:
            response.del_cookie(COOKIE, path=COOKIE_PATH)
            return
        value = self.serializer.dumps([[a.state, a.nonce, a.verifier, a.next, a.started]
                                       for a in attempts[-ATTEMPTS_KEPT:]])
        response.set_cookie(COOKIE, value, max_age=int(ATTEMPT_TTL.total_seconds()), path=COOKIE_PATH,
                            httponly=True, samesite="Lax", secure=self.secure)


class SingleSignOn:
    """The two routes of signing in with the configured OpenID provider."""

    def __init__(self, site: Site, settings: OidcSignIn, client_secret: str) -> None:
        self.site = site
        self.settings = settings
        services = site.services
        redirect_uri = services.config.organisation.base_url.rstrip("/") + CALLBACK
        self.party = RelyingParty(settings, client_secret, redirect_uri, services.clock, services.sessions)
        self.cookie = AttemptCookie(site)

    @property
    def label(self) -> str:
        """The provider as the sign-in button names it ("Microsoft")."""
        return self.settings.label

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Mount the start and callback routes."""
        router.add_get(START, self.site.route(self.start, signed_in=False))
        router.add_get(CALLBACK, self.site.route(self.callback, signed_in=False))

    async def close(self, _app: web.Application) -> None:
        """Close the connections to the provider when the server stops."""
        await self.party.close()

    async def start(self, visit: Visit) -> web.StreamResponse:
        """Send the browser to the provider, keeping the new attempt beside the ones already under way."""
        attempt = Attempt.new(landing(visit.request.query.get("next")) or "", self.site.services.clock.now())
        try:
            url = await self.party.authorization_url(attempt)
        except Refused as exc:
            return self.refused(visit, exc)
        response = self.site.redirect(url)
        self.cookie.write(response, [*self.cookie.read(visit.request), attempt])
        return response

    async def callback(self, visit: Visit) -> web.StreamResponse:
        """Back from the provider: the attempt this browser started (taken out of its cookie, whatever comes
        of it), the code exchanged and the ID token verified, then the session, or a page saying why not."""
        query = visit.request.query
        attempts = self.cookie.read(visit.request)
        state = query.get("state", "")
        attempt = next((a for a in attempts if state and a.matches(state)), None)
        response: web.StreamResponse
        try:
            if "error" in query:
                raise Refused(Refusal.PROVIDER_ERROR, _word(query["error"]))
            if attempt is None:
                raise Refused(Refusal.STATE, "a state this browser did not start" if state else "no state")
            code = query.get("code", "")
            if not code or len(code) > CODE_MAX:
                raise Refused(Refusal.EXCHANGE, "no usable code")
            person = await self.party.finish(attempt, code)
        except Refused as exc:
            response = self.refused(visit, exc)
        else:
            log.info("web: signed in with %s (domain %s)", self.settings.label, person.email.rsplit("@", 1)[1])
            response = await start_session(self.site, visit, person.email, attempt.next or None, name=person.name)
        self.cookie.write(response, [a for a in attempts if a is not attempt])
        return response

    def refused(self, visit: Visit, exc: Refused) -> web.Response:
        """The page for a sign-in that did not happen, in the visitor's language; the reason goes to the log."""
        level = logging.WARNING if exc.reason in _OPERATOR_REASONS else logging.INFO
        log.log(level, "web: single sign-on refused (%s): %s%s", exc.reason, exc.detail or "-",
                f" (domain {exc.domain})" if exc.domain else "")
        provider = self.settings.label
        key: Refusal | str = "access_denied" if exc.reason is Refusal.PROVIDER_ERROR and \
            exc.detail == "access_denied" else exc.reason
        status, words = _REFUSED.get(key, (400, ""))
        message = _(words, provider=provider, error=exc.detail or "", domain=exc.domain or "?") if words else ""
        return self.site.problem(visit, status, _("Not signed in"), message)


# The page for each reason a sign-in was refused: its status and its words (`{provider}`, and `{error}` or
# `{domain}` where the reason has one). The provider saying "access_denied" is the person cancelling.
_REFUSED: dict[Refusal | str, tuple[int, str]] = {
    Refusal.STATE: (400, N_("This sign-in was already used, has expired, or was started in another browser, so "
                            "you were not signed in. Start again from the sign-in page.")),
    "access_denied": (403, N_("{provider} did not sign you in (perhaps you cancelled). Start again from the "
                              "sign-in page when you are ready.")),
    Refusal.PROVIDER_ERROR: (400, N_("{provider} could not sign you in ({error}). Start again from the sign-in "
                                     "page; if it keeps happening, tell your administrator.")),
    Refusal.UNREACHABLE: (502, N_("{provider} cannot be reached right now, so you were not signed in. Try again "
                                  "in a minute, or sign in with a one-time link.")),
    Refusal.MISCONFIGURED: (502, N_("Signing in with {provider} is not set up correctly, so you were not signed "
                                    "in. Tell your administrator; meanwhile, sign in with a one-time link.")),
    Refusal.EXCHANGE: (400, N_("{provider} did not confirm this sign-in, so you were not signed in. Start again "
                               "from the sign-in page; if it keeps happening, tell your administrator.")),
    Refusal.VERIFICATION: (400, N_("Zonedesk could not verify what {provider} sent, so you were not signed in. "
                                   "Start again from the sign-in page; if it keeps happening, tell your "
                                   "administrator.")),
    Refusal.NO_EMAIL: (403, N_("{provider} did not tell Zonedesk your e-mail address, so it cannot tell who you "
                               "are. Ask your administrator, or sign in with a one-time link.")),
    Refusal.UNVERIFIED: (403, N_("{provider} has not verified your e-mail address, so Zonedesk cannot tell who "
                                 "you are. Verify it with {provider}, or sign in with a one-time link.")),
    Refusal.DOMAIN: (403, N_("Addresses at {domain} cannot sign in to this desk with {provider}. Sign in with "
                             "your organisation's account.")),
}


def landing(path: str | None) -> str | None:
    """Where to land after signing in: a page of this site that is not part of signing in or out; None for
    the default (the desk for staff, the portal for everyone else)."""
    page = same_site(path or "")
    bare = page.split("?", 1)[0]
    if len(page) > LANDING_MAX or bare == "/" or bare.startswith(("/login", "/logout", "/auth/")):
        return None
    return page


def _word(value: str) -> str:
    """A provider's error code as it may be shown and logged (`access_denied`), else `error`."""
    return value if 0 < len(value) <= 40 and value.replace("_", "").isalnum() and value.isascii() else "error"
