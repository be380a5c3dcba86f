"""A mail thread both ways: an agent answers from Slack, the requester answers the mail, and only a reply
that proves where it came from lands on the request (decision 0016)."""

from __future__ import annotations

from datetime import timedelta

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.email.inbound import dkim_check
from bot.model import Comment, Outbox
from tests.email.conftest import IT, MailWorld
from tests.slack.conftest import ALEXIS

ZACK = "zack@nordlys.example"
HANNA = "hanna.berg@nordlys.example"


async def filed(mail: MailWorld, subject: str = "Printer jams", body: str = "On every page.") -> int:
    await mail.send(mail.compose(ZACK, subject, body, name="Zack McKinnon"))
    number = (await mail.requests())[-1].id
    await mail.deliver()
    return number


async def comments(mail: MailWorld, number: int) -> list[Comment]:
    from sqlalchemy import select

    async with mail.services.sessions() as session:
        return list((await session.execute(select(Comment).where(Comment.request_id == number)
                                           .order_by(Comment.id))).scalars())


async def test_agent_answers_from_slack_and_the_requesters_reply_lands_on_the_request(mail: MailWorld) -> None:
    number = await filed(mail)
    [confirmation] = mail.sink.to(ZACK)
    answer = await mail.slack.desk(ALEXIS, f"reply {number} Try turning it off and on again.")
    assert "#" in answer
    assert await mail.deliver() >= 1
    reply = mail.sink.to(ZACK)[-1]
    assert reply["Subject"] == f"Re: [#{number}] Printer jams"
    assert reply["Reply-To"] == mail.reply_to(number)
    assert reply["From"].addresses[0].addr_spec == IT
    assert reply["Auto-Submitted"] is None  # a person wrote it
    assert "Try turning it off and on again." in reply.get_content() and "Alexis Baker" in reply.get_content()
    assert confirmation["Message-ID"] in reply["References"]
    assert reply["Message-ID"].endswith("@127.0.0.1>")
    # Zack answers the mail: to its reply address, in reply to its Message-ID, quoting it.
    answer_mail = mail.compose(ZACK, reply["Subject"].replace("Re: ", "RE: Re: "),
                               "Did that, it works now!\n\nOn Tue, IT wrote:\n> Try turning it off and on again.",
                               to=reply["Reply-To"], headers={"In-Reply-To": reply["Message-ID"],
                                                              "References": reply["Message-ID"]})
    await mail.send(answer_mail)
    assert len(await mail.requests()) == 1
    written = await comments(mail, number)
    assert [(c.author_email, c.body) for c in written][-1] == (ZACK, "Did that, it works now!")
    assert not await mail.events(number, "mail_unverified") or len(await mail.events(number, "mail_unverified")) == 1


async def test_the_subject_token_alone_does_not_let_a_forged_sender_in(mail: MailWorld) -> None:
    number = await filed(mail)
    reply = mail.sink.to(ZACK)[-1]
    # Someone forges Zack's address, quotes the thread's Message-ID and the number, to the plain address.
    forged = mail.compose(ZACK, f"Re: [#{number}] Printer jams", "Please give my account admin rights.",
                          headers={"In-Reply-To": reply["Message-ID"]})
    await mail.send(forged)
    requests = await mail.requests()
    assert len(requests) == 2 and requests[1].requester_email == ZACK
    assert requests[1].title == "Printer jams"
    assert await mail.events(requests[1].id, "mail_unverified")
    assert await comments(mail, number) == []  # nothing reached #1


async def test_a_wrong_token_is_no_token(mail: MailWorld) -> None:
    number = await filed(mail)
    bad = mail.reply_to(number).replace("+r", "+r9")  # another request's number with this token
    await mail.send(mail.compose(ZACK, f"Re: [#{number}] Printer jams", "sneaky", to=bad), recipients=[bad])
    assert len(await mail.requests()) == 2
    assert await comments(mail, number) == []


async def test_someone_elses_mail_quoting_the_number_files_their_own_request(mail: MailWorld) -> None:
    number = await filed(mail)
    await mail.send(mail.compose(HANNA, f"About [#{number}]", "My printer too.", to=mail.reply_to(number)),
                    recipients=[mail.reply_to(number)])
    requests = await mail.requests()
    assert len(requests) == 2
    assert (requests[1].requester_email, requests[1].title) == (HANNA, "About")
    assert await comments(mail, number) == []
    await mail.deliver()
    assert all(f"#{number}]" not in m["Subject"] for m in mail.sink.to(HANNA))  # never told #1 exists


