"""Mail in over SMTP: filed in the zone whose address it reached, refused at SMTP time when it is not ours."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from bot.clock import FakeClock
from bot.model import MailMessage, Request
from tests.email.conftest import HR, IT, MailWorld, mail_world
from tests.fakes.slack_api import FakeSlackAPI

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


async def test_files_sent_with_a_mail_are_kept_on_the_request_and_its_comments(mail: MailWorld) -> None:
    from bot.files import attachments_of

    first = mail.compose(ZACK, "Broken screen", "Photo attached.")
    first.add_attachment(b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="invoice.pdf")
    first.add_attachment(b"\x89PNG\r\n\x1a\n" + b"0" * 64, maintype="image", subtype="png", filename="screen.png")
    await mail.send(first)
    [request] = await mail.requests()
    zack = mail.services.desk.actor(ZACK)
    files = await attachments_of(mail.services.desk, zack, request.id)
    assert [(f.filename, f.comment_id) for f in files] == [("invoice.pdf", None), ("screen.png", None)]
    await mail.deliver()
    confirmation = mail.sink.to(ZACK)[-1]
    again = mail.compose(ZACK, confirmation["Subject"], "And the log.", to=confirmation["Reply-To"],
                         headers={"In-Reply-To": confirmation["Message-ID"]})
    again.add_attachment(b"line 1\nline 2\n", maintype="text", subtype="plain", filename="log.txt")
    await mail.send(again, recipients=[confirmation["Reply-To"]])
    files = await attachments_of(mail.services.desk, zack, request.id)
    assert [f.filename for f in files] == ["invoice.pdf", "screen.png", "log.txt"]
    assert files[-1].comment_id is not None
    # Another person sees none of it.
    with pytest.raises(Exception, match="not found"):
        await attachments_of(mail.services.desk, mail.services.desk.actor("siri.nilsen@nordlys.example"), request.id)


async def test_a_file_over_the_limit_is_left_out_and_said_so(tmp_path: Path, sqlite_url: str, clock: FakeClock,
                                                           fake: FakeSlackAPI) -> None:
    from bot.files import attachments_of

    async with mail_world(tmp_path, sqlite_url, clock, fake, env_extra={"ZONEDESK_FILES_MAX_BYTES": "2000"}) as mail:
        big = mail.compose(ZACK, "Huge log", "See attached.")
        big.add_attachment(b"x" * 2001, maintype="application", subtype="octet-stream", filename="huge.bin")
        big.add_attachment(b"small", maintype="text", subtype="plain", filename="small.txt")
        await mail.send(big)
        [request] = await mail.requests()
        files = await attachments_of(mail.services.desk, mail.services.desk.actor(ZACK), request.id)
        assert [f.filename for f in files] == ["small.txt"]
        [dropped] = await mail.events(request.id, "mail_file_dropped")
        assert dropped.data["filename"] == "huge.bin"
        assert "huge.bin" in "".join(e.text for e in (await mail.services.desk.get_request(
            mail.services.desk.actor(ZACK), request.id)).history)
