"""Approvals: one or more approvers decide on a request, any-of or all-of (in order or in parallel).

A decision is written once: each vote is a conditional UPDATE (`WHERE decision IS NULL`) and the
approval's outcome another (`WHERE status = 'pending'`), both checked by row count inside one
transaction, so double clicks, platform retries and two approvers clicking at once leave exactly
one decision. Approvers need no agent role; only a named approver may decide.

What an approver sees is what the decision needs (`Level.APPROVER` in `bot.access`): the requester, the
form's answers (or the description), the request's public conversation and who else decides, on the
card in every channel and on the web. An approval nobody needs any more is withdrawn (`withdraw`: the
request was cancelled, closed or transferred out of its zone) and each card an approver got is changed
in place to say why (a `replace` outbox row); so are the cards of the approvers whose decision became
moot (an "all" approval someone rejected, an "any" approval someone decided). A late click is told why.

History events and their data (each sentence needs no lookup):
- `approval_requested`: approval, approvers (e-mails), names, mode, ordered, previous (status), question
- `approval_vote`: approval, approver, approver_name, decision, comment
- `approval_decided`: approval, outcome, status (the request's), decided_by, decided_by_name, comment
- `approval_withdrawn`: approval, reason (in words: "request #12 was cancelled"), waiting (names of
  the approvers who had not decided)

Every card is built while its reader's language is spoken (`Tx.to_person` is given a builder), and so
is each card that replaces it. A withdrawal's reason is stored in the desk's own English words (the
history and the `withdrawn_reason` column keep it so); `withdrawal` reads it back into its case, and the
sentences that give it are whole in every language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Actor, Level, name_from_email
from bot.config import AppConfig, Role
from bot.delivery.messages import Button, Message
from bot.delivery.outbox import replacing
from bot.desk.actions import Outcome, action
from bot.desk.approvers import level_of
from bot.desk.status import OPEN, status_word
from bot.desk.unit import Tx, Unit, reacts_to
from bot.errors import DeskError
from bot.i18n import N_, _, speaking
from bot.model import Approval, ApprovalVote, Comment, FormAnswer, Outbox, Request

ANSWERS_SHOWN = 12  # form answers on a card (Slack shows 10 fields a section; Teams a fact set of 20)
CONVERSATION_SHOWN = 3  # the latest public comments on a card


@dataclass(frozen=True)
class VoteView:
    """One approver's place in an approval, by name."""

    email: str
    name: str
    decision: str | None
    comment: str | None
    at: datetime | None


@dataclass(frozen=True)
class Brief:
    """What an approver needs to decide: the request as `Level.APPROVER` shows it."""

    requester_name: str
    requester_email: str
    zone_name: str
    description: str
    answers: tuple[tuple[str, str], ...]  # (label, answer in words), in the form's order
    conversation: tuple[tuple[str, datetime, str], ...]  # public comments: (author, at, text)


@dataclass(frozen=True)
class ApprovalView:
    """An approval as shown to its approvers, its requester and agents."""

    id: int
    request_id: int
    request_title: str
    mode: str
    ordered: bool
    status: str
    question: str
    votes: tuple[tuple[str, str | None, str | None, datetime | None], ...]  # (approver, decision, comment, at)
    due_at: datetime | None
    created_at: datetime | None = None  # since when it waits
    approvers: tuple[VoteView, ...] = ()
    withdrawn_reason: str | None = None
    brief: Brief | None = None  # for its approvers (the approvals page)

    @property
    def waiting_on(self) -> tuple[VoteView, ...]:
        """Approvers who have not decided yet (in order, for an ordered approval: the first is next)."""
        return tuple(v for v in self.approvers if v.decision is None)

    @property
    def summary(self) -> str:
        """Its state in words: who must approve, what was decided, or why it was withdrawn."""
        return state_line(self.mode, self.ordered, self.status, self.approvers, self.withdrawn_reason)

    def closed_for(self, email: str) -> str | None:
        """Why this approver's decision is no longer needed, or None while it is."""
        return moot_line(self.mode, self.status, self.approvers, self.withdrawn_reason, email)


