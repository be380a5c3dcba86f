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
from bot.model import Comment, Request, Task


async def set_status(unit: Unit, actor: Actor, number: int, status: str, *, reason: str | None = None,
                     note: str | None = None, dedupe_key: str | None = None) -> None:
    """Move a request through the status machine; illegal moves are refused with what is allowed.

    `note` goes with a resolution only: what was done, shown to the requester (`Request.resolution`).
    """
    if note is not None and status != "resolved":
        raise DeskError("A note goes with resolving a request only.")
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.AGENT, "change its status")
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
        raise DeskError(f"{unit.zone(request.zone_id).name} routes requests but does not resolve them; "
                        f"transfer it to the {unit.config.organisation.zone_noun} that handles it.")
    if status == "waiting":
        reason = reason or "requester"
        if reason not in WAITING_REASONS:
            raise DeskError(f"Waiting on what? Choose one of: {', '.join(WAITING_REASONS)}.")
        if reason == "task" and not await tx.session.scalar(select(func.count()).where(
                Task.request_id == number, Task.status == "open")):
            raise DeskError(f"Request #{number} has no open task to wait on. Create a task first, "
                            "or choose what else it waits on.")
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
    told = {
        "resolved": f"Request #{number} is resolved." + (f"\n\n{note}\n\n" if noted else " ")
        + "If it is not, answer here and we reopen it.",
        "closed": f"Request #{number} is closed.",
        "reopened": f"Request #{number} is reopened; we are on it again.",
        "cancelled": f"Request #{number} is cancelled.",
    }
    if status == "waiting" and reason == "requester":
        told["waiting"] = f"Request #{number} is waiting for your answer: reply in this thread."
    if status in told:
        await tx.to_thread(request, Message(text=told[status], extra={"number": number, "status": status}),
                        kind="status")


async def cancel(unit: Unit, actor: Actor, number: int, reason: str | None = None, *,
                 dedupe_key: str | None = None) -> None:
    """Cancel an open request: its requester or an agent of its zone."""
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.REQUESTER, "cancel it")
        unit.policy.require_requester_or_agent(actor, request, "cancel it")
        await move(tx, actor, request, "cancelled", reason)


async def reopen(unit: Unit, actor: Actor, number: int, reason: str | None = None, *,
                 dedupe_key: str | None = None) -> None:
    """Reopen a resolved or closed request: its requester or an agent of its zone."""
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.REQUESTER, "reopen it")
        unit.policy.require_requester_or_agent(actor, request, "reopen it")
        await move(tx, actor, request, "reopened", None)
        if reason:
            tx.session.add(Comment(request_id=number, author_email=actor.email, author_name=actor.name,
                                   public=True, body=clean_text(reason, "reason", required=False, limit=TEXT_MAX),
                                   channel=actor.channel, created_at=tx.now))
