"""The requester's side of the web: sign-in and sign-out, choosing a zone, filing, and "My requests".

Signing in: a one-time link (`bot.people.signin`) opens a page whose button redeems it and lands on the
page the link names (a request's, when it came from a request message or `/desk web 42`), else the desk
for staff and the portal for everyone else. The sign-in page, shown to anyone signed out, offers "send
me a sign-in link" when a chat channel is live: the link goes to the person's direct messages there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web
from babel.lists import format_list

from adapters.web.pages import Pager
from adapters.web.site import Site, Visit
from bot.config import Category, Zone
from bot.desk import WEB
from bot.desk.behalf import requester_for
from bot.errors import DeskError, Duplicate
from bot.i18n import _, current, speaking
from bot.people.languages import chosen
from bot.people.signin import Asked, SignIn, landing_path
from bot.people.signin import same_site as on_this_site

log = logging.getLogger(__name__)

# The chat channels a sign-in link can be sent through, as people call them (product names: not translated).
CHATS = {"slack": "Slack", "teams": "Teams"}
MAIL_LINK = "mail_link"  # `Services.extras`: the e-mail channel's mailer for "e-mail me a link" (adapters/email)


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
    return on_this_site(path) or "/"


async def start_session(site: Site, visit: Visit, email: str, landing: str | None = None, *,
                        name: str | None = None) -> web.Response:
    """Sign `email` in on this browser, as every way of signing in ends (a one-time link, single sign-on): a
    new session with a new CSRF token, "Signed in as", and the page `landing` (a same-site path the caller
    checked), else the desk for staff and the portal for everyone else. `name` is what the sign-in said
    (people `app.yaml` lists keep their name from there)."""
    actor = site.desk.actor(email, name, channel="web")
    visit.session = site.codec.fresh(actor.email)
    with speaking(await site.language(visit.request, actor.email)):  # theirs, now that they are known
        visit.session.flash(_("Signed in as {name}.", name=actor.name))
    return site.redirect(landing or ("/desk" if actor.is_staff else "/"))


class Portal:
    """Routes for requesters (everyone who is signed in)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        services = site.services
        self.signin = SignIn(services.sessions, services.clock, services.secret_key,
                             services.config.organisation.base_url)
        # The sign-in page asks this while it renders (the chat channels are mounted after the web).
        site.pages.env.globals["sign_in_chats"] = self.sign_in_chats
        site.pages.env.globals["sign_in_by_mail"] = self.sign_in_by_mail

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Mount the portal's routes."""
        route = self.site.route
        router.add_get("/", route(self.home, anonymous_status=200))
        router.add_get(r"/login/{token}", route(self.confirm_sign_in, signed_in=False))
        router.add_post(r"/login/{token}", route(self.sign_in, signed_in=False))
        router.add_post("/login", route(self.send_link, signed_in=False))
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
        """Redeem the link, start a session with a new CSRF token, and open the page the link names (only
        ever one of this site), else the desk for staff and the portal for everyone else."""
        token = visit.request.match_info["token"]
        try:
            email = await self.signin.redeem(token)
        except DeskError as exc:
            return self.site.sign_in_page(visit, 400, errors=(exc.message,))
        return await start_session(self.site, visit, email, self.signin.landing(token))

    def sign_in_chats(self) -> str:
        """The live chat channels a sign-in link can be sent through, as a list in the page's language
        ("Slack or Teams"); empty when there is none (the page then tells how else to get a link)."""
        names = [CHATS[platform] for platform in sorted(self.site.services.channels) if platform in CHATS]
        return format_list(names, style="or", locale=current().language) if names else ""

    def sign_in_by_mail(self) -> bool:
        """Whether the sign-in page offers "e-mail me a link" (the e-mail channel sends mail)."""
        return MAIL_LINK in self.site.services.extras

    async def send_link(self, visit: Visit) -> web.StreamResponse:
        """The sign-in page's "send me a sign-in link": a link landing on the page the visitor was on, sent to
        the person's direct messages in chat (`SignIn.send_link`). The answer is the same whether or not the
        address is known, so the page tells nobody who has an account."""
        back = landing_path(visit.field("next"))
        by_mail = visit.field("via") == "mail"
        mailer = self.site.services.extras.get(MAIL_LINK) if by_mail else None
        if (by_mail and mailer is None) or (not by_mail and not self.sign_in_chats()):
            return self.site.sign_in_page(visit, 400)
        try:
            asked = await self.signin.send_link(self.site.desk, visit.field("email"), landing=back,
                                                client=visit.request.remote or "unknown", mailer=mailer)
        except DeskError as exc:
            return self.site.sign_in_page(visit, 400, errors=(exc.message,))
        if asked is Asked.LIMITED:
            return self.site.sign_in_page(visit, 429, errors=(
                _("Zonedesk has sent as many sign-in links as it may for now. Wait a quarter of an hour, or use "
                  "a link you already have."),))
        log.info("web: a sign-in link was asked for on the sign-in page")  # neither the address nor the outcome
        if by_mail:
            visit.session.flash(_("If {email} belongs to someone Zonedesk may write to, a sign-in link is on its "
                                  "way to that address by e-mail. It works once, within 15 minutes.",
                                  email=visit.field("email").strip()[:254]))
            return self.site.redirect(back or "/")
        visit.session.flash(_("If {email} belongs to someone Zonedesk knows in {chats}, a sign-in link is on its "
                              "way to their direct messages there. It works once, within 15 minutes.",
                              email=visit.field("email").strip()[:254], chats=self.sign_in_chats()))
        return self.site.redirect(back or "/")

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
        may_file_for = zone is not None and self.site.desk.policy.may_file_on_behalf(visit.user, zone.id)
        return self.site.page(
            visit, "new_request.html", status, errors=errors, zone=zone, zones=self.site.desk.filing_zones(),
            categories=category_options(zone.categories) if zone else [], urgencies=list(priority.matrix),
            typed={"urgency": priority.default, **typed}, may_file_for=may_file_for,
        )

    async def file_request(self, visit: Visit) -> web.StreamResponse:
        """File from the form; a refusal shows the desk's message over the form as it was typed."""
        typed = {k: visit.field(k) for k in ("zone", "category", "urgency", "title", "description", "for_requester")}
        try:
            # For someone who phoned: the request is theirs (`on_behalf_of`), and the desk decides who may.
            behalf = await requester_for(self.site.desk, typed["for_requester"]) if typed["for_requester"] else None
            filed = await self.site.desk.file_request(
                visit.user, WEB, typed["title"], typed["description"], zone_id=typed["zone"] or None,
                category_id=typed["category"] or None, urgency=typed["urgency"] or None,
                dedupe_key=visit.dedupe_key(), on_behalf_of=behalf)
        except Duplicate:
            visit.session.flash(_("That request was already filed."))
            return self.site.redirect("/requests")
        except DeskError as exc:
            zone = self.site.config.zone(typed["zone"])
            return self._form(visit, zone, typed, 400, (exc.message,))
        if behalf is not None:
            visit.session.flash(_("Request #{number} is filed for {name} with {zone}.", number=filed.number,
                                  name=behalf[1], zone=filed.zone_name))
            return self.site.redirect(f"/requests/{filed.number}")
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
