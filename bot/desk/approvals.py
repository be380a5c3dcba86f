"""Approvals: one or more approvers decide on a request, any-of or all-of (in order or in parallel).

A decision is written once: each vote is a conditional UPDATE (`WHERE decision IS NULL`) and the
approval's outcome another (`WHERE status = 'pending'`), both checked by row count inside one
transaction, so double clicks, platform retries and two approvers clicking at once leave exactly
one decision. Approvers need no agent role; only a named approver may decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from bot.access import Actor, Level
from bot.delivery.messages import Button, Message
from bot.desk.actions import DeskLike, Outcome, action
from bot.desk.status import OPEN
from bot.desk.unit import Tx, Unit
from bot.errors import DeskError
from bot.model import Approval, ApprovalVote, Request


@dataclass(frozen=True)
class ApprovalView:
    """An approval as shown to its approvers and to agents."""

    id: int
    request_id: int
    request_title: str
    mode: str
    ordered: bool
    status: str
    question: str
    votes: tuple[tuple[str, str | None, str | None, datetime | None], ...]  # (approver, decision, comment, at)
    due_at: datetime | None


def approval_card(approval: Approval, request: Request, desk: Unit, *, decided: str | None = None) -> Message:
    """The card an approver sees: the request in brief and Approve / Reject, or who decided."""
    fields = (("Requester", request.requester_name), ("Request", f"#{request.id}"))
    if decided is not None:
        return Message(title=f"Approval for #{request.id}: {request.title}", text=decided, fields=fields,
                       link=desk.link(request.id), extra={"approval": approval.id, "number": request.id})
    return Message(
        title=f"Approval needed for #{request.id}: {request.title}",
        text=approval.question or request.description[:1000],
        fields=fields,
        buttons=(Button("approve", "Approve", str(approval.id), "primary"),
                 Button("reject", "Reject", str(approval.id), "danger")),
        link=desk.link(request.id),
        extra={"approval": approval.id, "number": request.id, "comment": True},
    )


async def open_approval(desk: Unit, tx: Tx, actor: Actor, request: Request, approvers: Sequence[str], *,
                        mode: str = "any", ordered: bool = False, due_at: datetime | None = None,
                        question: str = "") -> Approval:
    """Ask for a decision inside the caller's transaction; the request waits on it."""
    wanted = []
    for email in approvers:
        email = email.strip().lower()
        if "@" not in email:
            raise DeskError(f"'{email}' is not an e-mail address.")
        if email not in wanted:
            wanted.append(email)
    if not wanted:
        raise DeskError("Name at least one approver.")
    if mode not in {"any", "all"}:
        raise DeskError("An approval is 'any' (first decision wins) or 'all' (everyone decides).")
    if request.status not in OPEN:
        raise DeskError(f"Request #{request.id} is {request.status}; reopen it before asking for approval.")
    open_already = await tx.session.scalar(select(func.count()).where(
        Approval.request_id == request.id, Approval.status == "pending"))
    if open_already:
        raise DeskError(f"Request #{request.id} already waits on an approval.")
    approval = Approval(request_id=request.id, mode=mode, ordered=ordered and mode == "all", status="pending",
                        question=question.strip()[:2000], requested_by=actor.email, created_at=tx.now,
                        due_at=due_at, previous_status=request.status)
    tx.session.add(approval)
    await tx.session.flush()
    for position, email in enumerate(wanted):
        tx.session.add(ApprovalVote(approval_id=approval.id, approver_email=email, position=position))
    previous = request.status
    request.status, request.waiting_reason = "waiting", "approval"
    await tx.record(request, actor, "approval_requested", approval=approval.id, approvers=wanted,
                        mode=mode, ordered=approval.ordered, previous=previous)
    first = wanted[:1] if approval.ordered else wanted
    for email in first:
        await tx.to_person(email, approval_card(approval, request, desk), request.id)
    return approval


async def request_approval(desk: Unit, actor: Actor, number: int, approvers: Sequence[str], *, mode: str = "any",
                           ordered: bool = False, due_hours: float | None = None, question: str = "") -> int:
    """An agent asks for a decision on a request."""
    async with desk.transaction() as tx:
        request = await tx.load(actor, number, Level.AGENT, "ask for approval")
        due = tx.now + timedelta(hours=due_hours) if due_hours else None
        approval = await open_approval(desk, tx, actor, request, approvers, mode=mode, ordered=ordered,
                                       due_at=due, question=question)
        return approval.id


