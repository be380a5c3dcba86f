"""Outside collaborators: an e-mail address outside the organisation brought into one request.

An agent who may work a request invites an outside address (a supplier, a landlord) to it (`invite`): the
address is mailed the public conversation so far, then every new public message on the request (an
agent's reply, the requester's comment, another collaborator's mail: `_mail_new_public_message`, a
reaction in the same transaction as the message), from the zone's address with the request's reply
address (`it+r42-TOKEN@...`, the e-mail channel's). Its mail to that reply address lands on the request
as its comment (`comment_by_mail`, which the e-mail channel calls for a sender `is_party` accepts).
Internal notes, history, fields and everything else never reach it, and it reads nothing on the web.
The agent takes it out again (`remove`): from then on nothing is sent to it and its mail is no longer a
comment. Without the e-mail channel's mail out (`ZONEDESK_SMTP_URL`) nothing is queued. Decision 0018.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Actor, Level
from bot.delivery.messages import Message
from bot.desk.consultation import answer
from bot.desk.mailing import MAIL, queue_mail
from bot.desk.unit import TEXT_MAX, Tx, Unit, reacts_to
from bot.errors import DeskError, NotFound
from bot.i18n import N_, _
from bot.model import Collaborator, Comment, Consultation, Request

_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
CLIP = 2_000


@dataclass(frozen=True)
class CollaboratorLine:
    """One outside address on a request, as its staff read it."""

    email: str
    invited_by: str
    invited_at: datetime
    removed_at: datetime | None

    @property
    def active(self) -> bool:
        """Still brought in."""
        return self.removed_at is None


def _address(text: str) -> str:
    address = (text or "").strip().strip("<>").lower()
    if address.startswith("mailto:"):
        address = address[len("mailto:"):]
    if not _ADDRESS.match(address) or len(address) > 254:
        raise DeskError(_("'{address}' is not an e-mail address.", address=text.strip()))
    return address


async def _row(tx: Tx, number: int, address: str) -> Collaborator | None:
    return (await tx.session.execute(select(Collaborator).where(
        Collaborator.request_id == number, Collaborator.email == address))).scalar_one_or_none()


async def invite(unit: Unit, actor: Actor, number: int, address: str, *, dedupe_key: str | None = None) -> str:
    """Bring an outside address into a request; it is mailed the public conversation so far. Returns the
    address. Refused with a sentence: not an address, one of the organisation's (colleagues are consulted),
    one brought in already."""
    address = _address(address)
    if not unit.policy.outside(address):
        raise DeskError(_("{address} belongs to the organisation: ask a colleague for their view with consult "
                          "instead.", address=address))
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.AGENT, N_("bring someone in by e-mail"))
        if not unit.policy.may_invite_collaborator(actor, request):
            raise NotFound(number)
        row = await _row(tx, number, address)
        if row is not None and row.removed_at is None:
            raise DeskError(_("{address} is already in the conversation of #{number}.", address=address,
                              number=number))
        if row is None:
            tx.session.add(Collaborator(request_id=number, email=address, invited_by=actor.email, invited_at=tx.now))
        else:
            row.invited_by, row.invited_at, row.removed_at = actor.email, tx.now, None
        await tx.record(request, actor, "collaborator_invited", address=address)
        rows = await tx.session.execute(select(Comment).where(Comment.request_id == number,
                                                              Comment.public.is_(True)).order_by(Comment.id))
        conversation = [(c.author_name, c.body) for c in rows.scalars()]

        def invitation() -> Message:
            lines = [_("{name} brings you into request #{number} of {organisation}: {title}", name=actor.name,
                       number=number, organisation=unit.config.organisation.name, title=request.title), ""]
            if request.description:
                lines += [_("{requester} wrote:", requester=request.requester_name), request.description[:CLIP], ""]
            for author, body in conversation:
                lines += [_("{name} wrote:", name=author), body[:CLIP], ""]
            lines.append(_("Answer this mail to write on the request: the desk and the requester read your answer. "
                           "You receive its public messages until the desk takes you out of the conversation."))
            return Message(text="\n".join(lines), author=actor.name, extra={"number": number, "collaborator": True})

        language = tx.unit.channel_language(request.zone_id)
        await queue_mail(tx, address, await tx.say(language, invitation), request=request)
        return address


async def remove(unit: Unit, actor: Actor, number: int, address: str, *, dedupe_key: str | None = None) -> str:
    """Take an outside address out of a request: nothing more is sent to it, and its mail is no longer a
    comment. Returns the address."""
    address = _address(address)
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.AGENT, N_("bring someone in by e-mail"))
        row = await _row(tx, number, address)
        if row is None or row.removed_at is not None:
            raise DeskError(_("{address} is not in the conversation of #{number}.", address=address, number=number))
        row.removed_at = tx.now
        await tx.record(request, actor, "collaborator_removed", address=address)
        return address


async def is_party(desk: Unit, request: Request, address: str) -> bool:
    """Whether mail from this address about this request is a guest's (see `party_in`), in a session of its own.
    Under SQLite (one connection) call `party_in` with the session already open instead: a second session
    waits for the connection the first one holds."""
    async with desk.sessions() as session:
        return await party_in(session, desk, request.id, address)


async def party_in(session: AsyncSession, desk: Unit, number: int, address: str) -> bool:
    """Whether mail from this address about request `number` is a guest's: a collaborator's
    (`Policy.is_collaborator`) or the answer of a person asked for their view (`Policy.may_read_as_consultee`).
    The e-mail channel's party check (`adapters.email.inbound`); such mail goes to `mail_from_guest`."""
    address = address.strip().lower()
    row = (await session.execute(select(Collaborator).where(
        Collaborator.request_id == number, Collaborator.email == address))).scalar_one_or_none()
    if desk.policy.is_collaborator(address, row):
        return True
    asked = (await session.execute(select(Consultation).where(
        Consultation.request_id == number, Consultation.person_email == address))).scalar_one_or_none()
    return desk.policy.may_read_as_consultee(desk.actor(address), asked)


