"""What every web page shares: the visit (session, signed-in actor, posted form), CSRF, errors, rendering.

Each route handler is wrapped once by `Site.route`: it reads the session, refuses a POST whose CSRF
token is missing or wrong (403, nothing changes), shows the sign-in page to anonymous visitors of
private pages, turns `NotFound` into the 404 page and any unexpected error into a 500 page with a
reference, writes the session cookie back when it changed, and adds the security headers.
`Site.error_pages` does the same for what never reaches a handler: an unknown address or a bad path
parameter (404), a wrong method (405), a body too large (413).

Everything done for a visit is said in its language (`Site.language`, spoken with `bot.i18n.speaking`
around the handler), so the core's refusals, the flash messages and the error pages read in it.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler as RequestHandler
from aiohttp.typedefs import Middleware
from aiohttp.web_request import FileField
from multidict import MultiDictProxy

from adapters.web.pages import STATIC, Pages, add_security_headers
from adapters.web.sessions import Session, SessionCodec
from bot.access import Actor
from bot.desk.approvals import approves
from bot.errors import NotFound
from bot.i18n import LANGUAGES, N_, _, negotiate, speaking
from bot.people.languages import language_for
from bot.server import UNAVAILABLE_TEXT, Services
from bot.store import unavailable

log = logging.getLogger(__name__)

ONCE_MAX = 64


@dataclass
class Visit:
    """One browser request: its session, who is signed in (if anyone), and the posted form."""

    request: web.Request
    session: Session
    actor: Actor | None
    form: dict[str, str] = field(default_factory=dict)
    approves: bool = False  # the navigation offers Approvals (bot.desk.approvals.approves)
    language: str = "en"  # the visit's language (`Site.language`), the page's `<html lang>`

    @property
    def user(self) -> Actor:
        """The signed-in actor (routes marked `signed_in` only run with one)."""
        assert self.actor is not None
        return self.actor

    def field(self, name: str) -> str:
        """A posted field, '' when absent."""
        return self.form.get(name, "")

    def dedupe_key(self) -> str | None:
        """The form's one-time key, so a double submit is done once (`Desk.transaction(dedupe_key=...)`)."""
        once = self.field("once")
        if not once or len(once) > ONCE_MAX:
            return None
        return f"web:{self.user.email}:{once}"


Handler = Callable[[Visit], Awaitable[web.StreamResponse]]

# The pages for HTTP errors raised before or around a page handler, in the reader's terms.
HTTP_PROBLEMS = {
    400: (N_("Bad request"),
          N_("Zonedesk could not read what your browser sent. Go back, reload the page and try again.")),
    404: (N_("Not found"),
          N_("There is no page at this address. Check the link, or start again from the front page.")),
    405: (N_("Not possible here"), N_("This address does not take a {method} request. Open it as a link, or go "
                                      "back to the page you came from.")),
    413: (N_("Too large"), N_("What you sent is larger than Zonedesk accepts, so nothing was saved. Shorten it "
                              "and try again.")),
}
GENERIC_PROBLEM = N_("Zonedesk could not answer this request ({status} {reason}). Go back and try again.")


