"""Bulk actions on the web: `POST /bulk`, from the bulk bar (`_bulk.html`) under a list or the board.

A list's rows and the board's cards carry `<input type="checkbox" name="n" value="N" form="bulk">`, so
the bar's one form ("bulk") posts the selection from wherever the checkboxes are, without JavaScript.
Each of the bar's buttons names its action; the desk does it to each request on its own
(`Desk.bulk_action`, the same use cases as the chat verbs, with the form's one-time key), and the page
that answers lists what was done and what was refused, with the desk's reason. "Bundle" makes a
bundle of the selection, or adds it to one (`adapters/web/bundles.py` shows bundles).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from adapters.web.site import Site, Visit
from bot.access import Actor
from bot.desk.bulk import BULK_MAX, Outcome
from bot.desk.bundles import bundle_number
from bot.desk.history import status_label
from bot.desk.status import STATUSES
from bot.errors import DeskError, Duplicate
from bot.i18n import _


@dataclass(frozen=True)
class Option:
    """One option of a select in the bar."""

    value: str
    label: str


@dataclass(frozen=True)
class Bar:
    """What the bulk bar offers its agent: the agents of their zones, the statuses, the zones their
    zones may transfer to. The desk still decides each request; these are only the likely choices."""

    agents: tuple[Option, ...]
    statuses: tuple[Option, ...]
    zones: tuple[Option, ...]
    limit: int = BULK_MAX


def back_to(value: str) -> str:
    """Where "back" leads: a path of this site (never another site), else the desk."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/desk"


async def selected(visit: Visit) -> list[str]:
    """Every value of the posted `n` fields (the checked checkboxes), as sent."""
    posted = await visit.request.post()  # read (and kept) by the site already
    return [v for v in posted.getall("n", []) if isinstance(v, str)]


class BulkActions:
    """`POST /bulk`, and the bar's choices for every page that includes `_bulk.html`."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.desk = site.desk
        site.pages.env.globals["bulk_bar"] = self.bar

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Mount `POST /bulk`."""
        router.add_post("/bulk", self.site.route(self.bulk))

    def bar(self, actor: Actor | None) -> Bar | None:
        """The bar's choices for this agent (None for anyone who works no requests: no bar)."""
        if actor is None or not self.desk.policy.can_bundle(actor):
            return None
        policy, config = self.desk.policy, self.site.config
        zones = sorted(policy.acting_zones(actor))
        agents: dict[str, str] = {}
        for zone in zones:
            agents.update(policy.assignees(zone, None))
        targets: list[str] = []
        for zone_id in zones:
            source = config.zone(zone_id)
            if source is not None and source.transfers_enabled:
                targets += [z for z in source.transfer_to if z not in targets]
        return Bar(
            agents=tuple(Option(e, n) for e, n in sorted(agents.items(), key=lambda item: (item[1], item[0]))),
            statuses=tuple(Option(s, status_label(s)) for s in STATUSES),
            zones=tuple(Option(z, target.name) for z in targets if (target := config.zone(z)) is not None),
        )

    async def bulk(self, visit: Visit) -> web.StreamResponse:
        """Do the chosen action to each selected request; the answer lists what was done and refused."""
        actor = visit.user
        if not self.desk.policy.can_bundle(actor):
            return self.site.problem(visit, 403, _("The desk is for agents"),
                                     _("You are not a member of any team, so there is nothing to act on here."))
        numbers = await selected(visit)
        action = visit.field("action")
        back = back_to(visit.field("next"))
        key = visit.dedupe_key()
        try:
            if action == "bundle":
                return await self._bundle(visit, numbers, back, key)
            zone, _slash, category = visit.field("zone").partition("/")
            outcome = await self.desk.bulk_action(
                actor, numbers, action, assignee=visit.field("assignee"), status=visit.field("status"),
                reason=visit.field("transfer_reason" if action == "transfer" else "reason"),
                label=visit.field("label"), zone=zone, category=category,
                text=visit.field("text"), dedupe_key=key)
        except Duplicate:
            return self.result(visit, back, error=_("This form was sent before; nothing was done twice."))
        except DeskError as exc:
            return self.result(visit, back, error=exc.message)
        return self.result(visit, back, outcome=outcome)

    async def _bundle(self, visit: Visit, numbers: Sequence[str], back: str, key: str | None) -> web.StreamResponse:
        """Add the selection to the bundle named, or make a new bundle of it with the title given."""
        named = visit.field("bundle").strip()
        if named:
            try:
                bundle = bundle_number(named)
            except ValueError:
                raise DeskError(_("'{value}' is not a bundle number.", value=named)) from None
            outcome = await self.desk.add_to_bundle(visit.user, bundle, numbers, dedupe_key=key)
        else:
            if not visit.field("title").strip():
                raise DeskError(_("Give the new bundle a title, or the number of a bundle to add to."))
            bundle, outcome = await self.desk.create_bundle(visit.user, visit.field("title"), numbers, dedupe_key=key)
        return self.result(visit, back, outcome=outcome, bundle=bundle)

    def result(self, visit: Visit, back: str, *, outcome: Outcome | None = None, error: str | None = None,
               bundle: int | None = None, **context: Any) -> web.Response:
        """The page that says what was done and what was refused (400 when nothing could be tried)."""
        return self.site.page(visit, "bulk.html", 400 if error else 200, errors=(error,) if error else (),
                              outcome=outcome, back=back, bundle=bundle, **context)
