"""Mail in over SMTP: filed in the zone whose address it reached, refused at SMTP time when it is not ours."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib
import pytest

from bot.model import MailMessage, Request
from tests.email.conftest import HR, IT, MailWorld

ZACK = "zack@nordlys.example"


async def test_a_mail_to_a_zone_files_a_request_there_marked_unverified(mail: MailWorld) -> None:
    await mail.send(mail.compose(ZACK, "Printer on 3rd floor jams", "It jams on every page.\n\nZack",
                                 name="Zack McKinnon"))
    [request] = await mail.requests()
    assert (request.zone_id, request.requester_email, request.title) == ("it", ZACK, "Printer on 3rd floor jams")
    assert "It jams on every page." in request.description
    assert request.origin_platform == "email"
    [mark] = await mail.events(request.id, "mail_unverified")
    assert mark.data["address"] == ZACK
    # The requester is told by mail, on the request's thread.
    await mail.deliver()
    [confirmation] = mail.sink.to(ZACK)
    assert confirmation["Subject"] == f"Re: [#{request.id}] Printer on 3rd floor jams"  # it answers their mail
    assert confirmation["Reply-To"] == mail.reply_to(request.id)
    assert confirmation["Auto-Submitted"] == "auto-generated"
    assert confirmation["Thread-Index"]
    assert confirmation["In-Reply-To"] == request.origin_message
    assert confirmation.get_content().count(f"/requests/{request.id}") >= 1


async def test_the_same_mail_twice_is_filed_once(mail: MailWorld) -> None:
    once = mail.compose(ZACK, "VPN down", "Cannot connect.", message_id="<same-1@mail.nordlys.example>")
    await mail.send(once)
    await mail.send(once)
    assert len(await mail.requests()) == 1
    assert await mail.count(MailMessage, MailMessage.direction == "in") == 1


async def test_html_only_mail_is_read_as_text_and_quoted_replies_cut(mail: MailWorld) -> None:
    html = EmailMessage()
    html["From"], html["To"], html["Subject"] = ZACK, HR, "Parental leave"
    html.set_content("<html><body><p>When do I <b>apply</b>?</p><script>alert(1)</script>"
                     "<ul><li>from May</li></ul></body></html>", subtype="html")
    await mail.send(html)
    [request] = await mail.requests()
    assert request.zone_id == "hr"
    assert "When do I apply?" in request.description and "from May" in request.description
    assert "<b>" not in request.description and "alert" not in request.description


@pytest.mark.parametrize("recipient", ["nobody@nordlys.example", "it@elsewhere.example", "it-x@nordlys.example"])
async def test_mail_for_an_address_that_is_not_ours_is_refused_with_550(mail: MailWorld, recipient: str) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await mail.send(mail.compose(ZACK, "Hi", "Hello", to=recipient), recipients=[recipient])
    assert refused.value.recipients[0].code == 550
    assert await mail.requests() == []


async def test_too_many_recipients_are_deferred_with_452(mail: MailWorld) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=mail.smtp_port, start_tls=False)
    await client.connect()
    await client.mail(ZACK)
    limit = mail.services.config.email.max_recipients
    for i in range(limit):
        await client.rcpt(f"it+x{i}@nordlys.example")
    with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
        await client.rcpt(IT)
    assert refused.value.code == 452
    await client.quit()


async def test_mail_over_the_size_limit_is_refused_with_552(mail: MailWorld) -> None:
    big = mail.compose(ZACK, "Logs", "x" * (mail.services.config.email.max_size_kb * 1024 + 10))
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await mail.send(big)
    assert refused.value.code == 552
    assert await mail.requests() == []


async def test_mail_from_outside_the_organisation_is_recorded_not_filed_nor_answered(mail: MailWorld) -> None:
    await mail.send(mail.compose("sales@vendor.example", "Great offer", "Buy now"))
    assert await mail.requests() == []
    await mail.deliver()
    assert mail.sink.received == []


async def test_an_unknown_address_at_the_organisation_files_an_unverified_request(mail: MailWorld) -> None:
    await mail.send(mail.compose("new.hire@nordlys.example", "No laptop yet", "Started today."))
    [request] = await mail.requests()
    assert request.requester_email == "new.hire@nordlys.example"
    assert await mail.events(request.id, "mail_unverified")
    # The zone's agents see it.
    alexis = mail.services.desk.actor("alexis.baker@nordlys.example", "Alexis Baker")
    detail = await mail.services.desk.get_request(alexis, request.id)
    assert detail.title == "No laptop yet"


async def test_a_known_senders_name_comes_from_the_directory(mail: MailWorld) -> None:
    await mail.send(mail.compose("alexis.baker@nordlys.example", "My screen", "Flickers", name="A. B. (mobile)"))
    [request] = await mail.requests()
    assert request.requester_name == "Alexis Baker"
    assert isinstance(request, Request)


async def test_mail_from_a_zones_own_address_is_not_filed(mail: MailWorld) -> None:
    await mail.send(mail.compose(HR, "Fwd: your request", "bounced around", to=IT))
    await mail.send(mail.compose(mail.reply_to(1), "Re: [#1] x", "looped", to=IT))
    assert await mail.requests() == []
    await mail.deliver()
    assert mail.sink.received == []


async def test_a_mail_the_desk_cannot_file_now_is_deferred_and_filed_when_sent_again(
        mail: MailWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.email.inbound import MailDesk

    original = MailDesk.receive

    async def down(self: MailDesk, *args: object, **kwargs: object) -> object:
        raise ConnectionRefusedError("the database is away")

    monkeypatch.setattr(MailDesk, "receive", down)
    once = mail.compose(ZACK, "Badge reader", "Does not open", message_id="<retry-1@mail.nordlys.example>")
    with pytest.raises(aiosmtplib.SMTPDataError) as deferred:
        await mail.send(once)
    assert deferred.value.code == 451
    assert await mail.requests() == []
    monkeypatch.setattr(MailDesk, "receive", original)
    await mail.send(once)  # the sending server tries again
    await mail.send(once)  # and once more, as a retry after a lost answer would
    assert [r.title for r in await mail.requests()] == ["Badge reader"]
