"""Consultation and outside collaborators on the web.

- `/consult` and `/consult/{n}`: the pages of a person asked for their view (`bot.desk.consultation`): the
  requests they are asked about now, and one request's public conversation (never notes) with its files
  (`/consult/{n}/files/{id}`, never a note's), the question and a form whose answer is an internal note.
  Anyone not asked, or no longer, reads "not found".
- On the request page, for its staff (`GuestForms`): who was asked and who is in the conversation by
  e-mail, and for its agents the forms to ask someone, withdraw the question, bring an outside address
  in and take it out. These are request page actions (`/requests/{n}/consult` ...), calling the same use
  cases as the chat verbs `consult` and `collaborator`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from adapters.web.attachments import ShownFile, serve_file
from adapters.web.site import Site, Visit
from bot.access import Level
from bot.desk import RequestDetail
from bot.desk.consultation import asked_of
from bot.errors import DeskError, Duplicate, NotFound
from bot.files.store import megabytes
from bot.i18n import _
from bot.model import Request

Action = Callable[[Visit, int], Awaitable[str]]


class ConsultPages:
    """The consultee's pages: what they are asked about, and one request's public conversation and answer form."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.desk = site.desk

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Mount the pages."""
        route = self.site.route
        router.add_get("/consult", route(self.index))
        router.add_get(r"/consult/{number:\d{1,9}}", route(self.show))
        router.add_post(r"/consult/{number:\d{1,9}}", route(self.answer))
        router.add_get(r"/consult/{number:\d{1,9}}/files/{id:\d{1,12}}", route(self.file))

    async def index(self, visit: Visit) -> web.StreamResponse:
        """The requests this person is asked for their view on right now."""
        return self.site.page(visit, "consultations.html", asked=await asked_of(self.desk, visit.user))

    async def file(self, visit: Visit) -> web.StreamResponse:
        """One file of what the consultee reads (the filing message, a public comment); the 404 page for a
        note's file, anyone else's, and everything once the question is withdrawn."""
        number, attachment_id = int(visit.request.match_info["number"]), int(visit.request.match_info["id"])
        return await serve_file(self.site, visit, await self.desk.consulted_attachment(visit.user, number,
                                                                                       attachment_id))

    async def show(self, visit: Visit, status: int = 200, errors: tuple[str, ...] = (),
                   typed: str = "") -> web.StreamResponse:
        """One request as its consultee may read it ("not found" for anyone else)."""
        number = int(visit.request.match_info["number"])
        try:
            view = await self.desk.consulted(visit.user, number)
        except NotFound:
            # Someone who reads the request anyway (its agent following the DM's link) is sent to its page.
            detail = await self.desk.get_request(visit.user, number)  # NotFound again for everyone else
            if detail.level >= Level.READER:
                return self.site.redirect(f"/requests/{number}")
            raise
        files = [ShownFile(f"/consult/{number}/files/{f.id}", f.filename,
                           megabytes(f.size) if f.size is not None else None) for f in view.files]
        return self.site.page(visit, "consult.html", status, errors=errors, c=view, typed=typed, files=files)

    async def answer(self, visit: Visit) -> web.StreamResponse:
        """The consultee's answer, an internal note; a refusal shows over the form with what was typed."""
        number = int(visit.request.match_info["number"])
        try:
            await self.desk.answer_consultation(visit.user, number, visit.field("answer"),
                                                dedupe_key=visit.dedupe_key())
        except Duplicate:
            pass
        except NotFound:
            raise
        except DeskError as exc:
            return await self.show(visit, 400, (exc.message,), visit.field("answer"))
        visit.session.flash(_("Thank you: your view on #{number} is with the desk's agents.", number=number))
        return self.site.redirect(f"/consult/{number}")


class GuestForms:
    """What the request page shows its staff of consultations and collaborators, and its agents' forms."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.desk = site.desk

    def actions(self) -> dict[str, tuple[Action, tuple[str, ...]]]:
        """The request page actions (name -> (action, fields kept on a refusal))."""
        return {
            "consult": (self._consult, ("consult_person", "consult_question")),
            "unconsult": (self._withdraw, ()),
            "collaborator": (self._invite, ("collaborator",)),
            "uncollaborator": (self._remove, ()),
        }

    async def context(self, visit: Visit, detail: RequestDetail) -> dict[str, Any]:
        """The lists for staff readers (READER or more), and who may be asked (a list to choose from)."""
        if detail.level < Level.READER:
            return {"consultations": [], "collaborators": [], "consultable": []}
        config = self.site.config
        consultable = [(p.email, p.name) for p in config.people
                       if p.email != detail.requester_email and self.desk.policy.may_be_consulted(
                           self.desk.actor(p.email), _row(detail))] if detail.can_act else []
        return {"consultations": await self.desk.consultations_of(visit.user, detail.number),
                "collaborators": [c for c in await self.desk.collaborators_of(visit.user, detail.number)
                                  if c.active],
                "consultable": sorted(consultable, key=lambda p: (p[1], p[0]))}

    async def _consult(self, visit: Visit, number: int) -> str:
        person = visit.field("consult_person").strip()
        if not person:
            raise DeskError(_("Give the e-mail address of the person to ask."))
        name = await self.desk.consult(visit.user, number, person, visit.field("consult_question") or None,
                                       dedupe_key=visit.dedupe_key())
        return _("{name} is asked for their view on #{number}; their answer will be an internal note.", name=name,
                 number=number)

    async def _withdraw(self, visit: Visit, number: int) -> str:
        name = await self.desk.withdraw_consultation(visit.user, number, visit.field("person"),
                                                     dedupe_key=visit.dedupe_key())
        return _("The question to {name} about #{number} is withdrawn; they no longer see it.", name=name,
                 number=number)

    async def _invite(self, visit: Visit, number: int) -> str:
        address = await self.desk.invite_collaborator(visit.user, number, visit.field("collaborator"),
                                                      dedupe_key=visit.dedupe_key())
        return _("{address} is in the conversation of #{number}: it receives the public messages by e-mail.",
                 address=address, number=number)

    async def _remove(self, visit: Visit, number: int) -> str:
        address = await self.desk.remove_collaborator(visit.user, number, visit.field("address"),
                                                      dedupe_key=visit.dedupe_key())
        return _("{address} is out of the conversation of #{number}: nothing more is sent to it.", address=address,
                 number=number)


def _row(detail: RequestDetail) -> Request:
    """The fields of a request `Policy.level` reads, from the page's detail, as an unsaved row: to offer only
    people an invitation means something to (the desk decides again when the form is sent)."""
    return Request(id=detail.number, zone_id=detail.zone_id, team_id=detail.team_id,
                   requester_email=detail.requester_email)
