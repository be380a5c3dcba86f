"""The status board: one zone's or team's requests as columns of the status machine, and moving a card.

What a board shows is read through the policy only: `Policy.can_open_board` says whose board a person
may open, `Policy.board_clause` selects its cards (exactly the requests of that zone or team the person
may read one by one). Columns are the statuses in the machine's order (`bot.desk.status.STATUSES`); each
holds its first `CARDS` cards and the column's count, so a board stays fast on a desk of 100,000
requests: open columns put the most urgent and then the oldest first (what is stuck), finished ones
(resolved, closed, cancelled) the most recently changed. A card carries its SLA state from the
scheduler's clocks (`bot.scheduler.sla`).

A card's move (`move_card`) is the chat `status` verb's move: the same use cases with the same
arguments (cancel, reopen, resolve with its note, waiting on what), so the rules, the history event and
the requester's message are the same. The board asks one thing more: why a request is cancelled
(decision 0012).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bot.access import Actor
from bot.desk import lifecycle
from bot.desk.filters import QueryValues, RequestFilter, filter_clause, sla_state
from bot.desk.reads import get_request
from bot.desk.status import MOVES, STATUSES, WAITING_REASONS, check_move
from bot.desk.types import RequestDetail
from bot.desk.unit import Unit
from bot.errors import DeskError
from bot.i18n import _
from bot.model import Request, SlaClock, Task

CARDS = 50
"""Cards shown per column; the column's count says how many there are, and its list shows them all."""
FINISHED = frozenset({"resolved", "closed", "cancelled"})
FINISHED_CARDS = 15
"""Cards shown in a finished column (resolved, closed, cancelled): the latest changed. A board is for the
work in flight; the finished columns say what just left it, and their lists hold the rest. Rendering 150
finished cards nobody moves was a third of the page's time at 100,000 requests."""



class NoBoard(DeskError):
    """A board that does not exist, or that the person may not open: the same answer for both."""

    def __init__(self) -> None:
        super().__init__(_("There is no such board, or it is not one you may open."))


@dataclass(frozen=True)
class BoardScope:
    """Whose board: a zone, or one team of it."""

    zone_id: str
    team_id: str | None = None


@dataclass(frozen=True)
class Card:
    """One request on the board, as its reader may see it."""

    number: int
    title: str
    zone_id: str
    team_id: str | None
    status: str
    waiting_reason: str | None
    priority: str
    assignee_email: str | None
    assignee_name: str | None
    deadline: datetime | None
    created_at: datetime
    sla: str | None  # its SLA state as lists say it (`bot.desk.filters.sla_state`); None without a target
    sla_due: datetime | None  # when the next running target is used up
    can_move: bool  # the reader may work it (`Policy.can_work`): the card has a move form and drags
    open_task: bool  # it has an open task, so it may wait on one


@dataclass(frozen=True)
class Column:
    """One status: its first cards and how many requests of the board have it."""

    status: str
    count: int
    cards: tuple[Card, ...]

    @property
    def more(self) -> int:
        """How many of the column's requests are not shown."""
        return self.count - len(self.cards)


@dataclass(frozen=True)
class Board:
    """A zone's or team's board for one reader."""

    scope: BoardScope
    columns: tuple[Column, ...]

    @property
    def total(self) -> int:
        """Requests on the board, every column together."""
        return sum(c.count for c in self.columns)


def board_scopes(unit: Unit, actor: Actor) -> list[BoardScope]:
    """Every board the person may open, in `app.yaml` order: each zone, then its teams."""
    policy = unit.policy
    zones = policy.board_zones(actor)
    found = []
    for zone in unit.config.zones:
        if zone.id not in zones:
            continue
        found.append(BoardScope(zone.id))
        found += [BoardScope(zone.id, t.id) for t in unit.config.teams_in(zone.id)
                  if policy.can_open_board(actor, zone.id, t.id)]
    return found