def person_name(config: AppConfig, email: str) -> str:
    """A person's name as `app.yaml` gives it, else made from the e-mail."""
    person = config.person(email)
    return person.name if person is not None else name_from_email(email)


# A withdrawal's reason as `_no_longer_needed` stores it (English, the desk's own words), read back by case.
_ENDED = re.compile(r"request #(?P<number>\d+) was (?P<case>cancelled|closed)")
_MOVED = re.compile(r"request #(?P<number>\d+) was transferred to (?P<zone>.+)", re.DOTALL)


def withdrawal(reason: str | None) -> tuple[str, dict[str, str]]:
    """A stored withdrawal reason as its case and values, for a sentence in the reader's language:
    ("cancelled" or "closed", {number}), ("transferred", {number, zone}), ("unknown", {}) when none was
    given, or ("other", {reason}) for words the desk did not write (said as they are)."""
    if not reason:
        return "unknown", {}
    if ended := _ENDED.fullmatch(reason):
        return ended["case"], {"number": ended["number"]}
    if moved := _MOVED.fullmatch(reason):
        return "transferred", {"number": moved["number"], "zone": moved["zone"]}
    return "other", {"reason": reason}


# Whole sentences per case (the approvals page and request page, the cards; `withdrawal` gives the case).
_WITHDRAWN_STATE = {
    "cancelled": N_("Withdrawn because request #{number} was cancelled."),
    "closed": N_("Withdrawn because request #{number} was closed."),
    "transferred": N_("Withdrawn because request #{number} was transferred to {zone}."),
    "unknown": N_("Withdrawn because it is no longer needed."),
    "other": N_("Withdrawn because {reason}."),
}
_WITHDRAWN = {
    "cancelled": N_("This approval was withdrawn because request #{number} was cancelled."),
    "closed": N_("This approval was withdrawn because request #{number} was closed."),
    "transferred": N_("This approval was withdrawn because request #{number} was transferred to {zone}."),
    "unknown": N_("This approval was withdrawn because it is no longer needed."),
    "other": N_("This approval was withdrawn because {reason}."),
}


def withdrawn_line(reason: str | None) -> str:
    """Why an approval was withdrawn, as a whole sentence in the language being spoken."""
    case, values = withdrawal(reason)
    return _(_WITHDRAWN[case], **values)


def state_line(mode: str, ordered: bool, status: str, votes: Sequence[VoteView], reason: str | None) -> str:
    """An approval's state in words (the request page, the cards), in the language being spoken."""
    if status == "withdrawn":
        case, values = withdrawal(reason)
        return _(_WITHDRAWN_STATE[case], **values)
    decided = [v for v in votes if v.decision is not None]
    if status != "pending":
        last = max(decided, key=lambda v: v.at or datetime.min) if decided else None
        if status == "approved":
            return _("Approved by {name}.", name=last.name) if last else _("Approved.")
        if status == "rejected":
            return _("Rejected by {name}.", name=last.name) if last else _("Rejected.")
        return f"{status.capitalize()}."  # no other outcome exists; a new one shows as stored
    waiting = [v.name for v in votes if v.decision is None]
    if mode == "any":
        return _("Waiting for one of: {names}.", names=", ".join(waiting))
    if ordered:
        return _("Waiting for {name}, then {names}.", name=waiting[0], names=", ".join(waiting[1:])) \
            if len(waiting) > 1 else _("Waiting for {name}.", name=waiting[0])
    return _("Waiting for all of: {names}.", names=", ".join(waiting))


def moot_line(mode: str, status: str, votes: Sequence[VoteView], reason: str | None, email: str) -> str | None:
    """Why one approver's decision is no longer needed (None while it is, or once they decided), in the
    language being spoken."""
    mine = next((v for v in votes if v.email == email), None)
    if mine is None or mine.decision is not None or status == "pending":
        return None
    if status == "withdrawn":
        return withdrawn_line(reason)
    decided = [v for v in votes if v.decision is not None]
    last = max(decided, key=lambda v: v.at or datetime.min) if decided else None
    if mode == "all" and status == "rejected" and last is not None:
        return _("This approval was withdrawn because {name} rejected it.", name=last.name)
    if status == "rejected":
        return _("Already decided: rejected by {name}; your decision is not needed.", name=last.name) if last \
            else _("Already decided: rejected; your decision is not needed.")
    return _("Already decided: approved by {name}; your decision is not needed.", name=last.name) if last \
        else _("Already decided: approved; your decision is not needed.")