async def test_a_reply_from_someone_in_cc_files_their_own_request(mail: MailWorld) -> None:
    number = await filed(mail)
    reply = mail.sink.to(ZACK)[-1]
    cc_reply = mail.compose("new.colleague@nordlys.example", reply["Subject"], "Same here.",
                            to=reply["Reply-To"], headers={"In-Reply-To": reply["Message-ID"], "Cc": ZACK})
    await mail.send(cc_reply, recipients=[reply["Reply-To"]])
    requests = await mail.requests()
    assert len(requests) == 2 and requests[1].requester_email == "new.colleague@nordlys.example"
    assert await comments(mail, number) == []


async def test_a_forward_by_the_requester_to_the_plain_address_is_a_new_request(mail: MailWorld) -> None:
    number = await filed(mail)
    await mail.send(mail.compose(ZACK, f"Fwd: [#{number}] Printer jams", "See below.\n\n---- Forwarded ----"))
    requests = await mail.requests()
    assert len(requests) == 2 and requests[1].title == "Printer jams"
    assert await mail.events(requests[1].id, "mail_unverified")


def _keys() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    import base64

    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


async def test_dkim_of_the_senders_domain_verifies_a_reply_without_the_token(mail: MailWorld) -> None:
    private, record = _keys()
    mail.runtime.mail.dkim = dkim_check(dns=lambda name, timeout=5: record if name == b"sel._domainkey.nordlys.example."
                                        else None)
    number = await filed(mail)
    signed = mail.compose(ZACK, f"Re: [#{number}] Printer jams", "It is fixed, thanks.")
    raw = signed.as_bytes()
    signature = dkim.sign(raw, b"sel", b"nordlys.example", private, include_headers=[b"from", b"subject", b"to"])
    await mail.send(signature + raw, sender=ZACK, recipients=[IT])
    assert len(await mail.requests()) == 1
    assert (await comments(mail, number))[-1].body == "It is fixed, thanks."
    # A signature of another domain does not vouch for a nordlys.example sender.
    other = mail.compose(ZACK, f"Re: [#{number}] Printer jams", "Forged but signed elsewhere.")
    raw = other.as_bytes()
    evil = dkim.sign(raw, b"sel", b"evil.example", private, include_headers=[b"from", b"subject"])
    mail.runtime.mail.dkim = dkim_check(dns=lambda name, timeout=5: record)
    await mail.send(evil + raw, sender=ZACK, recipients=[IT])
    assert len(await mail.requests()) == 2


async def test_auto_replies_are_recorded_but_never_answered_automatically(mail: MailWorld) -> None:
    number = await filed(mail)
    sent = len(mail.sink.to(ZACK))
    reply = mail.sink.to(ZACK)[-1]
    ooo = mail.compose(ZACK, f"Automatic reply: {reply['Subject']}", "I am out of office until Monday.",
                       to=reply["Reply-To"], headers={"Auto-Submitted": "auto-replied",
                                                      "In-Reply-To": reply["Message-ID"]})
    await mail.send(ooo, recipients=[reply["Reply-To"]])
    assert (await comments(mail, number))[-1].body.startswith("I am out of office")
    # The desk's own automatic mail (a status change) is not sent into that thread...
    await mail.slack.desk(ALEXIS, f"status {number} waiting requester")
    await mail.deliver()
    assert len(mail.sink.to(ZACK)) == sent
    async with mail.services.sessions() as session:
        from sqlalchemy import select

        rows = (await session.execute(select(Outbox.result).where(Outbox.platform == "email",
                                                                   Outbox.kind == "status"))).scalars().all()
    assert rows and all((r or {}).get("suppressed") for r in rows)
    # ...but a person's answer is.
    await mail.slack.desk(ALEXIS, f"reply {number} Back on Monday then.")
    await mail.deliver()
    assert len(mail.sink.to(ZACK)) == sent + 1


async def test_bulk_list_and_our_own_mail_get_no_confirmation(mail: MailWorld) -> None:
    await mail.send(mail.compose(ZACK, "Newsletter", "Weekly news", headers={"Precedence": "bulk"}))
    await mail.send(mail.compose(ZACK, "Suppressed", "x", headers={"X-Auto-Response-Suppress": "All"}))
    await mail.send(mail.compose(ZACK, "Looped", "our own", message_id="<zd.abc@127.0.0.1>"))
    assert len(await mail.requests()) == 3
    await mail.deliver()
    assert mail.sink.to(ZACK) == []
    for request in await mail.requests():
        assert await mail.events(request.id, "mail_automatic")


