"""Threads both ways: public replies reach the requester's thread; their answers there become comments;
a message in the triage announcement's thread is an internal note."""

from __future__ import annotations

from tests.fakes.slack_api import BOT_ID, BOT_USER_ID
from tests.slack.conftest import ALEXIS, DM, HANNA, IT_HELP, IT_TRIAGE, ZACK, SlackWorld, block_text


async def filed_in_it(slack: SlackWorld) -> tuple[str, str]:
    """Zack files in the IT intake channel; returns (origin ts, triage announcement ts)."""
    origin = await slack.message(ZACK, "VPN drops every hour", channel=IT_HELP)
    await slack.deliver()
    [announcement] = slack.posts(IT_TRIAGE)
    return origin, announcement["ts"]


async def test_an_agents_reply_is_posted_into_the_requesters_thread_with_the_agents_name(slack: SlackWorld) -> None:
    origin, _ = await filed_in_it(slack)
    answer = await slack.desk(ALEXIS, "reply #1 Try the new client, link in your inbox")
    assert answer == "Your reply on #1 is on its way to the requester."
    await slack.deliver()

    reply = slack.posts(IT_HELP)[-1]
    assert reply["thread_ts"] == origin
    shown = block_text(reply["blocks"])
    assert "Alexis Baker" in shown and "Try the new client, link in your inbox" in shown


async def test_a_reply_from_another_channel_reaches_the_slack_thread_too(slack: SlackWorld) -> None:
    origin, _ = await filed_in_it(slack)
    web_agent = slack.services.desk.actor("alexis.baker@nordlys.example", channel="web")
    await slack.services.desk.reply(web_agent, 1, "Answered from the web desk")
    await slack.deliver()

    reply = slack.posts(IT_HELP)[-1]
    assert reply["thread_ts"] == origin and "Answered from the web desk" in block_text(reply["blocks"])


async def test_the_requesters_message_in_their_thread_is_a_public_comment(slack: SlackWorld) -> None:
    origin, _ = await filed_in_it(slack)
    await slack.desk(ALEXIS, "claim 1")
    await slack.message(ZACK, "It also happens on Wi-Fi", channel=IT_HELP, thread=origin)
    await slack.deliver()

    request = await slack.services.desk.get_request(slack.actor(ZACK), 1)
    assert [(c.body, c.public, c.author_email) for c in request.comments] == [
        ("It also happens on Wi-Fi", True, "zack@nordlys.example")]
    # The assignee hears of it in a DM (the desk knows Alexis from her /desk command).
    dm = slack.posts(f"D{ALEXIS}")
    assert dm and "Zack McKinnon wrote on #1" in block_text(dm[-1]["blocks"])


async def test_a_message_in_the_triage_thread_is_an_internal_note_never_sent_to_the_requester(slack: SlackWorld
                                                                                              ) -> None:
    _, triage = await filed_in_it(slack)
    before = len(slack.posts(IT_HELP))
    await slack.message(ALEXIS, "Probably the MTU again", channel=IT_TRIAGE, thread=triage)
    await slack.deliver()

    agent_view = await slack.services.desk.get_request(slack.actor(ALEXIS), 1)
    assert [(c.body, c.public) for c in agent_view.comments] == [("Probably the MTU again", False)]
    requester_view = await slack.services.desk.get_request(slack.actor(ZACK), 1)
    assert requester_view.comments == ()
    assert len(slack.posts(IT_HELP)) == before


async def test_someone_outside_the_zone_cannot_note_in_a_triage_thread(slack: SlackWorld) -> None:
    _, triage = await filed_in_it(slack)
    await slack.message(HANNA, "what is this?", channel=IT_TRIAGE, thread=triage)

    notice = slack.fake.last("chat.postEphemeral").args
    assert notice["user"] == HANNA and notice["thread_ts"] == triage
    assert "was not found" in notice["text"]  # HR may not know IT's request exists
    agent_view = await slack.services.desk.get_request(slack.actor(ALEXIS), 1)
    assert agent_view.comments == ()


async def test_our_own_and_other_bots_thread_messages_are_ignored(slack: SlackWorld) -> None:
    origin, triage = await filed_in_it(slack)
    await slack.message(BOT_USER_ID, "Request #1 is filed", channel=IT_HELP, thread=origin, bot_id=BOT_ID)
    await slack.message("UOTHERBOT", "build passed", channel=IT_TRIAGE, thread=triage, subtype="bot_message",
                        bot_id="B0OTHER")
    agent_view = await slack.services.desk.get_request(slack.actor(ALEXIS), 1)
    assert agent_view.comments == ()


async def test_a_dm_thread_is_the_request_conversation(slack: SlackWorld) -> None:
    origin = await slack.message(ZACK, "Payslip missing")
    await slack.deliver()
    await slack.message(ZACK, "It is the November one", thread=origin)
    request = await slack.services.desk.get_request(slack.actor(ZACK), 1)
    assert [c.body for c in request.comments] == ["It is the November one"]
    assert await slack.requests() == 1
    assert all(p.get("thread_ts") == origin for p in slack.posts(DM))
