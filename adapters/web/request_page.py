"""The request page `/requests/{n}`: what its reader may see, and the forms for what they may do.

Requesters see the public conversation and answer (`Desk.comment`); agents of the request's zone
also see notes, history and tasks and reply, note, claim, assign, move, transfer and create tasks.
The choices offered (agents, moves, zones, task receivers) are only the ones that can succeed; the
desk still decides, and its refusals come back as a message over the page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from adapters.web.pages import status_label
from adapters.web.site import Site, Visit
from bot.access import Level
from bot.catalog import saved_reply_text
from bot.desk import EventView, RequestDetail
from bot.desk.approvals import approvals_of
from bot.desk.status import MOVES, OPEN, STATUSES, WAITING_REASONS
from bot.errors import DeskError, Duplicate, NotFound

Action = Callable[[Visit, int], Awaitable[str]]


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


@dataclass(frozen=True)
class HistoryLine:
    """One history event as a sentence."""

    event: EventView
    text: str


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
            "reopen": (self._reopen, ("reason",)),
        }

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Mount the request page and one POST route per action."""
        router.add_get(r"/requests/{number:\d{1,9}}", self.site.route(self.show))
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

    async def _render(self, visit: Visit, number: int, status: int = 200, errors: tuple[str, ...] = (),
                      typed: dict[str, str] | None = None) -> web.Response:
        detail = await self.desk.get_request(visit.user, number)
        staff = detail.level >= Level.READER
        is_requester = detail.requester_email == visit.user.email
        context: dict[str, Any] = {
            "r": detail, "staff": staff, "can_act": detail.can_act, "is_requester": is_requester,
            "public": [c for c in detail.comments if c.public],
            "notes": [c for c in detail.comments if not c.public],
            "history": [HistoryLine(e, self.describe(e)) for e in detail.history],
            "is_open": detail.status in OPEN,
            "can_cancel": detail.status in OPEN and (detail.can_act or is_requester),
            "can_reopen": detail.status in {"resolved", "closed"} and (detail.can_act or is_requester),
            "can_answer": is_requester and not detail.can_act and detail.status not in {"closed", "cancelled"},
            "typed": typed or {},
            "zone_names": {z.id: z.name for z in self.config.zones},
            "team_name": self._team_name(detail.team_id),
        }
        context["approvals"] = await approvals_of(self.desk, visit.user, number)
        if detail.can_act:
            context.update(moves=self.moves(detail.status), assignees=self.assignees(detail, visit.user.email),
                           transfers=self.transfers(detail.zone_id), task_targets=self.task_targets(detail.zone_id),
                           saved_replies=self.site.services.catalog.replies_for(detail.zone_id))
        return self.site.page(visit, "request.html", status, errors=errors, **context)

    def _team_name(self, team_id: str | None) -> str | None:
        team = self.config.team(team_id) if team_id else None
        return team.name if team else team_id

    @staticmethod
    def moves(current: str) -> list[Choice]:
        """The legal moves from the current status (waiting once per reason)."""
        choices = []
        for status in STATUSES:
            if status not in MOVES.get(current, frozenset()):
                continue
            if status == "waiting":
                choices += [Choice(f"waiting:{reason}", f"Waiting on {reason}") for reason in WAITING_REASONS]
            else:
                choices.append(Choice(status, status_label(status)))
        return choices

    def assignees(self, detail: RequestDetail, me: str) -> list[Choice]:
        """Agents the policy lets work this request (the same test `Desk.assign` makes), oneself excluded."""
        candidates = (self.desk.actor(person.email, channel="web") for person in self.config.people)
        return [Choice(c.email, c.name) for c in candidates
                if c.email != me and self.desk.policy.can_work_in(c, detail.zone_id, detail.team_id)]

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
            teams = [Choice(f"team:{t.id}", f"Team {t.name}") for t in receivers.teams]
            agents = [Choice(f"agent:{receivers.zone.id}:{a.email}", a.name) for a in receivers.agents]
            groups.append(ChoiceGroup(receivers.zone.name, tuple(teams + agents)))
        return groups

    def describe(self, event: EventView) -> str:
        """A history event as a short sentence."""
        data = event.data

        def zone(key: str) -> str:
            found = self.config.zone(str(data.get(key)))
            return found.name if found else str(data.get(key))

        def person(key: str) -> str:
            found = self.config.person(str(data.get(key) or ""))
            return found.name if found else str(data.get(key))

        kind = event.kind
        if kind == "filed":
            return f"filed the request with {zone('zone')}"
        if kind == "replied":
            return "replied to the requester"
        if kind == "noted":
            return "added an internal note"
        if kind == "commented":
            return "answered"
        if kind == "claimed":
            return "claimed it"
        if kind == "assigned":
            return f"assigned it to {person('assignee')}"
        if kind == "accepted":
            return "accepted it"
        if kind == "status":
            text = f"moved it from {status_label(str(data.get('previous')))} to {status_label(str(data.get('status')))}"
            return text + (f" (on {data['reason']})" if data.get("reason") else "")
        if kind == "transferred":
            return f"transferred it from {zone('source')} to {zone('target')}"
        if kind == "task_created":
            return f"created task T{data.get('task')}: {data.get('title')}"
        if kind == "task_done":
            return f"marked task T{data.get('task')} done"
        if kind in {"urgency", "weight", "category", "internal_category"}:
            value = data.get(kind if kind != "internal_category" else "internal")
            return f"set the {kind.replace('_', ' ')} to {value or 'none'}"
        return kind.replace("_", " ")

    # ------------------------------------------------------------------ acting
    async def act(self, visit: Visit) -> web.StreamResponse:
        """Run one action; success goes back to the page with a message, a refusal shows it over the form."""
        number = int(visit.request.match_info["number"])
        found = self.actions.get(visit.request.match_info["action"])
        if found is None:
            return self.site.problem(visit, 404, "Not found", "There is no such action.")
        action, fields = found
        try:
            done = await action(visit, number)
        except Duplicate:
            done = "That was already done."
        except NotFound:
            raise
        except DeskError as exc:
            typed = {name: visit.field(name) for name in fields}
            return await self._render(visit, number, 400, (exc.message,), typed)
        visit.session.flash(done)
        try:
            await self.desk.get_request(visit.user, number)
        except NotFound:  # e.g. transferred to a zone this agent may not see
            return self.site.redirect("/desk" if visit.user.is_staff else "/requests")
        return self.site.redirect(f"/requests/{number}")

    async def _comment(self, visit: Visit, number: int) -> str:
        await self.desk.comment(visit.user, number, visit.field("comment"), dedupe_key=visit.dedupe_key())
        return "Your answer is added."

    async def _reply(self, visit: Visit, number: int) -> str:
        await self.desk.reply(visit.user, number, visit.field("reply"), dedupe_key=visit.dedupe_key())
        return "Your reply is sent to the requester."

    async def _note(self, visit: Visit, number: int) -> str:
        await self.desk.note(visit.user, number, visit.field("note"), dedupe_key=visit.dedupe_key())
        return "Internal note added."

    async def _claim(self, visit: Visit, number: int) -> str:
        await self.desk.claim(visit.user, number, dedupe_key=visit.dedupe_key())
        return f"Request #{number} is yours."

    async def _assign(self, visit: Visit, number: int) -> str:
        if not visit.field("assignee"):
            raise DeskError("Choose the agent to assign it to.")
        name = await self.desk.assign(visit.user, number, visit.field("assignee"), dedupe_key=visit.dedupe_key())
        return f"Request #{number} is assigned to {name}."

    async def _status(self, visit: Visit, number: int) -> str:
        status, _, reason = visit.field("status").partition(":")
        if not status:
            raise DeskError("Choose the new status.")
        await self.desk.set_status(visit.user, number, status, reason=reason or None, dedupe_key=visit.dedupe_key())
        return f"Request #{number} is now {status_label(status).lower()}."

    async def _transfer(self, visit: Visit, number: int) -> str:
        if not visit.field("zone"):
            raise DeskError("Choose the zone to transfer it to.")
        name = await self.desk.transfer(visit.user, number, visit.field("zone"),
                                        reason=visit.field("reason").strip() or None, dedupe_key=visit.dedupe_key())
        return f"Request #{number} is transferred to {name}."

    async def _task(self, visit: Visit, number: int) -> str:
        kind, _, rest = visit.field("target").partition(":")
        if kind == "team":
            task = await self.desk.create_task(visit.user, number, visit.field("task_title"),
                                               visit.field("task_body"), to_team=rest)
        elif kind == "agent":
            zone, _, email = rest.partition(":")
            task = await self.desk.create_task(visit.user, number, visit.field("task_title"),
                                               visit.field("task_body"), to_zone=zone, to_agent=email)
        else:
            raise DeskError("Choose the team or agent the task is for.")
        return f"Task T{task} is created."

    async def _cancel(self, visit: Visit, number: int) -> str:
        await self.desk.cancel(visit.user, number, dedupe_key=visit.dedupe_key())
        return f"Request #{number} is cancelled."

    async def _reopen(self, visit: Visit, number: int) -> str:
        await self.desk.reopen(visit.user, number, visit.field("reason").strip() or None,
                               dedupe_key=visit.dedupe_key())
        return f"Request #{number} is reopened."
