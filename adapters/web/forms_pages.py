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
from bot.desk.approvals import decide, no_longer_needed, pending_for
from bot.desk.behalf import requester_for
from bot.errors import DeskError, Duplicate, NotFound
from bot.i18n import _


class FormPages:
    """Routes for forms (anyone signed in), approvals (approvers) and CSV exports (readers)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.services = site.services

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Forms, approvals and exports (asking for an approval is on the request page: its "Edit" panel)."""
        route = self.site.route
        router.add_get("/forms", route(self.list_forms))
        router.add_get(r"/forms/{form:[a-z0-9_-]+}", route(self.show_form))
        router.add_post(r"/forms/{form:[a-z0-9_-]+}", route(self.submit_form))
        router.add_get(r"/forms/{form:[a-z0-9_-]+}/export.csv", route(self.export))
        router.add_get("/approvals", route(self.approvals))
        router.add_post(r"/approvals/{approval:\d{1,9}}", route(self.decide))

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
        form = self._form(visit)
        return self.site.page(visit, "form.html", form=form.localised(), values={}, field_errors={},
                              may_file_for=self.services.desk.policy.may_file_on_behalf(visit.user, form.zone))

    async def submit_form(self, visit: Visit) -> web.StreamResponse:
        """File it, or show every invalid field next to the field (nothing is filed then)."""
        form = self._form(visit)
        posted = await visit.request.post()
        raw: dict[str, Any] = {}
        for field in form.fields:
            values = [v for v in posted.getall(field.id, []) if isinstance(v, str)]
            raw[field.id] = values if field.type == "multi_select" else (values[0] if values else "")
        may_file_for = self.services.desk.policy.may_file_on_behalf(visit.user, form.zone)
        typed_for = visit.field("for_requester").strip()
        try:
            # For someone who phoned: the request is theirs (`on_behalf_of`), and the desk decides who may.
            behalf = await requester_for(self.services.desk, typed_for) if typed_for else None
            outcome = await file_form(self.services.desk, self.services.catalog, visit.user, WEB, form.id, raw,
                                      dedupe_key=visit.dedupe_key(), on_behalf_of=behalf)
        except Duplicate:
            # Sent twice (a double click, a re-sent POST): the first one filed it. Showing the form again
            # would hand out a fresh one-time key, so "Send" on it would file the request a second time.
            visit.session.flash(_("That request was already filed."))
            return self.site.redirect("/requests")
        except DeskError as exc:
            return self.site.page(visit, "form.html", 400, errors=(exc.message,), form=form.localised(),
                                  values={**raw, "for_requester": typed_for}, field_errors={},
                                  may_file_for=may_file_for)
        if isinstance(outcome, dict):
            return self.site.page(visit, "form.html", 400, errors=(_("Please check the fields marked below."),),
                                  form=form.localised(), values={**raw, "for_requester": typed_for},
                                  field_errors=outcome, may_file_for=may_file_for)
        if behalf is not None:
            visit.session.flash(_("Request #{number} is filed for {name} with {zone}.", number=outcome.number,
                                  name=behalf[1], zone=outcome.zone_name), "ok")
            return self.site.redirect(f"/requests/{outcome.number}")
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
