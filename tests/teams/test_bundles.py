"""`desk bundle` in Teams: two people report one outage in the IT channel, an agent bundles their
requests in the personal chat, and one reply reaches each reporter's own channel thread."""

from __future__ import annotations

from tests.teams.conftest import ALEXIS, IT_HELP, KARI, MARTE, TeamsWorld, card_of, card_text


async def test_a_bundle_reply_reaches_each_reporters_channel_thread(teams: TeamsWorld) -> None:
    _, first = await teams.post_in_channel(KARI, "The wiki is down")
    _, second = await teams.post_in_channel(MARTE, "Cannot open the wiki")
    await teams.deliver()

    await teams.say(ALEXIS, "desk bundle new Wiki outage 1 2")
    await teams.say(ALEXIS, "desk bundle reply B1 The wiki is back.")
    answers = [card_text(card_of(a)) for a in teams.sent_to(ALEXIS.chat)]
    assert "Bundle B1 holds 2 requests: #1, #2." in answers[-2]
    assert "Your reply is on its way to the requesters of 2 requests: #1, #2." in answers[-1]
    await teams.deliver()
    for post in (first, second):
        replies = [card_text(card_of(a)) for a in teams.sent_to(f"{IT_HELP};messageid={post}")]
        assert any("The wiki is back." in text for text in replies), post

    await teams.say(ALEXIS, "desk bundle show 7")
    assert "Bundle B7 was not found." in card_text(card_of(teams.sent_to(ALEXIS.chat)[-1]))