class Site:
    """The services, the session cookie and the page renderer, shared by every route."""

    def __init__(self, services: Services) -> None:
        config = services.config
        self.services = services
        self.desk = services.desk
        self.config = config
        calendar = config.calendars.get("default") or next(iter(config.calendars.values()), None)
        self.pages = Pages(config.organisation.name, calendar.timezone if calendar else "UTC")
        self.pages.env.globals["once"] = lambda: secrets.token_urlsafe(12)
        self.codec = SessionCodec(services.secret_key, services.clock,
                                  secure=config.organisation.base_url.startswith("https://"))

    # ------------------------------------------------------------------ rendering
    def page(self, visit: Visit, template: str, status: int = 200, *, errors: tuple[str, ...] = (),
             **context: object) -> web.Response:
        """A page with the header (who is signed in, sign-out form) and the waiting flash messages."""
        flashes = visit.session.take_flashes() + [("error", e) for e in errors]
        # The chooser brings the browser back here; a page rendered for a POST goes back to the front page.
        here = visit.request.path_qs if visit.request.method == "GET" else "/"
        # The navigation offers Analytics to whoever has figures to read (a zone's manager, a team's agent).
        analytics = visit.actor is not None and bool(self.desk.policy.analytics_scope(visit.actor))
        return self.pages.render(template, status, user=visit.actor, csrf=visit.session.csrf, flashes=flashes,
                                 approves=visit.approves, analytics=analytics, language=visit.language,
                                 languages=LANGUAGES, here=here, **context)

    async def language(self, request: web.Request, email: str | None) -> str:
        """The visit's language: the person's saved choice, their `people[].language`, the browser's
        `Accept-Language`, the organisation's. Signing in saves nothing, so a browser's header keeps
        deciding for anyone who never chose; it is also remembered (`Unit.hint`) so what the desk sends
        them later (a reply, a reminder) follows it."""
        browser = negotiate(request.headers.get("Accept-Language"))
        if not email:
            return self.unsaved_language(request, email)
        choice = await self.desk.saved_choice(email)
        if choice is None:  # remembered for messages to them later (a reminder, an answer), never saved
            self.desk.hint(email, browser)
        return language_for(self.config, email, choice, hint=browser).language

    def problem(self, visit: Visit, status: int, title: str, message: str) -> web.Response:
        """An error page (404, 403, 500) that says what happened in the reader's terms."""
        return self.page(visit, "problem.html", status, title=title, message=message)

    def sign_in_page(self, visit: Visit, status: int = 401, *, errors: tuple[str, ...] = ()) -> web.Response:
        """How to get a sign-in link."""
        return self.page(visit, "signin.html", status, errors=errors)

    @staticmethod
    def redirect(location: str) -> web.Response:
        """See other: after a successful POST, the browser loads the page again with GET."""
        return web.Response(status=303, headers={"Location": location})

    # ------------------------------------------------------------------ the wrapper
    def route(self, handler: Handler, *, signed_in: bool = True,
              anonymous_status: int = 401) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """An aiohttp handler around a page handler (see the module's docstring)."""

        async def serve(request: web.Request) -> web.StreamResponse:
            session = self.codec.read(request)
            actor = self.desk.actor(session.email, channel="web") if session.email else None
            visit = Visit(request, session, actor)
            visit.language = self.unsaved_language(request, session.email)  # until the saved choice is read
            response: web.StreamResponse
            try:
                visit.language = await self.language(request, session.email)
                # Everything done for this person speaks their language: the core's DeskErrors, the flashes.
                with speaking(visit.language):
                    response = await self._serve(visit, handler, signed_in=signed_in,
                                                 anonymous_status=anonymous_status)
            except NotFound as exc:
                with speaking(visit.language):
                    response = self.problem(visit, 404, _("Not found"), exc.message)
            except web.HTTPException:
                raise
            except Exception as exc:
                with speaking(visit.language):
                    response = self.failure(visit, request, exc)
            return self._finish(visit, response)

        return serve

    async def _serve(self, visit: Visit, handler: Handler, *, signed_in: bool,
                     anonymous_status: int) -> web.StreamResponse:
        """The page for a visit whose language is known: the form read and its token checked, then the handler."""
        request = visit.request
        if request.method == "POST":
            posted = await self._posted(request)
            visit.form = {k: v for k, v in posted.items() if isinstance(v, str)}
        if request.method == "POST" and not visit.session.csrf_matches(visit.form.get("csrf")):
            return self.problem(visit, 403, _("This form has expired"),
                                _("The form did not carry this browser's security token, so nothing was changed. "
                                  "Go back, reload the page and try again."))
        if signed_in and visit.actor is None:
            return self.sign_in_page(visit, anonymous_status)
        visit.approves = visit.actor is not None and await approves(self.services.desk, visit.actor)
        return await handler(visit)

    def _finish(self, visit: Visit, response: web.StreamResponse) -> web.StreamResponse:
        """Every page's last step: the session cookie if it changed, and the security headers."""
        if visit.session.changed:
            self.codec.write(response, visit.session)
        add_security_headers(response)
        return response

    def failure(self, visit: Visit, request: web.Request, exc: Exception) -> web.Response:
        """The page for an error nobody planned: the database being away is said as such, and nothing was saved."""
        if unavailable(exc):
            self.services.outage.seen(exc)
            response = self.problem(visit, 503, _("Zonedesk is briefly unavailable"), _(UNAVAILABLE_TEXT))
            response.headers["Retry-After"] = "5"
            return response
        reference = uuid.uuid4().hex[:8]
        log.exception("web: unexpected error on %s %s (ref %s)", request.method,
                      request.match_info.route.resource.canonical if request.match_info.route.resource
                      else request.path, reference)
        return self.problem(visit, 500, _("Something went wrong"),
                            _("Something went wrong on our side. Nothing you need to do now; if it happens again, "
                              "tell your administrator the reference {reference}.", reference=reference))

    # ------------------------------------------------------------------ errors outside any page
    def error_pages(self) -> Middleware:
        """The app middleware that answers what never reaches a page handler with the product's own page.

        An unknown address or a path parameter of the wrong shape (`/requests/abc`: the routes only match
        digits) is the router's 404, a wrong method its 405, a body too large aiohttp's 413; a browser
        would see aiohttp's bare "404: Not Found". Errors of Slack's and Teams' endpoints are responses,
        not exceptions, so they pass as they are; an unexpected failure outside `route` becomes the 500
        or 503 page for a browser and is left to the server's JSON answer for anything else.
        """

        @web.middleware
        async def error_pages(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
            try:
                if self._static_missing(request):
                    raise web.HTTPNotFound()
                return await handler(request)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                visit = self._visit(request)
                with speaking(visit.language):
                    known = HTTP_PROBLEMS.get(exc.status)
                    title = _(known[0]) if known else exc.reason  # another status keeps HTTP's own reason
                    message = _(known[1] if known else GENERIC_PROBLEM, method=request.method, status=exc.status,
                                reason=exc.reason)
                    response = self.problem(visit, exc.status, title, message)
                for name in ("Allow", "Retry-After"):  # a 405 says which methods the address takes
                    if name in exc.headers:
                        response.headers[name] = exc.headers[name]
            except Exception as exc:
                if "text/html" not in request.headers.get("Accept", ""):
                    raise
                visit = self._visit(request)
                with speaking(visit.language):
                    response = self.failure(visit, request, exc)
            return self._finish(visit, response)

        return error_pages

    @staticmethod
    async def _posted(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | FileField]:
        """The posted form; a body that is no form (a cut multipart, an unknown charset) is the 400 page."""
        try:
            return await request.post()
        except (ValueError, LookupError) as exc:  # UnicodeDecodeError is a ValueError
            raise web.HTTPBadRequest() from exc

    def _static_missing(self, request: web.Request) -> bool:
        """A stylesheet address naming no file: aiohttp's FileResponse would answer an empty 404 only later."""
        if not request.path.startswith("/static/"):
            return False
        found = (STATIC / request.match_info.get("filename", "")).resolve()
        return not (found.is_file() and STATIC.resolve() in found.parents)

    def _visit(self, request: web.Request) -> Visit:
        session = self.codec.read(request)
        visit = Visit(request, session, self.desk.actor(session.email, channel="web") if session.email else None)
        # No database read here: this visit may be the page saying the database is away.
        visit.language = self.unsaved_language(request, session.email)
        return visit

    def unsaved_language(self, request: web.Request, email: str | None) -> str:
        """The visit's language before (or without) reading the person's saved choice."""
        return language_for(self.config, email, None, hint=negotiate(request.headers.get("Accept-Language"))).language
