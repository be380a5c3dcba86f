"""Consultation in Teams: `desk consult` in the personal chat asks a colleague, who gets a card in their own
personal chat with the public conversation (never notes) and a button to their consultation page, and
answers with `desk answer`; the answer is an internal note the agent is told of."""

from __future__ import annotations

from tests.teams.conftest import ALEXIS, KARI, MARTE, TeamsWorld, actions, card_markdown, card_of, card_text


async def test_a_colleague_is_asked_in_teams_and_answers_in_their_personal_chat(teams: TeamsWorld) -> None:
    await teams.post_in_channel(KARI, "The projector in room 2 flickers")
    await teams.deliver()
    await teams.say(ALEXIS, "desk reply 1 Which cable do you use?")
    await teams.say(ALEXIS, "desk note 1 The lamp is past its hours")
    await teams.say(MARTE, "desk help")  # Marte has talked to the bot: it can write to her

    await teams.say(ALEXIS, "desk consult 1 marte.viken@nordlys.example Should we buy a new one?")
    assert "Marte Viken is asked for their view on #1; their answer will be an internal note." in \
        card_text(card_of(teams.sent_to(ALEXIS.chat)[-1]))
    await teams.deliver()
    card = card_of(teams.sent_to(MARTE.chat)[-1])
    said = card_text(card)
    assert "Alexis Baker asks for your view on request #1: The projector in room 2 flickers" in said
    assert "Should we buy a new one?" in said and "Which cable do you use?" in said
    assert "lamp" not in said  # never the notes
    assert actions(card)["Answer"]["url"].endswith("/consult/1")

    await teams.say(MARTE, "desk show 1")
    assert "Request #1 was not found." in card_text(card_of(teams.sent_to(MARTE.chat)[-1]))
    await teams.say(MARTE, "desk answer 1 Yes, the budget has room for it.")
    assert "Thank you: your view on #1 is with the desk's agents." in card_text(card_of(teams.sent_to(MARTE.chat)[-1]))
    await teams.deliver()
    assert "Marte Viken gave their view on #1" in card_text(card_of(teams.sent_to(ALEXIS.chat)[-1]))
    detail = await teams.services.desk.get_request(teams.actor(ALEXIS), 1)
    [view] = [c for c in detail.comments if c.author_email == MARTE.email]
    assert view.public is False and view.body == "Yes, the budget has room for it."
    mine = await teams.services.desk.get_request(teams.actor(KARI), 1)
    assert all(c.author_email != MARTE.email for c in mine.comments)

    await teams.say(KARI, "desk consult 1 marte.viken@nordlys.example")  # the requester may not ask anyone
    assert "Only an agent of the request's department can ask someone's view on it." in \
        card_text(card_of(teams.sent_to(KARI.chat)[-1]))


async def test_the_colleague_answers_in_a_dialog_from_the_question_s_button(teams: TeamsWorld) -> None:
    """The question's card carries "Answer here": a dialog with the question, whose submit is the internal
    note; once the question is withdrawn the dialog does not open, and nobody else's opens at all."""
    from tests.teams.test_task_module import submit_data, task_card, task_message

    await teams.post_in_channel(KARI, "The projector in room 2 flickers")
    await teams.deliver()
    await teams.say(MARTE, "desk help")
    await teams.say(ALEXIS, "desk consult 1 marte.viken@nordlys.example Buy a **new** one?")
    await teams.deliver()
    question = card_of(teams.sent_to(MARTE.chat)[-1])
    answer_here = actions(question)["Answer here"]["data"]
    dialog = task_card(await teams.invoke(MARTE, "task/fetch", {"data": answer_here}))
    shown = card_text(dialog)
    assert "The projector in room 2 flickers" in shown and "Buy a **new** one?" in shown  # as written, not bold
    assert "Buy a \\*\\*new\\*\\* one?" in card_markdown(dialog)
    done = await teams.invoke(MARTE, "task/submit", {"data": submit_data(dialog, text="Yes, there is budget.")})
    assert task_message(done) == "Thank you: your view on #1 is with the desk's agents."
    detail = await teams.services.desk.get_request(teams.actor(ALEXIS), 1)
    [view] = [c for c in detail.comments if c.author_email == MARTE.email]
    assert view.public is False and view.body == "Yes, there is budget."

    assert task_message(await teams.invoke(KARI, "task/fetch", {"data": answer_here})) == \
        "Request #1 was not found."
    await teams.say(ALEXIS, "desk consult 1 -marte.viken@nordlys.example")
    assert task_message(await teams.invoke(MARTE, "task/fetch", {"data": answer_here})) == \
        "Request #1 was not found."
