"""Buttons in a mail: the confirm-or-reopen question and the survey, as links.

A chat message's buttons (`Solved` / `Not solved`, the ratings 1 to 5) become links in the mail, each
signed with the server's key for the one address the mail went to (`action_link`). Opening one shows a
page with one button (mail scanners open links to preview them, so a GET never acts); pressing it runs
the same neutral action a click in Slack or Teams runs (`bot.desk.actions.perform`), as that address, once
(the link's own key de-duplicates a second press). A link is good for 30 days; the action itself still
refuses what is no longer possible (a survey that expired, a request already reopened).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.delivery.messages import Button
from bot.desk.actions import perform
from bot.errors import DeskError, Duplicate
from bot.i18n import _

if TYPE_CHECKING:  # the web channel's pages; mounted only where the web channel runs (always)
    from adapters.web.site import Site, Visit

SALT = "zonedesk-mail-action"
MAX_AGE = 30 * 24 * 3600
ROUTE = "/mail/act/{token}"


def action_link(secret: bytes, base_url: str, address: str, number: int | None, button: Button, row: int) -> str:
    """The signed link of one button in the mail of outbox row `row` to `address`."""
    token = URLSafeTimedSerializer(secret, salt=SALT).dumps(
        {"a": button.action, "v": button.value, "l": button.label, "e": address.lower(), "n": number, "o": row})
    return f"{base_url.rstrip('/')}/mail/act/{token}"


class MailActions:
    """`GET` and `POST /mail/act/{token}` on the web channel's pages."""

    def __init__(self, site: Site, secret: bytes) -> None:
        self.site = site
        self.serializer = URLSafeTimedSerializer(secret, salt=SALT)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Mount the two routes (no sign-in needed: the link is the proof)."""
        router.add_get(ROUTE, self.site.route(self.show, signed_in=False))
        router.add_post(ROUTE, self.site.route(self.act, signed_in=False))

    def _read(self, visit: Visit) -> dict[str, Any] | None:
        try:
            data = self.serializer.loads(visit.request.match_info["token"], max_age=MAX_AGE)
        except BadSignature:
            return None
        return data if isinstance(data, dict) and {"a", "v", "e", "o"} <= set(data) else None

    def _page(self, visit: Visit, data: dict[str, Any], *, done: str | None = None, status: int = 200) -> web.Response:
        number = data.get("n")
        rating = data["a"] == "rate"
        title = (_("Rate request #{number}", number=number) if rating else
                 _("Request #{number}", number=number))
        question = (_("Rate our help {rating} out of 5?", rating=data.get("l") or "") if rating else
                    _("Answer \"{label}\" for request #{number}?", label=data.get("l") or "", number=number))
        return self.site.page(visit, "mail_action.html", status, title=title, question=question,
                              label=data.get("l") or _("Send"), done=done, comment=rating,
                              action=visit.request.path, number=number,
                              link=self.site.desk.link(int(number)) if number else "/")

    async def show(self, visit: Visit) -> web.StreamResponse:
        """The page with the one button."""
        data = self._read(visit)
        if data is None:
            return self.site.problem(visit, 404, _("Not found"),
                                     _("This link is not valid any more. Open the request in Zonedesk instead."))
        return self._page(visit, data)

    async def act(self, visit: Visit) -> web.StreamResponse:
        """Run the button's action as the address the mail went to."""
        data = self._read(visit)
        if data is None:
            return self.site.problem(visit, 404, _("Not found"),
                                     _("This link is not valid any more. Open the request in Zonedesk instead."))
        desk = self.site.desk
        actor = desk.actor(str(data["e"]), channel="email")
        value = str(data["v"])
        comment = visit.field("comment").strip()[:2000].replace("\n", " ")
        if data["a"] == "rate" and comment:
            value = f"{value}:{comment}"
        key = "email:act:" + hashlib.sha256(f"{data['o']}:{data['a']}:{data['v']}".encode()).hexdigest()
        try:
            outcome = await perform(desk, actor, str(data["a"]), value, dedupe_key=key)
        except Duplicate:
            return self._page(visit, data, done=_("This was done already."))
        except DeskError as exc:
            return self._page(visit, data, done=exc.message, status=400)
        return self._page(visit, data, done=outcome.notice)
