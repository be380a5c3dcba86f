"""The request status machine: which moves are legal, and why a move is refused."""

from __future__ import annotations

from bot.errors import DeskError
from bot.i18n import N_, _

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

# A status inside a sentence or a list line ("#42 · waiting"), lowercase, read as a label (each language
# words its sentences as "has status X", so one word fits every sentence). English shows the status's id,
# as chat answers always have (it is also what `/desk status` takes); other languages say it in words.
# The pages' capitalised names ("In progress") are `bot.desk.history.STATUS_NAMES`.
_WORDS = {
    # Translators: a status as a label in a sentence or list line ("has status X"), lowercase; English shows the id.
    "new": N_("new"),
    # Translators: a status as a label in a sentence or list line ("has status X"), lowercase; English shows the id.
    "assigned": N_("assigned"),
    # Translators: a status as a label in a sentence or list line ("has status X"), lowercase; English shows the id.
    "accepted": N_("accepted"),
    # Translators: a status as a label in a sentence or list line ("has status X"), lowercase; English shows the id.
    "in_progress": N_("in_progress"),
    # Translators: a status as a label in a sentence or list line ("has status X"), lowercase; English shows the id.
    "waiting": N_("waiting"),
    # Translators: a status as a label in a sentence or list line ("has status X"), lowercase; English shows the id.
    "resolved": N_("resolved"),
    # Translators: a status as a label in a sentence or list line ("has status X"), lowercase; English shows the id.
    "closed": N_("closed"),
    # Translators: a status as a label in a sentence or list line ("has status X"), lowercase; English shows the id.
    "reopened": N_("reopened"),
    # Translators: a status as a label in a sentence or list line ("has status X"), lowercase; English shows the id.
    "cancelled": N_("cancelled"),
}

_WHY = {
    "cancelled": N_("a cancelled request is final; file a new one instead"),
    "closed": N_("a closed request can only be reopened"),
    "resolved": N_("a resolved request can only be closed or reopened"),
}


def status_word(status: str) -> str:
    """A status as a sentence or list line says it, in the language being spoken (an unknown one as it is)."""
    return _(_WORDS[status]) if status in _WORDS else status


def check_move(number: int, current: str, target: str) -> None:
    """Raise a DeskError that says what is allowed when `current -> target` is not a legal move."""
    if target not in STATUSES:  # the statuses are listed as typed (`/desk status 42 waiting`)
        raise DeskError(_("'{target}' is not a status. Statuses: {statuses}.", target=target,
                          statuses=", ".join(STATUSES)))
    if target == current:
        raise DeskError(_("Request #{number} is already {status}.", number=number, status=status_word(current)))
    if target not in MOVES[current]:
        if current in _WHY:
            why = _(_WHY[current])
        elif MOVES[current]:
            why = _("from {current} it can move to: {allowed}", current=status_word(current),
                    allowed=", ".join(status_word(s) for s in sorted(MOVES[current])))
        else:
            why = _("from {current} it can move to: nothing", current=status_word(current))
        raise DeskError(_("Request #{number} cannot go from {current} to {target}: {why}.", number=number,
                          current=status_word(current), target=status_word(target), why=why))
