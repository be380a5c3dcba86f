"""Teams re-sends activities it thinks failed: a re-sent activity is answered and creates nothing new."""

from __future__ import annotations

import asyncio

from tests.teams.conftest import ALEXIS, IT_HELP, KARI, TeamsWorld, card_of, card_text


async def test_a_resent_message_files_one_request_and_confirms_once(teams: TeamsWorld) -> None:
    first, message_id = await teams.say(KARI, "Mouse is dead")
    again, _ = await teams.say(KARI, "Mouse is dead", id=message_id)
    await teams.deliver()

    assert (first.status, again.status) == (200, 200)
    assert await teams.requests() == 1
    assert len(teams.sent_to(KARI.chat)) == 1


async def test_the_same_message_arriving_twice_at_once_files_one_request(teams: TeamsWorld) -> None:
    activity = teams.activity(KARI, "personal", KARI.chat, type="message", text="Headset crackles")

    answers = await asyncio.gather(teams.post(activity), teams.post(activity))

    assert [a.status for a in answers] == [200, 200]
    assert await teams.requests() == 1


async def test_the_same_message_id_in_two_conversations_is_two_messages(teams: TeamsWorld) -> None:
    await teams.post_in_channel(KARI, "Room display is off", id="1732000001000")
    await teams.say(ALEXIS, "My phone will not sync", id="1732000001000")

    assert await teams.requests() == 2


async def test_a_resent_thread_message_adds_one_comment(teams: TeamsWorld) -> None:
    _, post = await teams.post_in_channel(KARI, "Laptop fan is loud")

    await teams.post_in_channel(KARI, "Only when charging", root=post, id="1732000002000")
    await teams.post_in_channel(KARI, "Only when charging", root=post, id="1732000002000")

    assert await teams.comments() == 1


async def test_a_resent_command_replies_once_and_answers_once(teams: TeamsWorld) -> None:
    await teams.post_in_channel(KARI, "Need Visio")
    await teams.say(ALEXIS, "desk reply 1 Installed, please restart.", id="1732000003000")
    await teams.say(ALEXIS, "desk reply 1 Installed, please restart.", id="1732000003000")

    assert await teams.comments() == 1
    answers = [card_text(card_of(a)) for a in teams.sent_to(ALEXIS.chat)]
    assert answers == ["Your reply on #1 is on its way to the requester."]


async def test_a_roster_outage_fails_the_turn_so_teams_sends_it_again(teams: TeamsWorld) -> None:
    teams.connector.fail_next("get_conversation_member", status=502)

    failed, message_id = await teams.post_in_channel(KARI, "Shared drive is read-only", channel=IT_HELP)
    assert failed.status == 500
    assert await teams.requests() == 0 and await teams.inbound() == 0

    retried, _ = await teams.post_in_channel(KARI, "Shared drive is read-only", channel=IT_HELP, id=message_id)
    assert retried.status == 200
    assert await teams.requests() == 1



async def test_a_resent_question_is_answered_once(teams: TeamsWorld) -> None:
    """A command that changes nothing (list, show, help) runs again on a re-send, but answers once."""
    await teams.post_in_channel(KARI, "Need Visio")
    await teams.say(ALEXIS, "desk show 1", id="1732000004000")
    await teams.say(ALEXIS, "desk show 1", id="1732000004000")
    await teams.say(ALEXIS, "desk show 1", id="1732000004001")  # asked again: a new message, a new answer

    answers = [card_text(card_of(a)) for a in teams.sent_to(ALEXIS.chat)]
    assert len(answers) == 2 and all("Need Visio" in a for a in answers)
