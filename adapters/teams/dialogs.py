"""Teams dialogs (task modules): a registry of named dialogs, each a fetch (the card to show) and a submit.

A button with `msteams.type = task/fetch` and data `{"zd_dialog": "<name>", ...}` opens the dialog of that
name; the dialog's card submits with the same name, and `Dialogs.submit` routes it back. The message
extension "Create request" is the `create` dialog opened on a message. Built in: `create`, `reply`,
`assign`, `comment`. Forms plug in the same way (`channel.dialogs.register("form", FormDialog())`): a
submit that fails validation answers `ShowCard` again with the errors next to the fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from adapters.teams.cards import DIALOG, choice_set, dialog_card, error_block, input_text, text_block
from bot.access import Actor, Level
from bot.desk import Desk, Origin, title_from_text
from bot.desk.unit import TEXT_MAX, TITLE_MAX
from bot.errors import DeskError, Duplicate


@dataclass(frozen=True)
class DialogRequest:
    """One fetch or submit: who, what the button or the dialog's card carried, and where it happened."""

    desk: Desk
    actor: Actor
    data: dict[str, Any]
    dedupe_key: str
    origin: Origin | None = None  # the conversation (or the message's thread) the dialog was opened from
    message_text: str | None = None  # message extension: the text of the message it was opened on
    context: dict[str, Any] = field(default_factory=dict)  # the channel's extras (the intake zone of a channel)


@dataclass(frozen=True)
class ShowCard:
    """Show (or show again) a card in the dialog."""

    title: str
    card: dict[str, Any]
    height: str = "medium"
    width: str = "medium"


@dataclass(frozen=True)
class ShowMessage:
    """Close the card and show a short message in the dialog."""

    text: str


DialogAnswer = ShowCard | ShowMessage


class Dialog(Protocol):
    """A dialog: what to show when it opens, and what to do with what was typed."""

    async def fetch(self, request: DialogRequest) -> DialogAnswer:
        """The card to open with."""
        ...

    async def submit(self, request: DialogRequest) -> DialogAnswer:
        """Act on the submitted values (`request.data`)."""
        ...


class Dialogs:
    """The named dialogs of the Teams channel."""

    def __init__(self) -> None:
        self._dialogs: dict[str, Dialog] = {}

    def register(self, name: str, dialog: Dialog) -> None:
        """Add or replace a dialog."""
        self._dialogs[name] = dialog

    def names(self) -> list[str]:
        """Registered dialog names."""
        return sorted(self._dialogs)

    async def fetch(self, name: str, request: DialogRequest) -> DialogAnswer:
        """Open a dialog by name."""
        dialog = self._dialogs.get(name)
        if dialog is None:
            return ShowMessage("This button is no longer supported; open the request in Zonedesk instead.")
        try:
            return await dialog.fetch(request)
        except DeskError as exc:
            return ShowMessage(exc.message)

    async def submit(self, name: str, request: DialogRequest) -> DialogAnswer:
        """Submit a dialog by name; a repeat of the same submit is answered without acting twice."""
        dialog = self._dialogs.get(name)
        if dialog is None:
            return ShowMessage("This dialog is no longer supported; open Zonedesk in the browser instead.")
        try:
            return await dialog.submit(request)
        except Duplicate:
            return ShowMessage("This was already done.")
        except DeskError as exc:
            return ShowMessage(exc.message)


def number_of(data: dict[str, Any]) -> int:
    """The request number a dialog is about."""
    try:
        return int(str(data.get("number", "")).lstrip("#"))
    except ValueError as exc:
        raise DeskError("This dialog refers to no request.") from exc


def text_of(data: dict[str, Any], key: str) -> str:
    """A submitted text value."""
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


