"""Forms, approvals and form exports on the web: the same `forms/` definitions as Slack and Teams.

A form is shown in the language being spoken (the visitor's), its texts in it where the form gives them.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from adapters.web.site import Site, Visit
from bot.catalog import export_form, file_form
from bot.catalog.forms import Form
from bot.desk import WEB
from bot.desk.approvals import decide, no_longer_needed, pending_for, request_approval
from bot.errors import DeskError, Duplicate, NotFound
from bot.i18n import _


class FormPages:
    """Routes for forms (anyone signed in), approvals (approvers) and CSV exports (readers)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.services = site.services

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Mount before the request page's generic `/requests/{n}/{action}` route."""
        route = self.site.route
        router.add_get("/forms", route(self.list_forms))
        router.add_get(r"/forms/{form:[a-z0-9_-]+}", route(self.show_form))
        router.add_post(r"/forms/{form:[a-z0-9_-]+}", route(self.submit_form))
        router.add_get(r"/forms/{form:[a-z0-9_-]+}/export.csv", route(self.export))
        router.add_get("/approvals", route(self.approvals))
        router.add_post(r"/approvals/{approval:\d{1,9}}", route(self.decide))
        router.add_post(r"/requests/{number:\d{1,9}}/approval", route(self.ask_approval))

    def _form(self, visit: Visit) -> Form:
        form = self.services.catalog.forms.get(visit.request.match_info["form"])
        if form is None:
            raise NotFound(visit.request.match_info["form"])
        return form

    async def list_forms(self, visit: Visit) -> web.StreamResponse:
        """Every form, by zone, in the visitor's language."""
        forms = sorted((f.localised() for f in self.services.catalog.forms.values()), key=lambda f: (f.zone, f.title))
        zones = {z.id: z.name for z in self.services.config.zones}
        return self.site.page(visit, "forms.html", forms=forms, zone_names=zones)

    async def show_form(self, visit: Visit) -> web.StreamResponse:
        """A form rendered from its definition."""
        return self.site.page(visit, "form.html", form=self._form(visit).localised(), values={}, field_errors={})

    async def submit_form(self, visit: Visit) -> web.StreamResponse:
        """File it, or show every invalid field next to the field (nothing is filed then)."""
        form = self._form(visit)
        posted = await visit.request.post()
        raw: dict[str, Any] = {}
        for field in form.fields:
            values = [v for v in posted.getall(field.id, []) if isinstance(v, str)]
            raw[field.id] = values if field.type == "multi_select" else (values[0] if values else "")
        try:
            outcome = await file_form(self.services.desk, self.services.catalog, visit.user, WEB, form.id, raw,
                                      dedupe_key=visit.dedupe_key())
        except Duplicate:
            # Sent twice (a double click, a re-sent POST): the first one filed it. Showing the form again
            # would hand out a fresh one-time key, so "Send" on it would file the request a second time.
            visit.session.flash(_("That request was already filed."))
            return self.site.redirect("/requests")
        except DeskError as exc:
            return self.site.page(visit, "form.html", 400, errors=(exc.message,), form=form.localised(), values=raw,
                                  field_errors={})
        if isinstance(outcome, dict):
            return self.site.page(visit, "form.html", 400, errors=(_("Please check the fields marked below."),),
                                  form=form.localised(), values=raw, field_errors=outcome)
        visit.session.flash(_("Request #{number} is filed with {zone}.", number=outcome.number, zone=outcome.zone_name),
                            "ok")
        return self.site.redirect(f"/requests/{outcome.number}")

    async def export(self, visit: Visit) -> web.StreamResponse:
        """The form's answers as CSV: only requests the signed-in person may read."""
        form = self._form(visit)
        text = await export_form(self.services.desk, self.services.catalog, visit.user, form.id)
        return web.Response(text=text, content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{form.id}.csv"'})

    async def approvals(self, visit: Visit) -> web.StreamResponse:
        """Approvals waiting on the signed-in person, with what each decision needs; then those that no
        longer need them (withdrawn, or decided by another approver), saying why."""
        desk = self.services.desk
        return self.site.page(visit, "approvals.html", pending=await pending_for(desk, visit.user),
                              closed=await no_longer_needed(desk, visit.user))

    async def decide(self, visit: Visit) -> web.StreamResponse:
        """Approve or reject, with an optional comment."""
        decision = "approved" if visit.field("decision") == "approve" else "rejected"
        try:
            outcome = await decide(self.services.desk, visit.user, int(visit.request.match_info["approval"]),
                                   decision, visit.field("comment"), dedupe_key=visit.dedupe_key())
        except DeskError as exc:
            visit.session.flash(exc.message, "error")
        else:
            visit.session.flash(outcome.notice, "ok")
        return self.site.redirect("/approvals")

    async def ask_approval(self, visit: Visit) -> web.StreamResponse:
        """An agent asks one or more approvers for a decision on a request."""
        number = int(visit.request.match_info["number"])
        approvers = [a.strip() for a in visit.field("approvers").replace(";", ",").split(",") if a.strip()]
        try:
            await request_approval(self.services.desk, visit.user, number, approvers,
                                   mode=visit.field("mode") or "any", ordered=visit.field("ordered") == "on",
                                   question=visit.field("question"))
        except NotFound:
            raise
        except DeskError as exc:
            visit.session.flash(exc.message, "error")
        else:
            visit.session.flash(_("Approval requested; the request waits on it."), "ok")
        return self.site.redirect(f"/requests/{number}")
