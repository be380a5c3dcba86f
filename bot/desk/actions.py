"""Buttons, platform-neutral: every adapter routes a click here by the button's `action` name.

A feature registers its actions where it lives (`@action("approve")` in the approvals module), so
a new button never needs adapter code. The outcome says what to tell the clicker privately and,
optionally, what the card should now show (Teams replaces it in place; Slack updates the message).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.access import Actor
from bot.delivery.messages import Message
from bot.desk import ownership, tasks
from bot.desk.unit import Unit
from bot.errors import DeskError


@dataclass(frozen=True)
class Outcome:
    """What a click did: a private notice for the clicker, and the card's new content if it changes."""

    notice: str
    card: Message | None = None
    open_reply: int | None = None  # the adapter should open its Reply dialog for this request
    open_assign: int | None = None  # the adapter should open its Assign dialog for this request
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
        raise DeskError("This button is no longer supported; open the request in Zonedesk instead.")
    return await handler(desk, actor, value, dedupe_key)


def _number(value: str) -> int:
    try:
        return int(value.lstrip("#"))
    except ValueError as exc:
        raise DeskError("This button refers to no request.") from exc


@action("claim")
async def _claim(desk: Unit, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    number = _number(value)
    await ownership.claim(desk, actor, number, dedupe_key=dedupe_key)
    return Outcome(f"You claimed #{number}.", extra_card(desk, number, f"Claimed by {actor.name}"))


@action("accept")
async def _accept(desk: Unit, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    number = _number(value)
    await ownership.accept(desk, actor, number, dedupe_key=dedupe_key)
    return Outcome(f"You accepted #{number}.", extra_card(desk, number, f"Accepted by {actor.name}"))


@action("assign")
async def _assign(desk: Unit, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    return Outcome("Choose the agent.", open_assign=_number(value))


@action("reply")
async def _reply(desk: Unit, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    return Outcome("Write your reply.", open_reply=_number(value))


@action("task_done")
async def _task_done(desk: Unit, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    task_id = _number(value.lstrip("Tt"))
    await tasks.complete_task(desk, actor, task_id)
    return Outcome(f"Task T{task_id} is done.", Message(text=f"Task T{task_id} marked done by {actor.name}."))


def extra_card(desk: object, number: int, line: str) -> Message:
    """A minimal replacement card: the request number and who acted."""
    return Message(text=line, title=f"Request #{number}", extra={"number": number})


def _load_feature_actions() -> None:
    """Import the modules that register actions of their own (approvals, confirmations, surveys)."""
    for module in ("bot.desk.approvals", "bot.scheduler"):
        try:
            __import__(module)
        except ImportError:
            continue
