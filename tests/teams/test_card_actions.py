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