# ---------------------------------------------------------------- built-in dialogs
class CreateDialog:
    """File a request: title, description and zone, prefilled from the message it was opened on."""

    name = "create"

    def card(self, request: DialogRequest, title: str, description: str, zone: str | None,
             error: str | None = None) -> ShowCard:
        zones = [(z.id, z.name) for z in request.desk.filing_zones()]
        body = [*error_block(error),
                *input_text("title", "Title", title, required=True, max_length=TITLE_MAX),
                *input_text("description", "Description", description, multiline=True, max_length=TEXT_MAX),
                *choice_set("zone", request.desk.config.organisation.zone_word, zones,
                            zone or (zones[0][0] if zones else None), required=True)]
        return ShowCard("Create request", dialog_card(body, "File request", {DIALOG: self.name}))

    async def fetch(self, request: DialogRequest) -> DialogAnswer:
        text = request.message_text or ""
        return self.card(request, title_from_text(text), text, request.context.get("zone"))

    async def submit(self, request: DialogRequest) -> DialogAnswer:
        if request.origin is None:
            return ShowMessage("I cannot tell where this request comes from; write to me in a chat instead.")
        title, description = text_of(request.data, "title"), text_of(request.data, "description")
        zone = text_of(request.data, "zone") or None
        try:
            filed = await request.desk.file_request(request.actor, request.origin, title, description, zone_id=zone,
                                                    dedupe_key=request.dedupe_key)
        except Duplicate:
            raise
        except DeskError as exc:
            return self.card(request, title, description, zone, exc.message)
        return ShowMessage(f"Filed as #{filed.number} with {filed.zone_name}. We answer in the conversation "
                           "the message is in.")


class ReplyDialog:
    """An agent's public reply, delivered in the requester's thread."""

    name = "reply"

    async def fetch(self, request: DialogRequest) -> DialogAnswer:
        number = number_of(request.data)
        detail = await request.desk.get_request(request.actor, number)
        if detail.level < Level.AGENT:
            word = request.desk.config.organisation.zone_noun
            return ShowMessage(f"Only an agent of the request's {word} can reply to #{number}.")
        body = [text_block(f"Reply to #{number}", weight="Bolder"),
                *input_text("text", "Your reply (the requester sees it)", multiline=True, required=True,
                            max_length=TEXT_MAX)]
        return ShowCard(f"Reply to #{number}", dialog_card(body, "Send reply", {DIALOG: self.name,
                                                                                 "number": str(number)}))

    async def submit(self, request: DialogRequest) -> DialogAnswer:
        number = number_of(request.data)
        await request.desk.reply(request.actor, number, text_of(request.data, "text"),
                                 dedupe_key=request.dedupe_key)
        return ShowMessage(f"Your reply on #{number} is on its way to the requester.")


class AssignDialog:
    """Give a request to an agent of its zone."""

    name = "assign"

    async def fetch(self, request: DialogRequest) -> DialogAnswer:
        number = number_of(request.data)
        detail = await request.desk.get_request(request.actor, number)
        if detail.level < Level.AGENT:
            word = request.desk.config.organisation.zone_noun
            return ShowMessage(f"Only an agent of the request's {word} can assign #{number}.")
        agents = [(email, name) for email, name in request.desk.policy.assignees(detail.zone_id, detail.team_id)
                  if email != request.actor.email]
        if not agents:
            return ShowMessage(f"Nobody else can work on #{number}; claim it yourself.")
        body = choice_set("assignee", f"Assign #{number} to", agents, required=True)
        return ShowCard(f"Assign #{number}", dialog_card(body, "Assign", {DIALOG: self.name, "number": str(number)}))

    async def submit(self, request: DialogRequest) -> DialogAnswer:
        number = number_of(request.data)
        name = await request.desk.assign(request.actor, number, text_of(request.data, "assignee"),
                                         dedupe_key=request.dedupe_key)
        return ShowMessage(f"#{number} is assigned to {name}.")


class CommentDialog:
    """The requester adds to their request (from a personal chat, where Teams has no threads)."""

    name = "comment"

    async def fetch(self, request: DialogRequest) -> DialogAnswer:
        number = number_of(request.data)
        await request.desk.get_request(request.actor, number)  # NotFound for anyone who may not see it
        body = input_text("text", f"Add to #{number}", multiline=True, required=True, max_length=TEXT_MAX)
        return ShowCard(f"Add to #{number}", dialog_card(body, "Send", {DIALOG: self.name, "number": str(number)}))

    async def submit(self, request: DialogRequest) -> DialogAnswer:
        number = number_of(request.data)
        await request.desk.comment(request.actor, number, text_of(request.data, "text"),
                                   dedupe_key=request.dedupe_key)
        return ShowMessage(f"Added to #{number}.")


def built_in() -> Dialogs:
    """The registry with the channel's own dialogs."""
    dialogs = Dialogs()
    for dialog in (CreateDialog(), ReplyDialog(), AssignDialog(), CommentDialog()):
        dialogs.register(dialog.name, dialog)
    return dialogs