# Where each approver stands, after their name on a card ("" while they have not decided).
_VOTE_STATE = {
    "approved": N_("{name} (approved)"),
    "rejected": N_("{name} (rejected)"),
    "": N_("{name} (waiting)"),
}


def approval_card(approval: Approval, request: Request, desk: Unit, *, decided: str | None = None,
                  brief: Brief | None = None, votes: Sequence[VoteView] = ()) -> Message:
    """The card an approver sees: what the decision needs and Approve / Reject, or what became of it.

    With `brief` and `votes` (see `card_for`) it shows the requester, the form's answers or the
    description, the latest public comments and who else decides."""
    fields: list[tuple[str, str]] = [(_("Requester"), brief.requester_name if brief else request.requester_name),
                                     (_("Request"), f"#{request.id}" + (f" · {brief.zone_name}" if brief else ""))]
    if votes:
        how = _("Any one of") if approval.mode == "any" else (
            _("All of, in this order") if approval.ordered else _("All of"))
        fields.append((how, ", ".join(_(_VOTE_STATE.get(v.decision or "", _VOTE_STATE[""]), name=v.name)
                                      for v in votes)))
    if decided is not None:
        return Message(title=_("Approval for #{number}: {title}", number=request.id, title=request.title),
                       text=decided, fields=tuple(fields), link=desk.link(request.id),
                       extra={"approval": approval.id, "number": request.id})
    parts = [approval.question] if approval.question else []
    if brief is not None:
        fields += list(brief.answers[:ANSWERS_SHOWN])
        if not brief.answers and brief.description:
            parts.append(_cut(brief.description, 1500))
        if brief.conversation:
            parts.append(_("Latest in the conversation:") + "\n" + "\n".join(
                f"{author}: {_cut(text, 300)}" for author, _at, text in brief.conversation[-CONVERSATION_SHOWN:]))
    elif not parts:
        parts.append(request.description[:1000])
    return Message(
        title=_("Approval needed for #{number}: {title}", number=request.id, title=request.title),
        text="\n\n".join(p for p in parts if p),
        fields=tuple(fields),
        buttons=(Button("approve", _("Approve"), str(approval.id), "primary"),
                 Button("reject", _("Reject"), str(approval.id), "danger")),
        link=desk.link(request.id),
        extra={"approval": approval.id, "number": request.id, "comment": True},
    )


async def card_for(session: AsyncSession, desk: Unit, approval: Approval, request: Request, *,
                   decided: str | None = None) -> Message:
    """`approval_card` with what the decision needs, read in the caller's session, in the language being
    spoken (for someone else, call it inside a builder: `lambda: card_for(...)`)."""
    return approval_card(approval, request, desk, decided=decided, brief=await brief_of(session, desk, request),
                         votes=await votes_of(session, desk.config, approval.id))


async def reminder_card(session: AsyncSession, desk: Unit, approval: Approval, request: Request) -> Message:
    """The card again, titled as a reminder, in the language being spoken: the scheduler's approval
    reminder gives it to `Tx.to_person` as a builder (`lambda: reminder_card(...)`)."""
    card = await card_for(session, desk, approval, request)
    return replace(card, title=_("Reminder: {title}", title=card.title))


async def brief_of(session: AsyncSession, desk: Unit, request: Request) -> Brief:
    """The request as its approvers may see it: requester, answers or description, public conversation."""
    from bot.catalog.forms import answer_lines  # bot.catalog files through the desk: imported when needed

    form = desk.catalog.forms.get(request.form_id) if desk.catalog is not None and request.form_id else None
    stored = (await session.execute(select(FormAnswer).where(FormAnswer.request_id == request.id)
                                    .order_by(FormAnswer.field_id))).scalars()
    answers = tuple((label, text) for _field, label, text in answer_lines(
        form, [(a.field_id, a.label, a.kind, a.value) for a in stored]))
    comments = (await session.execute(select(Comment).where(Comment.request_id == request.id,
                                                            Comment.public.is_(True)).order_by(Comment.id))).scalars()
    zone = desk.config.zone(request.zone_id)
    return Brief(request.requester_name, request.requester_email, zone.name if zone else request.zone_id,
                 request.description, answers, tuple((c.author_name, c.created_at, c.body) for c in comments))


