"""Consultation: one person asked for their view on one request ("what do you think?"), and their answer.

An agent who may work a request asks anyone in the directory (a person of `app.yaml`, or someone the
desk has met on a chat platform) for their view (`consult`): the person gets a direct message in their
chat, in their language, with the request's public conversation (title, description and public replies,
never notes) and how to answer: on their consultation page `/consult/<number>` or with the chat verb
`answer <number> <text>`; someone the desk never met in a live chat gets it by mail (when mail goes out),
and may answer that mail. Their answer is an internal note on the request whose history names them
(`answer`); the person who asked, and the assignee, are told. The invitation grants nothing else
(`Policy.consulted_clause`, `Policy.may_read_as_consultee`): the request is in none of their lists,
searches, boards or figures, they may change nothing, and once the question is withdrawn (`withdraw`)
the request does not exist for them at all. Decision 0018.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Actor, Level
from bot.delivery.messages import Button, Message
from bot.desk.actions import Outcome, action, request_number
from bot.desk.mailing import queue_mail
from bot.desk.unit import TEXT_MAX, Tx, Unit
from bot.errors import DeskError, NotFound
from bot.i18n import N_, _, ngettext
from bot.model import Attachment, Comment, Consultation, Identity, Request

QUESTION_MAX = 2_000
SHOWN_IN_CHAT = 5  # the latest public messages a consultee's chat message quotes (the page has them all)
CLIP = 600


@dataclass(frozen=True)
class ConversationLine:
    """One public message of the conversation as a consultee reads it."""

    author: str
    body: str
    at: datetime


@dataclass(frozen=True)
class Consulted:
    """A request as its consultee may read it: the public conversation, the question, their own answers."""

    number: int
    title: str
    description: str
    requester_name: str
    zone_name: str
    status: str
    question: str
    asked_by: str
    asked_at: datetime
    conversation: tuple[ConversationLine, ...]
    answers: tuple[ConversationLine, ...]
    files: tuple[ConsultedFile, ...] = ()


@dataclass(frozen=True)
class ConsultedFile:
    """A file of what a consultee reads (the filing message, a public comment): its id, name and size."""

    id: int
    filename: str
    size: int | None


@dataclass(frozen=True)
class ConsultationLine:
    """One invitation on a request, as its staff read it (the request page, `consult <number>`)."""

    email: str
    name: str
    question: str
    asked_by: str
    asked_at: datetime
    answered_at: datetime | None
    withdrawn_at: datetime | None

    @property
    def open(self) -> bool:
        """The question still stands."""
        return self.withdrawn_at is None


def consultation_link(unit: Unit, number: int) -> str:
    """The consultee's page for a request."""
    return f"{unit.config.organisation.base_url.rstrip('/')}/consult/{number}"


