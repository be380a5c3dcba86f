"""`GET /board` (`?zone=`, `?team=`, and the list filters): a zone's or team's status board; `POST /board/move`.

The board comes from `bot.desk.board` (which asks the policy whose board one may open and what it
shows); this module reads the query and renders. The page is whole without JavaScript: every card has
a small form (a status select and Move) that posts here and comes back to the board with the desk's
message. `static/board.js` (with the vendored SortableJS) lets an agent drag a card to another column:
it posts the same form with `fetch` (asking for JSON) and snaps the card back with the desk's refusal.
Cancelling asks why and resolving asks for the requester's note, on a small page of their own, whether
the card's form or a drag asked for it (decision 0012). This page alone allows scripts, and only files we
serve and requests to ourselves (`script-src 'self'; connect-src 'self'`): no inline script, no eval.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlencode

from aiohttp import web

from adapters.web.pages import SECURITY_HEADERS
from adapters.web.site import Site, Visit
from bot.desk.board import (
    Board,
    BoardScope,
    Card,
    NoBoard,
    asks_first,
    board_query,
    board_scopes,
    card_moves,
    check_card_move,
    move_card,
    open_board,
)
from bot.desk.filters import SLA_NAMES, SLA_STATES, FilterError, QueryValues, RequestFilter
from bot.desk.history import status_label
from bot.errors import DeskError, Duplicate, NotFound
from bot.i18n import N_, _

BOARD_CSP = SECURITY_HEADERS["Content-Security-Policy"] + "; script-src 'self'; connect-src 'self'"
LIST_PAGE = "/list"  # the list page (adapters/web/lists.py) a column's "more" link opens, filtered by status

# What a move says, one whole sentence per status (the adjective agrees differently by language);
# the same sentences as the request page's.
NOW = {
    "new": N_("Request #{number} is now new."), "assigned": N_("Request #{number} is now assigned."),
    "accepted": N_("Request #{number} is now accepted."), "in_progress": N_("Request #{number} is now in progress."),
    "waiting": N_("Request #{number} is now waiting."), "resolved": N_("Request #{number} is now resolved."),
    "closed": N_("Request #{number} is now closed."), "reopened": N_("Request #{number} is now reopened."),
    "cancelled": N_("Request #{number} is now cancelled."),
}
ALREADY = N_("That was already done.")


def _wants_json(visit: Visit) -> bool:
    """The board's script asks for JSON; a plain form post gets pages and redirects."""
    return "application/json" in visit.request.headers.get("Accept", "")


def _back(visit: Visit) -> str:
    """The board the form came from: only a board address of ours, never another site."""
    back = visit.field("back")
    return back if back.startswith("/board") and not back.startswith("//") and "\\" not in back else "/board"


