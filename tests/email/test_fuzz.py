"""Hypothesis-fuzzed MIME: broken encodings, huge headers, nested multiparts. Reading never raises, and the
receiver either files a whole request or nothing (never a half-written one), and always answers SMTP."""

from __future__ import annotations

from datetime import timedelta

import aiosmtplib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.email.parse import read_mail
from bot.model import Event, Request
from tests.email.conftest import IT, MailWorld

ZACK = "zack@nordlys.example"
CHARSETS = st.sampled_from(["utf-8", "iso-8859-1", "x-unknown", "utf-7", "shift_jis", "", "utf-8\"; x=\"", "us-ascii"])
ENCODINGS = st.sampled_from(["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "bogus"])
TEXT = st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))


@st.composite
def parts(draw: st.DrawFn, depth: int = 0) -> bytes:
    """A MIME entity: a leaf with any charset and transfer encoding, or a multipart of such (nested)."""
    if depth < 3 and draw(st.booleans()):
        boundary = draw(st.sampled_from(["b1", "b2", "==x==", ""]))
        kind = draw(st.sampled_from(["mixed", "alternative", "related", "report"]))
        children = draw(st.lists(parts(depth + 1), max_size=3))
        body = b"".join(b"--" + boundary.encode() + b"\r\n" + child + b"\r\n" for child in children)
        closing = b"--" + boundary.encode() + b"--\r\n" if draw(st.booleans()) else b""
        return (f'Content-Type: multipart/{kind}; boundary="{boundary}"\r\n\r\n').encode() + body + closing
    subtype = draw(st.sampled_from(["plain", "html", "calendar", "x-weird"]))
    head = (f"Content-Type: text/{subtype}; charset={draw(CHARSETS)}\r\n"
            f"Content-Transfer-Encoding: {draw(ENCODINGS)}\r\n").encode()
    if draw(st.booleans()):
        head += b"Content-Disposition: attachment; filename*=utf-8''%ZZ.txt\r\n"
    return head + b"\r\n" + draw(TEXT)


@st.composite
def mails(draw: st.DrawFn) -> bytes:
    subject = draw(st.sampled_from([b"Hello", b"=?utf-8?b?!!notbase64?=", b"=?x-unknown?q?=FF=FE?=",
                                    b"x" * 5000, b"=?utf-8?q?" + b"=E2=82" * 50 + b"?="]))
    sender = draw(st.sampled_from([ZACK.encode(), b"Zack <zack@nordlys.example",
                                   b"\"\xff\xfe\" <zack@nordlys.example>",
                                   b"=?utf-8?b?WmFjaw==?= <zack@nordlys.example>", b"<>", b""]))
    extra = draw(st.sampled_from([b"", b"X-Long: " + b"a" * 20000 + b"\r\n",
                                  b"References: " + b"<a@b> " * 3000 + b"\r\n", b"X-Folded: a\r\n b" * 500 + b"\r\n",
                                  b"In-Reply-To: <\xff@x>\r\n", b"Message-ID: " + b"<" + b"m" * 400 + b"@x>\r\n"]))
    return (b"From: " + sender + b"\r\nTo: " + IT.encode() + b"\r\nSubject: " + subject + b"\r\n" + extra
            + b"MIME-Version: 1.0\r\n" + draw(parts()))


@given(mails())
@settings(max_examples=300, deadline=None)
def test_reading_any_mail_never_raises(raw: bytes) -> None:
    mail = read_mail(raw)
    assert isinstance(mail.text, str) and isinstance(mail.reply_text, str)
    assert len(mail.subject) <= 500 and all(len(m) < 260 for m in mail.thread_ids)


@given(st.lists(mails(), min_size=1, max_size=4))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_the_receiver_files_whole_requests_or_nothing(mail: MailWorld, batch: list[bytes]) -> None:
    for raw in batch:
        mail.clock.advance(timedelta(seconds=1))
        try:
            await aiosmtplib.send(raw, hostname="127.0.0.1", port=mail.smtp_port, sender=ZACK, recipients=[IT],
                                  start_tls=False)
        except aiosmtplib.SMTPResponseException as exc:  # a refusal by SMTP rules; a crash would say 451
            assert exc.code in {500, 552}, exc.code  # 500: a line over SMTP's limit
    for request in await mail.requests():
        assert request.title and request.zone_id == "it"
        assert await mail.count(Event, Event.request_id == request.id, Event.kind == "filed") == 1
    assert await mail.count(Request) == len(await mail.requests())