async def votes_of(session: AsyncSession, config: AppConfig, approval_id: int) -> tuple[VoteView, ...]:
    """An approval's approvers in order, by name, with what each decided."""
    rows = (await session.execute(select(ApprovalVote).where(ApprovalVote.approval_id == approval_id)
                                  .order_by(ApprovalVote.position))).scalars()
    return tuple(VoteView(v.approver_email, person_name(config, v.approver_email), v.decision, v.comment,
                          v.decided_at) for v in rows)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def open_approval(desk: Unit, tx: Tx, actor: Actor, request: Request, approvers: Sequence[str], *,
                        mode: str = "any", ordered: bool = False, due_at: datetime | None = None,
                        question: str = "") -> Approval:
    """Ask for a decision inside the caller's transaction; the request waits on it."""
    wanted = []
    for email in approvers:
        email = email.strip().lower()
        if "@" not in email:
            raise DeskError(_("'{email}' is not an e-mail address.", email=email))
        if email not in wanted:
            wanted.append(email)
    if not wanted:
        raise DeskError(_("Name at least one approver."))
    if mode not in {"any", "all"}:
        raise DeskError(_("An approval is 'any' (first decision wins) or 'all' (everyone decides)."))
    if request.status not in OPEN:
        raise DeskError(_("Request #{number} is {status}; reopen it before asking for approval.",
                          number=request.id, status=status_word(request.status)))
    open_already = await tx.session.scalar(select(func.count()).where(
        Approval.request_id == request.id, Approval.status == "pending"))
    if open_already:
        raise DeskError(_("Request #{number} already waits on an approval.", number=request.id))
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
                    names=[person_name(desk.config, e) for e in wanted], mode=mode, ordered=approval.ordered,
                    previous=previous, question=approval.question or None)
    first = wanted[:1] if approval.ordered else wanted
    # Read once; each approver's card is then built in their language.
    brief, votes = await brief_of(tx.session, desk, request), await votes_of(tx.session, desk.config, approval.id)
    for email in first:
        await tx.to_person(email, lambda: approval_card(approval, request, desk, brief=brief, votes=votes),
                           request.id, request.zone_id)
    return approval


async def request_approval(desk: Unit, actor: Actor, number: int, approvers: Sequence[str], *, mode: str = "any",
                           ordered: bool = False, due_hours: float | None = None, question: str = "",
                           dedupe_key: str | None = None) -> int:
    """An agent asks for a decision on a request."""
    async with desk.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.AGENT, N_("ask for approval"))
        due = tx.now + timedelta(hours=due_hours) if due_hours else None
        approval = await open_approval(desk, tx, actor, request, approvers, mode=mode, ordered=ordered,
                                       due_at=due, question=question)
        return approval.id