def board_query(unit: Unit, actor: Actor, query: QueryValues) -> tuple[BoardScope, RequestFilter]:
    """The board and filter a URL query asks for: `zone=` and `team=` choose the board (one of each at
    most), every other key filters its cards as on lists (`RequestFilter`, which raises `FilterError`)."""
    flt = RequestFilter.from_query(query, unit.config)
    if len(flt.zones) > 1 or len(flt.teams) > 1:
        raise NoBoard()
    scope = choose_scope(unit, actor, flt.zones[0] if flt.zones else None, flt.teams[0] if flt.teams else None)
    return scope, flt


def choose_scope(unit: Unit, actor: Actor, zone_id: str | None, team_id: str | None) -> BoardScope:
    """The board asked for (`?zone=`, `?team=`), or the person's first one when nothing is asked.

    A team names its zone; a zone and a team that do not belong together, or a board the person may not
    open, are not found (as a request one may not see). Someone with no board at all is told why.
    """
    scopes = board_scopes(unit, actor)
    if not scopes:
        raise DeskError(_("The board is for agents: you are not a member of any team, so there is no board "
                          "for you."))
    if not zone_id and not team_id:
        own = next((s for s in scopes if s.team_id is not None and s.team_id in actor.teams), None)
        return own or scopes[0]
    team = unit.config.team(team_id) if team_id else None
    if team_id and team is None:
        raise NoBoard()
    zone = zone_id or (team.zone if team else "")
    scope = BoardScope(zone, team_id or None)
    if not unit.policy.can_open_board(actor, scope.zone_id, scope.team_id):
        raise NoBoard()
    return scope


async def open_board(unit: Unit, actor: Actor, scope: BoardScope, flt: RequestFilter | None = None, *,
                     limit: int = CARDS) -> Board:
    """The board of `scope` for this person: per status, its first `limit` cards and its count.

    `flt` narrows it as it narrows a list (`bot.desk.filters.filter_clause`: assignee, priority, category,
    label, SLA state, dates, text...; its zones and teams are the board's scope instead); it never widens
    what the policy selects. A board the person may not open is not found.
    """
    policy = unit.policy
    if not policy.can_open_board(actor, scope.zone_id, scope.team_id):
        raise NoBoard()
    selected = policy.board_clause(actor, scope.zone_id, scope.team_id)
    if flt is not None:
        selected = selected & filter_clause(unit, actor, replace(flt, scope="all", zones=(), teams=()))
    levels = list(reversed(unit.config.priority.levels))  # the most urgent first
    recent = (Request.updated_at.desc(), Request.id.desc())
    # Only the columns a card shows, as rows: loading whole ORM objects (descriptions and all) for 450 cards
    # and their clocks was most of the board's time. On the readers' connection, as lists and analytics:
    # a board's dozen statements never hold up the writer (on SQLite, its one connection).
    shown = (Request.id, Request.title, Request.zone_id, Request.team_id, Request.status, Request.waiting_reason,
             Request.priority, Request.assignee_email, Request.deadline, Request.created_at)
    async with unit.readers() as session:
        # Counted per status and priority (from ix_requests_board alone when nothing else filters), so an
        # open column reads only its non-empty priority levels, most urgent first, each a range of that
        # index in filing order, and stops as soon as it has its cards.
        levelled: dict[tuple[str, str], int] = {(status, priority): int(n) for status, priority, n in (
            await session.execute(select(Request.status, Request.priority, func.count()).where(selected)
                                  .group_by(Request.status, Request.priority))).all()}
        counts: dict[str, int] = {}
        for (status, _level), n in levelled.items():
            counts[status] = counts.get(status, 0) + n
        rows: dict[str, list[Any]] = {}
        for status in STATUSES:
            if not counts.get(status):
                continue
            if status in FINISHED:
                query = (select(*shown).where(selected, Request.status == status).order_by(*recent)
                         .limit(min(limit, FINISHED_CARDS)))
                rows[status] = list((await session.execute(query)).all())
                continue
            found: list[Any] = []
            others = sorted(p for s, p in levelled if s == status and p not in levels)  # not in app.yaml any more
            for level in [*levels, *others]:
                if len(found) >= limit:
                    break
                if levelled.get((status, level)):
                    query = (select(*shown).where(selected, Request.status == status, Request.priority == level)
                             .order_by(Request.created_at, Request.id).limit(limit - len(found)))
                    found += (await session.execute(query)).all()
            rows[status] = found
        numbers = [r.id for found in rows.values() for r in found]
        clocks: dict[int, list[Any]] = {}
        tasks: set[int] = set()
        if numbers:
            for clock in (await session.execute(select(
                    SlaClock.request_id, SlaClock.met_at, SlaClock.paused_at, SlaClock.due_at, SlaClock.breached_at)
                    .where(SlaClock.request_id.in_(numbers)))).all():
                clocks.setdefault(clock.request_id, []).append(clock)
            tasks = set((await session.execute(select(Task.request_id).where(
                Task.request_id.in_(numbers), Task.status == "open").distinct())).scalars())
    people = {p.email: p.name for p in unit.config.people}

    def card(r: Any) -> Card:
        mine = clocks.get(r.id, [])
        state, due = sla_state(mine), next_due(mine)
        return Card(r.id, r.title, r.zone_id, r.team_id, r.status, r.waiting_reason, r.priority, r.assignee_email,
                    people.get(r.assignee_email, r.assignee_email) if r.assignee_email else None, r.deadline,
                    r.created_at, state, due, policy.can_work_in(actor, r.zone_id, r.team_id), r.id in tasks)

    columns = tuple(Column(status, counts.get(status, 0), tuple(card(r) for r in rows.get(status, ())))
                    for status in STATUSES)
    return Board(scope, columns)


