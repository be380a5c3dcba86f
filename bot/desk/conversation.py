"""The conversation on a request: an agent's public reply, an internal note, the requester's comment.

A reply goes into the requester's original thread; a note never leaves the desk; a requester writing
on a request waiting for them puts it back in progress and tells its assignee.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.access import Actor, Level
from bot.delivery.messages import Message
from bot.desk.status import status_word
from bot.desk.unit import TEXT_MAX, Tx, Unit, clean_text
from bot.errors import DeskError, NotFound
from bot.i18n import N_, _
from bot.model import Comment, Request

# What a channel adds to a comment in its transaction (the files that came with it: `bot.files`), given the
# request and the comment's id.
AfterComment = Callable[[Tx, Request, int], Awaitable[None]]


async def _written(tx: Tx, actor: Actor, request: Request, text: str, *, public: bool,
                   first_response: bool = False) -> Comment:
    """Store what the person wrote on the request (its id is known on return); an agent's first public
    answer stamps the request's first response."""
    comment = Comment(request_id=request.id, author_email=actor.email, author_name=actor.name, public=public,
                      body=text, channel=actor.channel, created_at=tx.now)
    tx.session.add(comment)
    if first_response and request.first_response_at is None:
        request.first_response_at = tx.now
    await tx.session.flush()
    return comment


async def reply(unit: Unit, actor: Actor, number: int, text: str, *, dedupe_key: str | None = None,
                deliver: bool = True, after: AfterComment | None = None) -> int:
    """A public reply from an agent: stored, and delivered into the requester's original thread."""
    text = clean_text(text, "reply", required=True, limit=TEXT_MAX)
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.AGENT, N_("reply to it"))
        comment = await _written(tx, actor, request, text, public=True, first_response=True)
        await tx.record(request, actor, "replied", comment=comment.id)
        if after is not None:
            await after(tx, request, comment.id)
        if deliver:
            await tx.to_thread(request, Message(text=text, author=actor.name,
                                          extra={"number": number, "comment": comment.id}))
        return comment.id


async def note(unit: Unit, actor: Actor, number: int, text: str, *, dedupe_key: str | None = None,
               after: AfterComment | None = None) -> int:
    """An internal note: visible to agents who may read the request, never delivered to the requester."""
    text = clean_text(text, "note", required=True, limit=TEXT_MAX)
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.AGENT, N_("add notes"))
        comment = await _written(tx, actor, request, text, public=False)
        await tx.record(request, actor, "noted", comment=comment.id)
        if after is not None:
            await after(tx, request, comment.id)
        return comment.id


async def comment(unit: Unit, actor: Actor, number: int, text: str, *, dedupe_key: str | None = None,
                  from_thread: bool = False, after: AfterComment | None = None) -> int | None:
    """The requester adds to their request (web, or a message in the original thread).

    An agent writing in the requester's thread makes a public reply that is already in the
    thread, so it is stored but not delivered again. Anyone else in the thread is ignored. `after` runs in
    the same transaction once the comment is written (a channel's files: `bot.files`).
    """
    text = clean_text(text, "message", required=True, limit=TEXT_MAX)
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.find(number)
        if request is None:
            raise NotFound(number)
        level = unit.policy.level(actor, request)
        if level >= Level.AGENT and request.requester_email != actor.email:
            comment = await _written(tx, actor, request, text, public=True, first_response=True)
            await tx.record(request, actor, "replied", comment=comment.id, in_thread=True)
            if after is not None:
                await after(tx, request, comment.id)
            return comment.id
        if request.requester_email != actor.email:
            if from_thread:
                return None
            # A reader is told why they may not write; anyone else reads "not found".
            unit.policy.require(actor, request, Level.AGENT, N_("write on it"))
            raise NotFound(number)
        if request.status in {"closed", "cancelled"}:
            raise DeskError(_("Request #{number} is {status}; file a new request or ask to reopen it.", number=number,
                              status=status_word(request.status)))
        comment = await _written(tx, actor, request, text, public=True)
        moved = None
        if request.status == "waiting" and request.waiting_reason == "requester":
            request.status, request.waiting_reason, moved = "in_progress", None, "in_progress"
        await tx.record(request, actor, "commented", comment=comment.id, status=moved)
        if after is not None:
            await after(tx, request, comment.id)
        await tx.to_person(request.assignee_email, lambda: Message(
            title=_("{name} wrote on #{number}: {title}", name=actor.name, number=number, title=request.title),
            text=text[:500], link=unit.link(number), extra={"number": number}), number)
        return comment.id
