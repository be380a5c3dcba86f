"""The requester's side of the web: sign-in and sign-out, choosing a zone, filing, and "My requests"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

from adapters.web.pages import Pager
from adapters.web.site import Site, Visit
from bot.config import Category, Zone
from bot.desk import WEB
from bot.errors import DeskError, Duplicate
from bot.i18n import _, speaking
from bot.people.languages import chosen
from bot.people.signin import SignIn


@dataclass(frozen=True)
class CategoryOption:
    """A category in a select, indented under its parent."""

    id: str
    name: str
    depth: int


def category_options(nodes: Sequence[Category], depth: int = 0) -> list[CategoryOption]:
    """A zone's category tree, flattened in reading order."""
    options = []
    for node in nodes:
        options.append(CategoryOption(node.id, node.name, depth))
        options += category_options(node.children, depth + 1)
    return options


def same_site(path: str) -> str:
    """`path` if it is an address on this site (`/requests?page=2`), else the front page: the chooser's
    `next` is posted by the browser, so it must not send anyone elsewhere (`//evil.example`, `https:...`)."""
    if not path.startswith("/") or path.startswith(("//", "/\\")) or any(c in path for c in "\r\n\\"):
        return "/"
    return path


class Portal:
    """Routes for requesters (everyone who is signed in)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        services = site.services
        self.signin = SignIn(services.sessions, services.clock, services.secret_key,
                             services.config.organisation.base_url)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Mount the portal's routes."""
        route = self.site.route
        router.add_get("/", route(self.home, anonymous_status=200))
        router.add_get(r"/login/{token}", route(self.confirm_sign_in, signed_in=False))
        router.add_post(r"/login/{token}", route(self.sign_in, signed_in=False))
        router.add_post("/logout", route(self.sign_out, signed_in=False))
        router.add_post("/language", route(self.choose_language))
        router.add_get(r"/new/{zone}", route(self.new_request))
        router.add_get("/requests", route(self.my_requests))
        router.add_post("/requests", route(self.file_request))

    # ------------------------------------------------------------------ signing in
    async def confirm_sign_in(self, visit: Visit) -> web.StreamResponse:
        """A sign-in link opens a page with one button; only the button's POST uses the link.

        Chat apps and mail scanners fetch links to preview them: a GET that signed in would spend
        the one-time link before its owner clicks it. Checking the link does not spend it, so a used or
        expired one is said at once, not after pressing the button.
        """
        token = visit.request.match_info["token"]
        try:
            await self.signin.check(token)
        except DeskError as exc:
            return self.site.sign_in_page(visit, 400, errors=(exc.message,))
        return self.site.page(visit, "login.html", token=token)

    async def sign_in(self, visit: Visit) -> web.StreamResponse:
        """Redeem the link and start a session with a new CSRF token."""
        try:
            email = await self.signin.redeem(visit.request.match_info["token"])
        except DeskError as exc:
            return self.site.sign_in_page(visit, 400, errors=(exc.message,))
        actor = self.site.desk.actor(email, channel="web")
        visit.session = self.site.codec.fresh(actor.email)
        with speaking(await self.site.language(visit.request, actor.email)):  # theirs, now that they are known
            visit.session.flash(_("Signed in as {name}.", name=actor.name))
        return self.site.redirect("/desk" if actor.is_staff else "/")

    async def choose_language(self, visit: Visit) -> web.StreamResponse:
        """Save the language the footer's chooser names and go back to the page it was on."""
        back = same_site(visit.field("next"))
        try:
            code = await self.site.desk.choose_language(visit.user.email, visit.field("language"))
        except DeskError as exc:
            visit.session.flash(exc.message, "error")
            return self.site.redirect(back)
        visit.session.flash(chosen(code))  # already in the language chosen
        return self.site.redirect(back)

    async def sign_out(self, visit: Visit) -> web.StreamResponse:
        """End the session (a new anonymous one replaces it)."""
        visit.session = self.site.codec.fresh()
        with speaking(self.site.unsaved_language(visit.request, None)):  # the next page is an anonymous one
            visit.session.flash(_("You are signed out."))
        return self.site.redirect("/")

    # ------------------------------------------------------------------ filing
    async def home(self, visit: Visit) -> web.StreamResponse:
        """Choose the zone to ask, and see one's open requests."""
        mine = await self.site.desk.list_requests(visit.user, scope="mine", status="open", limit=10)
        forms = sorted((f.localised() for f in self.site.services.catalog.forms.values()), key=lambda f: f.title)
        return self.site.page(visit, "home.html", zones=self.site.desk.filing_zones(), mine=mine, forms=forms)

    async def new_request(self, visit: Visit) -> web.StreamResponse:
        """The form to file a request in one zone, with that zone's own categories."""
        zone = self.site.config.zone(visit.request.match_info["zone"])
        if zone is None:
            word = self.site.config.organisation.zone_noun
            return self.site.problem(visit, 404, _("Not found"),
                                     _("There is no such {zone}. Choose one on the front page.", zone=word))
        return self._form(visit, zone, {})

    def _form(self, visit: Visit, zone: Zone | None, typed: dict[str, str], status: int = 200,
              errors: tuple[str, ...] = ()) -> web.Response:
        priority = self.site.config.priority
        return self.site.page(
            visit, "new_request.html", status, errors=errors, zone=zone, zones=self.site.desk.filing_zones(),
            categories=category_options(zone.categories) if zone else [], urgencies=list(priority.matrix),
            typed={"urgency": priority.default, **typed},
        )

    async def file_request(self, visit: Visit) -> web.StreamResponse:
        """File from the form; a refusal shows the desk's message over the form as it was typed."""
        typed = {k: visit.field(k) for k in ("zone", "category", "urgency", "title", "description")}
        try:
            filed = await self.site.desk.file_request(
                visit.user, WEB, typed["title"], typed["description"], zone_id=typed["zone"] or None,
                category_id=typed["category"] or None, urgency=typed["urgency"] or None,
                dedupe_key=visit.dedupe_key())
        except Duplicate:
            visit.session.flash(_("That request was already filed."))
            return self.site.redirect("/requests")
        except DeskError as exc:
            zone = self.site.config.zone(typed["zone"])
            return self._form(visit, zone, typed, 400, (exc.message,))
        visit.session.flash(_("Request #{number} is filed with {zone}. You can follow it and answer here.",
                              number=filed.number, zone=filed.zone_name))
        return self.site.redirect(f"/requests/{filed.number}")

    async def my_requests(self, visit: Visit) -> web.StreamResponse:
        """Every request the person filed (or that was filed for them), newest activity first."""
        pager = Pager.of(visit.request.path, visit.request.query, "page",
                         await self.site.desk.count_requests(visit.user, scope="mine"))
        mine = await self.site.desk.list_requests(visit.user, scope="mine", limit=pager.size, offset=pager.offset)
        return self.site.page(visit, "my_requests.html", mine=mine, pager=pager, zone_names=self.zone_names())

    def zone_names(self) -> dict[str, str]:
        """Zone ids to names, for lists."""
        return {z.id: z.name for z in self.site.config.zones}