def next_due(clocks: Sequence[Any]) -> datetime | None:
    """When the first of a request's running (unmet, not paused) SLA targets is used up, if any runs."""
    dues = [c.due_at for c in clocks if c.met_at is None and c.paused_at is None and c.due_at is not None]
    return min(dues) if dues else None


def card_moves(status: str, *, open_task: bool) -> list[str]:
    """The moves a card's form offers from `status`, in the machine's order: each legal target, waiting
    once per reason (`waiting:requester`...; on a task only with an open task). The desk still decides."""
    found: list[str] = []
    for target in STATUSES:
        if target not in MOVES.get(status, frozenset()):
            continue
        if target == "waiting":
            found += [f"waiting:{reason}" for reason in WAITING_REASONS if reason != "task" or open_task]
        else:
            found.append(target)
    return found


def asks_first(target: str) -> bool:
    """Cancelling (a reason) and resolving (a note for the requester) are asked for on a form of their own."""
    return target.partition(":")[0] in {"cancelled", "resolved"}


async def check_card_move(unit: Unit, actor: Actor, number: int, target: str) -> RequestDetail:
    """Before asking for a reason or a note: refuse at once, with the status machine's own words, a move
    it would refuse anyway (a request the person may not see is not found). Returns the request as read."""
    detail = await get_request(unit, actor, number)
    check_move(number, detail.status, target.partition(":")[0])
    return detail


async def move_card(unit: Unit, actor: Actor, number: int, target: str, *, reason: str | None = None,
                    note: str | None = None, dedupe_key: str | None = None) -> str:
    """Move a card to `target` as `/desk status NUMBER TARGET [reason]` would; returns the new status.

    `target` is a status, or `waiting:REASON`. Cancelling goes through `cancel` (an agent or the
    requester) and needs a reason on the board, kept in the history; resolving keeps `note` for the
    requester; reopening goes through `reopen`; every other move through `set_status`.
    """
    status, _colon, waiting_on = target.partition(":")
    status = status.strip().lower()
    if not status:
        raise DeskError(_("Choose the new status."))
    reason = (reason or "").strip() or None
    if status == "cancelled":
        if reason is None:
            raise DeskError(_("Say why request #{number} is cancelled: the reason is kept in its history.",
                              number=number))
        await lifecycle.cancel(unit, actor, number, reason, dedupe_key=dedupe_key)
    elif status == "resolved":
        await lifecycle.set_status(unit, actor, number, status, note=(note or "").strip() or None,
                                   dedupe_key=dedupe_key)
    elif status == "reopened":
        await lifecycle.reopen(unit, actor, number, reason, dedupe_key=dedupe_key)
    else:
        await lifecycle.set_status(unit, actor, number, status, reason=waiting_on.strip().lower() or None,
                                   dedupe_key=dedupe_key)
    return status