async def decide(desk: Unit, actor: Actor, approval_id: int, decision: str, comment: str = "",
                 dedupe_key: str | None = None) -> Outcome:
    """Record one approver's decision once; the outcome moves the request on and tells the people."""
    if decision not in {"approved", "rejected"}:
        raise DeskError(_("A decision is approve or reject."))
    comment = comment.strip()[:2000]
    async with desk.transaction(dedupe_key) as tx:
        approval = await tx.session.get(Approval, approval_id, with_for_update=_lock(tx))
        votes = list((await tx.session.execute(select(ApprovalVote).where(
            ApprovalVote.approval_id == approval_id).order_by(ApprovalVote.position))).scalars()) if approval else []
        mine = next((v for v in votes if v.approver_email == actor.email), None)
        if approval is None or mine is None:
            raise DeskError(_("This approval is not yours to decide."))
        request = await tx.session.get(Request, approval.request_id)
        assert request is not None
        if approval.status != "pending" or mine.decision is not None:
            named = await votes_of(tx.session, desk.config, approval.id)
            # Withdrawn, or an "all" approval another approver rejected: told why; otherwise who decided.
            late = moot_line(approval.mode, approval.status, named, approval.withdrawn_reason, actor.email) \
                if approval.status == "withdrawn" or approval.mode == "all" else None
            said = late or _already(approval, votes)
            return Outcome(said, await card_for(tx.session, desk, approval, request, decided=said), final=True)
        if approval.ordered:
            turn = next((v for v in votes if v.decision is None), None)
            if turn is not None and turn.approver_email != actor.email:
                raise DeskError(_("It is {email}'s turn to decide first.", email=turn.approver_email))
        voted = await tx.session.execute(
            update(ApprovalVote).where(ApprovalVote.id == mine.id, ApprovalVote.decision.is_(None))
            .values(decision=decision, comment=comment or None, decided_at=tx.now, channel=actor.channel)
            .execution_options(synchronize_session=False))
        if voted.rowcount != 1:  # type: ignore[attr-defined]
            return Outcome(_("You already decided."))
        mine.decision, mine.decided_at, mine.comment = decision, tx.now, comment or None
        final = _outcome(approval.mode, votes)
        await tx.record(request, actor, "approval_vote", approval=approval.id, approver=actor.email,
                        approver_name=actor.name, decision=decision, comment=comment or None)
        # The clicker's own card and answer: in their language, which the adapter speaks around this.
        line = _("Approved by {name} at {time}", name=actor.name, time=_stamp(tx.now)) if decision == "approved" \
            else _("Rejected by {name} at {time}", name=actor.name, time=_stamp(tx.now))
        recorded = _("Your decision is recorded: approved.") if decision == "approved" \
            else _("Your decision is recorded: rejected.")
        if final is None:
            if approval.ordered:
                nxt = next((v for v in votes if v.decision is None), None)
                if nxt is not None:
                    await tx.to_person(nxt.approver_email, lambda: card_for(tx.session, desk, approval, request),
                                       request.id, request.zone_id)
            return Outcome(recorded, await card_for(tx.session, desk, approval, request, decided=line), final=True)
        closed = await tx.session.execute(
            update(Approval).where(Approval.id == approval.id, Approval.status == "pending")
            .values(status=final, decided_at=tx.now).execution_options(synchronize_session=False))
        if closed.rowcount != 1:  # type: ignore[attr-defined]
            raise DeskError(_("Someone else decided this approval a moment ago."))
        approval.status = final
        if request.status == "waiting" and request.waiting_reason == "approval":
            back = approval.previous_status if approval.previous_status in OPEN - {"waiting"} else "in_progress"
            request.status, request.waiting_reason = back or "in_progress", None
        await tx.record(request, actor, "approval_decided", approval=approval.id, outcome=final,
                        status=request.status, decided_by=actor.email, decided_by_name=actor.name,
                        comment=comment or None)
        number, by, approved = request.id, actor.name, final == "approved"

        def told() -> str:  # said to the requester and the assignee, each in their language
            said = _("Request #{number} was approved by {name}.", number=number, name=by) if approved \
                else _("Request #{number} was rejected by {name}.", number=number, name=by)
            return " ".join((said, _("Comment: {comment}", comment=comment))) if comment else said

        await tx.to_thread(request, lambda: Message(text=told(), extra={"number": number}), kind="status")
        await tx.to_person(request.assignee_email, lambda: Message(
            title=_("#{number}: approval approved", number=number) if approved
            else _("#{number}: approval rejected", number=number), text=told(), link=desk.link(number)),
            request.id, request.zone_id)
        # The others' cards still offer a decision nobody needs now: each says so, in place.
        named, outcome = await votes_of(tx.session, desk.config, approval.id), final
        await _replace_cards(tx, desk, approval, request,
                             lambda email: moot_line(approval.mode, outcome, named, None, email))
        return Outcome(recorded, await card_for(tx.session, desk, approval, request, decided=line), final=True)


