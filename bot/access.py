"""Who may see and do what: the only place that decides, for one request and for list queries in SQL.

Levels, each including the one before:

- NONE: the request does not exist for this person (refusals look exactly like "not found").
- APPROVER: a named approver of a pending or decided (not withdrawn) approval of the request: the
  requester, fields, form answers and the public conversation, what the decision needs; never notes,
  history or tasks, may change nothing, and the request is in none of their lists (the approvals page
  is theirs). The fact is the database's; callers look it up (`approver_clause`) and pass it to `level`.
- REQUESTER: the person filed it (or it was filed for them): fields and the public conversation.
- READER: an agent of a zone that opened read access to the agent's zone, or a zone manager:
  also internal notes, history, tasks and form answers; may not change anything.
- AGENT: an agent who is a member of a team in the request's zone: may act on it.

A private team's requests are hidden from everyone but its members (zone colleagues and managers
included) and the requester. Receiving a transfer or a task never grants access to the sender's
zone. A task's receivers see the task (title, shared text, status), never the request.

Analytics (`analytics_scope`, `analytics_clause`): a zone manager reads the figures of the zones they
manage, an agent those of their own teams (and of their zones' requests no team holds yet); requesters,
approvers and administrators read none. A figure only ever counts requests its reader may read one by
one (READER or more), so private teams count only for their members.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from bot.config import AppConfig, Role, Team, Zone
from bot.errors import DeskError, NotFound
from bot.i18n import N_, _
from bot.model import Approval, ApprovalVote, Collaborator, Consultation, Request, SavedView, Task


class Level(enum.IntEnum):
    """How much of a request a person may see or do."""

    NONE = 0
    APPROVER = 1
    REQUESTER = 2
    READER = 3
    AGENT = 4


@dataclass(frozen=True)
class Actor:
    """A person acting through a channel, with what `app.yaml` says about them."""

    email: str
    name: str
    channel: str
    roles: frozenset[Role] = frozenset()
    teams: frozenset[str] = frozenset()
    zones: frozenset[str] = frozenset()
    manages: frozenset[str] = frozenset()
    known: bool = False
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_staff(self) -> bool:
        """An agent or dispatcher with at least one team: someone who works requests."""
        return bool(self.zones) and bool(self.roles & {Role.AGENT, Role.DISPATCHER})

    @property
    def is_dispatcher(self) -> bool:
        """May route, weigh and file on behalf of others."""
        return Role.DISPATCHER in self.roles and bool(self.zones)


def actor_for(config: AppConfig, email: str, name: str | None, channel: str) -> Actor:
    """Build the actor for an e-mail: staff as `app.yaml` lists them, anyone else a plain requester."""
    email = email.strip().lower()
    person = config.person(email)
    if person is None:
        return Actor(email=email, name=name or name_from_email(email), channel=channel)
    teams = config.teams_of(email)
    return Actor(
        email=email,
        name=person.name,
        channel=channel,
        roles=person.roles,
        teams=frozenset(t.id for t in teams),
        zones=frozenset(t.zone for t in teams),
        manages=frozenset(person.manages) if Role.ZONE_MANAGER in person.roles else frozenset(),
        known=True,
    )


@dataclass(frozen=True)
class AnalyticsScope:
    """Whose figures a person may read (`Policy.analytics_scope`); empty for everyone else.

    `managed`: zones whose every request the person may read counts (they manage them). `teams`: their
    own teams, whose requests count, and `team_zones`, those teams' zones, whose requests no team holds
    yet count too (the shared queue the team works). `zones` and `named_teams` are what a filter may name.
    """

    managed: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    team_zones: frozenset[str] = frozenset()
    named_teams: frozenset[str] = frozenset()

    @property
    def zones(self) -> frozenset[str]:
        """Every zone some of the person's figures come from."""
        return self.managed | self.team_zones

    def __bool__(self) -> bool:
        return bool(self.managed or self.teams)


@dataclass(frozen=True)
class TaskReceivers:
    """Who in one zone a task may be addressed to: its teams, and its agents in person."""

    zone: Zone
    teams: tuple[Team, ...]
    agents: tuple[Actor, ...]


