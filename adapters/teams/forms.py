"""Forms from `forms/` as Teams dialogs (Adaptive Cards in a task module), from the shared definition.

A button with task/fetch data `{"zd_dialog": "form", "form": "<id>"}` opens the form; the submit is
checked by the same validation as Slack and the web, and an invalid submit shows the card again with
each message under its field and what was typed kept. Nothing is filed until the form is valid.
The card is in the language being spoken (the person's), the form's texts in it where the form gives them.
"""

from __future__ import annotations

from typing import Any

from adapters.teams.cards import DIALOG, choice_set, dialog_card, error_block, escape, input_text, text_block
from adapters.teams.dialogs import DialogAnswer, DialogRequest, ShowCard, ShowMessage
from bot.catalog import Catalog, file_form
from bot.catalog.forms import Form, FormField, display
from bot.desk import Origin
from bot.errors import DeskError
from bot.i18n import _

SHORT_VALUE_MAX = 100  # a date or number shown again (a forged submit may have sent anything)


def _field(field: FormField, value: Any, error: str | None) -> list[dict[str, Any]]:
    label = field.label + (" *" if field.required else "")
    shown = "" if value in (None, "", []) else value
    if field.type in {"single_select", "multi_select"}:
        blocks = choice_set(field.id, label, [(o.value, o.label) for o in field.options],
                            ",".join(shown) if isinstance(shown, list) else (str(shown) or None),
                            required=field.required, error=error)
        if field.type == "multi_select":
            blocks[0]["isMultiSelect"] = True
            blocks[0]["style"] = "expanded"
        return blocks
    if field.type == "checkbox":
        element: dict[str, Any] = {"type": "Input.Toggle", "id": field.id, "title": field.label, "label": label,
                   "value": "true" if str(shown).lower() in {"true", "on", "yes"} else "false",
                   "valueOn": "true", "valueOff": "false"}
        return [element, *error_block(error)]
    if field.type == "date":
        element = {"type": "Input.Date", "id": field.id, "label": label, "value": str(shown)[:SHORT_VALUE_MAX]}
        return [element, *error_block(error)]
    if field.type == "number":
        element = {"type": "Input.Number", "id": field.id, "label": label,
                   "value": display(shown)[:SHORT_VALUE_MAX] if shown else ""}
        if isinstance(field.min, int | float):
            element["min"] = field.min
        if isinstance(field.max, int | float):
            element["max"] = field.max
        return [element, *error_block(error)]
    placeholder = "name@example.com" if field.type in {"email", "user"} else None
    return input_text(field.id, label, str(shown), multiline=field.type == "long_text",
                      max_length=field.max_length, placeholder=placeholder, error=error)


def form_card(form: Form, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The dialog card for a form in the language being spoken, with typed values and messages next to
    the fields."""
    form = form.localised()
    body: list[dict[str, Any]] = [text_block(escape(form.title), weight="Bolder", size="Medium")]
    if form.description:
        body.append(text_block(escape(form.description), isSubtle=True))
    for field in form.fields:
        if field.help:
            body.append(text_block(escape(field.help), isSubtle=True, size="Small"))
        body += _field(field, values.get(field.id, field.default), errors.get(field.id))
    if form.approval:
        body.append(text_block(_("This request needs an approval before the desk acts on it."), isSubtle=True))
    return dialog_card(body, _("Send"), {DIALOG: "form", "form": form.id})


def answers_of(form: Form, data: dict[str, Any]) -> dict[str, Any]:
    """What Teams submitted, per field, as the shared validation expects it."""
    raw: dict[str, Any] = {}
    for field in form.fields:
        value = data.get(field.id)
        if field.type == "multi_select":
            raw[field.id] = [v for v in str(value or "").split(",") if v]
        elif field.type == "checkbox":
            raw[field.id] = "on" if str(value).lower() == "true" else ""
        else:
            raw[field.id] = "" if value is None else str(value)
    return raw


class FormDialog:
    """The `form` dialog of the Teams channel."""

    name = "form"

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def _form(self, request: DialogRequest) -> Form:
        return self.catalog.form(str(request.data.get("form") or ""))

    async def fetch(self, request: DialogRequest) -> DialogAnswer:
        """The empty form."""
        try:
            form = self._form(request)
        except DeskError as exc:
            return ShowMessage(exc.message)
        return ShowCard(form.localised().title, form_card(form, {}, {}), height="large")

    async def submit(self, request: DialogRequest) -> DialogAnswer:
        """File it, or show the card again with the errors next to the fields."""
        form = self._form(request)
        raw = answers_of(form, request.data)
        origin = request.origin or Origin(platform="teams")
        outcome = await file_form(request.desk, self.catalog, request.actor, origin, form.id, raw,
                                  dedupe_key=request.dedupe_key)
        if isinstance(outcome, dict):
            return ShowCard(form.localised().title, form_card(form, raw, outcome), height="large")
        return ShowMessage(_("Filed as #{number} with {zone}.", number=outcome.number, zone=outcome.zone_name))
