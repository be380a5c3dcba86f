"""Adaptive Card rendering of the core's neutral messages, with every piece of user text made inert.

Cards are version 1.5. A button is an `Action.Execute` (its click arrives as an `adaptiveCard/action`
invoke and the invoke response replaces the card in place) with an `Action.Submit` fallback for clients
without Universal Actions. Buttons whose action opens a dialog (Reply, Assign) are `Action.Submit` with
`msteams.type = task/fetch`, since only those can open a Teams dialog.

TextBlocks render a markdown subset (`**bold**`, `_italic_`, lists, `[label](url)`), so user text goes
through `escape`: nobody can dress a link up as another or format a card to look like something else.
The card a button belongs to travels in the button's data, signed with the server's secret key, so the
invoke response can show the same card with a status line ("Claimed by ...") without trusting the client.

The words a card adds of its own ("Open in Zonedesk", "... wrote:") are said in the language being spoken:
the sender speaks the queued message's language (`Message.language`), the bot the person's who acted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from botbuilder.core import CardFactory
from botbuilder.schema import Activity, ActivityTypes, Attachment

from bot.delivery.messages import Button, Message
from bot.desk.actions import Outcome
from bot.i18n import _, current, speaking

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
MESSAGE_TYPE = "application/vnd.microsoft.activity.message"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
ACTION, VALUE, CARD, SIGNATURE = "zd", "v", "m", "s"  # keys of a button's data
COMMENT_INPUT = "zd_comment"  # the approval card's optional comment
DIALOG = "zd_dialog"  # the dialog a task/fetch button or a dialog's submit names
OPEN_WEB = "zd_web"  # the data key of the welcome and help card's "Open Zonedesk" button
DIALOG_ACTIONS = frozenset({"reply", "assign", "consult_answer"})  # neutral actions that open a dialog
TEXT_MAX = 6000  # a card is at most 28 KB; long bodies are cut and point to the web page
TEXT_BYTES_MAX = 16_000  # ...and so is their size as sent: an emoji is one character but 12 bytes of JSON
CARRIED_BYTES_MAX = 3_000  # the message a button carries back (twice per button: the fallback has it too)
LINES_MAX = 80
VALUE_MAX = 20_000  # characters of a text input's value, when the input sets no maxLength of its own
CHOICE_VALUE_MAX = 2_000  # a choice set's value: the chosen option values, comma-separated
TITLE_MAX = 300
LABEL_MAX = 60

_INLINE = re.compile(r"([\\`*_\[\]<>~|])")
_LINE_START = re.compile(r"^(\s*)([-+>]|\d+\.)(?=\s|$)", re.MULTILINE)


def escape(text: str) -> str:
    """User text made inert for TextBlock markdown: emphasis, links, code, quotes and list markers escaped."""
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), _INLINE.sub(r"\\\1", text))


def shorten(text: str, limit: int) -> str:
    """Text cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_block(text: str, **style: Any) -> dict[str, Any]:
    """One TextBlock of already-escaped text, wrapping."""
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def wire_size(value: Any) -> int:
    """Bytes of `value` as JSON on the wire (the connector client escapes everything outside ASCII)."""
    return len(json.dumps(value, separators=(",", ":")))


def escaped_size(text: str) -> int:
    """Bytes of user text as a TextBlock sends it: escaped, as JSON."""
    return wire_size(escape(text))


def fitting(text: str, room: int, size: Callable[[str], int] | None = None) -> str:
    """The longest start of `text` whose `size` (by default: escaped, as sent) is at most `room` (a binary
    search: the size grows with the length)."""
    if size is None:
        size = escaped_size
    if size(text) <= room:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if size(text[:middle]) <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def text_blocks(text: str, **style: Any) -> list[dict[str, Any]]:
    """User text as TextBlocks, one per line (a single line break is not one in every Teams client), cut
    at `TEXT_MAX` characters, `LINES_MAX` lines or `TEXT_BYTES_MAX` bytes as sent, whichever comes first."""
    if not text.strip():
        return []
    cut = len(text) > TEXT_MAX
    lines = shorten(text, TEXT_MAX).splitlines()
    if len(lines) > LINES_MAX:
        lines, cut = lines[:LINES_MAX], True
    room = TEXT_BYTES_MAX
    blocks = []
    for line in lines:
        shown = fitting(line, room) if line.strip() else line
        if shown != line:
            cut = True
            if shown.strip():
                blocks.append(text_block(escape(shown) + "…", spacing="None", **style))
            break
        block = text_block(escape(line) if line.strip() else " ", spacing="None", **style)
        room -= wire_size(block)
        blocks.append(block)
    if cut:
        blocks.append(text_block(_("(shortened: open the request in Zonedesk to read it all)"), isSubtle=True,
                                 size="Small"))
    return blocks


