"""Outside collaborators by mail, through the real channel: an agent brings a supplier's address into a request
from Slack; the supplier is mailed the public conversation (from the zone's address, answering to the request's
reply address), then each new public message, never a note; their answer to that reply address is their comment;
taken out, nothing more is sent to them and their mail reaches nothing. A colleague never met in chat is asked
by mail, and their answer by mail is an internal note."""

from __future__ import annotations

from tests.email.conftest import MailWorld
from tests.slack.conftest import ALEXIS, IT_HELP, ZACK

KIM = "kim@supplier.example"


async def _filed_and_kim_in(mail: MailWorld) -> str:
    slack = mail.slack
    filed = await slack.message(ZACK, "The meeting room screen is dead", channel=IT_HELP)
    await slack.desk(ALEXIS, "reply 1 Which room is it?")
    await slack.desk(ALEXIS, "note 1 Supplier contract 2231")
    assert await slack.desk(ALEXIS, f"collaborator 1 <mailto:{KIM}|{KIM}>") == \
        f"{KIM} is in the conversation of #1: it receives the public messages by e-mail."
    await mail.deliver()
    return filed


async def test_a_collaborator_is_mailed_the_public_conversation_and_never_a_note(mail: MailWorld) -> None:
    filed = await _filed_and_kim_in(mail)
    [invitation] = mail.sink.to(KIM)
    body = invitation.get_content()
    assert invitation["Subject"] == "[#1] The meeting room screen is dead"
    assert invitation["Reply-To"] == mail.reply_to(1)
    assert "it@nordlys.example" in invitation["From"]
    assert "Alexis Baker brings you into request #1 of Nordlys AS" in body
    assert "The meeting room screen is dead" in body and "Which room is it?" in body
    assert "contract" not in body  # never the notes

    slack = mail.slack
    await slack.desk(ALEXIS, "note 1 Ask for a loan screen too")
    await slack.desk(ALEXIS, "reply 1 The supplier will come by")
    await slack.message(ZACK, "Room 4, thanks", channel=IT_HELP, thread=filed)  # the requester's comment
    await mail.deliver()
    later = [m.get_content() for m in mail.sink.to(KIM)[1:]]
    assert len(later) == 2
    assert "The supplier will come by" in later[0] and "Room 4, thanks" in later[1]
    assert not any("loan screen" in text for text in later)

    assert await slack.desk(ALEXIS, f"collaborator 1 -{KIM}") == \
        f"{KIM} is out of the conversation of #1: nothing more is sent to it."
    sent = len(mail.sink.to(KIM))
    await slack.desk(ALEXIS, "reply 1 Fixed now")
    await mail.deliver()
    assert len(mail.sink.to(KIM)) == sent


async def test_a_collaborator_s_answer_to_the_reply_address_is_their_comment(mail: MailWorld) -> None:
    await _filed_and_kim_in(mail)
    await mail.send(mail.compose(KIM, "Re: [#1] The meeting room screen is dead", "I come on Monday at 9.",
                                 name="Kim Berg", to=mail.reply_to(1)), recipients=[mail.reply_to(1)])
    detail = await mail.services.desk.get_request(mail.slack.actor(ZACK), 1)  # the requester reads it
    assert [(c.author_email, c.body, c.public) for c in detail.comments if c.author_email == KIM] == [
        (KIM, "I come on Monday at 9.", True)]
    # The same From without the reply address reaches nothing; nor does the reply address once Kim is out.
    await mail.send(mail.compose(KIM, "Re: [#1] The meeting room screen is dead", "Plain address"),
                    recipients=["it@nordlys.example"])
    await mail.slack.desk(ALEXIS, f"collaborator 1 -{KIM}")
    await mail.send(mail.compose(KIM, "Re: [#1] The meeting room screen is dead", "After removal",
                                 to=mail.reply_to(1)), recipients=[mail.reply_to(1)])
    detail = await mail.services.desk.get_request(mail.slack.actor(ALEXIS), 1)
    assert [c.body for c in detail.comments if c.author_email == KIM] == ["I come on Monday at 9."]
    assert len(await mail.requests()) == 1  # an outsider's mail files nothing


async def test_a_collaborator_s_late_answer_on_a_closed_request_stays_on_it(mail: MailWorld) -> None:
    await _filed_and_kim_in(mail)
    await mail.slack.desk(ALEXIS, "close 1")
    await mail.slack.desk(ALEXIS, "close 1")
    await mail.send(mail.compose(KIM, "Re: [#1] The meeting room screen is dead", "Invoice follows.",
                                 to=mail.reply_to(1)), recipients=[mail.reply_to(1)])
    assert len(await mail.requests()) == 1  # no request filed by an outside address
    detail = await mail.services.desk.get_request(mail.slack.actor(ALEXIS), 1)
    assert detail.status == "closed" and [c.body for c in detail.comments if c.author_email == KIM] == [
        "Invoice follows."]


MARTE = "marte.viken@nordlys.example"  # in app.yaml, never met in chat: asked for her view by mail


async def test_a_colleague_never_met_in_chat_is_asked_by_mail(mail: MailWorld) -> None:
    slack = mail.slack
    await slack.message(ZACK, "Can I get a standing desk?", channel=IT_HELP)
    await slack.desk(ALEXIS, "reply 1 Which floor?")
    await slack.desk(ALEXIS, "note 1 Budget is tight this quarter")
    assert await slack.desk(ALEXIS, f"consult 1 {MARTE} Is this in the budget?") == \
        "Marte Viken is asked for their view on #1; their answer will be an internal note."
    await mail.deliver()
    [asked] = mail.sink.to(MARTE)
    body = asked.get_content()
    assert "Is this in the budget?" in body and "Which floor?" in body and "/consult/1" in body
    assert "Budget is tight" not in body
    assert asked["Reply-To"] == mail.reply_to(1)


async def test_a_colleague_s_answer_by_mail_is_an_internal_note(mail: MailWorld) -> None:
    slack = mail.slack
    await slack.message(ZACK, "Can I get a standing desk?", channel=IT_HELP)
    await slack.desk(ALEXIS, f"consult 1 {MARTE}")
    await mail.deliver()
    await mail.send(mail.compose(MARTE, "Re: [#1] Can I get a standing desk?", "Yes, from the Q3 budget.",
                                 to=mail.reply_to(1)), recipients=[mail.reply_to(1)])
    detail = await mail.services.desk.get_request(slack.actor(ALEXIS), 1)
    assert [(c.body, c.public) for c in detail.comments if c.author_email == MARTE] == [
        ("Yes, from the Q3 budget.", False)]
    assert "Marte Viken gave their view in an internal note." in [e.text for e in detail.history]
    mine = await mail.services.desk.get_request(slack.actor(ZACK), 1)
    assert all(c.author_email != MARTE for c in mine.comments)
