"""Slack surfaces built from the core's data: the modals (new request, reply, assign) and the App Home.

Pure functions from config and read models to Block Kit JSON, plus `read_create_form`, which checks a
submitted "new request" modal against `app.yaml` without touching the database, so its errors can go
back in the acknowledgement (Slack shows them next to the field).

Their words are in the language being spoken (`bot.i18n`): the adapter speaks the person's around them.
A modal keeps that language in its private metadata (`LANGUAGE`), so the errors of its submission, checked
before the acknowledgement with no database to ask, are said in it too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.slack.blocks import (
    BLOCKS_MAX,
    Block,
    button,
    context,
    escape,
    plain,
    section,
    shorten,
)
from bot.config import AppConfig, Category, Zone
from bot.desk import RequestSummary
from bot.desk.history import level_name, level_word
from bot.desk.status import status_word
from bot.i18n import _, current

CREATE = "zd:create"
REPLY = "zd:reply"
ASSIGN = "zd:assign"
ANSWER = "zd:answer"  # a consultee's view on a request (bot.desk.consultation)
FORM_PREFIX = "zd:form:"
NEW_REQUEST_ACTION = "zds:new"
# The App Home's "Open Zonedesk": a click sends the person a fresh sign-in link in their DM with the app.
OPEN_WEB_ACTION = "zds:web"
ZONE_CHOICE_PREFIX = "zds:zone:"
SAVED_REPLY_ACTION = "zds:saved"
HOME_BLOCKS_MAX = 100
HOME_LIST = 15
OPTIONS_MAX = 100
LANGUAGE = "language"  # the private metadata key of the language a modal was opened in


def _option(text: str, value: str) -> Block:
    return {"text": plain(text, 75), "value": value[:150]}


def _flatten(categories: Iterable[Category], trail: str = "") -> Iterable[tuple[str, str]]:
    for category in categories:
        label = f"{trail}{category.name}"
        yield category.id, label
        yield from _flatten(category.children, f"{label} › ")


def create_modal(config: AppConfig, zones: Sequence[Zone], *, title: str = "", description: str = "",
                 zone_id: str | None = None, metadata: dict[str, Any] | None = None) -> Block:
    """The "new request" modal: zone, category (grouped by zone), title, description, urgency."""
    zone_options = [_option(z.name, z.id) for z in zones][:OPTIONS_MAX]
    zone_select: Block = {"type": "static_select", "action_id": "value", "options": zone_options,
                          "placeholder": plain(_("Which {noun}?", noun=config.organisation.zone_noun))}
    initial = next((o for o in zone_options if o["value"] == zone_id), None)
    if initial is not None:
        zone_select["initial_option"] = initial
    groups = []
    for zone in zones:
        options = [_option(label, f"{zone.id}/{cid}") for cid, label in _flatten(zone.categories)][:OPTIONS_MAX]
        if options:
            groups.append({"label": plain(zone.name, 75), "options": options})
    blocks: list[Block] = [
        {"type": "input", "block_id": "zone", "label": plain(config.organisation.zone_word), "element": zone_select},
    ]
    if groups:
        blocks.append({"type": "input", "block_id": "category", "optional": True, "label": plain(_("Category")),
                       "element": {"type": "static_select", "action_id": "value",
                                   "option_groups": groups[:OPTIONS_MAX],
                                   "placeholder": plain(_("If you know it"))}})
    title_input: Block = {"type": "plain_text_input", "action_id": "value", "max_length": 200}
    if title:
        title_input["initial_value"] = shorten(title, 200)
    text_input: Block = {"type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": 3000}
    if description:
        text_input["initial_value"] = shorten(description, 3000)
    blocks += [
        {"type": "input", "block_id": "title", "label": plain(_("Title")), "element": title_input},
        {"type": "input", "block_id": "description", "optional": True, "label": plain(_("Details")),
         "element": text_input},
        {"type": "input", "block_id": "urgency", "optional": True, "label": plain(_("How urgent is it?")),
         "element": {"type": "static_select", "action_id": "value",
                     "options": [_option(level_name(level), level) for level in config.priority.matrix]}},
    ]
    return _modal(CREATE, _("New request"), blocks, _("File it"), metadata)


def reply_modal(number: int, title: str, metadata: dict[str, Any], saved: Sequence[tuple[str, str]] = (),
                text: str = "") -> Block:
    """The Reply dialog of a triage card: a public answer to the requester's thread.

    With saved replies, a picker fills the text in (the agent edits it before sending).
    """
    element: Block = {"type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": 3000}
    if text:
        element["initial_value"] = text[:3000]
    blocks = [context(f"*#{number}* {escape(shorten(title, 300))}")]
    if saved:
        blocks.append({"type": "input", "block_id": "saved", "optional": True, "dispatch_action": True,
                       "label": plain(_("Start from a saved reply")),
                       "element": {"type": "static_select", "action_id": SAVED_REPLY_ACTION,
                                   "options": [_option(t, n) for n, t in saved][:OPTIONS_MAX]}})
    # A new block id after a pick, so Slack shows the filled-in text instead of keeping the old input.
    blocks.append({"type": "input", "block_id": "text-saved" if text else "text",
                   "label": plain(_("Your reply (the requester sees it)")), "element": element})
    return _modal(REPLY, _("Reply to #{number}", number=number), blocks, _("Send"), metadata)


def answer_modal(number: int, title: str, question: str, metadata: dict[str, Any]) -> Block:
    """A consultee's dialog: their view on a request they were asked about, an internal note for its agents."""
    blocks = [context(f"*#{number}* {escape(shorten(title, 300))}")]
    if question:
        blocks.append(context(escape(shorten(question, 1000))))
    blocks.append({"type": "input", "block_id": "text", "label": plain(_("Your view")),
                   "element": {"type": "plain_text_input", "action_id": "value", "multiline": True,
                               "max_length": 3000}})
    blocks.append(context(escape(_("Your answer is an internal note for the desk's agents; the requester does "
                                   "not see it."))))
    return _modal(ANSWER, _("Your view on #{number}", number=number), blocks, _("Send my view"), metadata)