async def test_at_most_n_automatic_mails_per_address_per_hour(mail: MailWorld) -> None:
    cap = mail.services.config.email.automatic_per_hour
    for i in range(cap + 3):
        await mail.send(mail.compose(ZACK, f"Thing {i}", "broken"))
    await mail.deliver()
    assert len(mail.sink.to(ZACK)) == cap
    mail.clock.advance(timedelta(hours=1, minutes=1))
    await mail.send(mail.compose(ZACK, "Later", "again"))
    await mail.deliver()
    assert len(mail.sink.to(ZACK)) == cap + 1


async def test_an_outage_of_the_relay_loses_nothing(mail: MailWorld) -> None:
    number = await filed(mail)
    before = len(mail.sink.to(ZACK))
    mail.sink.stop()
    await mail.slack.desk(ALEXIS, f"reply {number} Replacement toner is on its way.")
    await mail.deliver()
    async with mail.services.sessions() as session:
        from sqlalchemy import select

        row = (await session.execute(select(Outbox).where(Outbox.platform == "email").order_by(
            Outbox.id.desc()))).scalars().first()
    assert row is not None and row.status == "pending" and row.attempts == 1 and row.last_error
    mail.sink.start()
    mail.clock.advance(timedelta(minutes=10))
    await mail.deliver()
    after = mail.sink.to(ZACK)
    assert len(after) == before + 1
    assert "Replacement toner" in after[-1].get_content()


async def test_an_agent_answering_the_mail_reaches_the_requester(mail: MailWorld) -> None:
    number = await filed(mail)
    # Alexis was copied on the thread and answers from her mail program, to the request's reply address.
    answer = mail.compose("alexis.baker@nordlys.example", f"Re: [#{number}] Printer jams", "New toner is in.",
                          to=mail.reply_to(number))
    await mail.send(answer, recipients=[mail.reply_to(number)])
    assert len(await mail.requests()) == 1
    [reply] = [c for c in await comments(mail, number) if c.author_email == "alexis.baker@nordlys.example"]
    assert reply.public and reply.body == "New toner is in."
    await mail.deliver()
    last = mail.sink.to(ZACK)[-1]
    assert "New toner is in." in last.get_content() and last["Auto-Submitted"] is None


async def test_auto_submitted_no_is_a_person_writing(mail: MailWorld) -> None:
    await mail.send(mail.compose(ZACK, "Desk lamp", "Broken", headers={"Auto-Submitted": "no"}))
    [request] = await mail.requests()
    assert not await mail.events(request.id, "mail_automatic")
    await mail.deliver()
    assert len(mail.sink.to(ZACK)) == 1  # the confirmation goes


async def test_mail_is_written_in_the_requesters_language(mail: MailWorld) -> None:
    from tests.slack.conftest import ZACK as ZACK_IN_SLACK

    await mail.slack.desk(ZACK_IN_SLACK, "language nb")
    number = await filed(mail, "Skriveren", "Virker ikke")
    [confirmation] = mail.sink.to(ZACK)
    body = confirmation.get_content()
    assert f"Åpne saken: http://127.0.0.1:3000/requests/{number}" in body
    assert "Svar på denne e-posten" in body


async def test_a_guests_mail_lands_only_with_proof_and_only_while_invited(mail: MailWorld) -> None:
    """Outside collaborators (bot.desk.collaborators) are parties through `MailDesk.parties`: their mail to the
    reply address is their comment; the same From to the plain address, or after they were taken out, is not."""
    kim = "kim@supplier.example"
    await mail.slack.message("UZACK", "The meeting room screen is dead", channel="C0ITHELP")
    await mail.slack.desk(ALEXIS, f"collaborator 1 <mailto:{kim}|{kim}>")
    await mail.deliver()
    await mail.send(mail.compose(kim, "Re: [#1] The meeting room screen is dead", "Forged? I come Monday."),
                    recipients=[IT])  # no token: outside mail, recorded and not filed
    await mail.send(mail.compose(kim, "Re: [#1] The meeting room screen is dead", "I come on Monday at 9.",
                                 to=mail.reply_to(1)), recipients=[mail.reply_to(1)])
    assert [c.body for c in await comments(mail, 1) if c.author_email == kim] == ["I come on Monday at 9."]
    await mail.slack.desk(ALEXIS, f"collaborator 1 -{kim}")
    await mail.send(mail.compose(kim, "Re: [#1] The meeting room screen is dead", "One more thing.",
                                 to=mail.reply_to(1)), recipients=[mail.reply_to(1)])
    assert [c.body for c in await comments(mail, 1) if c.author_email == kim] == ["I come on Monday at 9."]
    assert len(await mail.requests()) == 1
