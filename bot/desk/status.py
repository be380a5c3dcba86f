"""The request status machine: which moves are legal, and why a move is refused."""

from __future__ import annotations

from bot.errors import DeskError

STATUSES = ("new", "assigned", "accepted", "in_progress", "waiting", "resolved", "closed", "reopened", "cancelled")
OPEN = frozenset({"new", "assigned", "accepted", "in_progress", "waiting", "reopened"})
WAITING_REASONS = ("requester", "approval", "task")

_WORK = {"in_progress", "waiting", "resolved", "cancelled"}
MOVES: dict[str, frozenset[str]] = {
    "new": frozenset({"assigned", "accepted"} | _WORK),
    "assigned": frozenset({"new", "accepted"} | _WORK),
    "accepted": frozenset({"assigned"} | _WORK),
    "in_progress": frozenset({"accepted"} | _WORK - {"in_progress"}),
    "waiting": frozenset({"in_progress", "resolved", "cancelled"}),
    "resolved": frozenset({"closed", "reopened"}),
    "closed": frozenset({"reopened"}),
    "reopened": frozenset({"assigned", "accepted"} | _WORK),
    "cancelled": frozenset(),
}

_WHY = {
    "cancelled": "a cancelled request is final; file a new one instead",
    "closed": "a closed request can only be reopened",
    "resolved": "a resolved request can only be closed or reopened",
}


def check_move(number: int, current: str, target: str) -> None:
    """Raise a DeskError that says what is allowed when `current -> target` is not a legal move."""
    if target not in STATUSES:
        raise DeskError(f"'{target}' is not a status. Statuses: {', '.join(STATUSES)}.")
    if target == current:
        raise DeskError(f"Request #{number} is already {current}.")
    if target not in MOVES[current]:
        allowed = ", ".join(sorted(MOVES[current])) or "nothing"
        why = _WHY.get(current, f"from {current} it can move to: {allowed}")
        raise DeskError(f"Request #{number} cannot go from {current} to {target}: {why}.")
