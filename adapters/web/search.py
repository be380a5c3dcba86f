"""`GET /search?q=TEXT`: full-text search over what the signed-in person may read (`bot.desk.search`),
ranked, highlighted and paged in the HTML itself, each result linking to its request."""

from __future__ import annotations

import re

from aiohttp import web

from adapters.web.pages import Pager
from adapters.web.site import Site, Visit

_PAGE = re.compile(r"^[1-9]\d{0,3}$")


class SearchPage:
    """The search page; the box in every page's navigation sends its words here."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.desk = site.desk

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Mount `/search`."""
        router.add_get("/search", self.site.route(self.results))

    async def results(self, visit: Visit) -> web.StreamResponse:
        """The box with what was asked, and a page of results, or the sentence saying why it cannot be searched."""
        query = visit.request.query
        asked = query.get("q", "")
        page = int(query["page"]) if _PAGE.match(query.get("page", "")) else 1
        found = await self.desk.search(visit.user, asked, page=page) if asked.strip() else None
        pager = None
        if found is not None and found.problem is None:
            pager = Pager(visit.request.path, {"q": found.text}, "page", found.total, found.page, found.per_page)
        config = self.site.config
        return self.site.page(visit, "search.html", asked=asked, found=found, pager=pager,
                              zone_names={z.id: z.name for z in config.zones})