def assign_modal(number: int, agents: Sequence[tuple[str, str]], metadata: dict[str, Any]) -> Block:
    """The Assign dialog: the agents who can work on the request (e-mail, name)."""
    title = _("Assign #{number}", number=number)
    if not agents:
        return _modal(ASSIGN, title, [section(escape(_("Nobody else can work on this request.")))], None, metadata)
    blocks = [{"type": "input", "block_id": "assignee", "label": plain(_("Agent")),
               "element": {"type": "static_select", "action_id": "value",
                           "options": [_option(name, email) for email, name in agents][:OPTIONS_MAX]}}]
    return _modal(ASSIGN, title, blocks, _("Assign"), metadata)


def _modal(callback_id: str, title: str, blocks: list[Block], submit: str | None,
           metadata: dict[str, Any] | None) -> Block:
    view: Block = {"type": "modal", "callback_id": callback_id, "title": plain(title, 24),
                   "close": plain(_("Cancel"), 24), "blocks": blocks[:BLOCKS_MAX]}
    if submit:
        view["submit"] = plain(submit, 24)
    if metadata:
        # The language it is said in, for the errors of its submission (checked before the ack, no database).
        view["private_metadata"] = json.dumps({**metadata, LANGUAGE: current().language})[:3000]
    return view


def metadata_of(view: dict[str, Any]) -> dict[str, Any]:
    """The private metadata a modal was opened with."""
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def language_of(view: dict[str, Any]) -> str | None:
    """The language a modal was opened in (None for one opened before modals kept it)."""
    language = metadata_of(view).get(LANGUAGE)
    return language if isinstance(language, str) else None


def value_of(view: dict[str, Any], block_id: str) -> str | None:
    """The submitted value of one input block (text, or a select's option value)."""
    state = ((view.get("state") or {}).get("values") or {}).get(block_id) or {}
    element = state.get("value") or next(iter(state.values()), None) or {}
    if element.get("selected_option"):
        return str(element["selected_option"].get("value"))
    if element.get("selected_user"):
        return str(element["selected_user"])
    value = element.get("value")
    return None if value is None else str(value)


@dataclass(frozen=True)
class CreateForm:
    """A checked "new request" submission."""

    zone_id: str
    category_id: str | None
    title: str
    description: str
    urgency: str | None


