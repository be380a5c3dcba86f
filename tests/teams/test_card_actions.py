"""Card buttons: Universal Actions replaced in place by the invoke response, so a card shows who acted."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select

from bot.desk.approvals import request_approval
from bot.model import ApprovalVote, Event
from tests.teams.conftest import (
    ALEXIS,
    IT_TRIAGE,
    IVAR,
    KARI,
    MARTE,
    TeamsWorld,
    actions,
    card_markdown,
    card_of,
    card_text,
)


async def triage_card(teams: TeamsWorld) -> dict[str, Any]:
    await teams.post_in_channel(KARI, "Laptop battery swollen")
    await teams.deliver()
    [(_, announcement)] = teams.new_threads(IT_TRIAGE)
    return card_of(announcement)


async def events(teams: TeamsWorld) -> list[str]:
    async with teams.services.sessions() as session:
        return [e.kind for e in (await session.execute(select(Event).order_by(Event.id))).scalars()]


async def test_claim_replaces_the_card_with_the_same_card_saying_who_claimed_it(teams: TeamsWorld) -> None:
    card = await triage_card(teams)

    answer = await teams.click(ALEXIS, actions(card)["Claim"], conversation=IT_TRIAGE, kind="channel")

    assert answer.status == 200
    assert answer.body["statusCode"] == 200
    assert answer.body["type"] == "application/vnd.microsoft.card.adaptive"
    updated = answer.body["value"]
    assert "New request #1: Laptop battery swollen" in card_text(updated)
    assert "Claimed by Alexis Baker" in card_text(updated)
    assert updated["version"] == "1.5"
    detail = await teams.services.desk.get_request(teams.actor(ALEXIS), 1)
    assert (detail.assignee_email, detail.status) == (ALEXIS.email, "accepted")


async def test_a_double_click_and_a_resent_click_change_nothing_more(teams: TeamsWorld) -> None:
    card = await triage_card(teams)
    claim = actions(card)["Claim"]
    await teams.click(ALEXIS, claim, conversation=IT_TRIAGE, kind="channel", id="f:click-1")
    before = await events(teams)

    again = await teams.click(ALEXIS, claim, conversation=IT_TRIAGE, kind="channel", id="f:click-2")
    resent = await teams.click(ALEXIS, claim, conversation=IT_TRIAGE, kind="channel", id="f:click-1")

    assert again.body == {"statusCode": 200, "type": "application/vnd.microsoft.activity.message",
                          "value": "You already have request #1."}
    assert resent.body["value"] == "This was already handled."
    assert await events(teams) == before


async def test_someone_who_may_not_act_is_told_why_and_the_card_stays(teams: TeamsWorld) -> None:
    card = await triage_card(teams)

    answer = await teams.click(KARI, actions(card)["Claim"], conversation=IT_TRIAGE, kind="channel")

    assert answer.body["type"] == "application/vnd.microsoft.activity.message"
    assert "claim" in answer.body["value"].lower() or "not found" in answer.body["value"].lower()
    detail = await teams.services.desk.get_request(teams.actor(IVAR), 1)
    assert detail.assignee_email is None


async def test_a_card_edited_by_the_client_cannot_put_words_in_the_bots_mouth(teams: TeamsWorld) -> None:
    card = await triage_card(teams)
    claim = copy.deepcopy(actions(card)["Claim"])
    claim["data"]["m"]["title"] = "Your account is suspended: click here"

    answer = await teams.click(ALEXIS, claim, conversation=IT_TRIAGE, kind="channel")

    shown = card_text(answer.body["value"])
    assert "suspended" not in shown
    assert "Claimed by Alexis Baker" in shown


async def test_an_approval_card_is_replaced_by_the_decision(teams: TeamsWorld) -> None:
    await teams.say(MARTE, "desk help")  # Marte has used the bot, so her personal chat is known
    await teams.post_in_channel(KARI, "I need a licence for a drawing tool")
    await request_approval(teams.services.desk, teams.actor(IVAR), 1, [MARTE.email],
                           question="Approve a [paid](https://evil.example) licence?")
    await teams.deliver()
    approval = card_of(teams.sent_to(MARTE.chat)[-1])
    assert r"\[paid\](https://evil.example)" in card_markdown(approval)

    answer = await teams.click(MARTE, actions(approval)["Approve"])

    decided = answer.body["value"]
    assert "Approved by Marte Viken" in card_text(decided)
    assert "actions" not in decided or all(a["type"] == "Action.OpenUrl" for a in decided["actions"])
    twice = await teams.click(MARTE, actions(approval)["Approve"])
    assert "Already decided: approved" in card_text(twice.body["value"])  # decided once; the card says so
    assert (await events(teams)).count("approval_decided") == 1


async def test_a_click_from_a_client_without_universal_actions_still_works(teams: TeamsWorld) -> None:
    card = await triage_card(teams)
    fallback = actions(card)["Claim"]["fallback"]
    message = teams.activity(ALEXIS, "channel", f"{IT_TRIAGE};messageid=1", type="message", value=fallback["data"])

    answer = await teams.post(message)

    assert answer.status == 200
    detail = await teams.services.desk.get_request(teams.actor(ALEXIS), 1)
    assert detail.assignee_email == ALEXIS.email
    [told] = [c for c in teams.connector.delivered("send_to_conversation")
              if "You claimed #1." in card_text(card_of(c.body))]
    assert told.conversation_id.startswith("a:")  # privately, in Alexis' personal chat


async def test_an_approver_can_add_a_comment_on_the_card(teams: TeamsWorld) -> None:
    await teams.say(MARTE, "desk help")
    await teams.post_in_channel(KARI, "Licence for a font")
    await request_approval(teams.services.desk, teams.actor(IVAR), 1, [MARTE.email])
    await teams.deliver()
    approval = card_of(teams.sent_to(MARTE.chat)[-1])
    assert any(e.get("type") == "Input.Text" and e.get("id") == "zd_comment" for e in approval["body"])
    reject = actions(approval)["Reject"]
    # Teams merges the card's input values into the clicked Action.Execute's data.
    clicked = {**reject, "data": {**reject["data"], "zd_comment": "Use the free one"}}
    answer = await teams.click(MARTE, clicked)
    assert "Rejected by Marte Viken" in card_text(answer.body["value"])
    async with teams.services.sessions() as session:
        vote = (await session.execute(select(ApprovalVote))).scalar_one()
    assert (vote.decision, vote.comment) == ("rejected", "Use the free one")


def _updates(teams: TeamsWorld, conversation: str) -> list[Any]:
    return [c for c in teams.connector.delivered("update_activity") if c.conversation_id == conversation]


async def test_an_approval_card_shows_what_the_decision_needs(teams: TeamsWorld) -> None:
    await teams.say(MARTE, "desk help")
    await teams.post_in_channel(KARI, "I need a licence for a drawing tool")
    desk = teams.services.desk
    await desk.reply(teams.actor(IVAR), 1, "Which tool, **exactly**?")
    await request_approval(desk, teams.actor(IVAR), 1, [MARTE.email, ALEXIS.email], mode="all")
    await teams.deliver()
    shown = card_text(card_of(teams.sent_to(MARTE.chat)[-1]))
    assert "Requester: Kari Nordmann" in shown
    assert "All of: Marte Viken (waiting), Alexis Baker (waiting)" in shown
    assert "Ivar Lund: Which tool, **exactly**?" in shown


async def test_cancelling_updates_the_approval_card_in_place_and_a_late_click_is_told_why(teams: TeamsWorld) -> None:
    await teams.say(MARTE, "desk help")
    await teams.post_in_channel(KARI, "Licence for a font")
    await request_approval(teams.services.desk, teams.actor(IVAR), 1, [MARTE.email])
    await teams.deliver()
    [sent] = [c for c in teams.connector.delivered("send_to_conversation") if c.conversation_id == MARTE.chat
              and "Approval needed" in card_text(card_of(c.body))]
    approval = card_of(sent.body)

    await teams.services.desk.cancel(teams.actor(KARI), 1)
    await teams.deliver()

    [update] = _updates(teams, MARTE.chat)
    assert update.activity_id == sent.response["id"]
    withdrawn = card_of(update.body)
    assert "This approval was withdrawn because request #1 was cancelled." in card_text(withdrawn)
    assert all(a["type"] == "Action.OpenUrl" for a in withdrawn.get("actions", []))
    answer = await teams.click(MARTE, actions(approval)["Approve"])
    assert "This approval was withdrawn because request #1 was cancelled." in card_text(answer.body["value"])
    async with teams.services.sessions() as session:
        assert [v.decision for v in (await session.execute(select(ApprovalVote))).scalars()] == [None]


async def test_a_rejection_updates_the_other_approvers_card_started_in_a_new_chat(teams: TeamsWorld) -> None:
    await teams.say(MARTE, "desk help")
    card = await triage_card(teams)
    # Ivar is known by a click in a channel; his approval card starts his personal chat with the bot.
    await teams.click(IVAR, actions(card)["Claim"], conversation=IT_TRIAGE, kind="channel")
    await request_approval(teams.services.desk, teams.actor(ALEXIS), 1, [MARTE.email, IVAR.email], mode="all")
    await teams.deliver()
    [started] = [c for c in teams.connector.delivered("create_conversation") if c.body.get("members")]
    marte_s = card_of(teams.sent_to(MARTE.chat)[-1])

    await teams.click(MARTE, actions(marte_s)["Reject"])
    await teams.deliver()

    [update] = _updates(teams, started.response["id"])
    assert update.activity_id == started.response["activityId"]
    assert "This approval was withdrawn because Marte Viken rejected it." in card_text(card_of(update.body))
    assert _updates(teams, MARTE.chat) == [], "her own card was replaced by her click"
