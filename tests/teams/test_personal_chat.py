"""Intake and conversation in the personal chat with the bot."""

from __future__ import annotations

from tests.teams.conftest import ALEXIS, FRIDA, KARI, Person, TeamsWorld, actions, card_markdown, card_of, card_text


async def test_a_message_in_the_personal_chat_files_a_request_and_the_bot_confirms_in_the_chat(
    teams: TeamsWorld,
) -> None:
    answer, _ = await teams.say(KARI, "My laptop will not start\nIt beeps three times.")

    assert answer.status == 200
    detail = await teams.services.desk.get_request(teams.actor(KARI), 1)
    assert detail.title == "My laptop will not start"
    assert detail.description == "My laptop will not start\nIt beeps three times."
    assert detail.requester_email == KARI.email and detail.requester_name == KARI.name
    assert detail.zone_id == "front-desk"  # unrouted personal chats go to the dispatcher zone

    await teams.deliver()
    [confirmation] = teams.sent_to(KARI.chat)
    card = card_of(confirmation)
    assert "Request #1 is filed with Front desk" in card_text(card)
    assert "My laptop will not start" in card_text(card)
    assert card["version"] == "1.5"
    assert actions(card)["Add a comment"]["data"] == {"msteams": {"type": "task/fetch"}, "zd_dialog": "comment",
                                                      "number": "1"}


async def test_the_person_is_looked_up_once_by_e_mail_and_then_remembered(teams: TeamsWorld) -> None:
    await teams.say(KARI, "Printer on floor 3 is jammed")
    await teams.say(KARI, "And the scanner too")

    assert len(teams.connector.calls_to("get_conversation_member")) == 1
    assert await teams.services.directory.lookup("teams", KARI.aad) == (KARI.email, KARI.name)


async def test_an_agents_reply_lands_in_the_requesters_personal_chat(teams: TeamsWorld) -> None:
    await teams.say(KARI, "I need access to the sales dashboard")
    await teams.deliver()

    answer, _ = await teams.say(FRIDA, "desk reply 1 Which team are you in?")

    assert answer.status == 200
    [told] = teams.sent_to(FRIDA.chat)
    assert "Your reply on #1 is on its way to the requester." in card_text(card_of(told))
    await teams.deliver()
    _, reply = teams.sent_to(KARI.chat)
    assert "Frida Dahl wrote:" in card_text(card_of(reply))
    assert "Which team are you in?" in card_text(card_of(reply))


async def test_replying_to_the_message_that_filed_a_request_adds_to_it(teams: TeamsWorld) -> None:
    _, first = await teams.say(KARI, "VPN drops every hour")

    answer, _ = await teams.say(KARI, "It happens on the office Wi-Fi only", reply_to=first)

    assert answer.status == 200
    assert await teams.requests() == 1
    detail = await teams.services.desk.get_request(teams.actor(KARI), 1)
    assert [c.body for c in detail.comments] == ["It happens on the office Wi-Fi only"]


async def test_an_empty_message_gets_help_instead_of_a_request(teams: TeamsWorld) -> None:
    answer, _ = await teams.say(KARI, "   ")

    assert answer.status == 200
    assert await teams.requests() == 0
    [help_card] = teams.sent_to(KARI.chat)
    assert "desk help" in card_text(card_of(help_card))


async def test_user_text_cannot_format_the_card_or_disguise_a_link(teams: TeamsWorld) -> None:
    await teams.say(KARI, "[Reset your password](https://evil.example) **now**")
    await teams.deliver()

    card = card_of(teams.sent_to(KARI.chat)[0])
    assert r"\[Reset your password\](https://evil.example) \*\*now\*\*" in card_markdown(card)
    assert "[Reset your password](https://evil.example) **now**" in card_text(card)  # shown as typed


async def test_commands_answer_with_usage_on_bad_arguments_and_check_access(teams: TeamsWorld) -> None:
    await teams.say(KARI, "Broken chair in room 4")

    await teams.say(ALEXIS, "desk reply")
    await teams.say(KARI, "desk reply 1 I fixed it myself")  # a requester is no agent

    usage, = teams.sent_to(ALEXIS.chat)
    assert "Usage: reply <number> <text>" in card_text(card_of(usage))
    refused = teams.sent_to(KARI.chat)[-1]
    assert "Only an agent of the request's department can reply to it." in card_text(card_of(refused))
    detail = await teams.services.desk.get_request(teams.actor(FRIDA), 1)
    assert detail.comments == ()


async def test_someone_without_an_e_mail_is_matched_by_their_user_principal_name(teams: TeamsWorld) -> None:
    guest = Person("29:1sven", "aad-sven-0007", "Sven Aas", "sven.aas@nordlys.example")
    teams.connector.add_member(guest.aad, guest.user_id, guest.name, "", upn=guest.email)

    await teams.say(guest, "Where do I find the holiday calendar?")

    detail = await teams.services.desk.get_request(teams.actor(guest), 1)
    assert detail.requester_email == "sven.aas@nordlys.example"
    assert await teams.services.directory.lookup("teams", guest.aad) == (guest.email, guest.name)


async def test_an_agent_is_recognised_and_may_act_through_the_bot(teams: TeamsWorld) -> None:
    await teams.say(KARI, "Phone screen cracked")  # front desk

    await teams.say(FRIDA, "desk transfer 1 it/hardware Broken hardware")

    [answer] = teams.sent_to(FRIDA.chat)
    assert card_text(card_of(answer)) == "#1 is transferred to IT."
    detail = await teams.services.desk.get_request(teams.actor(ALEXIS), 1)
    assert (detail.zone_id, detail.category_id) == ("it", "hardware")