def read_create_form(config: AppConfig, view: dict[str, Any]) -> tuple[CreateForm | None, dict[str, str]]:
    """The submission, or the errors to show next to each field (checked against `app.yaml` only)."""
    errors: dict[str, str] = {}
    zone_id = value_of(view, "zone") or ""
    zone = config.zone(zone_id)
    if zone is None:
        errors["zone"] = _("Choose the {noun}.", noun=config.organisation.zone_noun)
    category = value_of(view, "category")
    category_id = None
    if category:
        category_zone, _slash, category_id = category.partition("/")
        if zone is not None and category_zone != zone.id:
            errors["category"] = _("That category belongs to another {noun}; choose one of {zone} or none.",
                                   noun=config.organisation.zone_noun, zone=zone.name)
    title = (value_of(view, "title") or "").strip()
    if not title:
        errors["title"] = _("Write a short title.")
    urgency = value_of(view, "urgency")
    if urgency is not None and urgency not in config.priority.matrix:
        errors["urgency"] = _("Choose one of the listed levels.")
    if errors:
        return None, errors
    return CreateForm(zone_id, category_id, title, (value_of(view, "description") or "").strip(), urgency), {}


def zone_choice_blocks(zones: Sequence[Zone], event_key: str, zone_noun: str) -> list[Block]:
    """The question asked in a DM thread when `app.yaml` says to ask for the zone, naming the organisation's
    word for a zone."""
    blocks: list[Block] = [section(escape(_("Who should handle this? Choose the {zone}, and I file it.",
                                              zone=zone_noun)))]
    elements = [button("zone", z.name, event_key, action_id=f"{ZONE_CHOICE_PREFIX}{z.id}") for z in zones]
    for start in range(0, len(elements), 25):
        blocks.append({"type": "actions", "block_id": f"zd_zone_{start}", "elements": elements[start:start + 25]})
    return blocks


def home_view(name: str, mine: Sequence[RequestSummary], assigned: Sequence[RequestSummary] | None,
              queue: Sequence[RequestSummary] | None, config: AppConfig, base_url: str) -> Block:
    """The App Home: "My requests" for everyone; "Assigned to me" and "My queue" for agents."""
    blocks: list[Block] = [
        {"type": "header", "text": plain(_("Hello {name}", name=name))},
        {"type": "actions", "block_id": "zd_home_actions",
         "elements": [button("new", _("New request"), "new", "primary", action_id=NEW_REQUEST_ACTION),
                      button("web", _("Open Zonedesk"), "web", action_id=OPEN_WEB_ACTION)]},
    ]
    blocks += _home_list(_("My requests"), mine, config, base_url, _("You have no open requests."))
    if assigned is not None:
        blocks += _home_list(_("Assigned to me"), assigned, config, base_url, _("Nothing is assigned to you."))
    if queue is not None:
        blocks += _home_list(_("My queue"), queue, config, base_url, _("The queue is empty."), claim=True)
    return {"type": "home", "blocks": blocks[:HOME_BLOCKS_MAX]}


def _home_list(heading: str, items: Sequence[RequestSummary], config: AppConfig, base_url: str, empty: str,
               claim: bool = False) -> list[Block]:
    blocks: list[Block] = [{"type": "divider"}, {"type": "header", "text": plain(heading)}]
    if not items:
        return [*blocks, context(escape(empty))]
    for item in items[:HOME_LIST]:
        zone = config.zone(item.zone_id)
        link = f"{base_url.rstrip('/')}/requests/{item.number}"
        line = (f"*<{escape(link)}|#{item.number}>* {escape(shorten(item.title, 200))}\n"
                f"{escape(status_word(item.status))} · {escape(level_word(item.priority))} · "
                f"{escape(zone.name if zone else item.zone_id)}")
        block = section(line)
        if claim and item.assignee_email is None:
            block["accessory"] = button("claim", _("Claim"), str(item.number), "primary")
        blocks.append(block)
    if len(items) > HOME_LIST:
        desk = escape(base_url.rstrip("/")) + "/desk"
        blocks.append(context(_("…and {count} more in <{url}|the desk>",
                                count=current().number(len(items) - HOME_LIST), url=desk)))
    return blocks
