"""Forms as modals, approval cards, and saved replies through /desk, in Slack's own payload shapes."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.catalog import file_form
from bot.desk import WEB
from bot.model import ApprovalVote, Event, FormAnswer, Outbox, Request
from tests.slack.conftest import ALEXIS, DM, ZACK, SlackWorld, block_text, buttons

MARTE = "UMARTE"  # approver only


def _opened(slack: SlackWorld) -> dict[str, Any]:
    call = slack.fake.last("views.open")
    return next(v for v in slack.fake.views.values() if v["callback_id"] == call.args["view"]["callback_id"])


async def test_request_with_a_form_name_opens_its_modal_and_errors_come_back_inline(slack: SlackWorld) -> None:
    await slack.command(ZACK, "/request", "payroll-error", channel=DM)
    view = _opened(slack)
    assert view["callback_id"] == "zd:form:payroll-error"
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
        "month", "employee-number", "kind", "overtime-hours", "details"]
    bad = await slack.submit(ZACK, view, {
        "month": {"value": {"type": "static_select", "selected_option": {"value": "August"}}},
        "employee-number": {"value": {"type": "plain_text_input", "value": "12"}},
        "kind": {"value": {"type": "multi_static_select", "selected_options": []}},
    })
    assert bad.status == 200
    assert bad.json() == {"response_action": "errors", "errors": {
        "employee-number": "Six digits, on the top right of your payslip.", "kind": "Choose at least one."}}
    assert await slack.requests() == 0
    good = await slack.submit(ZACK, view, {
        "month": {"value": {"type": "static_select", "selected_option": {"value": "August"}}},
        "employee-number": {"value": {"type": "plain_text_input", "value": "123456"}},
        "kind": {"value": {"type": "multi_static_select", "selected_options": [{"value": "Overtime missing"}]}},
        "overtime-hours": {"value": {"type": "number_input", "value": "3"}},
    })
    assert good.status == 200 and good.text == ""
    async with slack.services.sessions() as session:
        request = (await session.execute(select(Request))).scalar_one()
        answers = {a.field_id: a.value for a in (await session.execute(select(FormAnswer))).scalars()}
    assert (request.zone_id, request.team_id, request.title) == ("finance", "payroll", "Payroll error: August")
    assert answers == {"month": "August", "employee-number": "123456", "kind": ["Overtime missing"],
                       "overtime-hours": 3.0}


async def test_the_approver_decides_on_the_card_once_and_others_get_not_yours(slack: SlackWorld) -> None:
    slack.fake.add_user(MARTE, "marte.viken@nordlys.example", "Marte Viken")
    await slack.desk(MARTE, "help")  # Marte has used the bot: Zonedesk knows her Slack account
    services = slack.services
    ivar = services.desk.actor("ivar.lund@nordlys.example")
    filed = await file_form(services.desk, services.catalog, ivar, WEB, "new-hire-account", {
        "name": "Kari Nordmann", "personal-email": "kari@example.com", "manager": "marte.viken@nordlys.example",
        "start-date": "2026-12-01", "laptop": "No laptop", "nda-signed": "on"})
    assert not isinstance(filed, dict)
    await slack.deliver()
    card = next(m for m in slack.posts(f"D{MARTE}") if "Approval needed" in block_text(m.get("blocks", [])))
    actions = buttons(card["blocks"])
    assert set(actions) == {"zd:approve", "zd:reject"}
    _, hook = await slack.click(ALEXIS, "zd:approve", actions["zd:approve"], channel=f"D{MARTE}", message=card)
    assert slack.answer_to(hook) == "This approval is not yours to decide."
    _, hook = await slack.click(MARTE, "zd:approve", actions["zd:approve"], channel=f"D{MARTE}", message=card)
    assert slack.answer_to(hook) == "Your decision is recorded: approved."
    updated = slack.fake.last("chat.update").args
    assert "Approved by Marte Viken" in block_text(updated["blocks"]) and not buttons(updated["blocks"])
    _, hook = await slack.click(MARTE, "zd:reject", actions["zd:reject"], channel=f"D{MARTE}", message=card)
    assert slack.answer_to(hook).startswith("Already decided: approved by marte.viken@nordlys.example")
    async with services.sessions() as session:
        decisions = [v.decision for v in (await session.execute(select(ApprovalVote))).scalars()]
    assert decisions == ["approved"]
    detail = await services.desk.get_request(ivar, filed.number)
    assert detail.status == "new" and detail.history[-1].kind == "approval_decided"


async def test_desk_reply_with_a_saved_reply_fills_it_in_for_the_request(slack: SlackWorld) -> None:
    await slack.message(ZACK, "My Jira login fails", channel="C0ITHELP")
    await slack.deliver()
    answer = await slack.desk(ALEXIS, "reply 1 saved:need-more-details")
    assert answer == "Your reply on #1 is on its way to the requester."
    await slack.deliver()
    reply = slack.fake.last("chat.postMessage").args
    text = block_text(reply["blocks"])
    assert 'thanks for your request "My Jira login fails"' in text and "Hi Zack" in text
    assert (await slack.desk(ALEXIS, "reply 1 saved:no-such")).startswith("There is no saved reply 'no-such'")


async def test_the_reply_modal_fills_in_a_saved_reply_for_editing(slack: SlackWorld) -> None:
    from tests.fakes.slack_signing import block_actions_payload

    await slack.message(ZACK, "Need access to Figma", channel="C0ITHELP")
    await slack.deliver()
    card = next(m for m in slack.posts("C0ITTRIAGE") if "New request" in block_text(m.get("blocks", [])))
    await slack.click(ALEXIS, "zd:reply", "1", message=card)
    modal = _opened(slack)
    picker = next(b for b in modal["blocks"] if b.get("block_id") == "saved")
    assert {o["value"] for o in picker["element"]["options"]} == {"access-granted", "need-more-details"}
    payload = block_actions_payload("zds:saved", "access-granted", user_id=ALEXIS, action_type="static_select",
                                    view=modal, trigger_id="pick-1")
    assert (await slack.interact(payload)).status == 200
    updated = slack.fake.last("views.update").args["view"]
    text_block = next(b for b in updated["blocks"] if b.get("block_id") == "text-saved")
    assert text_block["element"]["initial_value"].startswith("Hi Zack, you now have access.")
    stored = next(v for v in slack.fake.views.values() if v["callback_id"] == "zd:reply")
    await slack.submit(ALEXIS, stored, {"text-saved": {"value": {"type": "plain_text_input",
                                                                 "value": "Hi Zack, you now have Figma access."}}})
    await slack.deliver()
    assert "you now have Figma access" in block_text(slack.fake.last("chat.postMessage").args["blocks"])


async def test_an_approver_can_add_a_comment_on_the_card(slack: SlackWorld) -> None:
    from tests.fakes.slack_signing import block_actions_payload

    slack.fake.add_user(MARTE, "marte.viken@nordlys.example", "Marte Viken")
    await slack.desk(MARTE, "help")
    services = slack.services
    ivar = services.desk.actor("ivar.lund@nordlys.example")
    filed = await file_form(services.desk, services.catalog, ivar, WEB, "new-hire-account", {
        "name": "Ola", "personal-email": "ola@example.com", "manager": "marte.viken@nordlys.example",
        "start-date": "2026-12-01", "laptop": "No laptop", "nda-signed": "on"})
    assert not isinstance(filed, dict)
    await slack.deliver()
    card = next(m for m in slack.posts(f"D{MARTE}") if "Approval needed" in block_text(m.get("blocks", [])))
    assert any(b.get("block_id") == "zd_comment" and b["type"] == "input" for b in card["blocks"])
    payload = block_actions_payload("zd:reject", buttons(card["blocks"])["zd:reject"], user_id=MARTE,
                                    channel_id=f"D{MARTE}", message_ts=card["ts"], trigger_id="rej-1")
    payload["message"] = card
    payload["state"] = {"values": {"zd_comment": {"value": {"type": "plain_text_input",
                                                            "value": "Start date is a holiday"}}}}
    assert (await slack.interact(payload)).status == 200
    async with services.sessions() as session:
        vote = (await session.execute(select(ApprovalVote))).scalar_one()
    assert (vote.decision, vote.comment) == ("rejected", "Start date is a holiday")
    updated = slack.fake.last("chat.update").args["blocks"]
    assert not any(b["type"] in {"actions", "input"} for b in updated)


async def _marte_s_card(slack: SlackWorld) -> tuple[int, dict[str, Any]]:
    """A new-hire form whose manager, Marte, has used the bot in Slack; her approval card as it reads now."""
    slack.fake.add_user(MARTE, "marte.viken@nordlys.example", "Marte Viken")
    await slack.desk(MARTE, "help")
    services = slack.services
    filed = await file_form(services.desk, services.catalog, services.desk.actor("ivar.lund@nordlys.example"), WEB,
                            "new-hire-account", {
                                "name": "Kari <!channel> Nordmann", "personal-email": "kari@example.com",
                                "manager": "marte.viken@nordlys.example", "start-date": "2026-12-01",
                                "laptop": "Developer 16-inch",
                                "systems": ["Jira", "GitHub"], "nda-signed": "on"})
    assert not isinstance(filed, dict)
    await slack.deliver()
    [card] = [m for m in slack.posts(f"D{MARTE}") if "Approval needed" in block_text(m.get("blocks", []))]
    return filed.number, card


async def test_the_approval_card_shows_what_the_decision_needs(slack: SlackWorld) -> None:
    _, card = await _marte_s_card(slack)
    text = block_text(card["blocks"])
    assert "Do you confirm this person starts in your team" in text
    assert "*Requester*\nIvar Lund" in text
    assert "*Laptop*\nDeveloper 16-inch" in text and "*Systems they need*\nJira, GitHub" in text
    assert "*Any one of*\nMarte Viken (waiting)" in text
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text, "user text is escaped"


async def test_cancelling_updates_the_approvers_card_in_place_and_a_late_click_is_told_why(slack: SlackWorld) -> None:
    number, card = await _marte_s_card(slack)
    card = copy.deepcopy(card)  # as Marte's client still shows it when she clicks
    await slack.services.desk.cancel(slack.services.desk.actor("ivar.lund@nordlys.example"), number)
    await slack.deliver()
    [updated] = [m for m in slack.posts(f"D{MARTE}") if m["ts"] == card["ts"]]
    text = block_text(updated["blocks"])
    assert f"This approval was withdrawn because request #{number} was cancelled." in text
    assert not buttons(updated["blocks"]) and not any(b["type"] == "input" for b in updated["blocks"])
    assert len([m for m in slack.posts(f"D{MARTE}") if "pproval" in block_text(m.get("blocks", []))]) == 1, \
        "the card changed; no second message"
    actions = buttons(card["blocks"])
    _, hook = await slack.click(MARTE, "zd:approve", actions["zd:approve"], channel=f"D{MARTE}", message=card)
    assert slack.answer_to(hook) == f"This approval was withdrawn because request #{number} was cancelled."
    async with slack.services.sessions() as session:
        assert [v.decision for v in (await session.execute(select(ApprovalVote))).scalars()] == [None]


async def test_a_card_that_never_arrived_is_not_updated(slack: SlackWorld) -> None:
    slack.fake.add_user(MARTE, "marte.viken@nordlys.example", "Marte Viken")
    await slack.desk(MARTE, "help")
    slack.fake.fail_next("conversations.open", times=50)  # Slack cannot open her DM, all day long
    services = slack.services
    filed = await file_form(services.desk, services.catalog, services.desk.actor("ivar.lund@nordlys.example"), WEB,
                            "new-hire-account", {
                                "name": "Ola", "personal-email": "ola@example.com",
                                "manager": "marte.viken@nordlys.example", "start-date": "2026-12-01",
                                "laptop": "No laptop", "nda-signed": "on"})
    assert not isinstance(filed, dict)
    await slack.deliver()
    await services.desk.cancel(services.desk.actor("ivar.lund@nordlys.example"), filed.number)
    services.clock.advance(timedelta(hours=25))  # the card is given up on
    await slack.deliver()
    assert slack.fake.call_count("chat.update") == 0
    async with services.sessions() as session:
        replaced = (await session.execute(select(Outbox).where(Outbox.kind == "replace"))).scalar_one()
        kinds = [e.kind for e in (await session.execute(select(Event).order_by(Event.id))).scalars()]
    assert (replaced.status, replaced.result) == ("sent", {"skipped": "the message it replaces was never delivered"})
    assert kinds.count("delivery_failed") == 1, "only the card that never arrived; nothing to change is no failure"
