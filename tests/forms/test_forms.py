"""Forms: every field type validated and typed; invalid input comes back per field and files nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from bot.catalog import file_form
from bot.catalog.forms import Form, validate_answers
from bot.desk import WEB
from bot.model import Approval, FormAnswer, Request
from bot.server import Services

GOOD_NEW_HIRE = {"name": "Kari Nordmann", "personal-email": "Kari@Example.com",
                 "manager": "marte.viken@nordlys.example", "start-date": "2026-12-01",
                 "laptop": "Developer 16-inch", "systems": ["Jira", "GitHub"], "nda-signed": "on"}


def test_every_type_is_typed(services: Services) -> None:
    form = services.catalog.form("new-hire-account")
    answers, errors = validate_answers(form, GOOD_NEW_HIRE, date(2026, 11, 24))
    assert errors == {}
    typed = {a[0]: a[3] for a in answers}
    assert typed == {"name": "Kari Nordmann", "personal-email": "kari@example.com",
                     "manager": "marte.viken@nordlys.example", "start-date": "2026-12-01",
                     "laptop": "Developer 16-inch", "systems": ["Jira", "GitHub"], "nda-signed": True}
    payroll = services.catalog.form("payroll-error")
    answers, errors = validate_answers(payroll, {"month": "August", "employee-number": "123456",
                                                 "kind": ["Overtime missing"], "overtime-hours": "3,5"})
    assert errors == {} and dict((a[0], a[3]) for a in answers)["overtime-hours"] == 3.5


@pytest.mark.parametrize(("form_id", "raw", "field", "message"), [
    ("payroll-error", {"month": "August", "employee-number": "12345", "kind": ["Wrong tax"]}, "employee-number",
     "Six digits"),
    ("payroll-error", {"month": "Smarch", "employee-number": "123456", "kind": ["Wrong tax"]}, "month",
     "Choose from the list."),
    ("payroll-error", {"month": "May", "employee-number": "123456", "kind": ["Wrong tax", "Bonus missing",
                                                                             "Other", "Wrong hours"]}, "kind",
     "Choose at most 3."),
    ("payroll-error", {"month": "May", "employee-number": "123456", "kind": []}, "kind", "Choose at least one."),
    ("payroll-error", {"month": "May", "employee-number": "123456", "kind": ["Other"], "overtime-hours": "lots"},
     "overtime-hours", "Enter a number."),
    ("payroll-error", {"month": "May", "employee-number": "123456", "kind": ["Other"], "overtime-hours": "-1"},
     "overtime-hours", "At least 0."),
    ("office-event", {"event-name": "Party", "date": "next friday", "guests": "40"}, "date",
     "Enter a date as YYYY-MM-DD."),
    ("office-event", {"event-name": "Party", "date": "2026-12-11", "guests": "4000"}, "guests", "At most 400."),
    ("office-event", {"event-name": "Party", "date": "2026-12-11", "guests": "40", "contact": "bob"}, "contact",
     "Enter an e-mail address"),
    ("software-access", {"application": "jira", "access-level": "user", "reason": "short"}, "reason",
     "At least 10 characters."),
    ("software-access", {"application": "jira", "access-level": "user"}, "reason", "This is required."),
    ("new-hire-account", {**GOOD_NEW_HIRE, "nda-signed": ""}, "nda-signed", "Please tick this box."),
])
async def test_invalid_input_is_named_per_field_and_files_nothing(services: Services, form_id: str, raw: dict,
                                                                  field: str, message: str) -> None:
    zack = services.desk.actor("zack@nordlys.example", "Zack McKinnon")
    outcome = await file_form(services.desk, services.catalog, zack, WEB, form_id, raw)
    assert isinstance(outcome, dict) and message in outcome[field], outcome
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Request)) == 0
        assert await session.scalar(select(func.count()).select_from(FormAnswer)) == 0


async def test_form_files_with_typed_answers_team_and_category(services: Services) -> None:
    max_meyer = services.desk.actor("max.meyer@nordlys.example", "Max Meyer")
    filed = await file_form(services.desk, services.catalog, max_meyer, WEB, "payroll-error",
                            {"month": "August", "employee-number": "654321", "kind": ["Overtime missing"],
                             "overtime-hours": "3"})
    assert not isinstance(filed, dict)
    assert filed.title == "Payroll error: August" and filed.team_id == "payroll" and filed.zone_id == "finance"
    detail = await services.desk.get_request(max_meyer, filed.number)
    assert detail.category_id == "payroll-error" and detail.form_id == "payroll-error"
    assert ("overtime-hours", "Overtime hours missing", 3.0) in detail.answers
    assert "Employee number: 654321" in detail.description


async def test_private_team_form_is_hidden_from_other_hr_agents(services: Services) -> None:
    worker = services.desk.actor("worker@nordlys.example", "Some Worker")
    filed = await file_form(services.desk, services.catalog, worker, WEB, "sensitive-hr-matter",
                            {"topic": "Health", "contact-preference": "Chat"})
    assert not isinstance(filed, dict) and filed.team_id == "employee-relations"
    hanna = services.desk.actor("hanna.berg@nordlys.example")
    assert await services.desk.list_requests(hanna) == []
    olav = services.desk.actor("olav.strand@nordlys.example")
    assert [r.number for r in await services.desk.list_requests(olav)] == [filed.number]


async def test_new_hire_waits_on_the_managers_approval(services: Services) -> None:
    ivar = services.desk.actor("ivar.lund@nordlys.example")
    filed = await file_form(services.desk, services.catalog, ivar, WEB, "new-hire-account", GOOD_NEW_HIRE)
    assert not isinstance(filed, dict)
    detail = await services.desk.get_request(ivar, filed.number)
    assert (detail.status, detail.waiting_reason) == ("waiting", "approval")
    async with services.sessions() as session:
        approval = (await session.execute(select(Approval))).scalar_one()
    assert approval.request_id == filed.number and approval.status == "pending"


async def test_one_cannot_approve_ones_own_request(services: Services) -> None:
    marte = services.desk.actor("marte.viken@nordlys.example")
    outcome = await file_form(services.desk, services.catalog, marte, WEB, "new-hire-account", GOOD_NEW_HIRE)
    assert outcome == {"manager": "You cannot approve your own request."}


def test_a_form_with_ten_thousand_options_is_refused() -> None:
    with pytest.raises(ValueError, match="10,000 options is too many"):
        Form.model_validate({"id": "huge", "title": "Huge", "zone": "it", "fields": [
            {"id": "pick", "type": "single_select", "label": "Pick", "options": [str(i) for i in range(10_000)]}]})
