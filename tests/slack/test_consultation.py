"""Consultation in Slack: an agent asks a colleague of another zone for their view with `/desk consult`; the
colleague gets a DM with the public conversation (never the notes), answers with `/desk answer`, and the
answer is an internal note the agent sees and the requester never does. Withdrawn, the request is gone."""

from __future__ import annotations

import json

from bot.model import Comment
from tests.slack.conftest import ALEXIS, HANNA, IT_HELP, ZACK, SlackWorld, block_text, buttons


async def _filed(slack: SlackWorld) -> None:
    await slack.message(ZACK, "My laptop fan is loud", channel=IT_HELP)
    await slack.deliver()
    assert await slack.desk(ALEXIS, "reply 1 Is it loud all the time?") == \
        "Your reply on #1 is on its way to the requester."
    assert await slack.desk(ALEXIS, "note 1 Warranty ran out in May") == "Internal note added to #1."
    await slack.desk(HANNA, "help")  # Hanna has used Zonedesk in Slack: the desk can write to her


async def test_a_colleague_is_asked_answers_and_the_answer_is_an_internal_note(slack: SlackWorld) -> None:
    await _filed(slack)
    said = await slack.desk(ALEXIS, f"consult 1 <@{HANNA}|hanna> Is this covered by the HR equipment policy?")
    assert said == "Hanna Berg is asked for their view on #1; their answer will be an internal note."
    await slack.deliver()
    dm = block_text(slack.posts(f"D{HANNA}")[-1]["blocks"])
    assert "Alexis Baker asks for your view on request #1: My laptop fan is loud" in dm
    assert "Is this covered by the HR equipment policy?" in dm
    assert "Is it loud all the time?" in dm  # the public conversation
    assert "Warranty" not in dm  # never the notes
    assert "/consult/1" in str(slack.posts(f"D{HANNA}")[-1]["blocks"])

    # Hanna may read nothing else of the request: not its page, not a list, not `show`.
    assert await slack.desk(HANNA, "show 1") == "Request #1 was not found."
    assert "#1" not in await slack.desk(HANNA, "list all")
    assert await slack.desk(HANNA, "note 1 sneaky") == "Request #1 was not found."

    assert await slack.desk(HANNA, "answer 1 Yes: the policy replaces fans under five years.") == \
        "Thank you: your view on #1 is with the desk's agents."
    await slack.deliver()
    told = block_text(slack.posts(f"D{ALEXIS}")[-1]["blocks"])
    assert "Hanna Berg gave their view on #1: My laptop fan is loud" in told
    shown = await slack.desk(ALEXIS, "show 1")
    assert "Hanna Berg (internal note): Yes: the policy replaces fans under five years." in shown
    assert "Hanna Berg gave their view in an internal note." in shown
    async with slack.services.sessions() as session:
        note = (await session.get(Comment, 3))
        assert note is not None and note.public is False and note.author_email == "hanna.berg@nordlys.example"
    requester = await slack.services.desk.get_request(slack.actor(ZACK), 1)
    assert all("policy" not in c.body for c in requester.comments)
    assert all("view" not in e.text for e in requester.history)
    assert not any("policy" in block_text(m.get("blocks", [])) for m in slack.posts(IT_HELP))

    listed = await slack.desk(ALEXIS, "consult 1")
    assert "Hanna Berg (hanna.berg@nordlys.example): answered" in listed

    said = await slack.desk(ALEXIS, f"consult 1 -<@{HANNA}|hanna>")
    assert said == "The question to Hanna Berg about #1 is withdrawn; they no longer see it."
    assert await slack.desk(HANNA, "answer 1 one more thing") == "Request #1 was not found."
    await slack.deliver()
    assert "withdrew the question about request #1" in block_text(slack.posts(f"D{HANNA}")[-1]["blocks"])