@reacts_to("status", "transferred")
async def _no_longer_needed(tx: Tx, request: Request, actor: Actor, kind: str, data: dict[str, Any]) -> None:
    """A request cancelled, closed or moved to another zone needs no decision any more."""
    # The reason is stored in the desk's own English words (history, `withdrawn_reason`); `withdrawal`
    # reads it back into its case for a sentence in each reader's language.
    if kind == "status" and data.get("status") in {"cancelled", "closed"}:
        await withdraw(tx, actor, request, f"request #{request.id} was {data['status']}")
    elif kind == "transferred":
        target = tx.unit.config.zone(str(data.get("target")))
        await withdraw(tx, actor, request,
                       f"request #{request.id} was transferred to {target.name if target else data.get('target')}")


async def withdraw(tx: Tx, actor: Actor, request: Request, reason: str) -> None:
    """Withdraw the request's pending approval inside the caller's transaction: nobody needs the decision
    any more (`reason` in words: "request #12 was cancelled"). Every card its approvers got is changed in
    place to say so, and a late click is told why. Nothing happens when no approval is pending."""
    pending = list((await tx.session.execute(select(Approval).where(
        Approval.request_id == request.id, Approval.status == "pending"))).scalars())
    for approval in pending:
        done = await tx.session.execute(
            update(Approval).where(Approval.id == approval.id, Approval.status == "pending")
            .values(status="withdrawn", withdrawn_reason=reason, decided_at=tx.now)
            .execution_options(synchronize_session=False))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            continue
        approval.status, approval.withdrawn_reason, approval.decided_at = "withdrawn", reason, tx.now
        named = await votes_of(tx.session, tx.unit.config, approval.id)
        await tx.record(request, actor, "approval_withdrawn", approval=approval.id, reason=reason,
                        waiting=[v.name for v in named if v.decision is None])
        await _replace_cards(tx, tx.unit, approval, request, lambda _email: withdrawn_line(reason))


async def _replace_cards(tx: Tx, desk: Unit, approval: Approval, request: Request,
                         line: Callable[[str], str | None]) -> None:
    """Change every card of this approval sent (or still to be sent) to its approvers into what `line`
    says for the approver it went to (called while their language is spoken; None leaves that card as it
    is): a `replace` outbox row per card, in the card's conversation and its reader's language."""
    rows = (await tx.session.execute(select(Outbox).where(
        Outbox.request_id == request.id, Outbox.kind == "dm", Outbox.status.in_(("pending", "sent")))
        .order_by(Outbox.id))).scalars()
    read: tuple[Brief, tuple[VoteView, ...]] | None = None
    cards: dict[tuple[str, str], Message] = {}  # (language, line): one card for each, however many rows
    for row in rows:
        sent = (row.payload or {}).get("message") or {}
        extra = sent.get("extra") or {}
        if extra.get("approval") != approval.id or not extra.get("comment"):
            continue  # not a card with this approval's buttons
        email = str((row.target or {}).get("email") or "")
        language = await tx.language_of(email, request.zone_id) if email else (
            sent.get("language") or desk.channel_language(request.zone_id))
        with speaking(language):
            said = line(email)
        if said is None:
            continue
        if (language, said) not in cards:
            if read is None:
                read = await brief_of(tx.session, desk, request), await votes_of(tx.session, desk.config, approval.id)
            cards[language, said] = await tx.say(language, partial(approval_card, approval, request, desk,
                                                                   decided=said, brief=read[0], votes=read[1]))
        tx.enqueue(**replacing(row, cards[language, said]))


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


_IS = {
    "pending": N_("This approval is pending."),
    "approved": N_("This approval is approved."),
    "rejected": N_("This approval is rejected."),
    "withdrawn": N_("This approval is withdrawn."),
}


def _already(approval: Approval, votes: Sequence[ApprovalVote]) -> str:
    done = [v for v in votes if v.decision is not None]
    if not done:
        return _(_IS[approval.status]) if approval.status in _IS else approval.status
    last = max(done, key=lambda v: v.decided_at or approval.created_at)
    when = _stamp(last.decided_at) if last.decided_at else ""
    if last.decision == "rejected":
        return _("Already decided: rejected by {email} at {time}.", email=last.approver_email, time=when)
    return _("Already decided: approved by {email} at {time}.", email=last.approver_email, time=when)


