"""Buttons, platform-neutral: every adapter routes a click here by the button's `action` name.

A feature registers its actions where it lives (`@action("approve")` in the approvals module), so
a new button never needs adapter code. The outcome says what to tell the clicker privately and,
optionally, what the card should now show (Teams replaces it in place; Slack updates the message).
The notice is said in the clicker's language (the adapter speaks it around the click); the card's new
status line is read by everyone where the card was posted, so a channel's card is said in its language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from sqlalchemy import select

from bot.access import Actor
from bot.delivery.messages import Message
from bot.desk import ownership, tasks
from bot.desk.unit import Unit
from bot.errors import DeskError
from bot.i18n import _, current, speaking
from bot.model import Request, Task


@dataclass(frozen=True)
class Outcome:
    """What a click did: a private notice for the clicker, and the card's new content if it changes."""

    notice: str
    card: Message | None = None
    open_reply: int | None = None  # the adapter should open its Reply dialog for this request
    open_assign: int | None = None  # the adapter should open its Assign dialog for this request
    open_answer: int | None = None  # the adapter should open its dialog for a consultee's answer on this request
    final: bool = False  # nothing more to do on this card: adapters drop its buttons


# A handler gets the desk it was clicked on, as the unit of work the use cases are written on.
Handler = Callable[[Unit, Actor, str, str | None], Awaitable[Outcome]]
_ACTIONS: dict[str, Handler] = {}


def action(name: str) -> Callable[[Handler], Handler]:
    """Register a handler for buttons whose action is `name`."""

    def register(handler: Handler) -> Handler:
        _ACTIONS[name] = handler
        return handler

    return register


async def perform(desk: Unit, actor: Actor, name: str, value: str, dedupe_key: str | None = None) -> Outcome:
    """Run a button's action for the person who clicked; unknown actions are refused politely."""
    _load_feature_actions()
    handler = _ACTIONS.get(name)
    if handler is None:
        raise DeskError(_("This button is no longer supported; open the request in Zonedesk instead."))
    return await handler(desk, actor, value, dedupe_key)


def request_number(value: str) -> int:
    """The request number a button's value names (refused with a sentence when it names none)."""
    try:
        return int(value.lstrip("#"))
    except ValueError as exc:
        raise DeskError(_("This button refers to no request.")) from exc


@action("claim")
async def _claim(desk: Unit, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    number = request_number(value)
    await ownership.claim(desk, actor, number, dedupe_key=dedupe_key)
    card = channel_card(desk, await _zone_of(desk, number), number,
                        lambda: _("Claimed by {name}", name=actor.name))
    return Outcome(_("You claimed #{number}.", number=number), card)


@action("accept")
async def _accept(desk: Unit, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    number = request_number(value)
    await ownership.accept(desk, actor, number, dedupe_key=dedupe_key)
    # Accept is offered in the assignee's own DM: its card is read by the clicker, in their language.
    card = replace(extra_card(desk, number, _("Accepted by {name}", name=actor.name)), language=current().language)
    return Outcome(_("You accepted #{number}.", number=number), card)


@action("assign")
async def _assign(desk: Unit, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    return Outcome(_("Choose the agent."), open_assign=request_number(value))


@action("reply")
async def _reply(desk: Unit, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    return Outcome(_("Write your reply."), open_reply=request_number(value))


@action("task_done")
async def _task_done(desk: Unit, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    task_id = request_number(value.lstrip("Tt"))
    await tasks.complete_task(desk, actor, task_id)
    async with desk.sessions() as session:
        row = (await session.execute(select(Task.to_zone, Task.to_agent).where(Task.id == task_id))).first()
    # A task for an agent was a DM to them (the clicker reads it); else a post in its zone's channels.
    language = current().language if row is None or row.to_agent else desk.channel_language(row.to_zone)
    with speaking(language) as spoken:
        card = Message(text=_("Task T{task} marked done by {name}.", task=task_id, name=actor.name),
                       language=spoken.language)
    return Outcome(_("Task T{task} is done.", task=task_id), card)


def extra_card(desk: object, number: int, line: str) -> Message:
    """A minimal replacement card: the request number and who acted (in the language being spoken)."""
    return Message(text=line, title=_("Request #{number}", number=number), extra={"number": number})


def channel_card(desk: Unit, zone_id: str | None, number: int, line: Callable[[], str]) -> Message:
    """`extra_card` with its status `line` said in the language of the zone's channels, where the card was
    posted (the clicker's notice is in their own language; the card is read by everyone there)."""
    with speaking(desk.channel_language(zone_id)) as spoken:
        return replace(extra_card(desk, number, line()), language=spoken.language)


async def _zone_of(desk: Unit, number: int) -> str | None:
    async with desk.sessions() as session:
        zone_id: str | None = await session.scalar(select(Request.zone_id).where(Request.id == number))
    return zone_id


def _load_feature_actions() -> None:
    """Import the modules that register actions of their own (approvals, consultation, confirmations, surveys)."""
    for module in ("bot.desk.approvals", "bot.desk.consultation", "bot.scheduler"):
        try:
            __import__(module)
        except ImportError:
            continue