async def mail_from_guest(unit: Unit, actor: Actor, number: int, text: str, *, dedupe_key: str | None = None) -> str:
    """A guest's mail to the request's reply address (the sender `is_party` accepted, neither the requester nor
    an agent): a person asked for their view answers (an internal note, `bot.desk.consultation.answer`), a
    collaborator comments (`comment_by_mail`). Returns "note" or "comment"; anyone else reads "not found"."""
    async with unit.sessions() as session:
        asked = (await session.execute(select(Consultation).where(
            Consultation.request_id == number, Consultation.person_email == actor.email))).scalar_one_or_none()
    if unit.policy.may_read_as_consultee(actor, asked):
        await answer(unit, actor, number, text, dedupe_key=dedupe_key)
        return "note"
    await comment_by_mail(unit, actor, number, text, dedupe_key=dedupe_key)
    return "comment"


async def comment_by_mail(unit: Unit, actor: Actor, number: int, text: str, *,
                          dedupe_key: str | None = None) -> int:
    """A collaborator's mail to the request's reply address: a public comment in their name (the desk and the
    requester read it; the assignee is told; the other collaborators are mailed it). Anyone not brought in
    (or taken out) reads "not found". A closed request takes it too: an outside address may not file requests,
    so its late answer is kept on the request it belongs to, and the assignee hears of it."""
    text = (text or "").strip()[:TEXT_MAX]
    if not text:
        raise DeskError(_("The message is empty; write a few words."))
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.find(number)
        if request is None:
            raise NotFound(number)
        if not unit.policy.is_collaborator(actor.email, await _row(tx, number, actor.email)):
            raise NotFound(number)
        comment = Comment(request_id=number, author_email=actor.email, author_name=actor.name, public=True,
                          body=text, channel=actor.channel, created_at=tx.now)
        tx.session.add(comment)
        await tx.session.flush()
        await tx.record(request, actor, "commented", comment=comment.id, status=None, collaborator=True)
        await tx.to_person(request.assignee_email, lambda: Message(
            title=_("{name} wrote on #{number}: {title}", name=actor.name, number=number, title=request.title),
            text=text[:500], link=unit.link(number), extra={"number": number}), number)
        return comment.id


@reacts_to("replied", "commented")
async def _mail_new_public_message(tx: Tx, request: Request, actor: Actor, kind: str, data: dict[str, Any]) -> None:
    """Every new public message of a request goes to its collaborators by mail (never to its own author)."""
    if MAIL not in tx.unit.channels or not isinstance(data.get("comment"), int):
        return
    rows = await tx.session.execute(select(Collaborator.email).where(
        Collaborator.request_id == request.id, Collaborator.removed_at.is_(None), Collaborator.email != actor.email))
    addresses = list(rows.scalars())
    if not addresses:
        return
    comment = await tx.session.get(Comment, data["comment"])
    if comment is None or not comment.public:
        return
    message = await tx.say(tx.unit.channel_language(request.zone_id),
                           Message(text=comment.body, author=comment.author_name, extra={"number": request.id}))
    for address in addresses:
        await queue_mail(tx, address, message, request=request)


async def collaborators_of(unit: Unit, actor: Actor, number: int) -> list[CollaboratorLine]:
    """The outside addresses of a request, for those who read it as staff (READER or more); nothing for
    anyone else."""
    async with unit.sessions() as session:
        request = await session.get(Request, number)
        if request is None or unit.policy.level(actor, request) < Level.READER:
            return []
        rows = await session.execute(select(Collaborator).where(Collaborator.request_id == number)
                                     .order_by(Collaborator.invited_at, Collaborator.id))
        return [CollaboratorLine(r.email, r.invited_by, r.invited_at, r.removed_at) for r in rows.scalars()]
