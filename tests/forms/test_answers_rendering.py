"""Form answers read as people read them, once, in the form's order: on the request, in `/desk show`
(Slack and Teams), in the triage announcement and in the generated title and description."""

from __future__ import annotations

from typing import Any

import pytest

from bot.catalog import file_form
from bot.catalog.forms import Form, answer_lines, answer_text
from bot.desk import WEB
from bot.server import Services

NEW_HIRE = {"name": "Kari Nordmann", "personal-email": "Kari@Example.com", "manager": "marte.viken@nordlys.example",
            "start-date": "2026-12-01", "laptop": "Developer 16-inch", "systems": ["Jira", "GitHub"],
            "nda-signed": "on"}
FIGMA = {"application": "figma", "access-level": "editor", "reason": "Design reviews with the agency",
         "needed-by": "2026-12-06"}


async def _file(services: Services, form_id: str, raw: dict[str, Any], who: str = "zack@nordlys.example") -> int:
    filed = await file_form(services.desk, services.catalog, services.desk.actor(who), WEB, form_id, raw)
    assert not isinstance(filed, dict), filed
    return filed.number


def _software(services: Services) -> Form:
    return services.catalog.form("software-access")


@pytest.mark.parametrize(("kind", "value", "field_id", "shown"), [
    ("checkbox", True, None, "Yes"),
    ("checkbox", False, None, "No"),
    ("single_select", "figma", "application", "Figma"),
    ("multi_select", ["figma", "github"], "application", "Figma, GitHub"),
    ("single_select", "photoshop", "application", "photoshop"),  # an option the form no longer has
    ("date", "2026-12-06", None, "6 December 2026"),
    ("date", "2027-01-31", None, "31 January 2027"),
    ("date", "someday", None, "someday"),  # a stored value that is not a date is shown as it is
    ("number", 40.0, None, "40"),
    ("number", 3.5, None, "3.5"),
    ("short_text", "=1+1", None, "=1+1"),  # neutralised for spreadsheets in the CSV only
    ("email", "kari@example.com", None, "kari@example.com"),
    ("multi_select", [], None, ""),
    ("short_text", None, None, ""),
])
def test_each_type_reads_as_people_read_it(services: Services, kind: str, value: Any, field_id: str | None,
                                           shown: str) -> None:
    field = _software(services).field(field_id) if field_id else None
    assert answer_text(kind, value, field) == shown


def test_answers_follow_the_forms_order_and_survive_a_changed_form(services: Services) -> None:
    form = _software(services)
    stored = [("access-level", "Access level", "single_select", "editor"),
              ("application", "Application", "single_select", "figma"),
              ("gone", "What was it for?", "short_text", "A field since removed"),
              ("needed-by", "Needed by", "short_text", "2026-12-06"),  # stored as text: the field changed type
              ("reason", "Why do you need it?", "long_text", "Reviews")]
    assert answer_lines(form, stored) == [
        ("application", "Application", "Figma"), ("access-level", "Access level", "editor"),
        ("reason", "Why do you need it?", "Reviews"), ("needed-by", "Needed by", "2026-12-06"),
        ("gone", "What was it for?", "A field since removed")]
    # The form is gone altogether: the stored labels, in the order given.
    assert [line[2] for line in answer_lines(None, stored)] == [
        "editor", "figma", "A field since removed", "2026-12-06", "Reviews"]


async def test_title_and_description_use_option_labels_and_no_python_values(services: Services) -> None:
    number = await _file(services, "software-access", FIGMA)
    detail = await services.desk.get_request(services.desk.actor("alexis.baker@nordlys.example"), number)
    assert detail.title == "Access to Figma"
    assert detail.description == ("Application: Figma\nAccess level: editor\n"
                                  "Why do you need it? Design reviews with the agency\nNeeded by: 6 December 2026")
    payroll = await _file(services, "payroll-error", {"month": "August", "employee-number": "654321",
                                                      "kind": ["Overtime missing", "Wrong tax"],
                                                      "overtime-hours": "3"}, "max.meyer@nordlys.example")
    text = (await services.desk.get_request(services.desk.actor("max.meyer@nordlys.example"), payroll)).description
    assert "What is wrong? Overtime missing, Wrong tax" in text and "Overtime hours missing: 3" in text
    assert "?:" not in text and "[" not in text and ".0" not in text


async def test_the_request_holds_its_answers_in_words_in_the_forms_order(services: Services) -> None:
    number = await _file(services, "new-hire-account", NEW_HIRE, "ivar.lund@nordlys.example")
    detail = await services.desk.get_request(services.desk.actor("ivar.lund@nordlys.example"), number)
    assert [(a.label, a.text) for a in detail.answer_lines] == [
        ("Full name of the new colleague", "Kari Nordmann"),
        ("Their private e-mail (for the first sign-in)", "kari@example.com"),
        ("Their manager (approves)", "marte.viken@nordlys.example"),
        ("Start date", "1 December 2026"),
        ("Laptop", "Developer 16-inch"),
        ("Systems they need", "Jira, GitHub"),
        ("The contract and NDA are signed", "Yes"),
    ]
    assert [a[0] for a in detail.answers] == [a.field_id for a in detail.answer_lines]  # typed values, same order
    assert detail.answers[-1] == ("nda-signed", "The contract and NDA are signed", True)


async def test_desk_show_lists_the_answers_once(services: Services) -> None:
    from bot.desk.commands import run_command

    number = await _file(services, "software-access", FIGMA)
    for who in ("alexis.baker@nordlys.example", "zack@nordlys.example"):  # an agent, and the requester
        shown = (await run_command(services.desk, services.desk.actor(who, channel="slack"), f"show {number}")).text
        assert "Application: Figma\nAccess level: editor\nWhy do you need it? Design reviews with the agency\n" \
               "Needed by: 6 December 2026" in shown, who
        assert shown.count("Figma") == 2, shown  # the title and the answer: the description is not repeated