async def decide(desk: Unit, actor: Actor, approval_id: int, decision: str, comment: str = "",
                 dedupe_key: str | None = None) -> Outcome:
    """Record one approver's decision once; the outcome moves the request on and tells the people."""
    if decision not in {"approved", "rejected"}:
        raise DeskError("A decision is approve or reject.")
    comment = comment.strip()[:2000]
    async with desk.transaction(dedupe_key) as tx:
        approval = await tx.session.get(Approval, approval_id, with_for_update=_lock(tx))
        votes = list((await tx.session.execute(select(ApprovalVote).where(
            ApprovalVote.approval_id == approval_id).order_by(ApprovalVote.position))).scalars()) if approval else []
        mine = next((v for v in votes if v.approver_email == actor.email), None)
        if approval is None or mine is None:
            raise DeskError("This approval is not yours to decide.")
        request = await tx.session.get(Request, approval.request_id)
        assert request is not None
        if approval.status != "pending" or mine.decision is not None:
            return Outcome(_already(approval, votes), approval_card(approval, request, desk,
                                                                     decided=_already(approval, votes)), final=True)
        if approval.ordered:
            turn = next((v for v in votes if v.decision is None), None)
            if turn is not None and turn.approver_email != actor.email:
                raise DeskError(f"It is {turn.approver_email}'s turn to decide first.")
        voted = await tx.session.execute(
            update(ApprovalVote).where(ApprovalVote.id == mine.id, ApprovalVote.decision.is_(None))
            .values(decision=decision, comment=comment or None, decided_at=tx.now, channel=actor.channel)
            .execution_options(synchronize_session=False))
        if voted.rowcount != 1:  # type: ignore[attr-defined]
            return Outcome("You already decided.")
        mine.decision, mine.decided_at = decision, tx.now
        final = _outcome(approval.mode, votes)
        await tx.record(request, actor, "approval_vote", approval=approval.id, decision=decision,
                            comment=comment or None)
        line = f"{'Approved' if decision == 'approved' else 'Rejected'} by {actor.name} at {_stamp(tx.now)}"
        if final is None:
            if approval.ordered:
                nxt = next((v for v in votes if v.decision is None), None)
                if nxt is not None:
                    await tx.to_person(nxt.approver_email, approval_card(approval, request, desk), request.id)
            return Outcome(f"Your decision is recorded: {decision}.", approval_card(approval, request, desk,
                                                                                     decided=line), final=True)
        closed = await tx.session.execute(
            update(Approval).where(Approval.id == approval.id, Approval.status == "pending")
            .values(status=final, decided_at=tx.now).execution_options(synchronize_session=False))
        if closed.rowcount != 1:  # type: ignore[attr-defined]
            raise DeskError("Someone else decided this approval a moment ago.")
        approval.status = final
        if request.status == "waiting" and request.waiting_reason == "approval":
            back = approval.previous_status if approval.previous_status in OPEN - {"waiting"} else "in_progress"
            request.status, request.waiting_reason = back or "in_progress", None
        await tx.record(request, actor, "approval_decided", approval=approval.id, outcome=final,
                            status=request.status)
        told = f"Request #{request.id} was {final} by {actor.name}." + (f" Comment: {comment}" if comment else "")
        tx.to_thread(request, Message(text=told, extra={"number": request.id}), kind="status")
        await tx.to_person(request.assignee_email, Message(title=f"#{request.id}: approval {final}", text=told,
                                                               link=desk.link(request.id)), request.id)
        return Outcome(f"Your decision is recorded: {decision}.", approval_card(approval, request, desk,
                                                                                 decided=line), final=True)


def _lock(tx: Tx) -> bool:
    return tx.session.bind.dialect.name == "postgresql"


def _outcome(mode: str, votes: Sequence[ApprovalVote]) -> str | None:
    decisions = [v.decision for v in votes]
    if mode == "any":
        return next((d for d in decisions if d is not None), None)
    if "rejected" in decisions:
        return "rejected"
    return "approved" if all(d == "approved" for d in decisions) else None


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _already(approval: Approval, votes: Sequence[ApprovalVote]) -> str:
    done = [v for v in votes if v.decision is not None]
    if not done:
        return f"This approval is {approval.status}."
    last = max(done, key=lambda v: v.decided_at or approval.created_at)
    when = _stamp(last.decided_at) if last.decided_at else ""
    return f"Already decided: {last.decision} by {last.approver_email} at {when}."


async def pending_for(desk: Unit, actor: Actor) -> list[ApprovalView]:
    """Approvals waiting on this person (the web's approvals page, reminders)."""
    async with desk.sessions() as session:
        rows = await session.execute(
            select(Approval, Request).join(Request, Request.id == Approval.request_id).join(
                ApprovalVote, ApprovalVote.approval_id == Approval.id).where(
                Approval.status == "pending", ApprovalVote.approver_email == actor.email,
                ApprovalVote.decision.is_(None)).order_by(Approval.id))
        result = []
        for approval, request in rows.all():
            result.append(await _view(session, approval, request))
        return result


async def approvals_of(desk: Unit, actor: Actor, number: int) -> list[ApprovalView]:
    """Approvals on a request, for whoever may read it (READER and up) or decide it."""
    async with desk.sessions() as session:
        request = await session.get(Request, number)
        if request is None:
            return []
        approvals = list((await session.execute(select(Approval).where(Approval.request_id == number)
                                                .order_by(Approval.id))).scalars())
        views = [await _view(session, a, request) for a in approvals]
    if desk.policy.level(actor, request) >= Level.READER:
        return views
    return [v for v in views if any(vote[0] == actor.email for vote in v.votes)]


async def _view(session: object, approval: Approval, request: Request) -> ApprovalView:
    votes = list((await session.execute(select(ApprovalVote).where(  # type: ignore[attr-defined]
        ApprovalVote.approval_id == approval.id).order_by(ApprovalVote.position))).scalars())
    return ApprovalView(approval.id, request.id, request.title, approval.mode, approval.ordered, approval.status,
                        approval.question, tuple((v.approver_email, v.decision, v.comment, v.decided_at)
                                                 for v in votes), approval.due_at)


def _approval_id(value: str) -> tuple[int, str]:
    head, _, comment = value.partition(":")
    try:
        return int(head), comment
    except ValueError as exc:
        raise DeskError("This button refers to no approval.") from exc


@action("approve")
async def _approve(desk: DeskLike, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    approval_id, comment = _approval_id(value)
    return await decide(desk, actor, approval_id, "approved", comment, dedupe_key)  # type: ignore[arg-type]


@action("reject")
async def _reject(desk: DeskLike, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    approval_id, comment = _approval_id(value)
    return await decide(desk, actor, approval_id, "rejected", comment, dedupe_key)  # type: ignore[arg-type]
