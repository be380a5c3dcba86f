"""Forms and saved replies in several languages: a person reads a form in their language (a text it lacks
in the form's own), its messages come out in their language, a saved reply is filled in in its
requester's language and offered first in it, and `zonedesk check` names what a language lacks."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from adapters.slack.forms import form_modal
from bot.catalog import file_form, saved_reply_choices, saved_reply_text
from bot.catalog.forms import Form, validate_answers
from bot.catalog.replies import parse_saved_reply
from bot.desk import WEB
from bot.i18n import speaking, translator
from bot.server import Services
from tests.test_check import _check, _copy, _edit

ZACK = "zack@nordlys.example"
ALEXIS = "alexis.baker@nordlys.example"
# A form written in English (the organisation's language), Norwegian and Polish; the condition's label
# and the serial number's help have no Polish.
RETURN: dict[str, Any] = {
    "id": "laptop-return", "zone": "it",
    "title": {"en": "Laptop return", "nb": "Retur av PC", "pl": "Zwrot laptopa"},
    "description": {"en": "Hand in a laptop.", "nb": "Lever inn en PC.", "pl": "Oddaj laptopa."},
    "fields": [
        {"id": "serial", "type": "short_text", "required": True, "pattern": "[A-Z0-9]{8}",
         "label": {"en": "Serial number", "nb": "Serienummer", "pl": "Numer seryjny"},
         "help": {"en": "On the back of the laptop.", "nb": "På baksiden av PC-en."},
         "error": {"en": "Eight letters or digits.", "nb": "Åtte bokstaver eller sifre.",
                   "pl": "Osiem liter lub cyfr."}},
        {"id": "condition", "type": "single_select", "required": True,
         "label": {"en": "Condition", "nb": "Tilstand"},
         "options": [{"value": "works", "label": {"en": "Works", "nb": "Virker", "pl": "Działa"}},
                     {"value": "broken", "label": {"en": "Broken", "nb": "Ødelagt", "pl": "Zepsuty"}}]},
        {"id": "note", "type": "short_text", "label": "Note", "min": 5},  # one text for every language
    ],
}


def _form() -> Form:
    return Form.model_validate(RETURN, context={"language": "en"})


def test_a_form_reads_in_the_readers_language_and_falls_back_to_its_own() -> None:
    form = _form()
    assert (form.title, form.fields[0].label) == ("Laptop return", "Serial number")  # its own language
    norwegian = form.localised("nb")
    assert (norwegian.title, norwegian.description) == ("Retur av PC", "Lever inn en PC.")
    assert [f.label for f in norwegian.fields] == ["Serienummer", "Tilstand", "Note"]
    assert [o.label for o in norwegian.fields[1].options] == ["Virker", "Ødelagt"]
    polish = form.localised("pl")
    assert polish.title == "Zwrot laptopa"
    assert [f.label for f in polish.fields] == ["Numer seryjny", "Condition", "Note"]  # no Polish: the English
    assert polish.fields[0].help == "On the back of the laptop."
    assert polish.fields[1].options[0].label == "Działa"
    assert form.localised("sv").title == "Laptop return"  # a language the form lacks altogether


def test_the_slack_modal_is_in_the_language_being_spoken() -> None:
    with speaking("pl"):
        modal = form_modal(_form(), {})
    inputs = [b for b in modal["blocks"] if b["type"] == "input"]
    assert modal["title"]["text"] == "Zwrot laptopa"
    assert modal["submit"]["text"] == translator("pl").gettext("Send")
    assert [b["label"]["text"] for b in inputs] == ["Numer seryjny", "Condition", "Note"]
    assert [o["text"]["text"] for o in inputs[1]["element"]["options"]] == ["Działa", "Zepsuty"]


def test_the_shipped_payroll_form_speaks_norwegian_and_swedish(services: Services) -> None:
    payroll = services.catalog.form("payroll-error")
    assert payroll.title == "Payroll error"
    assert (payroll.localised("nb").title, payroll.localised("sv").title) == ("Lønnsfeil", "Lönefel")
    assert payroll.localised("sv").field("kind").options[0].label == "Övertid saknas"  # type: ignore[union-attr]


def test_validation_messages_come_out_in_the_language_being_spoken() -> None:
    form = _form()
    polish = translator("pl")
    with speaking("pl"):
        answers, errors = validate_answers(form, {"serial": "", "condition": "lost", "note": "ok"}, date(2026, 11, 24))
    assert errors == {"serial": polish.gettext("This is required."),
                      "condition": polish.gettext("Choose from the list."),
                      "note": polish.ngettext("At least {count} character.", "At least {count} characters.", 5)}
    assert errors["serial"] != "This is required."  # the catalogue has it in Polish
    with speaking("pl"):
        answers, errors = validate_answers(form, {"serial": "abc", "condition": "works"})
    assert errors == {"serial": "Osiem liter lub cyfr."}  # the form's own message, in Polish
    with speaking("nb"):
        answers, errors = validate_answers(form, {"serial": "AB12CD34", "condition": "broken"})
    assert errors == {} and [a[1] for a in answers] == ["Serial number", "Condition"]  # stored in its language


async def test_a_request_filed_in_norwegian_reads_in_the_forms_language(services: Services) -> None:
    """What is stored (the title, the description agents read) is in the form's language, whoever filed it."""
    services.catalog.forms["laptop-return"] = _form()
    zack = services.desk.actor(ZACK, "Zack McKinnon")
    with speaking("nb"):
        refused = await file_form(services.desk, services.catalog, zack, WEB, "laptop-return", {"serial": "x"})
        assert refused == {"serial": "Åtte bokstaver eller sifre.",
                           "condition": translator("nb").gettext("This is required.")}
        filed = await file_form(services.desk, services.catalog, zack, WEB, "laptop-return",
                                {"serial": "AB12CD34", "condition": "broken"})
    assert not isinstance(filed, dict)
    detail = await services.desk.get_request(services.desk.actor(ALEXIS), filed.number)
    assert (detail.title, detail.description) == ("Laptop return", "Serial number: AB12CD34\nCondition: Broken")
    with speaking("nb"):  # the request page reads its answers in the reader's language
        shown = await services.desk.get_request(services.desk.actor(ZACK), filed.number)
    assert [(a.label, a.text) for a in shown.answer_lines] == [("Serienummer", "AB12CD34"), ("Tilstand", "Ødelagt")]


