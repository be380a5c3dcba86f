"""Teams dialogs (task modules): a registry of named dialogs, each a fetch (the card to show) and a submit.

A button with `msteams.type = task/fetch` and data `{"zd_dialog": "<name>", ...}` opens the dialog of that
name; the dialog's card submits with the same name, and `Dialogs.submit` routes it back. The message
extension "Create request" is the `create` dialog opened on a message. Built in: `create`, `reply`,
`assign`, `comment`. Forms plug in the same way (`channel.dialogs.register("form", FormDialog())`): a
submit that fails validation answers `ShowCard` again with the errors next to the fields.

A dialog's words are said in the language being spoken: the bot speaks the person's around every fetch
and submit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from adapters.teams.cards import DIALOG, choice_set, dialog_card, error_block, escape, input_text, text_block
from bot.access import Actor, Level
from bot.desk import Desk, Origin, title_from_text
from bot.desk.consultation import ANSWER_ACTION
from bot.desk.unit import TEXT_MAX, TITLE_MAX
from bot.errors import DeskError, Duplicate
from bot.i18n import _


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
            return ShowMessage(_("This button is no longer supported; open the request in Zonedesk instead."))
        try:
            return await dialog.fetch(request)
        except DeskError as exc:
            return ShowMessage(exc.message)

    async def submit(self, name: str, request: DialogRequest) -> DialogAnswer:
        """Submit a dialog by name; a repeat of the same submit is answered without acting twice."""
        dialog = self._dialogs.get(name)
        if dialog is None:
            return ShowMessage(_("This dialog is no longer supported; open Zonedesk in the browser instead."))
        try:
            return await dialog.submit(request)
        except Duplicate:
            return ShowMessage(_("This was already done."))
        except DeskError as exc:
            return ShowMessage(exc.message)


def number_of(data: dict[str, Any]) -> int:
    """The request number a dialog is about."""
    try:
        return int(str(data.get("number", "")).lstrip("#"))
    except ValueError as exc:
        raise DeskError(_("This dialog refers to no request.")) from exc


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
                *input_text("title", _("Title"), title, required=True, max_length=TITLE_MAX),
                *input_text("description", _("Description"), description, multiline=True, max_length=TEXT_MAX),
                *choice_set("zone", request.desk.config.organisation.zone_word, zones,
                            zone or (zones[0][0] if zones else None), required=True)]
        return ShowCard(_("Create request"), dialog_card(body, _("File request"), {DIALOG: self.name}))

    async def fetch(self, request: DialogRequest) -> DialogAnswer:
        text = request.message_text or ""
        return self.card(request, title_from_text(text), text, request.context.get("zone"))

    async def submit(self, request: DialogRequest) -> DialogAnswer:
        if request.origin is None:
            return ShowMessage(_("I cannot tell where this request comes from; write to me in a chat instead."))
        title, description = text_of(request.data, "title"), text_of(request.data, "description")
        zone = text_of(request.data, "zone") or None
        try:
            filed = await request.desk.file_request(request.actor, request.origin, title, description, zone_id=zone,
                                                    dedupe_key=request.dedupe_key)
        except Duplicate:
            raise
        except DeskError as exc:
            return self.card(request, title, description, zone, exc.message)
        return ShowMessage(_("Filed as #{number} with {zone}. We answer in the conversation the message is in.",
                             number=filed.number, zone=filed.zone_name))


class ReplyDialog:
    """An agent's public reply, delivered in the requester's thread."""

    name = "reply"

    async def fetch(self, request: DialogRequest) -> DialogAnswer:
        number = number_of(request.data)
        detail = await request.desk.get_request(request.actor, number)
        if detail.level < Level.AGENT:
            return ShowMessage(_("Only an agent of the request's {zone} can reply to #{number}.",
                                 zone=request.desk.config.organisation.zone_noun, number=number))
        title = _("Reply to #{number}", number=number)
        body = [text_block(title, weight="Bolder"),
                *input_text("text", _("Your reply (the requester sees it)"), multiline=True, required=True,
                            max_length=TEXT_MAX)]
        return ShowCard(title, dialog_card(body, _("Send reply"), {DIALOG: self.name, "number": str(number)}))

    async def submit(self, request: DialogRequest) -> DialogAnswer:
        number = number_of(request.data)
        await request.desk.reply(request.actor, number, text_of(request.data, "text"),
                                 dedupe_key=request.dedupe_key)
        return ShowMessage(_("Your reply on #{number} is on its way to the requester.", number=number))


class AssignDialog:
    """Give a request to an agent of its zone."""

    name = "assign"

    async def fetch(self, request: DialogRequest) -> DialogAnswer:
        number = number_of(request.data)
        detail = await request.desk.get_request(request.actor, number)
        if detail.level < Level.AGENT:
            return ShowMessage(_("Only an agent of the request's {zone} can assign #{number}.",
                                 zone=request.desk.config.organisation.zone_noun, number=number))
        agents = [(email, name) for email, name in request.desk.policy.assignees(detail.zone_id, detail.team_id)
                  if email != request.actor.email]
        if not agents:
            return ShowMessage(_("Nobody else can work on #{number}; claim it yourself.", number=number))
        body = choice_set("assignee", _("Assign #{number} to", number=number), agents, required=True)
        return ShowCard(_("Assign #{number}", number=number),
                        dialog_card(body, _("Assign"), {DIALOG: self.name, "number": str(number)}))

    async def submit(self, request: DialogRequest) -> DialogAnswer:
        number = number_of(request.data)
        name = await request.desk.assign(request.actor, number, text_of(request.data, "assignee"),
                                         dedupe_key=request.dedupe_key)
        return ShowMessage(_("#{number} is assigned to {name}.", number=number, name=name))


class CommentDialog:
    """The requester adds to their request (from a personal chat, where Teams has no threads)."""

    name = "comment"

    async def fetch(self, request: DialogRequest) -> DialogAnswer:
        number = number_of(request.data)
        await request.desk.get_request(request.actor, number)  # NotFound for anyone who may not see it
        title = _("Add to #{number}", number=number)
        body = input_text("text", title, multiline=True, required=True, max_length=TEXT_MAX)
        return ShowCard(title, dialog_card(body, _("Send"), {DIALOG: self.name, "number": str(number)}))

    async def submit(self, request: DialogRequest) -> DialogAnswer:
        number = number_of(request.data)
        await request.desk.comment(request.actor, number, text_of(request.data, "text"),
                                   dedupe_key=request.dedupe_key)
        return ShowMessage(_("Added to #{number}.", number=number))


class AnswerDialog:
    """A consultee's view on a request they were asked about: an internal note for its agents."""

    name = ANSWER_ACTION

    async def fetch(self, request: DialogRequest) -> DialogAnswer:
        number = number_of(request.data)
        asked = await request.desk.consulted(request.actor, number)  # NotFound for anyone not asked, or no longer
        title = _("Your view on #{number}", number=number)
        body = [text_block(f"#{number} {escape(asked.title)}", weight="Bolder")]
        if asked.question:
            body.append(text_block(escape(asked.question)))
        body += [*input_text("text", _("Your view"), multiline=True, required=True, max_length=TEXT_MAX),
                 text_block(_("Your answer is an internal note for the desk's agents; the requester does not see it."),
                            isSubtle=True)]
        return ShowCard(title, dialog_card(body, _("Send my view"), {DIALOG: self.name, "number": str(number)}))

    async def submit(self, request: DialogRequest) -> DialogAnswer:
        number = number_of(request.data)
        await request.desk.answer_consultation(request.actor, number, text_of(request.data, "text"),
                                               dedupe_key=request.dedupe_key)
        return ShowMessage(_("Thank you: your view on #{number} is with the desk's agents.", number=number))


def built_in() -> Dialogs:
    """The registry with the channel's own dialogs."""
    dialogs = Dialogs()
    for dialog in (CreateDialog(), ReplyDialog(), AssignDialog(), CommentDialog(), AnswerDialog()):
        dialogs.register(dialog.name, dialog)
    return dialogs
