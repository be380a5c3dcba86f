"""`GET /list`: a request list one shapes (filters, columns, order), its CSV export, and saved views.

Every row comes from `bot.desk.listing` (the reader's own access, always) and every view from
`bot.desk.views`; this module reads the query and renders. The page works without JavaScript: a GET
form for the filters and columns, links on the headings for the order, "Next page" links carrying the
cursor. A list's CSV (`/list.csv` with the same query, `/views/N.csv` for a view) has the page's columns
in the page's order and every matching row, streamed in pages, each cell as the page says it and
neutralised against spreadsheet formulas.

Routes: `GET /list`, `GET /list.csv`, `GET /views` (one's views: rename, share, delete), `POST /views`
(save the list shown), `GET /views/N` (open), `GET /views/N.csv`, `POST /views/N/change`,
`POST /views/N/delete`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web
from multidict import MultiDict

from adapters.web.pages import add_security_headers
from adapters.web.site import Site, Visit
from bot.catalog.forms import neutralise
from bot.config import Category
from bot.desk.filters import SCOPES, SLA_NAMES, SLA_STATES, FilterError, scope_name
from bot.desk.history import level_word, status_label
from bot.desk.listing import (
    COLUMNS,
    DEFAULT_COLUMNS,
    SORTS,
    ListQuery,
    ListRow,
    column_name,
    count_requests,
    iter_rows,
    list_page,
    sort_for,
)
from bot.desk.status import STATUSES
from bot.desk.views import ViewInfo, ViewNotFound, change_view, delete_view, get_view, list_views, save_view
from bot.errors import DeskError
from bot.i18n import _

EXPORT_BATCH = 1000


class ListPages:
    """The list page, its export and the saved views' routes."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.desk = site.desk

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Mount the list, its export and the views."""
        route = self.site.route
        router.add_get("/list", route(self.page))
        router.add_get("/list.csv", route(self.export))
        router.add_get("/views", route(self.views))
        router.add_post("/views", route(self.save))
        router.add_get(r"/views/{view:\d{1,12}}", route(self.open))
        router.add_get(r"/views/{view:\d{1,12}}.csv", route(self.export_view))
        router.add_post(r"/views/{view:\d{1,12}}/change", route(self.change))
        router.add_post(r"/views/{view:\d{1,12}}/delete", route(self.delete))

    # ------------------------------------------------------------------ the list
    async def page(self, visit: Visit) -> web.StreamResponse:
        """The list the query asks for, with its form; a value that cannot be read is said above the form."""
        query = visit.request.query
        view: ViewInfo | None = None
        if query.get("view"):
            view = await self._view(visit, query.get("view", ""))
            if view is None:
                return self._no_view(visit)
        try:
            lq = ListQuery.from_query(query, self.site.config)
        except FilterError as exc:
            return await self._render(visit, ListQuery(), None, view, 400, errors=exc.problems, typed=query)
        return await self._render(visit, lq, lq, view)

    async def _render(self, visit: Visit, lq: ListQuery, shown: ListQuery | None, view: ViewInfo | None,
                      status: int = 200, *, errors: tuple[str, ...] = (), typed: Any = None) -> web.StreamResponse:
        """The page: the form (as typed, after a refusal), the rows of `shown` (none after a refusal), the views."""
        page = count = None
        if shown is not None:
            page = await list_page(self.desk, visit.user, shown.filter, shown.sort, after=shown.after)
            count = await count_requests(self.desk, visit.user, shown.filter)
        base = lq.to_query()
        here = [*base, ("view", str(view.id))] if view is not None else base
        next_link = first_link = None
        if page is not None and page.next is not None:
            next_link = "/list?" + urlencode([*here, ("after", page.next.encode())])
        if lq.after is not None:
            first_link = "/list?" + urlencode(here)
        cells = [self.cells(row, lq.columns) for row in page.rows] if page is not None else []
        return self.site.page(
            visit, "lists.html", status, errors=errors, lq=lq, rows=page.rows if page else [], cells=cells,
            count=count.words() if count else None, next_link=next_link, first_link=first_link,
            headings=self._headings(lq, view), form=self._form(visit, lq, typed), view=view,
            query=urlencode(base), views=await list_views(self.desk, visit.user),
            export=f"/views/{view.id}.csv" if view is not None and self._same(view, lq)
            else "/list.csv?" + urlencode(base),
            changed=view is not None and view.mine and not self._same(view, lq),
            teams=[(t, self.site.config.team(t)) for t in sorted(visit.user.teams) if self.site.config.team(t)],
            scope_title=scope_name(self.site.config, lq.filter.scope),
        )

    @staticmethod
    def _same(view: ViewInfo, lq: ListQuery) -> bool:
        return view.query == urlencode(lq.to_query())

    def _headings(self, lq: ListQuery, view: ViewInfo | None) -> list[dict[str, Any]]:
        """Each shown column's heading: its name and, when the list can be sorted by it, the link that does."""
        out = []
        config = self.site.config
        for column in lq.columns:
            link = None
            current = lq.sort.key == column
            if column in SORTS:
                order = lq.sort.flipped() if current else sort_for(column)
                query = [*ListQuery(lq.filter, order, lq.columns).to_query()]
                if view is not None:
                    query.append(("view", str(view.id)))
                link = "/list?" + urlencode(query)
            out.append({"key": column, "name": column_name(config, column), "link": link,
                        "sorted": ("descending" if lq.sort.descending else "ascending") if current else None})
        return out

    def _form(self, visit: Visit, lq: ListQuery, typed: Any) -> dict[str, Any]:
        """What the filter form offers this reader, and what it holds now (as typed, after a refusal)."""
        config, policy, actor = self.site.config, self.desk.policy, visit.user
        zone_ids = policy.reading_zones(actor) if actor.is_staff else {z.id for z in config.zones}
        zones = [(z.id, z.name) for z in config.zones if z.id in zone_ids]
        hidden = policy.hidden_teams(actor)
        teams = [(t.id, t.name) for t in config.teams if t.zone in zone_ids and t.id not in hidden]
        categories = [(z.name, list(_categories(z.categories))) for z in config.zones
                      if z.id in zone_ids and z.categories]
        people: dict[str, str] = {}
        for zone_id in sorted(policy.acting_zones(actor)):
            people.update(policy.assignees(zone_id, None))
        statuses = [("open", _("Open")), ("closed", _("Closed"))] + [(s, status_label(s)) for s in STATUSES]
        flt = lq.filter
        if typed is not None:  # what was typed, so a refused value can be corrected where it stands
            chosen = {name: _getall(typed, name) for name in
                      ("zone", "team", "status", "assignee", "requester", "category", "priority", "label", "sla")}
            days = {name: typed.get(name, "") for name in ("created_from", "created_to", "due_from", "due_to")}
            text, scope = typed.get("q", ""), typed.get("scope", "all")
        else:
            chosen = {"zone": list(flt.zones), "team": list(flt.teams), "status": list(flt.statuses),
                      "assignee": list(flt.assignees), "requester": list(flt.requesters),
                      "category": list(flt.categories), "priority": list(flt.priorities),
                      "label": list(flt.labels), "sla": list(flt.sla)}
            days = {name: (getattr(flt, name).isoformat() if getattr(flt, name) else "")
                    for name in ("created_from", "created_to", "due_from", "due_to")}
            text, scope = flt.text, flt.scope
        return {
            "scopes": [(s, scope_name(config, s)) for s in SCOPES if actor.is_staff or s in ("all", "mine")],
            "scope": scope, "zones": zones, "teams": teams, "statuses": statuses, "categories": categories,
            "priorities": [(p, level_word(p)) for p in config.priority.levels],
            "sla": [(s, _(SLA_NAMES[s])) for s in SLA_STATES],
            "assignees": sorted(people.items(), key=lambda item: (item[1], item[0])),
            "staff": actor.is_staff, "chosen": chosen, "days": days, "text": text,
            "requester": ", ".join(chosen["requester"]), "label": ", ".join(chosen["label"]),
            "columns": [(c, column_name(config, c)) for c in COLUMNS], "shown": set(lq.columns),
            "sorts": [(s, column_name(config, s)) for s in SORTS], "sort": lq.sort,
            "columns_changed": lq.columns != DEFAULT_COLUMNS,
        }

    # ------------------------------------------------------------------ cells
    def cells(self, row: ListRow, columns: tuple[str, ...]) -> dict[str, str]:
        """Each column of a row as the page and its CSV say it (times in the organisation's time zone)."""
        return {column: self.cell(row, column) for column in columns}

    def cell(self, row: ListRow, column: str) -> str:
        """One column of a row in words."""
        config = self.site.config
        if column == "number":
            return str(row.number)
        if column == "title":
            return row.title
        if column == "zone":
            zone = config.zone(row.zone_id)
            return zone.name if zone else row.zone_id
        if column == "team":
            team = config.team(row.team_id) if row.team_id else None
            return team.name if team else (row.team_id or "")
        if column == "status":
            return status_label(row.status)
        if column == "priority":
            return level_word(row.priority)
        if column == "assignee":
            person = config.person(row.assignee_email) if row.assignee_email else None
            return person.name if person else (row.assignee_email or "")
        if column == "requester":
            return row.requester_name
        if column == "category":
            zone = config.zone(row.zone_id)
            found = zone.category(row.category_id) if zone and row.category_id else None
            return found.name if found else (row.category_id or "")
        if column in ("created", "updated", "due"):
            value: datetime | None = {"created": row.created_at, "updated": row.updated_at, "due": row.deadline}[column]
            return self.site.pages.when(value)
        if column == "sla":
            return _(SLA_NAMES[row.sla]) if row.sla else ""
        raise ValueError(column)

    # ------------------------------------------------------------------ export
    async def export(self, visit: Visit) -> web.StreamResponse:
        """The list the query asks for as CSV: its columns in its order, every matching row."""
        try:
            lq = ListQuery.from_query(visit.request.query, self.site.config)
        except FilterError as exc:
            return self.site.problem(visit, 400, _("This list cannot be exported"), exc.message)
        return await self._csv(visit, lq, f"requests-{self.desk.clock.now().date().isoformat()}.csv")

    async def export_view(self, visit: Visit) -> web.StreamResponse:
        """A saved view as CSV, as its reader would see it."""
        view = await self._view(visit, visit.request.match_info["view"])
        if view is None:
            return self._no_view(visit)
        try:
            lq = view.list_query(self.desk)
        except FilterError as exc:
            return self.site.problem(visit, 400, _("This list cannot be exported"), exc.message)
        return await self._csv(visit, lq, f"view-{view.id}-{self.desk.clock.now().date().isoformat()}.csv")

    async def _csv(self, visit: Visit, lq: ListQuery, filename: str) -> web.StreamResponse:
        response = web.StreamResponse(headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        })
        add_security_headers(response)
        await response.prepare(visit.request)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([neutralise(column_name(self.site.config, c)) for c in lq.columns])
        written = 0
        async for row in iter_rows(self.desk, visit.user, lq.filter, lq.sort, batch=EXPORT_BATCH):
            cells = self.cells(row, lq.columns)
            writer.writerow([neutralise(cells[c]) for c in lq.columns])
            written += 1
            if written % EXPORT_BATCH == 0:
                await response.write(buffer.getvalue().encode())
                buffer.seek(0)
                buffer.truncate()
        await response.write(buffer.getvalue().encode())
        await response.write_eof()
        return response

    # ------------------------------------------------------------------ views
    async def _view(self, visit: Visit, raw: str) -> ViewInfo | None:
        if not raw.isdigit() or len(raw) > 12:
            return None
        try:
            return await get_view(self.desk, visit.user, int(raw))
        except ViewNotFound:
            return None

    def _no_view(self, visit: Visit) -> web.Response:
        return self.site.problem(visit, 404, _("Not found"), ViewNotFound().message)

    async def views(self, visit: Visit) -> web.StreamResponse:
        """One's own views (rename, share, delete) and those shared with one's teams."""
        config = self.site.config
        return self.site.page(visit, "views.html", views=await list_views(self.desk, visit.user),
                              teams=[(t, config.team(t)) for t in sorted(visit.user.teams) if config.team(t)],
                              team_names={t.id: t.name for t in config.teams})

    async def open(self, visit: Visit) -> web.StreamResponse:
        """Open a view: its list, with the reader's own access."""
        view = await self._view(visit, visit.request.match_info["view"])
        if view is None:
            return self._no_view(visit)
        query = f"{view.query}&view={view.id}" if view.query else f"view={view.id}"
        return self.site.redirect(f"/list?{query}")

    async def save(self, visit: Visit) -> web.StreamResponse:
        """Save the list shown under a name, personal or shared with one of one's teams."""
        team = visit.field("team").strip() or None
        try:
            view = await save_view(self.desk, visit.user, visit.field("name"), visit.field("query"), team)
        except DeskError as exc:
            return await self._refused(visit, exc)
        visit.session.flash(_("Saved the view '{name}'.", name=view.name))
        return self.site.redirect(f"/views/{view.id}")

    async def _refused(self, visit: Visit, exc: DeskError) -> web.StreamResponse:
        """Back to the list being saved, with why it was not (nothing was saved)."""
        typed = MultiDict(_pairs(visit.field("query")))
        try:
            lq = ListQuery.from_query(typed, self.site.config)
        except FilterError:
            lq = ListQuery()
        return await self._render(visit, lq, lq, None, 400, errors=(exc.message,))

    async def change(self, visit: Visit) -> web.StreamResponse:
        """Rename a view of one's own, share it with one of one's teams (or keep it to oneself), or give it
        the list shown (`query`: from the list page, which then shows the view again)."""
        number = int(visit.request.match_info["view"])
        team = visit.field("team").strip() or None
        query = visit.form.get("query")
        back = f"/views/{number}" if query is not None else "/views"
        try:
            await change_view(self.desk, visit.user, number, name=visit.field("name") or None, team_id=team,
                              share="team" in visit.form, query=query)
        except ViewNotFound:
            return self._no_view(visit)
        except DeskError as exc:
            visit.session.flash(exc.message, "error")
            return self.site.redirect(back)
        visit.session.flash(_("The view is saved."))
        return self.site.redirect(back)

    async def delete(self, visit: Visit) -> web.StreamResponse:
        """Delete a view of one's own."""
        number = int(visit.request.match_info["view"])
        try:
            name = await delete_view(self.desk, visit.user, number)
        except ViewNotFound:
            return self._no_view(visit)
        except DeskError as exc:
            visit.session.flash(exc.message, "error")
            return self.site.redirect("/views")
        visit.session.flash(_("Deleted the view '{name}'.", name=name))
        return self.site.redirect("/views")


def _pairs(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query.lstrip("?"))


def _getall(query: Any, name: str) -> list[str]:
    getall = getattr(query, "getall", None)
    return [str(v) for v in getall(name, [])] if getall is not None else []


def _categories(nodes: tuple[Category, ...], depth: int = 0) -> Iterator[tuple[str, str]]:
    for node in nodes:
        yield node.id, "\u2003" * depth + node.name  # em spaces show the tree in a plain <select>
        yield from _categories(node.children, depth + 1)

