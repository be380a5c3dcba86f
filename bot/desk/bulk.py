"""Acting on many requests at once: assign, change status, label, transfer or reply to a selection.

Each request is checked and changed on its own, through the same use case its chat verb calls (one
transaction each: its rules, history and notifications), so one refusal never holds up the others and
nothing is half-written. The outcome says which were done and which were refused, with the desk's own
message (a request the person may not see reads "not found", as everywhere). A request's change claims
its own key, derived from the form's or command's key and its number, so a form sent twice changes
nothing twice: what was done the first time is reported as such. Bundles (`bot.desk.bundles`) act on
their members through `each` as well.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from bot.access import Actor
from bot.desk import conversation, fields, lifecycle, ownership, transfers
from bot.desk.status import STATUSES
from bot.desk.unit import TEXT_MAX, Unit, clean_text
from bot.errors import DeskError, Duplicate
from bot.i18n import _, ngettext

#: The most requests one bulk action takes (a page of a list is 50; a board column may hold more).
BULK_MAX = 200
ACTIONS = ("assign", "status", "label", "transfer", "reply")
_KEY_MAX = 300  # `Inbound.key`
# What people type or pick for a status, as the `status` verb takes it.
_STATUS_ALIASES = {"resolve": "resolved", "cancel": "cancelled", "close": "closed", "reopen": "reopened"}


@dataclass(frozen=True)
class Refused:
    """A request the action was not done to, and the desk's reason in the actor's language."""

    number: int
    reason: str


@dataclass(frozen=True)
class Outcome:
    """What one action on many requests did: `done` now, `refused` with reasons, and `repeated`: done
    already when the same form or command was first sent (nothing was done twice)."""

    done: tuple[int, ...] = ()
    refused: tuple[Refused, ...] = ()
    repeated: tuple[int, ...] = ()


def selection(values: Iterable[str | int]) -> list[int]:
    """The request numbers of a selection, in order, each once (`42` or `#42`); refused when empty, when a
    value is no number, or when there are more than `BULK_MAX`."""
    numbers: list[int] = []
    for value in values:
        token = str(value).strip().lstrip("#")
        if not token:
            continue
        if not token.isdigit() or len(token) > 12:
            raise DeskError(_("'{value}' is not a request number.", value=str(value).strip()))
        if int(token) not in numbers:
            numbers.append(int(token))
    if not numbers:
        raise DeskError(_("Select at least one request."))
    if len(numbers) > BULK_MAX:
        raise DeskError(ngettext("You selected {count} request; one action takes at most {limit}. Select fewer.",
                                 "You selected {count} requests; one action takes at most {limit}. Select fewer.",
                                 len(numbers), limit=BULK_MAX))
    return numbers


def member_key(dedupe_key: str | None, number: int) -> str | None:
    """The key one request's change claims: the form's (or command's) key and the number."""
    if dedupe_key is None:
        return None
    key = f"{dedupe_key}:{number}"
    if len(key) > _KEY_MAX:
        key = f"many:{hashlib.sha256(dedupe_key.encode()).hexdigest()}:{number}"
    return key


async def each(numbers: Iterable[int], act: Callable[[int, str | None], Awaitable[object]],
               dedupe_key: str | None) -> Outcome:
    """Run `act(number, key)` for every number on its own, in order; a refusal is recorded with the desk's
    message and the rest go on."""
    done: list[int] = []
    refused: list[Refused] = []
    repeated: list[int] = []
    for number in numbers:
        try:
            await act(number, member_key(dedupe_key, number))
        except Duplicate:
            repeated.append(number)
        except DeskError as exc:
            refused.append(Refused(number, exc.message))
        else:
            done.append(number)
    return Outcome(tuple(done), tuple(refused), tuple(repeated))


def status_of(value: str) -> str:
    """A status as typed or chosen (`in-progress`, `resolve`), or refused with the statuses there are."""
    status = value.strip().lower().replace("-", "_")
    status = _STATUS_ALIASES.get(status, status)
    if status not in STATUSES:
        raise DeskError(_("'{status}' is not a status. Statuses: {statuses}.", status=value.strip(),
                          statuses=", ".join(STATUSES)))
    return status


async def change_status(unit: Unit, actor: Actor, number: int, status: str, reason: str | None, *,
                        dedupe_key: str | None = None) -> None:
    """Move one request as the `status` verb does: cancelling and reopening through their own use cases
    (the requester's rights, the reopening comment), resolving with `reason` as the note for the requester,
    any other move with `reason` as what it waits on."""
    reason = (reason or "").strip() or None
    if status == "cancelled":
        await lifecycle.cancel(unit, actor, number, reason, dedupe_key=dedupe_key)
    elif status == "resolved":
        await lifecycle.set_status(unit, actor, number, status, note=reason, dedupe_key=dedupe_key)
    elif status == "reopened":
        await lifecycle.reopen(unit, actor, number, reason, dedupe_key=dedupe_key)
    else:
        await lifecycle.set_status(unit, actor, number, status, reason=reason.lower() if reason else None,
                                   dedupe_key=dedupe_key)


async def bulk_action(unit: Unit, actor: Actor, numbers: Iterable[str | int], action: str, *,
                      assignee: str | None = None, status: str | None = None, reason: str | None = None,
                      label: str | None = None, zone: str | None = None, category: str | None = None,
                      text: str | None = None, dedupe_key: str | None = None) -> Outcome:
    """Do one action to each selected request on its own (see the module's docstring).

    `assign` to `assignee` (the actor themself: they claim them); `status` to `status` with `reason` (what
    it waits on, the resolution note, why it is cancelled or reopened); `label` with the actor's personal
    `label`; `transfer` to `zone` (and `category` there) with `reason`; `reply` with `text`. What the whole
    action lacks (no selection, too many, an empty reply, an unknown status) is refused before anything
    is done, with the reason.
    """
    chosen = selection(numbers)
    act: Callable[[int, str | None], Awaitable[object]]
    if action == "assign":
        email = (assignee or "").strip().lower()
        if not email:
            raise DeskError(_("Choose who gets the requests."))
        if email == actor.email:
            async def act(number: int, key: str | None) -> object:
                return await ownership.claim(unit, actor, number, dedupe_key=key)
        else:
            async def act(number: int, key: str | None) -> object:
                return await ownership.assign(unit, actor, number, email, dedupe_key=key)
    elif action == "status":
        moved = status_of(status or "")

        async def act(number: int, key: str | None) -> object:
            await change_status(unit, actor, number, moved, reason, dedupe_key=key)
            return None
    elif action == "label":
        word = (label or "").strip().lower()
        if not fields.LABEL_RE.match(word):
            raise DeskError(_("A label is one word of letters, digits, '-' or '_' (at most 40)."))

        async def act(number: int, key: str | None) -> object:
            await fields.add_label(unit, actor, number, word, dedupe_key=key)
            return None
    elif action == "transfer":
        if not (zone or "").strip():
            raise DeskError(_("Choose the {zone} to transfer them to.", zone=unit.config.organisation.zone_noun))
        target = unit.zone((zone or "").strip().lower()).id  # an unknown zone: refused with the zones there are

        async def act(number: int, key: str | None) -> object:
            return await transfers.transfer(unit, actor, number, target, category_id=(category or "").strip() or None,
                                            reason=(reason or "").strip() or None, dedupe_key=key)
    elif action == "reply":
        said = clean_text(text or "", "reply", required=True, limit=TEXT_MAX)

        async def act(number: int, key: str | None) -> object:
            return await conversation.reply(unit, actor, number, said, dedupe_key=key)
    else:
        raise DeskError(_("Choose what to do with the selected requests."))
    return await each(chosen, act, dedupe_key)
