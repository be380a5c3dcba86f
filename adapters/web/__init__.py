"""The web channel: the requester portal at `/`, the agent desk at `/desk`, request and task pages, analytics.

Always mounted (it needs no secrets), so a new installation can file and answer requests in a
browser with nothing configured. People sign in with one-time links (`zonedesk login-link EMAIL`), or
with single sign-on when `app.yaml` has `sign_in.oidc` (`adapters/web/oidc.py`);
sessions live in signed cookies; every POST form carries a CSRF token. Pages are server-rendered
Jinja2 with autoescaping and no JavaScript; zones are called by the organisation's word for them
(`organisation.zone_word`). See docs/decisions/0003-web-sessions.md.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from adapters.web.analytics import AnalyticsPages
from adapters.web.attachments import AttachmentRoutes
from adapters.web.board import BoardPage
from adapters.web.bulk import BulkActions
from adapters.web.bundles import BundlePages
from adapters.web.consultation import ConsultPages
from adapters.web.desk import AgentDesk
from adapters.web.forms_pages import FormPages
from adapters.web.lists import ListPages
from adapters.web.oidc import single_sign_on
from adapters.web.pages import STATIC, add_security_headers
from adapters.web.portal import Portal
from adapters.web.request_page import RequestPage
from adapters.web.search import SearchPage
from adapters.web.site import Site
from bot.server import Services


class WebChannel:
    """The `zonedesk.channels` entry point for the browser."""

    name = "web"

    def configured(self, env: Mapping[str, str]) -> bool:
        """The web channel needs no settings: always on."""
        return True

    def mount(self, app: web.Application, services: Services, env: Mapping[str, str]) -> None:
        """Add the portal, desk, request and task pages, and the stylesheet."""
        site = Site(services)
        organisation = services.config.organisation
        # The organisation's word for a zone, in the language each page is rendered in.
        site.pages.per_page = lambda: {"zone_word": organisation.zone_word, "zone_noun": organisation.zone_noun}
        for part in (Portal(site), FormPages(site), RequestPage(site), AgentDesk(site), AnalyticsPages(site),
                     BoardPage(site), ListPages(site), SearchPage(site), ConsultPages(site), AttachmentRoutes(site)):
            part.add_routes(app.router)
        bulk = BulkActions(site)  # POST /bulk, and the bulk bar's choices on every page that includes it
        for extra in (bulk, BundlePages(site, bulk)):
            extra.add_routes(app.router)
        sso = single_sign_on(site, env)  # "Sign in with Microsoft" when app.yaml has sign_in.oidc and its secret
        if sso is not None:
            sso.add_routes(app.router)
            app.on_cleanup.append(sso.close)
        site.pages.env.globals["single_sign_on"] = sso.label if sso is not None else None
        app.router.add_static("/static/", STATIC, append_version=False)
        app.middlewares.append(site.error_pages())  # 404, 405, 413... as the product's own page, for any path
        app.on_response_prepare.append(_static_headers)
        services.extras["web"] = site


async def _static_headers(request: web.Request, response: web.StreamResponse) -> None:
    """The stylesheet gets the same headers as the pages (the pages set theirs themselves)."""
    if request.path.startswith("/static/"):
        add_security_headers(response)


channel = WebChannel()

__all__ = ["WebChannel", "channel"]