def name_from_email(email: str) -> str:
    """A display name when no platform told us one: 'zack.mckinnon@x' -> 'Zack Mckinnon'."""
    local = email.split("@", 1)[0]
    words = [w for w in local.replace("_", ".").replace("-", ".").split(".") if w and not w.isdigit()]
    return " ".join(w.capitalize() for w in words) or email


SYSTEM_EMAIL = "zonedesk@system"


def system_actor(channel: str = "scheduler") -> Actor:
    """The desk itself (scheduler, delivery failures): acts where a rule says so, never reads for a person."""
    return Actor(email=SYSTEM_EMAIL, name="Zonedesk", channel=channel, known=True)


class Policy:
    """Access rules over one configuration."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config

    # -- zones and teams -------------------------------------------------------------------------
    def acting_zones(self, actor: Actor) -> frozenset[str]:
        """Zones where the actor may act: those of their teams, if they work requests at all."""
        return actor.zones if actor.is_staff else frozenset()

    def reading_zones(self, actor: Actor) -> frozenset[str]:
        """Zones the actor may read: their own, those opened to their zones, and those they manage."""
        own = self.acting_zones(actor)
        opened = {z.id for z in self.config.zones if own & set(z.visible_to)}
        return own | opened | actor.manages

    def hidden_teams(self, actor: Actor) -> frozenset[str]:
        """Private teams the actor is not a member of: their requests stay invisible."""
        return frozenset(t.id for t in self.config.teams if t.private and t.id not in actor.teams)

    # -- one request -----------------------------------------------------------------------------
    def level(self, actor: Actor, request: Request, *, approver: bool = False) -> Level:
        """The actor's access level on one request; `approver`: they are named on a pending or decided
        approval of it (the row `approver_clause` selects), which grants APPROVER when nothing more does."""
        hidden = request.team_id is not None and request.team_id in self.hidden_teams(actor)
        if not hidden:
            if request.zone_id in self.acting_zones(actor):
                return Level.AGENT
            if request.zone_id in self.reading_zones(actor):
                return Level.READER
        if request.requester_email == actor.email:
            return Level.REQUESTER
        if approver:
            return Level.APPROVER
        return Level.NONE

    def require(self, actor: Actor, request: Request, needed: Level, doing: str = N_("do that")) -> Level:
        """Raise unless the actor has `needed`; a request the actor cannot see reads as not found.

        `doing` is what the actor tried, an infinitive phrase ("reply to it") marked `N_` where it is
        written and said here, in the actor's language, inside whole sentences; every language's
        sentence is built so such a phrase fits in it.
        """
        level = self.level(actor, request)
        if level == Level.NONE:
            raise NotFound(request.id)
        if level < needed:
            noun = self.config.organisation.zone_noun
            if needed == Level.AGENT and level == Level.READER:
                raise DeskError(_("You can read request #{number} but not {doing}: it belongs to another {zone}.",
                                  number=request.id, doing=_(doing), zone=noun))
            raise DeskError(_("Only an agent of the request's {zone} can {doing}.", zone=noun, doing=_(doing)))
        return level

    def can_work(self, person: Actor, request: Request) -> bool:
        """The person may work the request (claim it, be assigned it): an agent of its zone and private team."""
        return self.can_work_in(person, request.zone_id, request.team_id)

    def can_work_in(self, person: Actor, zone_id: str, team_id: str | None) -> bool:
        """`can_work` for a request of this zone and team, without the request in hand."""
        # The same test as `level(...) >= Level.AGENT`: acting zones are empty for non-staff.
        hidden = team_id is not None and team_id in self.hidden_teams(person)
        return person.is_staff and zone_id in self.acting_zones(person) and not hidden

    def require_requester_or_agent(self, actor: Actor, request: Request, doing: str) -> None:
        """Raise unless the actor filed the request or is its agent: cancel, reopen and urgency are theirs too.
        `doing` as for `require`."""
        if self.level(actor, request) < Level.AGENT and request.requester_email != actor.email:
            raise DeskError(_("Only the requester or an agent of the request's {zone} can {doing}.",
                              zone=self.config.organisation.zone_noun, doing=_(doing)))

    def assignees(self, zone_id: str, team_id: str | None) -> list[tuple[str, str]]:
        """(e-mail, name) of everyone who may work a request of this zone and team (`can_work_in`), by name:
        the people offered when assigning it, on every channel."""
        found = [(p.email, p.name) for p in self.config.people
                 if self.can_work_in(actor_for(self.config, p.email, None, "web"), zone_id, team_id)]
        return sorted(found, key=lambda item: (item[1], item[0]))

    def may_file_on_behalf(self, actor: Actor, zone_id: str) -> bool:
        """The actor may file a request for someone else (who phoned, who stopped by) in this zone: a
        dispatcher anywhere (they route what reaches them), an agent in a zone they work."""
        return actor.is_dispatcher or zone_id in self.acting_zones(actor)

    def can_resolve_in(self, zone_id: str) -> bool:
        """A dispatcher zone routes requests but never resolves them."""
        zone = self.config.zone(zone_id)
        return zone is not None and zone.kind == "standard"

    # -- tasks -----------------------------------------------------------------------------------
    def receives_task(self, actor: Actor, task: Task) -> bool:
        """The task was addressed to the actor, their team, or (no team or agent named) their zone."""
        if not actor.is_staff and actor.email != task.to_agent:
            return False
        if task.to_agent is not None:
            return task.to_agent == actor.email
        if task.to_team is not None:
            return task.to_team in actor.teams
        return task.to_zone in actor.zones

    def can_receive_task_in(self, person: Actor, zone_id: str) -> bool:
        """A task may be addressed to this person in this zone: they work requests and have a team there."""
        return person.is_staff and zone_id in person.zones

    def task_receivers(self, from_zone_id: str) -> list[TaskReceivers]:
        """Who may receive a task from a request of this zone, per zone.

        Its own zone first, then (while its tasks are on) its `tasks_to` zones; in each, every team
        and every agent `can_receive_task_in` it, in `app.yaml` order.
        """
        source = self.config.zone(from_zone_id)
        if source is None:
            return []
        zone_ids = [source.id, *(source.tasks_to if source.tasks_enabled else ())]
        people = [actor_for(self.config, p.email, None, "web") for p in self.config.people]
        receivers = []
        for zone_id in zone_ids:
            zone = self.config.zone(zone_id)
            if zone is None:
                continue
            agents = tuple(a for a in people if self.can_receive_task_in(a, zone.id))
            receivers.append(TaskReceivers(zone, self.config.teams_in(zone.id), agents))
        return receivers

    # -- analytics -------------------------------------------------------------------------------
    def analytics_scope(self, actor: Actor) -> AnalyticsScope:
        """Whose figures the actor may read: the zones they manage, and their own teams if they work
        requests. Roles alone (admin, approver) grant none: reading HR's figures is reading HR's cases."""
        managed = frozenset(z for z in actor.manages if self.config.zone(z) is not None)
        zone_of = {t.id: t.zone for t in self.config.teams}
        teams = frozenset(t for t in actor.teams if t in zone_of) if actor.is_staff else frozenset()
        team_zones = frozenset(zone_of[t] for t in teams)
        hidden = self.hidden_teams(actor)
        named = teams | {t.id for t in self.config.teams if t.zone in managed and t.id not in hidden}
        return AnalyticsScope(managed, teams, team_zones, frozenset(named))

    def in_analytics(self, actor: Actor, request: Request) -> bool:
        """Whether the request counts in the actor's figures (`analytics_clause` for one request)."""
        scope = self.analytics_scope(actor)
        if not scope or self.level(actor, request) < Level.READER:
            return False
        return (request.zone_id in scope.managed or request.team_id in scope.teams
                or (request.team_id is None and request.zone_id in scope.team_zones))

    def analytics_clause(self, actor: Actor) -> ColumnElement[bool]:
        """A WHERE clause over `Request` selecting exactly the requests `in_analytics` counts: what the
        actor may read one by one (READER or more), narrowed to their `analytics_scope`."""
        scope = self.analytics_scope(actor)
        if not scope:
            return false()
        parts: list[ColumnElement[bool]] = []
        if scope.managed:
            parts.append(Request.zone_id.in_(sorted(scope.managed)))
        if scope.teams:
            parts.append(Request.team_id.in_(sorted(scope.teams)))
            parts.append(and_(Request.team_id.is_(None), Request.zone_id.in_(sorted(scope.team_zones))))
        return and_(self.request_clause(actor, Level.READER), or_(*parts))

    # -- the weekly report ---------------------------------------------------------------------
    def team_reader(self, team_id: str) -> Actor:
        """Who reads a team's weekly report (`bot.analytics.weekly`): its triage channel, that is the team's
        members, so the report's figures are those a member of the team and nothing else may read of it."""
        team = self.config.team(team_id)
        zones = frozenset({team.zone}) if team is not None else frozenset()
        return Actor(email=f"team.{team_id}@{SYSTEM_EMAIL.split('@', 1)[1]}", name=team.name if team else team_id,
                     channel="scheduler", roles=frozenset({Role.AGENT}), teams=frozenset({team_id}), zones=zones,
                     known=True)

    def can_switch_weekly_report(self, actor: Actor, team_id: str) -> bool:
        """Whether the actor may turn a team's weekly report off or on: a manager of the team's zone, or an
        administrator (turning it off reveals no figure)."""
        team = self.config.team(team_id)
        if team is None:
            return False
        return Role.ADMIN in actor.roles or (Role.ZONE_MANAGER in actor.roles and team.zone in actor.manages)

    # -- the status board (bot.desk.board) ------------------------------------------------------
    def board_zones(self, actor: Actor) -> frozenset[str]:
        """Zones whose board the actor may open: those they work in (their teams' zones) and those they
        manage. Reading a zone through `visible_to` grants no board: a board is a team's working view."""
        return frozenset(z for z in self.acting_zones(actor) | actor.manages if self.config.zone(z) is not None)

    def can_open_board(self, actor: Actor, zone_id: str, team_id: str | None = None) -> bool:
        """The actor may open the board of this zone, or of this team of the zone: a zone of `board_zones`,
        and a team of it that is not private to others (`hidden_teams`). What the board shows is still
        only what `board_clause` selects."""
        if zone_id not in self.board_zones(actor):
            return False
        if team_id is None:
            return True
        team = self.config.team(team_id)
        return team is not None and team.zone == zone_id and team_id not in self.hidden_teams(actor)

    def board_clause(self, actor: Actor, zone_id: str, team_id: str | None = None) -> ColumnElement[bool]:
        """A WHERE clause over `Request`: the cards of one board, exactly the requests of that zone (and team)
        that the actor may read one by one (READER or more); nothing at all for a board they may not open."""
        if not self.can_open_board(actor, zone_id, team_id):
            return false()
        where = and_(self.request_clause(actor, Level.READER), Request.zone_id == zone_id)
        return and_(where, Request.team_id == team_id) if team_id is not None else where

    # -- list queries in SQL ---------------------------------------------------------------------
    def request_clause(self, actor: Actor, minimum: Level = Level.REQUESTER) -> ColumnElement[bool]:
        """A WHERE clause over `Request` selecting exactly the requests `level` would grant `minimum`."""
        zones = self.acting_zones(actor) if minimum >= Level.AGENT else self.reading_zones(actor)
        hidden = self.hidden_teams(actor)
        staff: ColumnElement[bool] = false()
        if zones:
            staff = Request.zone_id.in_(sorted(zones))
            if hidden:
                staff = and_(staff, or_(Request.team_id.is_(None), Request.team_id.not_in(sorted(hidden))))
        if minimum <= Level.APPROVER:
            return or_(staff, Request.requester_email == actor.email, self.approver_clause(actor))
        if minimum <= Level.REQUESTER:
            return or_(staff, Request.requester_email == actor.email)
        return staff

    def approver_clause(self, actor: Actor) -> ColumnElement[bool]:
        """A WHERE clause over `Request`: the actor is a named approver of a pending or decided approval of it
        (a withdrawn approval no longer needs them). `level(..., approver=True)` for the rows it selects."""
        named = (select(Approval.request_id).join(ApprovalVote, ApprovalVote.approval_id == Approval.id)
                 .where(self.approvals_clause(actor), Approval.status != "withdrawn"))
        return Request.id.in_(named.scalar_subquery())

    def approvals_clause(self, actor: Actor, *, undecided: bool = False) -> ColumnElement[bool]:
        """A WHERE clause over `ApprovalVote` (joined to its approval): the places where the actor is a named
        approver, every list of approvals a person sees (with `undecided`, only those still theirs to decide)."""
        mine = ApprovalVote.approver_email == actor.email
        return and_(mine, ApprovalVote.decision.is_(None)) if undecided else mine

    def task_clause(self, actor: Actor) -> ColumnElement[bool]:
        """A WHERE clause over `Task` selecting the tasks addressed to the actor (see `receives_task`)."""
        mine = Task.to_agent == actor.email
        if not actor.is_staff:
            return mine
        team_tasks = and_(Task.to_agent.is_(None), Task.to_team.in_(sorted(actor.teams))) if actor.teams else false()
        zone_tasks = (
            and_(Task.to_agent.is_(None), Task.to_team.is_(None), Task.to_zone.in_(sorted(actor.zones)))
            if actor.zones
            else false()
        )
        return or_(mine, team_tasks, zone_tasks)

    # -- bundles (bot.desk.bundles) ------------------------------------------------------------------
    def can_bundle(self, actor: Actor) -> bool:
        """The actor may make bundles and act on them: someone who works requests. What a bundle may hold
        is decided per request: a member is added or removed by an agent of that request (`Level.AGENT`),
        so a bundle spans only zones its makers may work."""
        return actor.is_staff

    def bundle_member_clause(self, actor: Actor) -> ColumnElement[bool]:
        """A WHERE clause over `Request`: the members of a bundle the actor is shown (and that a bundle's
        reply or status change reaches when they act on it): requests they may read as staff (READER or
        more). The others are neither listed nor counted; for this reader they are not in the bundle."""
        return self.request_clause(actor, Level.READER)

    def sees_bundle(self, actor: Actor, created_by: str, members_shown: int) -> bool:
        """Whether a bundle exists for the actor: one who works requests and made it, or is shown at least
        one of its members (`bundle_member_clause`). Anyone else is told it was not found."""
        return self.can_bundle(actor) and (created_by == actor.email or members_shown > 0)

    # -- saved views (bot.desk.views) ----------------------------------------------------------------
    def view_clause(self, actor: Actor) -> ColumnElement[bool]:
        """A WHERE clause over `SavedView`: the views the actor may open, their own and those shared with a
        team they are a member of. Anyone else's view does not exist for them ("not found"). A view keeps a
        query, never rows: what it lists is always what the viewer's own access selects."""
        mine = SavedView.owner_email == actor.email
        return or_(mine, SavedView.team_id.in_(sorted(actor.teams))) if actor.teams else mine

    def may_open_view(self, actor: Actor, view: SavedView) -> bool:
        """`view_clause` for one view."""
        return view.owner_email == actor.email or (view.team_id is not None and view.team_id in actor.teams)

    def may_change_view(self, actor: Actor, view: SavedView) -> bool:
        """Only a view's owner renames, re-shares or deletes it; team members only open it."""
        return view.owner_email == actor.email

    def may_share_view_with(self, actor: Actor, team_id: str) -> bool:
        """A view is shared with one of its owner's own teams, nobody else's."""
        return team_id in actor.teams and self.config.team(team_id) is not None


    # -- consultation (bot.desk.consultation) ----------------------------------------------------------
    def consulted_clause(self, actor: Actor) -> ColumnElement[bool]:
        """A WHERE clause over `Request`: the requests the actor is asked for their view on right now (invited,
        not withdrawn). This fact grants no level: such a request is in none of the actor's lists, searches,
        boards or figures (`request_clause` never names it), `level` stays what it was (NONE for most), and
        the only read it opens is `may_read_as_consultee`."""
        invited = select(Consultation.request_id).where(Consultation.person_email == actor.email,
                                                        Consultation.withdrawn_at.is_(None))
        return Request.id.in_(invited.scalar_subquery())

    def may_read_as_consultee(self, actor: Actor, consultation: Consultation | None) -> bool:
        """Whether the actor may open a request's consultation page: its title, description and public
        conversation (never notes, history, tasks or fields) and their own answers, while their invitation
        stands. Withdrawn, or never invited: the request does not exist for them there ("not found")."""
        return (consultation is not None and consultation.person_email == actor.email
                and consultation.withdrawn_at is None)

    def consultee_sees_attachment(self, actor: Actor, consultation: Consultation | None, *, public: bool) -> bool:
        """Whether a consultee may list and open one of the request's files on their consultation page: the
        files of what they read there (the filing message and public comments: `public`), while their
        invitation stands; never a note's. Their level on the request stays NONE: the request page and its
        file links stay closed to them."""
        return public and self.may_read_as_consultee(actor, consultation)

    def may_invite_consultee(self, actor: Actor, request: Request) -> bool:
        """Who may ask someone's view on a request, or withdraw the question: an agent who may work it."""
        return self.level(actor, request) >= Level.AGENT

    def may_be_consulted(self, person: Actor, request: Request) -> bool:
        """Whether an invitation means anything for this person: not its requester and nobody who already
        reads the request as staff (they read it, notes included, without being asked)."""
        return request.requester_email != person.email and self.level(person, request) < Level.READER

    # -- outside collaborators (bot.desk.collaborators) -------------------------------------------------
    def collaborator_clause(self, address: str) -> ColumnElement[bool]:
        """A WHERE clause over `Request`: the requests an outside address is a collaborator on right now. It
        grants no level either: a collaborator reads nothing on the web and lists nothing; by mail they are
        sent the public replies and may comment (`is_collaborator`)."""
        invited = select(Collaborator.request_id).where(Collaborator.email == address.strip().lower(),
                                                        Collaborator.removed_at.is_(None))
        return Request.id.in_(invited.scalar_subquery())

    def is_collaborator(self, address: str, collaborator: Collaborator | None) -> bool:
        """Whether a mail from this address to the request's reply address is a collaborator's comment: it was
        invited and not removed."""
        return (collaborator is not None and collaborator.email == address.strip().lower()
                and collaborator.removed_at is None)

    def may_invite_collaborator(self, actor: Actor, request: Request) -> bool:
        """Who may bring an outside address into a request, or take it out: an agent who may work it."""
        return self.level(actor, request) >= Level.AGENT

    def outside(self, address: str) -> bool:
        """An address is outside the organisation: no person of `app.yaml` and none of its people's or zones'
        mail domains (the same domains the e-mail channel counts as the organisation's): colleagues are
        consulted, not brought in by mail."""
        address = address.strip().lower()
        if self.config.person(address) is not None:
            return False
        domains = {p.email.rsplit("@", 1)[-1].lower() for p in self.config.people}
        domains |= {z.email.rsplit("@", 1)[-1].lower() for z in self.config.zones if z.email}
        domains |= {d.lower() for d in self.config.email.domains}
        if self.config.sign_in.oidc is not None:
            domains |= {d.lower() for d in self.config.sign_in.oidc.allowed_domains}
        return address.rsplit("@", 1)[-1] not in domains

    # -- attachments (bot.files) ----------------------------------------------------------------------
    def sees_attachment(self, level: Level, *, public: bool) -> bool:
        """Whether a person with `level` on a request (`bot.desk.approvers.level_of`, which counts a named
        approver) may list and open one of its files: anyone who sees the request, for the files of its
        filing message and public comments; only those who read notes (READER and up), for files on an
        internal note. NONE never: such a file reads as not found, like its request."""
        if level >= Level.READER:
            return True
        return public and level > Level.NONE


def everything() -> ColumnElement[bool]:
    """For administrative CLI paths that act for the organisation (export, erase), never for a person."""
    return true()
