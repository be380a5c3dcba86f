"""A request's way through the status machine: any move an agent makes, cancel and reopen.

`move` is the one place a status changes: it checks the move against the machine, stamps resolved
and closed times, keeps the agent's resolution note, and tells the requester in their thread what it
means for them. The scheduler's auto-close and the requester's Solved / Not solved buttons use it too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.access import Actor, Level
from bot.delivery.messages import Message
from bot.desk.status import WAITING_REASONS, check_move
from bot.desk.unit import TEXT_MAX, Tx, Unit, clean_text
from bot.errors import DeskError
from bot.i18n import N_, _
from bot.model import Comment, Request, Task

# What the requester reads in their thread when their request moves (a waiting request only when it waits
# for them), by status: whole sentences, said in the requester's language.
_TOLD = {
    "resolved": N_("Request #{number} is resolved. If it is not, answer here and we reopen it."),
    "closed": N_("Request #{number} is closed."),
    "reopened": N_("Request #{number} is reopened; we are on it again."),
    "cancelled": N_("Request #{number} is cancelled."),
    "waiting": N_("Request #{number} is waiting for your answer: reply in this thread."),
}
# Resolved with the agent's note (what was done), which the requester reads as written.
_RESOLVED_WITH_NOTE = N_("Request #{number} is resolved.\n\n{note}\n\nIf it is not, answer here and we reopen it.")


def _told(status: str, number: int, note: str | None) -> str:
    """What the requester is told about a move to `status`, in the language being spoken."""
    if status == "resolved" and note:
        return _(_RESOLVED_WITH_NOTE, number=number, note=note)
    return _(_TOLD[status], number=number)


async def set_status(unit: Unit, actor: Actor, number: int, status: str, *, reason: str | None = None,
                     note: str | None = None, dedupe_key: str | None = None) -> None:
    """Move a request through the status machine; illegal moves are refused with what is allowed.

    `note` goes with a resolution only: what was done, shown to the requester (`Request.resolution`).
    """
    if note is not None and status != "resolved":
        raise DeskError(_("A note goes with resolving a request only."))
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.AGENT, N_("change its status"))
        await move(tx, actor, request, status, reason, note=note)


async def move(tx: Tx, actor: Actor, request: Request, status: str, reason: str | None, *,
               note: str | None = None) -> None:
    """Move a request to `status` inside the caller's transaction, and tell the requester what it means.

    Resolving keeps `note` (stripped; none when blank) as the request's resolution, and the message
    that tells the requester carries it; reopening drops it (it no longer describes the request).
    """
    unit = tx.unit
    number = request.id
    check_move(number, request.status, status)
    note = clean_text(note or "", "resolution note", required=False, limit=TEXT_MAX) or None
    if status in {"resolved", "closed"} and not unit.policy.can_resolve_in(request.zone_id):
        raise DeskError(_("{zone} routes requests but does not resolve them; transfer it to the {noun} that "
                          "handles it.", zone=unit.zone(request.zone_id).name, noun=unit.config.organisation.zone_noun))
    if status == "waiting":
        reason = reason or "requester"
        if reason not in WAITING_REASONS:
            raise DeskError(_("Waiting on what? Choose one of: {reasons}.", reasons=", ".join(WAITING_REASONS)))
        if reason == "task" and not await tx.session.scalar(select(func.count()).where(
                Task.request_id == number, Task.status == "open")):
            raise DeskError(_("Request #{number} has no open task to wait on. Create a task first, "
                              "or choose what else it waits on.", number=number))
    elif reason is not None and status != "cancelled":
        reason = None
    previous = request.status
    request.status = status
    request.waiting_reason = reason if status == "waiting" else None
    if status == "resolved":
        request.resolved_at = tx.now
        request.resolution = note
    if status == "closed":
        request.closed_at = tx.now
        request.closed_by = "agent" if actor.channel != "scheduler" else "auto"
    if status == "reopened":
        request.resolved_at = request.closed_at = request.closed_by = request.resolution = None
    noted: dict[str, Any] = {"note": note} if note and status == "resolved" else {}
    await tx.record(request, actor, "status", previous=previous, status=status, reason=reason, **noted)
    if status in _TOLD and (status != "waiting" or reason == "requester"):
        said = note if noted else None
        await tx.to_thread(request, lambda: Message(text=_told(status, number, said),
                                                    extra={"number": number, "status": status}), kind="status")


async def cancel(unit: Unit, actor: Actor, number: int, reason: str | None = None, *,
                 dedupe_key: str | None = None) -> None:
    """Cancel an open request: its requester or an agent of its zone."""
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.REQUESTER, N_("cancel it"))
        unit.policy.require_requester_or_agent(actor, request, N_("cancel it"))
        await move(tx, actor, request, "cancelled", reason)


async def reopen(unit: Unit, actor: Actor, number: int, reason: str | None = None, *,
                 dedupe_key: str | None = None) -> None:
    """Reopen a resolved or closed request: its requester or an agent of its zone."""
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.REQUESTER, N_("reopen it"))
        unit.policy.require_requester_or_agent(actor, request, N_("reopen it"))
        await move(tx, actor, request, "reopened", None)
        if reason:
            tx.session.add(Comment(request_id=number, author_email=actor.email, author_name=actor.name,
                                   public=True, body=clean_text(reason, "reason", required=False, limit=TEXT_MAX),
                                   channel=actor.channel, created_at=tx.now))