def _question(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > QUESTION_MAX:
        raise DeskError(_("The question is too long ({length} characters; at most {limit}).", length=len(text),
                          limit=QUESTION_MAX))
    return text


def _answer_text(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise DeskError(_("Your answer is empty; write a few words."))
    if len(text) > TEXT_MAX:
        raise DeskError(_("Your answer is too long ({length} characters; at most {limit}).", length=len(text),
                          limit=TEXT_MAX))
    return text


async def directory_person(tx: Tx, email: str) -> Actor | None:
    """The person of this address as the directory knows them: `app.yaml`, else a chat platform's user the
    desk has met (with the name that platform gave); None for an address nobody knows."""
    email = email.strip().lower()
    if tx.unit.config.person(email) is not None:
        return tx.unit.actor(email)
    name = (await tx.session.execute(select(Identity.name).where(Identity.email == email)
                                     .order_by(Identity.name.desc()))).scalars().first()
    if name is None:
        return None
    return tx.unit.actor(email, name or None)


async def _conversation(session: AsyncSession, request: Request) -> list[ConversationLine]:
    rows = await session.execute(select(Comment).where(Comment.request_id == request.id,
                                                          Comment.public.is_(True)).order_by(Comment.id))
    return [ConversationLine(c.author_name, c.body, c.created_at) for c in rows.scalars()]


def _clip(text: str, limit: int = CLIP) -> str:
    return text[:limit] + ("…" if len(text) > limit else "")


async def _row(session: AsyncSession, number: int, email: str) -> Consultation | None:
    return (await session.execute(select(Consultation).where(
        Consultation.request_id == number, Consultation.person_email == email.strip().lower()))).scalar_one_or_none()


async def consult(unit: Unit, actor: Actor, number: int, person: str, question: str | None = None, *,
                  dedupe_key: str | None = None) -> str:
    """Ask a person for their view on a request; returns their name. Refused with a sentence: a person the
    directory does not know, the requester, someone who already reads the request as staff, someone asked
    already. A person asked before and withdrawn is asked again."""
    question = _question(question)
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.AGENT, N_("ask someone's view on it"))
        invited = await directory_person(tx, person)
        if invited is None:
            raise DeskError(_("Zonedesk does not know {person}: ask someone in the directory (a colleague listed "
                              "in app.yaml or who has used Zonedesk in chat), by e-mail address or @mention.",
                              person=person))
        if request.requester_email == invited.email:
            raise DeskError(_("{name} filed request #{number}; they read it already.", name=invited.name,
                              number=number))
        if not unit.policy.may_be_consulted(invited, request):
            raise DeskError(_("{name} already reads request #{number}, notes included; there is no need to ask "
                              "them in.", name=invited.name, number=number))
        row = await _row(tx.session, number, invited.email)
        if row is not None and row.withdrawn_at is None:
            raise DeskError(_("{name} is already asked for their view on #{number}.", name=invited.name,
                              number=number))
        if row is None:
            row = Consultation(request_id=number, person_email=invited.email, person_name=invited.name,
                               question=question, invited_by=actor.email, invited_at=tx.now)
            tx.session.add(row)
        else:
            row.question, row.invited_by, row.invited_at = question, actor.email, tx.now
            row.person_name, row.withdrawn_at = invited.name, None
        await tx.record(request, actor, "consulted", person=invited.email, name=invited.name, question=question)
        conversation = await _conversation(tx.session, request)
        link = consultation_link(unit, number)

        def asking() -> Message:
            lines = []
            if question:
                lines += [_("{name} asks: {question}", name=actor.name, question=question), ""]
            lines.append(_("Request #{number} from {requester}: {title}", number=number,
                           requester=request.requester_name, title=request.title))
            if request.description:
                lines.append(_clip(request.description))
            shown = conversation[-SHOWN_IN_CHAT:]
            if len(conversation) > len(shown):
                lines.append(ngettext("…and {count} earlier message on the page.",
                                      "…and {count} earlier messages on the page.", len(conversation) - len(shown)))
            lines += [f"— {c.author}: {_clip(c.body, 300)}" for c in shown]
            lines += ["", _("Your answer is an internal note for the desk's agents; the requester does not see it. "
                            "Answer on the page, or in chat with: answer {number} followed by your view.",
                            number=number)]
            return Message(title=_("{name} asks for your view on request #{number}: {title}", name=actor.name,
                                   number=number, title=request.title),
                           text="\n".join(lines), link=link, link_label=_("Answer"),
                           extra={"number": number, "consultation": True})

        def asking_in_chat() -> Message:  # mail answers by replying; chat gets a button for a dialog
            return replace(asking(), buttons=(Button(ANSWER_ACTION, _("Answer here"), str(number), "primary"),))

        queued = len(tx.outbox)
        await tx.to_person(invited.email, asking_in_chat, number, request.zone_id)
        if len(tx.outbox) == queued:  # not met in any live chat: by mail, when mail goes out
            language = await tx.language_of(invited.email, request.zone_id)
            await queue_mail(tx, invited.email, await tx.say(language, asking), request=request)
        return invited.name


ANSWER_ACTION = "consult_answer"
"""The button on the question in chat that opens the platform's dialog for the answer."""


@action(ANSWER_ACTION)
async def _answer_in_chat(unit: Unit, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    number = request_number(value)
    async with unit.sessions() as session:  # "not found" for anyone not asked, or no longer
        if not unit.policy.may_read_as_consultee(actor, await _row(session, number, actor.email)):
            raise NotFound(number)
    return Outcome(_("Write your view."), open_answer=number)


async def withdraw(unit: Unit, actor: Actor, number: int, person: str, *, dedupe_key: str | None = None) -> str:
    """Withdraw the question to a person: from now on the request does not exist for them. Returns their name."""
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.AGENT, N_("ask someone's view on it"))
        row = await _row(tx.session, number, person)
        if row is None or row.withdrawn_at is not None:
            raise DeskError(_("Nobody by {person} is asked for their view on #{number}.", person=person,
                              number=number))
        row.withdrawn_at = tx.now
        await tx.record(request, actor, "consultation_withdrawn", person=row.person_email, name=row.person_name)
        await tx.to_person(row.person_email, lambda: Message(
            text=_("{name} withdrew the question about request #{number}; you no longer see it.", name=actor.name,
                   number=number), extra={"number": number}), number, request.zone_id)
        return row.person_name


async def answer(unit: Unit, actor: Actor, number: int, text: str, *, dedupe_key: str | None = None) -> int:
    """The consultee's answer: an internal note on the request, written in their name; the person who asked
    and the assignee are told. Anyone not asked (or no longer) is told the request was not found; staff
    who may read it are told to write a note instead."""
    text = _answer_text(text)
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.find(number)
        if request is None:
            raise NotFound(number)
        row = await _row(tx.session, number, actor.email)
        if not unit.policy.may_read_as_consultee(actor, row):
            if unit.policy.level(actor, request) >= Level.READER:
                raise DeskError(_("You are not asked for your view on #{number}; write an internal note instead.",
                                  number=number))
            raise NotFound(number)
        assert row is not None
        note = Comment(request_id=number, author_email=actor.email, author_name=actor.name, public=False,
                       body=text, channel=actor.channel, created_at=tx.now)
        tx.session.add(note)
        row.answered_at = tx.now
        await tx.session.flush()
        await tx.record(request, actor, "consultation_answered", comment=note.id)
        told = {row.invited_by, request.assignee_email} - {None, actor.email}
        for email in sorted(e for e in told if e):
            await tx.to_person(email, lambda: Message(
                title=_("{name} gave their view on #{number}: {title}", name=actor.name, number=number,
                        title=request.title),
                text=_clip(text, 500), link=unit.link(number), extra={"number": number}), number, request.zone_id)
        return note.id


async def consulted(unit: Unit, actor: Actor, number: int) -> Consulted:
    """A request as its consultee may read it (`Policy.may_read_as_consultee`); "not found" for anyone else,
    and for them once the question is withdrawn."""
    async with unit.sessions() as session:
        request = await session.get(Request, number)
        row = await _row(session, number, actor.email) if request is not None else None
        if request is None or not unit.policy.may_read_as_consultee(actor, row):
            raise NotFound(number)
        assert row is not None
        conversation = await _conversation(session, request)
        mine = await session.execute(select(Comment).where(
            Comment.request_id == number, Comment.public.is_(False), Comment.author_email == actor.email,
            Comment.created_at >= row.invited_at).order_by(Comment.id))
        files = await session.execute(select(Attachment).where(Attachment.request_id == number)
                                      .order_by(Attachment.id))
        zone = unit.config.zone(request.zone_id)
        asker = unit.config.person(row.invited_by)
        return Consulted(
            number=number, title=request.title, description=request.description, requester_name=request.requester_name,
            zone_name=zone.name if zone else request.zone_id, status=request.status, question=row.question,
            asked_by=asker.name if asker else row.invited_by, asked_at=row.invited_at,
            conversation=tuple(conversation),
            answers=tuple(ConversationLine(c.author_name, c.body, c.created_at) for c in mine.scalars()),
            files=tuple(ConsultedFile(a.id, a.filename, a.size) for a in files.scalars()
                        if unit.policy.consultee_sees_attachment(actor, row, public=a.public)))


async def consulted_attachment(unit: Unit, actor: Actor, number: int, attachment_id: int) -> Attachment:
    """One file of a request its consultee may open (`Policy.consultee_sees_attachment`): one they see on their
    consultation page. Anything else, and everything once the question is withdrawn, reads as not found."""
    async with unit.sessions() as session:
        found = await session.get(Attachment, attachment_id)
        consultation = await _row(session, number, actor.email)
        if (found is None or found.request_id != number
                or not unit.policy.consultee_sees_attachment(actor, consultation, public=found.public)):
            raise NotFound(number)
        session.expunge(found)
        return found


async def consultations_of(unit: Unit, actor: Actor, number: int) -> list[ConsultationLine]:
    """Who was asked for their view on a request, for those who read it as staff (READER or more); nothing
    for anyone else (a requester never learns who was asked)."""
    async with unit.sessions() as session:
        request = await session.get(Request, number)
        if request is None or unit.policy.level(actor, request) < Level.READER:
            return []
        rows = await session.execute(select(Consultation).where(Consultation.request_id == number)
                                     .order_by(Consultation.invited_at, Consultation.id))
        lines = []
        for row in rows.scalars():
            asker = unit.config.person(row.invited_by)
            lines.append(ConsultationLine(row.person_email, row.person_name, row.question,
                                          asker.name if asker else row.invited_by, row.invited_at, row.answered_at,
                                          row.withdrawn_at))
        return lines


async def asked_of(unit: Unit, actor: Actor) -> Sequence[tuple[int, str]]:
    """The requests this person is asked for their view on right now, as (number, title), newest first:
    the portal lists them beside the person's own requests (`Policy.consulted_clause`)."""
    async with unit.sessions() as session:
        rows = await session.execute(select(Request.id, Request.title)
                                     .where(unit.policy.consulted_clause(actor)).order_by(Request.id.desc()))
        return [(number, title) for number, title in rows.all()]
