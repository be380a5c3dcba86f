"""Bundle pages: `/bundles` (the bundles an agent is shown) and `/bundles/{n}` (its members as that agent
may read them, and forms to reply to all, move all, add and remove members).

Every form calls the bundle's use case in `bot.desk.bundles` with the form's one-time key; the answer
is the bulk result page (`adapters/web/bulk.py`): what was done, what was refused and why.
"""

from __future__ import annotations

from aiohttp import web

from adapters.web.bulk import BulkActions, back_to, selected
from adapters.web.site import Site, Visit
from bot.desk.bulk import Outcome
from bot.desk.bundles import BundleNotFound
from bot.errors import DeskError, Duplicate
from bot.i18n import _


class BundlePages:
    """The bundle pages and their forms."""

    def __init__(self, site: Site, bulk: BulkActions) -> None:
        self.site = site
        self.desk = site.desk
        self.bulk = bulk

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Mount the pages and the forms."""
        route = self.site.route
        router.add_get("/bundles", route(self.index))
        router.add_get(r"/bundles/{bundle:\d{1,12}}", route(self.show))
        router.add_post(r"/bundles/{bundle:\d{1,12}}/{action:reply|status|add|remove}", route(self.act))

    def _refused(self, visit: Visit) -> web.Response | None:
        if self.desk.policy.can_bundle(visit.user):
            return None
        return self.site.problem(visit, 403, _("The desk is for agents"),
                                 _("You are not a member of any team, so there are no bundles for you."))

    async def index(self, visit: Visit) -> web.StreamResponse:
        """The bundles this agent is shown, newest first."""
        refused = self._refused(visit)
        if refused is not None:
            return refused
        return self.site.page(visit, "bundles.html", bundles=await self.desk.list_bundles(visit.user, limit=200))

    async def show(self, visit: Visit) -> web.StreamResponse:
        """One bundle, as this agent may read it."""
        refused = self._refused(visit)
        if refused is not None:
            return refused
        number = int(visit.request.match_info["bundle"])
        try:
            bundle = await self.desk.get_bundle(visit.user, number)
        except BundleNotFound as exc:
            return self.site.problem(visit, 404, _("Not found"), exc.message)
        bar = self.bulk.bar(visit.user)
        config = self.site.config
        person = config.person(bundle.created_by)
        return self.site.page(visit, "bundle.html", bundle=bundle, bar=bar,
                              zone_names={z.id: z.name for z in config.zones},
                              creator=person.name if person is not None else bundle.created_by)

    async def act(self, visit: Visit) -> web.StreamResponse:
        """Reply to, move, add to or take out of the bundle; the answer lists what was done and refused."""
        refused = self._refused(visit)
        if refused is not None:
            return refused
        number = int(visit.request.match_info["bundle"])
        action = visit.request.match_info["action"]
        actor, key, back = visit.user, visit.dedupe_key(), f"/bundles/{number}"
        outcome: Outcome
        try:
            if action == "reply":
                outcome = await self.desk.reply_to_bundle(actor, number, visit.field("text"), dedupe_key=key)
            elif action == "status":
                outcome = await self.desk.set_bundle_status(actor, number, visit.field("status"),
                                                            visit.field("reason") or None, dedupe_key=key)
            elif action == "add":
                outcome = await self.desk.add_to_bundle(actor, number, visit.field("numbers").replace(",", " ")
                                                        .split(), dedupe_key=key)
            else:
                outcome = await self.desk.remove_from_bundle(actor, number, await selected(visit), dedupe_key=key)
        except BundleNotFound as exc:
            return self.site.problem(visit, 404, _("Not found"), exc.message)
        except Duplicate:
            return self.bulk.result(visit, back, error=_("This form was sent before; nothing was done twice."))
        except DeskError as exc:
            return self.bulk.result(visit, back, error=exc.message)
        return self.bulk.result(visit, back_to(back), outcome=outcome, bundle=number)