async def test_who_may_ask_and_who_may_be_asked(slack: SlackWorld) -> None:
    await _filed(slack)
    # The requester and an agent of another zone may not ask anyone: the request is theirs to read, or not at all.
    assert await slack.desk(ZACK, f"consult 1 <@{HANNA}|hanna>") == \
        "Only an agent of the request's department can ask someone's view on it."
    assert await slack.desk(HANNA, f"consult 1 <@{ALEXIS}|alexis>") == "Request #1 was not found."
    # Nobody the directory knows, the requester, someone who reads it already, someone asked already.
    assert await slack.desk(ALEXIS, "consult 1 nobody@elsewhere.example") == (
        "Zonedesk does not know nobody@elsewhere.example: ask someone in the directory (a colleague listed in "
        "app.yaml or who has used Zonedesk in chat), by e-mail address or @mention.")
    assert await slack.desk(ALEXIS, f"consult 1 <@{ZACK}|zack>") == \
        "Zack McKinnon filed request #1; they read it already."
    assert await slack.desk(ALEXIS, "consult 1 ivar.lund@nordlys.example") == \
        "Ivar Lund already reads request #1, notes included; there is no need to ask them in."
    await slack.desk(ALEXIS, "consult 1 hanna.berg@nordlys.example")
    assert await slack.desk(ALEXIS, "consult 1 hanna.berg@nordlys.example") == \
        "Hanna Berg is already asked for their view on #1."
    assert await slack.desk(ALEXIS, "consult 1 -siri.nilsen@nordlys.example") == \
        "Nobody by siri.nilsen@nordlys.example is asked for their view on #1."
    assert await slack.desk(HANNA, "answer 1") == "Usage: answer <number> <your view>"
    assert await slack.desk(ALEXIS, "answer 1 I think so") == \
        "You are not asked for your view on #1; write an internal note instead."


async def test_the_colleague_is_asked_in_their_own_language(slack: SlackWorld) -> None:
    await _filed(slack)
    await slack.desk(HANNA, "language de")
    await slack.desk(ALEXIS, f"consult 1 <@{HANNA}|hanna>")
    await slack.deliver()
    dm = block_text(slack.posts(f"D{HANNA}")[-1]["blocks"])
    assert "Alexis Baker bittet um Ihre Einschätzung zu Anfrage #1: My laptop fan is loud" in dm
    assert "answer 1" in dm
    assert await slack.desk(HANNA, "answer 1 Ja") == "Danke: Ihre Einschätzung zu #1 liegt den Bearbeitern vor."


async def test_the_colleague_answers_in_a_dialog_from_the_question_s_button(slack: SlackWorld) -> None:
    """The question in the DM carries an "Answer here" button: it opens a dialog with the question, and what
    is sent there is the internal note; once the question is withdrawn the button opens nothing."""
    await _filed(slack)
    await slack.desk(ALEXIS, f"consult 1 <@{HANNA}|hanna> Covered by the <policy>?")
    await slack.deliver()
    question = slack.posts(f"D{HANNA}")[-1]
    assert buttons(question["blocks"]) == {"zd:consult_answer": "1"}
    await slack.click(HANNA, "zd:consult_answer", "1", channel=f"D{HANNA}", message=question,
                      trigger_id="answer-trigger")
    assert slack.fake.last("views.open").args["trigger_id"] == "answer-trigger"
    call = slack.fake.last("views.open").args["view"]
    view = next(v for v in slack.fake.views.values() if v["blocks"] == call["blocks"])
    assert view["callback_id"] == "zd:answer" and json.loads(view["private_metadata"])["number"] == 1
    shown = block_text(view["blocks"])
    assert "Covered by the &lt;policy&gt;?" in shown and "My laptop fan is loud" in shown  # escaped for mrkdwn

    await slack.submit(HANNA, view, {"text": {"value": {"value": "Yes, under five years."}}})
    assert slack.fake.last("chat.postEphemeral").args["text"] == "Thank you: your view on #1 is with the desk's agents."
    assert "Hanna Berg (internal note): Yes, under five years." in await slack.desk(ALEXIS, "show 1")
    requester = await slack.services.desk.get_request(slack.actor(ZACK), 1)
    assert all("five years" not in c.body for c in requester.comments)

    await slack.desk(ALEXIS, f"consult 1 -<@{HANNA}|hanna>")
    opened_before = len(slack.fake.calls_to("views.open"))
    _, hook = await slack.click(HANNA, "zd:consult_answer", "1", channel=f"D{HANNA}", message=question)
    assert slack.answer_to(hook) == "Request #1 was not found."
    assert len(slack.fake.calls_to("views.open")) == opened_before
    # Someone never asked gets the same answer from a forged click.
    _, hook = await slack.click(ZACK, "zd:consult_answer", "1", channel=f"D{ZACK}", message=question)
    assert slack.answer_to(hook) == "Request #1 was not found."