def safe_url(url: str | None) -> str | None:
    """A link the card may open: http(s) only."""
    if not url:
        return None
    return url if urlsplit(url).scheme in {"http", "https"} else None


class Signer:
    """Signs the card a button carries, so a click can rebuild it without trusting what the client sent back."""

    def __init__(self, key: bytes) -> None:
        self._key = hashlib.sha256(b"zonedesk-teams-card:" + key).digest()

    def sign(self, action: str, value: str, card: dict[str, Any]) -> str:
        """The signature of a button's data."""
        raw = json.dumps([action, value, card], sort_keys=True, separators=(",", ":")).encode()
        return hmac.new(self._key, raw, hashlib.sha256).hexdigest()

    def original(self, data: dict[str, Any]) -> Message | None:
        """The message a clicked button belonged to, if its signature holds."""
        card = data.get(CARD)
        signature = data.get(SIGNATURE)
        if not isinstance(card, dict) or not isinstance(signature, str):
            return None
        try:
            message = Message.from_dict(card)
        except (TypeError, ValueError, AttributeError):
            return None
        expected = self.sign(str(data.get(ACTION) or ""), str(data.get(VALUE) or ""), compact(message))
        return message if hmac.compare_digest(expected, signature) else None


def compact(message: Message) -> dict[str, Any]:
    """A message's dict without empty values: smaller in every button, and the same after any JSON round trip."""
    data = message.to_dict()
    data["buttons"] = [{k: v for k, v in b.items() if v is not None} for b in data["buttons"]]
    return {k: v for k, v in data.items() if v not in (None, [], {}, "")}


def carried(message: Message) -> Message:
    """The message a button carries back, its text (and if need be its title and fields) cut to fit in
    `CARRIED_BYTES_MAX`: a card redrawn after a click shows the start of a long text, as a card does anyway."""
    if wire_size(compact(message)) <= CARRIED_BYTES_MAX:
        return message
    brief = replace(message, title=fitting(message.title or "", 600, wire_size) or None,
                    author=fitting(message.author or "", 300, wire_size) or None,
                    fields=tuple((fitting(k, 100, wire_size), fitting(v, 200, wire_size))
                                 for k, v in message.fields[:6]),
                    footer=fitting(message.footer or "", 300, wire_size) or None)
    room = CARRIED_BYTES_MAX - wire_size(compact(replace(brief, text="")))
    return replace(brief, text=fitting(message.text, max(room, 0), wire_size))


def button_action(button: Button, message: Message, signer: Signer) -> dict[str, Any]:
    """A neutral button as an Adaptive Card action."""
    title = shorten(button.label, LABEL_MAX)
    if button.action in DIALOG_ACTIONS:
        return {"type": "Action.Submit", "title": title,
                "data": {"msteams": {"type": "task/fetch"}, DIALOG: button.action, "number": button.value}}
    card = compact(carried(message))
    data = {ACTION: button.action, VALUE: button.value, CARD: card,
            SIGNATURE: signer.sign(button.action, button.value, card)}
    action: dict[str, Any] = {"type": "Action.Execute", "title": title, "verb": f"zd:{button.action}", "data": data,
                              "fallback": {"type": "Action.Submit", "title": title, "data": data}}
    if button.style == "primary":
        action["style"] = "positive"
    elif button.style == "danger":
        action["style"] = "destructive"
    return action


def render_card(message: Message, signer: Signer, *, status: str | None = None,
                extra_actions: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    """The Adaptive Card of a neutral message (with an optional status line: who acted on it)."""
    body: list[dict[str, Any]] = []
    if message.title:
        body.append(text_block(escape(shorten(message.title, TITLE_MAX)), size="Medium", weight="Bolder"))
    if message.author:
        body.append(text_block(_("{author} wrote:", author=escape(shorten(message.author, 200))), isSubtle=True,
                               spacing="Small"))
    body += text_blocks(message.text)
    if message.fields:
        body.append({"type": "FactSet", "facts": [{"title": escape(shorten(k, 100)), "value": escape(shorten(v, 500))}
                                                  for k, v in message.fields[:20]]})
    if status:
        body.append(text_block(escape(shorten(status, 500)), id="zd_status", weight="Bolder", color="Accent"))
    if message.buttons and message.extra.get("comment") and not status:
        # An approval card: Teams merges the input's value into the clicked Action.Execute's data.
        body.append({"type": "Input.Text", "id": COMMENT_INPUT, "label": _("Comment (optional)"),
                     "isMultiline": True, "maxLength": 2000})
    if message.footer:
        body.append(text_block(escape(shorten(message.footer, 500)), isSubtle=True, size="Small"))
    actions = [button_action(b, message, signer) for b in message.buttons[:6]]
    actions += list(extra_actions)
    link = safe_url(message.link)
    if link:
        actions.append({"type": "Action.OpenUrl", "title": shorten(message.link_label or _("Open in Zonedesk"),
                                                                   LABEL_MAX), "url": link})
    card: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION,
                            "body": body or [text_block("Zonedesk")], "msteams": {"width": "Full"}}
    if actions:
        card["actions"] = actions
    return card