async def pending_for(desk: Unit, actor: Actor) -> list[ApprovalView]:
    """Approvals waiting on this person (the web's approvals page, reminders), with what each decision needs."""
    async with desk.sessions() as session:
        rows = await session.execute(
            select(Approval, Request).join(Request, Request.id == Approval.request_id).join(
                ApprovalVote, ApprovalVote.approval_id == Approval.id).where(
                Approval.status == "pending", desk.policy.approvals_clause(actor, undecided=True))
            .order_by(Approval.id))
        return [await _view(session, desk, approval, request, brief=True) for approval, request in rows.all()]


async def approves(desk: Unit, actor: Actor) -> bool:
    """Whether the person approves, so their navigation offers the approvals page: `app.yaml` gives them
    the approver role, a form names them among its approvers, or an approval waits on them now.
    Approvals they already decided do not count: the page lists what waits for a decision."""
    person = desk.config.person(actor.email)
    if person is not None and Role.APPROVER in person.roles:
        return True
    forms = desk.catalog.forms.values() if desk.catalog is not None else ()
    if any(form.approval is not None and actor.email in form.approval.approvers for form in forms):
        return True
    return await waits_on(desk, actor)


async def waits_on(desk: Unit, actor: Actor) -> bool:
    """Whether any approval waits on this person's decision (one indexed query: the navigation asks it)."""
    async with desk.sessions() as session:
        found = await session.scalar(select(ApprovalVote.id).join(Approval, Approval.id == ApprovalVote.approval_id)
                                     .where(Approval.status == "pending",
                                            desk.policy.approvals_clause(actor, undecided=True)).limit(1))
        return found is not None


async def no_longer_needed(desk: Unit, actor: Actor, limit: int = 20) -> list[ApprovalView]:
    """Approvals this person was asked for and never decided that no longer wait on them, newest first:
    withdrawn, rejected by another approver, or decided by another (`ApprovalView.closed_for` says which)."""
    async with desk.sessions() as session:
        rows = await session.execute(
            select(Approval, Request).join(Request, Request.id == Approval.request_id).join(
                ApprovalVote, ApprovalVote.approval_id == Approval.id).where(
                Approval.status != "pending", desk.policy.approvals_clause(actor, undecided=True))
            .order_by(Approval.id.desc()).limit(limit))
        return [await _view(session, desk, approval, request) for approval, request in rows.all()]


async def approvals_of(desk: Unit, actor: Actor, number: int) -> list[ApprovalView]:
    """Approvals on a request: all of them for its requester and readers, those naming them for an approver
    (`Level.APPROVER`); none for anyone else."""
    async with desk.sessions() as session:
        request = await session.get(Request, number)
        if request is None:
            return []
        approvals = list((await session.execute(select(Approval).where(Approval.request_id == number)
                                                .order_by(Approval.id))).scalars())
        level = await level_of(desk.policy, session, actor, request)
        if level == Level.NONE:
            return []
        views = [await _view(session, desk, a, request) for a in approvals]
    if level >= Level.REQUESTER:
        return views
    return [v for v in views if any(vote.email == actor.email for vote in v.approvers)]


async def _view(session: AsyncSession, desk: Unit, approval: Approval, request: Request, *,
                brief: bool = False) -> ApprovalView:
    named = await votes_of(session, desk.config, approval.id)
    return ApprovalView(approval.id, request.id, request.title, approval.mode, approval.ordered, approval.status,
                        approval.question, tuple((v.email, v.decision, v.comment, v.at) for v in named),
                        approval.due_at, approval.created_at, named, approval.withdrawn_reason,
                        await brief_of(session, desk, request) if brief else None)


def _approval_id(value: str) -> tuple[int, str]:
    head, _colon, comment = value.partition(":")
    try:
        return int(head), comment
    except ValueError as exc:
        raise DeskError(_("This button refers to no approval.")) from exc


@action("approve")
async def _approve(desk: Unit, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    approval_id, comment = _approval_id(value)
    return await decide(desk, actor, approval_id, "approved", comment, dedupe_key)


@action("reject")
async def _reject(desk: Unit, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    approval_id, comment = _approval_id(value)
    return await decide(desk, actor, approval_id, "rejected", comment, dedupe_key)
