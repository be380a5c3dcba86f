"""Forms from `forms/` as Block Kit modals: rendered from the shared definition, checked before the ack.

Field errors come back inline (`response_action: errors`, keyed by block id = field id) from the
same validation the web and Teams use; a valid submission is filed through `bot.catalog.file_form`.
Slack's user picker gives a user id; it is turned into the person's e-mail when the form is filed.
The modal and its messages are in the language being spoken (the person's): the form's texts in it
where the form gives them (`Form.localised`), else in the form's own language.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from adapters.slack.blocks import plain
from adapters.slack.people import SlackPeople
from adapters.slack.views import FORM_PREFIX, _modal
from bot.access import Actor
from bot.catalog import Catalog, file_form
from bot.catalog.forms import Form, FormField, validate_answers
from bot.desk import Desk, Origin
from bot.i18n import _

Block = dict[str, Any]
USER_ID_PLACEHOLDER = "slack-user@placeholder.invalid"  # lets a picked user pass the e-mail check before the ack


def _option(value: str, label: str) -> Block:
    return {"text": plain(label, 75), "value": value[:75]}


def _element(field: FormField) -> Block:
    action = "value"
    if field.type in {"short_text", "long_text", "email"}:
        element: Block = {"type": "plain_text_input", "action_id": action, "multiline": field.type == "long_text",
                          "max_length": field.max_length}
        if isinstance(field.default, str):
            element["initial_value"] = field.default
        return element
    if field.type == "number":
        element = {"type": "number_input", "action_id": action, "is_decimal_allowed": True}
        if field.min is not None:
            element["min_value"] = str(field.min)
        if field.max is not None:
            element["max_value"] = str(field.max)
        return element
    if field.type == "date":
        return {"type": "datepicker", "action_id": action}
    if field.type == "user":
        return {"type": "users_select", "action_id": action}
    options = [_option(o.value, o.label) for o in field.options]
    if field.type == "single_select":
        element = {"type": "static_select", "action_id": action, "options": options}
        initial = next((o for o in options if o["value"] == field.default), None)
        if initial:
            element["initial_option"] = initial
        return element
    if field.type == "multi_select":
        return {"type": "multi_static_select", "action_id": action, "options": options}
    return {"type": "checkboxes", "action_id": action, "options": [_option("yes", field.label)]}


def form_modal(form: Form, metadata: dict[str, Any]) -> Block:
    """The modal for one form in the language being spoken; each input's block id is its field id, so
    errors land next to it."""
    form = form.localised()
    blocks: list[Block] = []
    if form.description:
        blocks.append({"type": "context", "elements": [{"type": "plain_text", "text": form.description[:2000]}]})
    for field in form.fields:
        block: Block = {"type": "input", "block_id": field.id, "label": plain(field.label, 2000),
                        "element": _element(field), "optional": not field.required}
        if field.help:
            block["hint"] = plain(field.help, 2000)
        blocks.append(block)
    if form.approval:
        blocks.append({"type": "context", "elements": [
            {"type": "plain_text", "text": _("This request needs an approval before the desk acts on it.")}]})
    return _modal(FORM_PREFIX + form.id, form.title, blocks, _("Send"), {**metadata, "title": form.title})


def answers_of(form: Form, view: dict[str, Any]) -> dict[str, Any]:
    """What the person entered, per field, as the shared validation expects it (strings and lists)."""
    values = (view.get("state") or {}).get("values") or {}
    raw: dict[str, Any] = {}
    for field in form.fields:
        element = (values.get(field.id) or {}).get("value") or {}
        if field.type == "multi_select":
            raw[field.id] = [o.get("value") for o in element.get("selected_options") or []]
        elif field.type == "checkbox":
            raw[field.id] = "on" if element.get("selected_options") else ""
        elif field.type == "single_select":
            raw[field.id] = (element.get("selected_option") or {}).get("value") or ""
        elif field.type == "date":
            raw[field.id] = element.get("selected_date") or ""
        elif field.type == "user":
            raw[field.id] = element.get("selected_user") or ""
        else:
            raw[field.id] = element.get("value") or ""
    return raw


class SlackForms:
    """The `FormModals` hook of the Slack channel."""

    def __init__(self, desk: Desk, catalog: Catalog, people: SlackPeople) -> None:
        self.desk = desk
        self.catalog = catalog
        self.people = people

    def modal(self, form_id: str, metadata: dict[str, Any]) -> dict[str, Any] | None:
        """The modal for `/request <form>`, or None for an unknown form."""
        form = self.catalog.forms.get(form_id.strip().lower())
        return None if form is None else form_modal(form, metadata)

    def errors(self, form_id: str, view: dict[str, Any]) -> dict[str, str]:
        """Field errors, checked before the ack (no database, no Web API)."""
        form = self.catalog.forms.get(form_id)
        if form is None:
            return {}
        raw = answers_of(form, view)
        for field in form.fields:
            if field.type == "user" and raw[field.id]:
                raw[field.id] = USER_ID_PLACEHOLDER
        return validate_answers(form, raw, date.today())[1]

    async def submit(self, actor: Actor, origin: Origin, form_id: str, view: dict[str, Any], dedupe_key: str) -> str:
        """File the form; the notice tells the person the request number."""
        form = self.catalog.form(form_id)
        raw = answers_of(form, view)
        for field in form.fields:
            if field.type == "user" and raw[field.id]:
                email, _unused = await self.people.identify(str(raw[field.id]))
                raw[field.id] = email
        outcome = await file_form(self.desk, self.catalog, actor, origin, form.id, raw, dedupe_key=dedupe_key)
        if isinstance(outcome, dict):
            said = form.localised()
            labels = {f.id: f.label for f in said.fields}
            problems = "; ".join(f"{labels.get(k, k)}: {v}" for k, v in outcome.items())
            return _("Your {form} request was not filed: {problems}", form=said.title, problems=problems)
        return _("Request #{number} is filed with {zone}.", number=outcome.number, zone=outcome.zone_name)