LAPTOP_RECEIVED = """---
title: {en: Laptop received, nb: PC mottatt}
zones: [it]
---
Hi {{ requester.first_name }}, we received the laptop for #{{ request.number }}.
--- nb
Hei {{ requester.first_name }}, vi har mottatt PC-en for #{{ request.number }}.
"""


async def test_a_saved_reply_is_filled_in_and_offered_first_in_the_requesters_language(
        services: Services, tmp_path: Path) -> None:
    path = tmp_path / "laptop-received.md.j2"
    path.write_text(LAPTOP_RECEIVED, encoding="utf-8")
    services.catalog.replies["laptop-received"] = parse_saved_reply(path)
    await services.desk.choose_language(ZACK, "nb")  # Zack reads Norwegian
    zack = services.desk.actor(ZACK, "Zack McKinnon")
    filed = await services.desk.file_request(zack, WEB, "Returning my laptop", zone_id="it")
    alexis = services.desk.actor(ALEXIS)
    text = await saved_reply_text(services.desk, services.catalog, alexis, filed.number, "laptop-received")
    assert text == f"Hei Zack, vi har mottatt PC-en for #{filed.number}."
    english = await saved_reply_text(services.desk, services.catalog, alexis, filed.number, "laptop-received:en")
    assert english == f"Hi Zack, we received the laptop for #{filed.number}."

    detail = await services.desk.get_request(alexis, filed.number)
    choices = await saved_reply_choices(services.desk, services.catalog, detail)
    offered = [(c.name, c.title) for c in choices if c.name.startswith("laptop-received")]
    assert offered == [("laptop-received", "PC mottatt (Norsk bokmål)"),
                       ("laptop-received:en", "Laptop received (English)")]
    assert ("access-granted", "Access granted") in [(c.name, c.title) for c in choices]  # one language: as before

    hanna = services.desk.actor("hanna.berg@nordlys.example", "Hanna Berg")  # reads the organisation's English
    other = await services.desk.file_request(hanna, WEB, "Returning a laptop too", zone_id="it")
    detail = await services.desk.get_request(alexis, other.number)
    choices = await saved_reply_choices(services.desk, services.catalog, detail)
    offered_names = [c.name for c in choices if c.name.startswith("laptop-received")]
    assert offered_names == ["laptop-received", "laptop-received:nb"]
    assert (await saved_reply_text(services.desk, services.catalog, alexis, other.number,
                                   "laptop-received")).startswith("Hi Hanna")


def test_check_names_a_text_a_language_lacks_and_placeholders_that_differ(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    payroll = folder / "forms" / "payroll-error.yaml"
    _edit(payroll, "label: {en: Employee number, nb: Ansattnummer, sv: Anställningsnummer}",
          "label: {en: Employee number, nb: Ansattnummer}")
    label_line = payroll.read_text(encoding="utf-8").splitlines().index(
        "    label: {en: Employee number, nb: Ansattnummer}") + 1
    reply = folder / "saved_replies" / "payroll-next-run.md.j2"
    _edit(reply, "Beklager bryet! {{ agent.first_name }}", "Beklager bryet! {{ agent.name }}")
    done = _check(folder)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert [line for line in lines if line.startswith(str(payroll))] == [
        f"{payroll}:{label_line}: fields[1].label: form 'payroll-error' has no sv text here "
        "(its languages: en, nb, sv)"]
    assert [line for line in lines if line.startswith(str(reply))] == [
        f"{reply}:7: template (nb): saved reply 'payroll-next-run': the nb template's placeholders differ from "
        "the en one's: it lacks {{ agent.first_name }} and adds {{ agent.name }}"]
    assert lines[-1].endswith("5 forms, 3 saved replies: 2 problems found")
