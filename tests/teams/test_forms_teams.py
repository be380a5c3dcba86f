"""Forms as Teams dialogs, and approval cards that are replaced in place by the decision."""

from __future__ import annotations

from sqlalchemy import select

from bot.model import FormAnswer, Request
from tests.teams.test_task_module import KARI, inputs, submit_data, task_card, task_message


async def test_a_form_opens_as_a_dialog_and_errors_come_back_next_to_the_field(teams) -> None:  # type: ignore[no-untyped-def]
    opened = await teams.invoke(KARI, "task/fetch", {"data": {"msteams": {"type": "task/fetch"},
                                                              "zd_dialog": "form", "form": "payroll-error"}})
    card = task_card(opened)
    assert list(inputs(card)) == ["month", "employee-number", "kind", "overtime-hours", "details"]
    assert inputs(card)["kind"]["isMultiSelect"] is True
    refused = await teams.invoke(KARI, "task/submit", {"data": submit_data(card, **{
        "month": "August", "employee-number": "12"})})
    again = task_card(refused)
    texts = [e.get("text") for e in again["body"]]
    assert "Six digits, on the top right of your payslip." in texts and "Choose at least one." in texts
    assert inputs(again)["employee-number"]["value"] == "12", "what was typed stays"
    assert await teams.requests() == 0
    done = await teams.invoke(KARI, "task/submit", {"data": submit_data(card, **{
        "month": "August", "employee-number": "123456", "kind": "Overtime missing,Wrong tax",
        "overtime-hours": "3"})})
    assert task_message(done) == "Filed as #1 with Finance."
    async with teams.services.sessions() as session:
        request = (await session.execute(select(Request))).scalar_one()
        answers = {a.field_id: a.value for a in (await session.execute(select(FormAnswer))).scalars()}
    assert (request.team_id, request.title) == ("payroll", "Payroll error: August")
    assert answers["kind"] == ["Overtime missing", "Wrong tax"] and answers["overtime-hours"] == 3.0


async def test_an_unknown_form_says_so(teams) -> None:  # type: ignore[no-untyped-def]
    opened = await teams.invoke(KARI, "task/fetch", {"data": {"msteams": {"type": "task/fetch"},
                                                              "zd_dialog": "form", "form": "no-such"}})
    assert task_message(opened).startswith("There is no form 'no-such'.")