def updated_card(data: dict[str, Any], outcome: Outcome, signer: Signer) -> dict[str, Any] | None:
    """What a clicked card shows now: the outcome's own card when it is a full one (an approval decided),
    else the original card with the outcome as its status line; None when the card stays as it was."""
    if outcome.card is None:
        return None
    original = signer.original(data)
    if outcome.card.fields or outcome.card.buttons or original is None:
        return render_card(outcome.card, signer)
    with speaking(original.language or current().language):  # the card's own words stay in its language
        return render_card(original, signer, status=outcome.card.text)


def notice_card(text: str, title: str | None = None, actions: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    """A card for a private notice made of plain text (command answers, refusals), with optional buttons."""
    body = [text_block(escape(shorten(title, TITLE_MAX)), weight="Bolder")] if title else []
    body += text_blocks(text) or [text_block(" ")]
    card: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body,
                            "msteams": {"width": "Full"}}
    if actions:
        card["actions"] = list(actions)
    return card


def open_web_action() -> dict[str, Any]:
    """The welcome and help card's "Open Zonedesk": its click asks for a fresh sign-in link.

    An `Action.Submit`, so the click arrives as a message in the personal chat and the link is answered
    there as a new card; an `Action.Execute` would replace the help card (and its button) with the answer.
    """
    return {"type": "Action.Submit", "title": shorten(_("Open Zonedesk"), LABEL_MAX), "data": {OPEN_WEB: "web"}}


def link_action(url: str, label: str | None = None) -> tuple[dict[str, Any], ...]:
    """A button that opens `url` in the browser (a sign-in link), if it is an http(s) address."""
    safe = safe_url(url)
    if safe is None:
        return ()
    return ({"type": "Action.OpenUrl", "title": shorten(label or _("Open in Zonedesk"), LABEL_MAX), "url": safe},)


def card_activity(card: dict[str, Any], summary: str) -> Activity:
    """A message activity carrying one Adaptive Card; `summary` is what notifications show."""
    return Activity(type=ActivityTypes.message, attachments=[CardFactory.adaptive_card(card)],
                    summary=shorten(summary, 200))


def attachment(card: dict[str, Any]) -> Attachment:
    """An Adaptive Card attachment (for dialogs)."""
    return Attachment(content_type=CONTENT_TYPE, content=card)


def card_response(card: dict[str, Any]) -> dict[str, Any]:
    """The body of an `adaptiveCard/action` invoke response that replaces the card."""
    return {"statusCode": 200, "type": CONTENT_TYPE, "value": card}


def message_response(text: str) -> dict[str, Any]:
    """The body of an `adaptiveCard/action` invoke response that leaves the card and tells the clicker."""
    return {"statusCode": 200, "type": MESSAGE_TYPE, "value": shorten(text, 1000)}


# ---------------------------------------------------------------- dialog inputs
def input_text(id_: str, label: str, value: str = "", *, multiline: bool = False, required: bool = False,
               max_length: int | None = None, placeholder: str | None = None,
               error: str | None = None) -> list[dict[str, Any]]:
    """A text input (its value is data, never rendered as markdown) with an optional error under it.

    A value shown again is cut to what the input takes: a forged submit of a megabyte is not sent back."""
    element: dict[str, Any] = {"type": "Input.Text", "id": id_, "label": label,
                               "value": value[: max_length or VALUE_MAX], "isMultiline": multiline,
                               "isRequired": required}
    if max_length:
        element["maxLength"] = max_length
    if placeholder:
        element["placeholder"] = placeholder
    if required:
        element["errorMessage"] = _("{label} is required.", label=label)
    return [element, *error_block(error)]


def choice_set(id_: str, label: str, choices: list[tuple[str, str]], value: str | None = None, *,
               required: bool = False, error: str | None = None) -> list[dict[str, Any]]:
    """A drop-down of (value, title) choices."""
    element: dict[str, Any] = {"type": "Input.ChoiceSet", "id": id_, "label": label, "style": "compact",
                               "isRequired": required,
                               "choices": [{"title": shorten(t, 75), "value": v} for v, t in choices]}
    if value is not None:
        element["value"] = value[:CHOICE_VALUE_MAX]
    return [element, *error_block(error)]


def error_block(error: str | None) -> list[dict[str, Any]]:
    """The message shown under a field whose input was refused."""
    return [text_block(escape(error), color="Attention", size="Small", spacing="None")] if error else []


def dialog_card(body: list[dict[str, Any]], submit_title: str, data: dict[str, Any]) -> dict[str, Any]:
    """A dialog's card: inputs and one submit button carrying the dialog's name and context."""
    return {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body,
            "actions": [{"type": "Action.Submit", "title": submit_title, "data": data}]}