class BoardPage:
    """The board and its move."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.desk = site.desk
        self.config = site.config
        # The navigation offers the board to whoever may open one (`Policy.board_zones`).
        policy = self.desk.policy
        site.pages.env.globals["may_open_board"] = lambda user: bool(policy.board_zones(user))

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Mount the board and the move."""
        router.add_get("/board", self.site.route(self.show))
        router.add_post("/board/move", self.site.route(self.move))

    # ------------------------------------------------------------------ reading
    def _refused(self, visit: Visit, exc: DeskError) -> web.Response:
        if isinstance(exc, NoBoard):
            return self.site.problem(visit, 404, _("Not found"), exc.message)
        return self.site.problem(visit, 403, _("The board is for agents"), exc.message)

    async def show(self, visit: Visit) -> web.StreamResponse:
        """The board asked for, or the person's own team's; the filter form above it."""
        actor = visit.user
        try:
            scope, flt = board_query(self.desk, actor, cast(QueryValues, visit.request.query))
        except FilterError as exc:
            if not board_scopes(self.desk, actor):
                return self._refused(visit, DeskError(_("The board is for agents: you are not a member of any "
                                                        "team, so there is no board for you.")))
            return self._render(visit, None, RequestFilter(), 400, errors=exc.problems)
        except DeskError as exc:
            return self._refused(visit, exc)
        board = await open_board(self.desk, actor, scope, flt)
        return self._render(visit, board, flt)

    def _render(self, visit: Visit, board: Board | None, flt: RequestFilter, status: int = 200, *,
                errors: tuple[str, ...] = ()) -> web.Response:
        config, actor = self.config, visit.user
        scopes = board_scopes(self.desk, actor)
        scope = board.scope if board else (scopes[0] if scopes else None)
        filters = [(k, v) for k, v in flt.to_query() if k not in ("zone", "team", "scope")]  # the board's own
        here = self._query(scope, filters) if scope else []
        context: dict[str, Any] = {
            "board": board, "scope": scope, "flt": flt,
            "boards": [(self._name(s), "/board?" + urlencode(self._query(s, [])), s == scope) for s in scopes],
            "title": self._name(scope) if scope else _("Board"),
            "back": "/board?" + urlencode(here) if here else "/board",
            "zone_names": {z.id: z.name for z in config.zones},
            "team_names": {t.id: t.name for t in config.teams},
            "assignees": self._assignees(scope) if scope else [],
            "priorities": list(reversed(config.priority.levels)),
            "sla_states": [(state, _(SLA_NAMES[state])) for state in SLA_STATES],
            "sla_names": {state: _(SLA_NAMES[state]) for state in SLA_STATES},
            "moves": self._moves_of(),
            # The column's status replaces any status filter (the list would show either one's requests).
            "more": lambda status: LIST_PAGE + "?" + urlencode([*(p for p in here if p[0] != "status"),
                                                                ("status", status)]),
        }
        response = self.site.page(visit, "board.html", status, errors=errors, **context)
        response.headers["Content-Security-Policy"] = BOARD_CSP
        return response

    def _name(self, scope: BoardScope) -> str:
        zone = self.config.zone(scope.zone_id)
        team = self.config.team(scope.team_id) if scope.team_id else None
        return team.name if team else (zone.name if zone else scope.zone_id)

    @staticmethod
    def _query(scope: BoardScope, filters: list[tuple[str, str]]) -> list[tuple[str, str]]:
        place = [("team", scope.team_id)] if scope.team_id else [("zone", scope.zone_id)]
        return [*place, *filters]

    def _assignees(self, scope: BoardScope) -> list[tuple[str, str]]:
        """Who the assignee filter offers: the people who may work the board's requests."""
        teams = [scope.team_id] if scope.team_id else [None, *(t.id for t in self.config.teams_in(scope.zone_id))]
        people: dict[str, str] = {}
        for team in teams:
            people.update(self.desk.policy.assignees(scope.zone_id, team))
        return sorted(people.items(), key=lambda item: (item[1], item[0]))

    def _moves_of(self) -> Callable[[Card], list[tuple[str, str]]]:
        """A card's move choices (value, label), each status's worked out once per page, not once per card."""
        known: dict[tuple[str, bool], list[tuple[str, str]]] = {}

        def moves(card: Card) -> list[tuple[str, str]]:
            key = (card.status, card.open_task)
            if key not in known:
                known[key] = [(m, self._move_label(m)) for m in card_moves(card.status, open_task=card.open_task)]
            return known[key]

        return moves

    @staticmethod
    def _move_label(move: str) -> str:
        status, _colon, reason = move.partition(":")
        return status_label(status, reason or None)

    # ------------------------------------------------------------------ moving
    async def move(self, visit: Visit) -> web.StreamResponse:
        """Move one card as `/desk status` would; back to the board with the desk's message (or, for the
        board's script, JSON with it). Cancelling and resolving are asked for on their own small page."""
        raw, target = visit.field("n"), visit.field("status").strip().lower()
        as_json = _wants_json(visit)
        if not raw.isdigit() or len(raw) > 9:
            return self._answer(visit, 404, _("Request #{number} was not found.", number=raw[:12]), ok=False)
        number = int(raw)
        try:
            if not target:
                raise DeskError(_("Choose the new status."))
            if asks_first(target) and visit.field("confirmed") != "yes":
                detail = await check_card_move(self.desk, visit.user, number, target)
                if as_json:  # the script opens this page itself; a post without it is asked the same way
                    return self._answer(visit, 409, _("Confirm on the form first."), ok=False)
                return self._confirm(visit, number, detail.title, target, detail.requester_name)
            status = await move_card(self.desk, visit.user, number, target, reason=visit.field("reason"),
                                     note=visit.field("note"), dedupe_key=visit.dedupe_key())
        except Duplicate:
            return self._answer(visit, 409, _(ALREADY), ok=False)
        except NotFound as exc:
            return self._answer(visit, 404, exc.message, ok=False)
        except DeskError as exc:
            if asks_first(target) and visit.field("confirmed") == "yes" and not as_json:
                try:
                    detail = await check_card_move(self.desk, visit.user, number, target)
                except DeskError:
                    return self._answer(visit, 400, exc.message, ok=False)
                return self._confirm(visit, number, detail.title, target, detail.requester_name, 400,
                                     (exc.message,))
            return self._answer(visit, 400, exc.message, ok=False)
        message = _(NOW[status], number=number)
        if as_json:
            open_task = target == "waiting:task" or visit.field("open_task") == "yes"
            return self._json(visit, 200, message, ok=True, status=status, label=status_label(
                status, target.partition(":")[2] or None),
                moves=[[m, self._move_label(m)] for m in card_moves(status, open_task=open_task)])
        visit.session.flash(message)
        return self.site.redirect(_back(visit))

    def _answer(self, visit: Visit, status: int, message: str, *, ok: bool) -> web.Response:
        if _wants_json(visit):
            return self._json(visit, status, message, ok=ok)
        visit.session.flash(message, "ok" if ok else "error")
        return self.site.redirect(_back(visit))

    @staticmethod
    def _json(visit: Visit, code: int, message: str, **more: Any) -> web.Response:
        # A fresh one-time key for the card's next move (the used one would be a duplicate).
        body = {"message": message, "once": secrets.token_urlsafe(12), **more}
        response = web.json_response(body, status=code)
        response.headers["Cache-Control"] = "no-store"
        return response

    def _confirm(self, visit: Visit, number: int, title: str, target: str, requester: str, status: int = 200,
                 errors: tuple[str, ...] = ()) -> web.Response:
        """The small page that asks why a request is cancelled, or what to tell its requester when resolved."""
        asking = "cancel" if target.startswith("cancelled") else "resolve"
        return self.site.page(visit, "board_confirm.html", status, errors=errors, number=number, title=title,
                              asking=asking, target=target.partition(":")[0], requester=requester,
                              back=_back(visit), typed={"reason": visit.field("reason"), "note": visit.field("note")})
