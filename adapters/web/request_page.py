"""The request page `/requests/{n}`: what its reader may see, and the forms for what they may do.

Requesters see the public conversation and the history meant for them, and answer (`Desk.comment`);
agents of the request's zone also see notes, the whole history and tasks and reply, note, claim,
assign, move, transfer and create tasks, and edit (the "Edit" panel) what chat edits: priority (the
agent's weight, as `/desk priority`), urgency, category, internal category, deadline, relations, and
ask for an approval. Each form calls the same desk use case as the chat verb, with the form's one-time
key, so rules, history and notifications are the same. Personal labels are shown to their owner alone.
The choices offered (agents, moves, zones, task receivers) are only the ones that can succeed; the
desk still decides, and its refusals come back as a message over the page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from aiohttp import web

from adapters.web.attachments import files_for_page, posted_file, upload_limit
from adapters.web.consultation import GuestForms
from adapters.web.portal import category_options
from adapters.web.site import Site, Visit
from bot.access import Level
from bot.catalog import saved_reply_choices, saved_reply_text
from bot.desk import RequestDetail
from bot.desk.approvals import approvals_of, request_approval
from bot.desk.bundles import bundles_of
from bot.desk.fields import local_deadline, zone_timezone
from bot.desk.history import level_word, status_label
from bot.desk.status import MOVES, OPEN, STATUSES, WAITING_REASONS
from bot.errors import DeskError, Duplicate, NotFound
from bot.i18n import N_, _

Action = Callable[[Visit, int], Awaitable[str]]

# What a status move says, one whole sentence per status (the adjective agrees differently by language).
NOW = {
    "new": N_("Request #{number} is now new."), "assigned": N_("Request #{number} is now assigned."),
    "accepted": N_("Request #{number} is now accepted."), "in_progress": N_("Request #{number} is now in progress."),
    "waiting": N_("Request #{number} is now waiting."), "resolved": N_("Request #{number} is now resolved."),
    "closed": N_("Request #{number} is now closed."), "reopened": N_("Request #{number} is now reopened."),
    "cancelled": N_("Request #{number} is now cancelled."),
}
STATUS_SET = N_("The status of request #{number} is set.")
# The actions of the "Edit" panel.
EDITS = frozenset({"priority", "urgency", "category", "internal", "deadline", "relate", "unrelate", "approval"})


@dataclass(frozen=True)
class Choice:
    """One option of a select."""

    value: str
    label: str


@dataclass(frozen=True)
class ChoiceGroup:
    """Options under a heading (an optgroup)."""

    label: str
    choices: tuple[Choice, ...]


class RequestPage:
    """The request page and its actions."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.desk = site.desk
        self.config = site.config
        self.actions: dict[str, tuple[Action, tuple[str, ...]]] = {
            "comment": (self._comment, ("comment",)),
            "reply": (self._reply, ("reply",)),
            "note": (self._note, ("note",)),
            "claim": (self._claim, ()),
            "assign": (self._assign, ("assignee",)),
            "status": (self._status, ("status",)),
            "transfer": (self._transfer, ("zone", "reason")),
            "task": (self._task, ("target", "task_title", "task_body")),
            "cancel": (self._cancel, ()),
            "resolve": (self._resolve, ("note",)),
            "reopen": (self._reopen, ("reason",)),
            # The "Edit" panel: the same use cases as the chat verbs (priority, category, deadline, label...).
            "priority": (self._priority, ("weight",)),
            "urgency": (self._urgency, ("urgency",)),
            "category": (self._category, ("category",)),
            "internal": (self._internal, ("internal",)),
            "deadline": (self._deadline, ("deadline_date", "deadline_time")),
            "label": (self._label, ("label",)),
            "unlabel": (self._unlabel, ()),
            "relate": (self._relate, ("other",)),
            "unrelate": (self._unrelate, ()),
            "approval": (self._approval, ("approvers", "mode", "question")),
        }
        # Asking a colleague's view, bringing an outside address in (adapters/web/consultation.py).
        self.guests = GuestForms(site)
        self.actions.update(self.guests.actions())

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Mount the request page and one POST route per action."""
        router.add_get(r"/requests/{number:\d{1,9}}", self.site.route(self.show))
        router.add_post(r"/requests/{number:\d{1,9}}/insert", self.site.route(self.insert))
        router.add_post(r"/requests/{number:\d{1,9}}/{action:[a-z]+}", self.site.route(self.act))

    # ------------------------------------------------------------------ reading
    async def show(self, visit: Visit) -> web.StreamResponse:
        """The request as this person may see it (404 when they may not know it exists).

        `?saved=NAME` fills the reply box with a saved reply for this request, to edit before sending.
        """
        number = int(visit.request.match_info["number"])
        name = visit.request.query.get("saved")
        if name:
            try:
                text = await saved_reply_text(self.desk, self.site.services.catalog, visit.user, number, name)
            except NotFound:
                raise
            except DeskError as exc:
                return await self._render(visit, number, 400, errors=(exc.message,))
            return await self._render(visit, number, typed={"reply": text})
        return await self._render(visit, number)

    async def insert(self, visit: Visit) -> web.StreamResponse:
        """Put a saved reply, filled in for this request, into the reply box after what was already typed.

        The reply form posts its draft here (the Insert button's `formaction`), so nothing typed is lost
        and no script is needed; nothing is sent until the agent presses Send reply.
        """
        number = int(visit.request.match_info["number"])
        draft, name = visit.field("reply"), visit.field("saved")
        try:
            if not name:
                raise DeskError(_("Choose the saved reply to insert."))
            text = await saved_reply_text(self.desk, self.site.services.catalog, visit.user, number, name)
        except NotFound:
            raise
        except DeskError as exc:
            return await self._render(visit, number, 400, (exc.message,), {"reply": draft, "saved": name})
        joined = f"{draft.rstrip()}\n\n{text}" if draft.strip() else text
        return await self._render(visit, number, typed={"reply": joined, "saved": name}, inserted=True)

    async def _render(self, visit: Visit, number: int, status: int = 200, errors: tuple[str, ...] = (),
                      typed: dict[str, str] | None = None, *, inserted: bool = False) -> web.Response:
        detail = await self.desk.get_request(visit.user, number)
        staff = detail.level >= Level.READER
        is_requester = detail.requester_email == visit.user.email
        context: dict[str, Any] = {
            "r": detail, "staff": staff, "can_act": detail.can_act, "is_requester": is_requester,
            "public": [c for c in detail.comments if c.public],
            "notes": [c for c in detail.comments if not c.public],
            "history": detail.history,  # in words, already cut to what this reader may see (bot.desk.history)
            "is_open": detail.status in OPEN,
            "can_cancel": detail.status in OPEN and (detail.can_act or is_requester),
            "can_reopen": detail.status in {"resolved", "closed"} and (detail.can_act or is_requester),
            "can_answer": is_requester and not detail.can_act and detail.status not in {"closed", "cancelled"},
            "typed": typed or {},
            "zone_names": {z.id: z.name for z in self.config.zones},
            "team_name": self._team_name(detail.team_id),
            "status_text": status_label(detail.status, detail.waiting_reason,
                                        for_requester=is_requester and not detail.can_act),
            "can_resolve": self._may("resolve", detail, visit.user.email),
            "inserted": inserted,
            "resolution": detail.resolution if detail.status in {"resolved", "closed"} else None,
        }
        context["approvals"] = await approvals_of(self.desk, visit.user, number)
        context["files"] = await files_for_page(self.site, visit, number)  # by comment; None: the filing message
        context["upload_limit"] = upload_limit(self.site, visit)
        context["can_label"] = detail.level >= Level.REQUESTER  # an approver may change nothing, labels included
        context["related"] = await self._related(visit, detail) if staff else []
        context["bundles"] = await bundles_of(self.desk, visit.user, number) if staff else []
        context.update(await self.guests.context(visit, detail))
        if detail.can_act:
            context.update(self._editing(detail), edit_open=(typed or {}).get("panel") == "edit")
            open_task = any(t.status == "open" for t in detail.tasks)
            context.update(moves=self.moves(detail.status, open_task=open_task),
                           assignees=self.assignees(detail, visit.user.email),
                           transfers=self.transfers(detail.zone_id), task_targets=self.task_targets(detail.zone_id),
                           saved_replies=await saved_reply_choices(self.desk, self.site.services.catalog,
                                                                       detail))
        return self.site.page(visit, "request.html", status, errors=errors, **context)

    async def _related(self, visit: Visit, detail: RequestDetail) -> list[Choice]:
        """The related requests this person may open; one they may not is left out, its number too."""
        related = []
        for other in detail.related:
            try:
                found = await self.desk.get_request(visit.user, other)
            except NotFound:
                continue
            related.append(Choice(str(found.number), found.title))
        return related

    def _editing(self, detail: RequestDetail) -> dict[str, Any]:
        """What the "Edit" panel offers: the scales, the zone's categories, the deadline as the zone reads it."""
        zone = self.config.zone(detail.zone_id)
        tz = zone_timezone(self.config, detail.zone_id)
        local = detail.deadline.astimezone(tz) if detail.deadline else None
        return {
            "scale": list(self.config.priority.matrix),
            "categories": category_options(zone.categories) if zone else [],
            "internal_categories": list(zone.internal_categories) if zone else [],
            "deadline_date": local.date().isoformat() if local else "",
            "deadline_time": local.strftime("%H:%M") if local else "",
            "timezone": tz.key,
        }

    def _team_name(self, team_id: str | None) -> str | None:
        team = self.config.team(team_id) if team_id else None
        return team.name if team else team_id

    @staticmethod
    def moves(current: str, *, open_task: bool = True) -> list[Choice]:
        """The legal moves from the current status (waiting once per reason; on task only with an open task)."""
        choices = []
        for status in STATUSES:
            if status not in MOVES.get(current, frozenset()):
                continue
            if status == "waiting":
                choices += [Choice(f"waiting:{reason}", status_label(status, reason)) for reason in WAITING_REASONS
                            if reason != "task" or open_task]
            else:
                choices.append(Choice(status, status_label(status)))
        return choices

    def assignees(self, detail: RequestDetail, me: str) -> list[Choice]:
        """Agents the policy lets work this request (the same test `Desk.assign` makes), oneself excluded."""
        return [Choice(email, name) for email, name in self.desk.policy.assignees(detail.zone_id, detail.team_id)
                if email != me]

    def transfers(self, zone_id: str) -> list[Choice]:
        """Zones this zone may transfer to, while transfers are on."""
        zone = self.config.zone(zone_id)
        if zone is None or not zone.transfers_enabled:
            return []
        names = {z.id: z.name for z in self.config.zones}
        return [Choice(z, names.get(z, z)) for z in zone.transfer_to]

    def task_targets(self, zone_id: str) -> list[ChoiceGroup]:
        """Teams and agents that may receive a task from this zone, one group per receiving zone."""
        groups = []
        for receivers in self.desk.policy.task_receivers(zone_id):
            teams = [Choice(f"team:{t.id}", _("Team {name}", name=t.name)) for t in receivers.teams]
            agents = [Choice(f"agent:{receivers.zone.id}:{a.email}", a.name) for a in receivers.agents]
            groups.append(ChoiceGroup(receivers.zone.name, tuple(teams + agents)))
        return groups

    # ------------------------------------------------------------------ acting
    async def act(self, visit: Visit) -> web.StreamResponse:
        """Run one action; success goes back to the page with a message, a refusal shows it over the form."""
        number = int(visit.request.match_info["number"])
        name = visit.request.match_info["action"]
        found = self.actions.get(name)
        if found is None:
            return self.site.problem(visit, 404, _("Not found"), _("There is no such action."))
        action, fields = found
        asking = self._asks_first(name, visit)
        if asking and visit.field("confirmed") != "yes":
            detail = await self.desk.get_request(visit.user, number)
            if self._may(asking, detail, visit.user.email):
                return self._confirm(visit, detail, asking)
            # Someone who may not do it is not asked: the desk's refusal below says why.
        try:
            done = await action(visit, number)
        except Duplicate:
            done = _("That was already done.")
        except NotFound:
            raise
        except DeskError as exc:
            typed = {name: visit.field(name) for name in fields}
            if name in EDITS:
                typed["panel"] = "edit"  # the "Edit" panel stays open over what was typed
            if asking and visit.field("confirmed") == "yes":
                detail = await self.desk.get_request(visit.user, number)
                return self._confirm(visit, detail, asking, 400, (exc.message,), typed)
            return await self._render(visit, number, 400, (exc.message,), typed)
        visit.session.flash(done)
        try:
            await self.desk.get_request(visit.user, number)
        except NotFound:  # e.g. transferred to a zone this agent may not see
            return self.site.redirect("/desk" if visit.user.is_staff else "/requests")
        return self.site.redirect(f"/requests/{number}")

    # ------------------------------------------------------------------ asking first
    @staticmethod
    def _asks_first(action: str, visit: Visit) -> str | None:
        """Resolving and cancelling are confirmed on a page of their own, whichever form asked for them."""
        status = visit.field("status") if action == "status" else None
        if action == "resolve" or status == "resolved":
            return "resolve"
        if action == "cancel" or status == "cancelled":
            return "cancel"
        return None

    def _may(self, asking: str, detail: RequestDetail, email: str) -> bool:
        """Whether the confirmation page would lead anywhere (the desk still decides)."""
        if asking == "resolve":
            return (detail.can_act and "resolved" in MOVES.get(detail.status, frozenset())
                    and self.desk.policy.can_resolve_in(detail.zone_id))
        return detail.status in OPEN and (detail.can_act or detail.requester_email == email)

    def _confirm(self, visit: Visit, detail: RequestDetail, asking: str, status: int = 200,
                 errors: tuple[str, ...] = (), typed: dict[str, str] | None = None) -> web.Response:
        """The page that asks "Resolve #42?" (with the resolution note) or "Cancel #42?"; nothing changes before."""
        return self.site.page(visit, "confirm.html", status, errors=errors, r=detail, asking=asking,
                              typed=typed or {}, is_requester=detail.requester_email == visit.user.email)

    # ------------------------------------------------------------------ the actions
    async def _comment(self, visit: Visit, number: int) -> str:
        await self.desk.comment(visit.user, number, visit.field("comment"), dedupe_key=visit.dedupe_key(),
                                after=await posted_file(visit, public=True))
        return _("Your answer is added.")

    async def _reply(self, visit: Visit, number: int) -> str:
        await self.desk.reply(visit.user, number, visit.field("reply"), dedupe_key=visit.dedupe_key(),
                              after=await posted_file(visit, public=True))
        return _("Your reply is sent to the requester.")

    async def _note(self, visit: Visit, number: int) -> str:
        await self.desk.note(visit.user, number, visit.field("note"), dedupe_key=visit.dedupe_key(),
                             after=await posted_file(visit, public=False))
        return _("Internal note added.")

    async def _claim(self, visit: Visit, number: int) -> str:
        await self.desk.claim(visit.user, number, dedupe_key=visit.dedupe_key())
        return _("Request #{number} is yours.", number=number)

    async def _assign(self, visit: Visit, number: int) -> str:
        if not visit.field("assignee"):
            raise DeskError(_("Choose the agent to assign it to."))
        name = await self.desk.assign(visit.user, number, visit.field("assignee"), dedupe_key=visit.dedupe_key())
        return _("Request #{number} is assigned to {name}.", number=number, name=name)

    async def _status(self, visit: Visit, number: int) -> str:
        status, _colon, reason = visit.field("status").partition(":")
        if not status:
            raise DeskError(_("Choose the new status."))
        await self.desk.set_status(visit.user, number, status, reason=reason or None, dedupe_key=visit.dedupe_key())
        return _(NOW.get(status, STATUS_SET), number=number)

    async def _transfer(self, visit: Visit, number: int) -> str:
        if not visit.field("zone"):
            raise DeskError(_("Choose the {zone} to transfer it to.", zone=self.config.organisation.zone_noun))
        name = await self.desk.transfer(visit.user, number, visit.field("zone"),
                                        reason=visit.field("reason").strip() or None, dedupe_key=visit.dedupe_key())
        return _("Request #{number} is transferred to {name}.", number=number, name=name)

    async def _task(self, visit: Visit, number: int) -> str:
        kind, _colon, rest = visit.field("target").partition(":")
        if kind == "team":
            task = await self.desk.create_task(visit.user, number, visit.field("task_title"),
                                               visit.field("task_body"), to_team=rest)
        elif kind == "agent":
            zone, _colon, email = rest.partition(":")
            task = await self.desk.create_task(visit.user, number, visit.field("task_title"),
                                               visit.field("task_body"), to_zone=zone, to_agent=email)
        else:
            raise DeskError(_("Choose the team or agent the task is for."))
        return _("Task T{task} is created.", task=task)

    async def _cancel(self, visit: Visit, number: int) -> str:
        await self.desk.cancel(visit.user, number, dedupe_key=visit.dedupe_key())
        return _("Request #{number} is cancelled.", number=number)

    async def _resolve(self, visit: Visit, number: int) -> str:
        note = visit.field("note")
        await self.desk.set_status(visit.user, number, "resolved", note=note, dedupe_key=visit.dedupe_key())
        if note.strip():
            return _("Request #{number} is resolved. The requester sees your note.", number=number)
        return _("Request #{number} is resolved.", number=number)

    async def _reopen(self, visit: Visit, number: int) -> str:
        await self.desk.reopen(visit.user, number, visit.field("reason").strip() or None,
                               dedupe_key=visit.dedupe_key())
        return _("Request #{number} is reopened.", number=number)

    # ------------------------------------------------------------------ the "Edit" panel (as the chat verbs)
    async def _priority(self, visit: Visit, number: int) -> str:
        if not visit.field("weight"):
            raise DeskError(_("Choose the priority."))
        priority = await self.desk.set_weight(visit.user, number, visit.field("weight"), dedupe_key=visit.dedupe_key())
        return _("Request #{number} now has priority {priority}.", number=number, priority=level_word(priority))

    async def _urgency(self, visit: Visit, number: int) -> str:
        if not visit.field("urgency"):
            raise DeskError(_("Choose the urgency."))
        priority = await self.desk.set_urgency(visit.user, number, visit.field("urgency"),
                                               dedupe_key=visit.dedupe_key())
        return _("Request #{number} now has priority {priority}.", number=number, priority=level_word(priority))

    async def _category(self, visit: Visit, number: int) -> str:
        category = visit.field("category") or None
        await self.desk.set_category(visit.user, number, category, dedupe_key=visit.dedupe_key())
        if category is None:
            return _("Request #{number} has no category now.", number=number)
        return _("The category of request #{number} is set.", number=number)

    async def _internal(self, visit: Visit, number: int) -> str:
        internal = visit.field("internal") or None
        await self.desk.set_internal_category(visit.user, number, internal, dedupe_key=visit.dedupe_key())
        if internal is None:
            return _("Request #{number} has no internal category now.", number=number)
        return _("The internal category of request #{number} is set.", number=number)

    async def _deadline(self, visit: Visit, number: int) -> str:
        if visit.field("clear") == "yes":
            await self.desk.set_deadline(visit.user, number, None, dedupe_key=visit.dedupe_key())
            return _("Request #{number} has no deadline now.", number=number)
        detail = await self.desk.get_request(visit.user, number)  # the zone whose time zone the fields are in
        typed_day, typed_time = visit.field("deadline_date").strip(), visit.field("deadline_time").strip()
        if not typed_day:
            raise DeskError(_("Give the deadline's date."))
        try:
            day = date.fromisoformat(typed_day)
            at = time.fromisoformat(typed_time) if typed_time else None
        except ValueError:
            raise DeskError(_("Give the deadline as a date (YYYY-MM-DD) and, if you like, a time (HH:MM).")) from None
        when = local_deadline(self.config, detail.zone_id, day, at.replace(second=0, microsecond=0) if at else None)
        await self.desk.set_deadline(visit.user, number, when, dedupe_key=visit.dedupe_key())
        return _("Request #{number} is due {when} ({timezone}).", number=number, when=when.strftime("%Y-%m-%d %H:%M"),
                 timezone=zone_timezone(self.config, detail.zone_id).key)

    async def _label(self, visit: Visit, number: int) -> str:
        label = visit.field("label").strip()
        await self.desk.add_label(visit.user, number, label, dedupe_key=visit.dedupe_key())
        return _("Request #{number} is labelled {label} (only you see your labels).", number=number,
                 label=label.lower())

    async def _unlabel(self, visit: Visit, number: int) -> str:
        label = visit.field("label").strip()
        await self.desk.remove_label(visit.user, number, label, dedupe_key=visit.dedupe_key())
        return _("Label {label} removed from request #{number}.", label=label.lower(), number=number)

    @staticmethod
    def _other(visit: Visit) -> int:
        typed = visit.field("other").strip().lstrip("#")
        if not typed.isdigit() or len(typed) > 9:
            raise DeskError(_("Give the number of the other request, like 42."))
        return int(typed)

    async def _relate(self, visit: Visit, number: int) -> str:
        other = self._other(visit)
        await self.desk.relate(visit.user, number, other, dedupe_key=visit.dedupe_key())
        return _("Request #{number} is related to #{other}.", number=number, other=other)

    async def _unrelate(self, visit: Visit, number: int) -> str:
        other = self._other(visit)
        await self.desk.unrelate(visit.user, number, other, dedupe_key=visit.dedupe_key())
        return _("Request #{number} is no longer related to #{other}.", number=number, other=other)

    async def _approval(self, visit: Visit, number: int) -> str:
        approvers = [a.strip() for a in visit.field("approvers").replace(";", ",").split(",") if a.strip()]
        await request_approval(self.desk, visit.user, number, approvers, mode=visit.field("mode") or "any",
                               ordered=visit.field("ordered") == "on", question=visit.field("question"),
                               dedupe_key=visit.dedupe_key())
        return _("Approval requested; the request waits on it.")
