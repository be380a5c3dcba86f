"""Intake by mentioning the bot in a channel, and the thread in both directions."""

from __future__ import annotations

from tests.teams.conftest import (
    ALEXIS,
    FRIDA,
    FRONT_DESK,
    GENERAL,
    IT_HELP,
    IT_TRIAGE,
    KARI,
    TeamsWorld,
    actions,
    card_of,
    card_text,
)


async def test_a_mention_in_a_mapped_channel_files_with_its_zone_and_confirms_in_the_thread(
    teams: TeamsWorld,
) -> None:
    answer, post = await teams.post_in_channel(KARI, "Outlook keeps asking for my password")

    assert answer.status == 200
    detail = await teams.services.desk.get_request(teams.actor(KARI), 1)
    assert detail.title == "Outlook keeps asking for my password"  # the mention is not part of it
    assert detail.zone_id == "it"
    await teams.deliver()
    thread = f"{IT_HELP};messageid={post}"
    [confirmation] = teams.sent_to(thread)
    assert "Request #1 is filed with IT" in card_text(card_of(confirmation))
    assert "Add a comment" not in actions(card_of(confirmation))  # in a channel, people answer in the thread


async def test_new_requests_are_announced_in_a_new_thread_of_the_zones_triage_channel(teams: TeamsWorld) -> None:
    await teams.post_in_channel(KARI, "Screen flickers")
    await teams.deliver()

    [(thread, announcement)] = teams.new_threads(IT_TRIAGE)
    card = card_of(announcement)
    assert thread.startswith(f"{IT_TRIAGE};messageid=")
    assert "New request #1: Screen flickers" in card_text(card)
    buttons = actions(card)
    assert buttons["Claim"]["type"] == "Action.Execute" and buttons["Claim"]["fallback"]["type"] == "Action.Submit"
    assert buttons["Reply"]["data"]["msteams"] == {"type": "task/fetch"}


async def test_the_requesters_later_messages_in_the_thread_become_comments(teams: TeamsWorld) -> None:
    _, post = await teams.post_in_channel(KARI, "Teams camera is black")

    answer, _ = await teams.post_in_channel(KARI, "It works in the browser", root=post)

    assert answer.status == 200
    assert await teams.requests() == 1
    detail = await teams.services.desk.get_request(teams.actor(KARI), 1)
    assert [(c.body, c.public) for c in detail.comments] == [("It works in the browser", True)]


async def test_messages_in_the_triage_thread_are_internal_notes(teams: TeamsWorld) -> None:
    _, post = await teams.post_in_channel(KARI, "Need a second monitor")
    await teams.deliver()
    [(thread, _)] = teams.new_threads(IT_TRIAGE)
    root = thread.split(";messageid=")[1]

    await teams.post_in_channel(ALEXIS, "We have spares in the basement", channel=IT_TRIAGE, root=root)
    await teams.deliver()

    staff_view = await teams.services.desk.get_request(teams.actor(ALEXIS), 1)
    assert [(c.body, c.public) for c in staff_view.comments] == [("We have spares in the basement", False)]
    requester_view = await teams.services.desk.get_request(teams.actor(KARI), 1)
    assert requester_view.comments == ()
    assert not any("spares" in card_text(card_of(a)) for a in teams.sent_to(f"{IT_HELP};messageid={post}"))


async def test_an_agents_reply_from_anywhere_lands_in_the_requesters_channel_thread(teams: TeamsWorld) -> None:
    _, post = await teams.post_in_channel(KARI, "Cannot print to the colour printer")
    await teams.deliver()

    await teams.say(ALEXIS, "desk reply 1 Try again now, the queue was stuck.")
    await teams.deliver()

    _, reply = teams.sent_to(f"{IT_HELP};messageid={post}")
    assert "Alexis Baker wrote:" in card_text(card_of(reply))
    assert "Try again now, the queue was stuck." in card_text(card_of(reply))


async def test_a_mention_in_an_unmapped_channel_goes_to_the_front_desk(teams: TeamsWorld) -> None:
    await teams.post_in_channel(KARI, "Who do I ask about parking?", channel=GENERAL)
    await teams.deliver()

    detail = await teams.services.desk.get_request(teams.actor(KARI), 1)
    assert detail.zone_id == "front-desk"
    assert len(teams.new_threads(FRONT_DESK)) == 1


async def test_a_command_in_a_channel_is_answered_in_the_agents_personal_chat_only(teams: TeamsWorld) -> None:
    _, post = await teams.post_in_channel(KARI, "Keyboard missing keys")
    await teams.deliver()
    thread = f"{IT_HELP};messageid={post}"
    before = len(teams.sent_to(thread))

    answer, _ = await teams.post_in_channel(ALEXIS, "desk show 1", root=post)

    assert answer.status == 200
    [started] = [c for c in teams.connector.delivered("create_conversation") if c.body.get("members")]
    assert started.body["members"] == [{"id": ALEXIS.user_id}]
    chat = started.response["id"]
    [shown] = teams.sent_to(chat)
    assert "#1: Keyboard missing keys" in card_text(card_of(shown))
    assert len(teams.sent_to(thread)) == before  # nothing said in the channel
    # The next private answer reuses that personal chat.
    await teams.post_in_channel(ALEXIS, "desk claim 1", root=post)
    assert "You claimed #1." in card_text(card_of(teams.sent_to(chat)[-1]))
    assert len([c for c in teams.connector.delivered("create_conversation") if c.body.get("members")]) == 1

async def test_a_dispatcher_can_answer_in_the_thread_and_it_counts_as_the_reply(teams: TeamsWorld) -> None:
    _, post = await teams.post_in_channel(KARI, "Which form for travel expenses?", channel=GENERAL)

    await teams.post_in_channel(FRIDA, "Use the travel form on the intranet", channel=GENERAL, root=post)

    detail = await teams.services.desk.get_request(teams.actor(FRIDA), 1)
    assert [(c.author_email, c.public) for c in detail.comments] == [(FRIDA.email, True)]
    assert detail.history[-1].kind == "replied"
