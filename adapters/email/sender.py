"""Mail out: the e-mail channel's `Sender` for the durable outbox (features queue rows with
`bot.desk.mailing.queue_mail`).

The outbox gives mail what it gives chat: a row written in the transaction of the change, sent after
commit, retried with back-off on a refused connection, a timeout or a `4xx` answer, given up (with a
`delivery_failed` event in the request's history) on a `5xx` answer. Each row is sent with a
Message-ID derived from its id, so the rare resend after a crash (a process killed between the relay's
`250` and the row being marked sent) carries the same Message-ID and reads as one mail.

A mail about request 42 of zone IT comes from the zone's address, answers to its per-request reply
address (`it+r42-TOKEN@...`), has `[#42]` in its subject, In-Reply-To and References to the thread's
earlier mail and an Outlook `Thread-Index`. Buttons (confirm or reopen, the survey) become links to
the request's page. What the desk sends by itself (confirmations, status changes, questions: every
row but an agent's reply) is *automatic*: it is marked `Auto-Submitted: auto-generated`, is not sent
to a thread whose latest mail was itself automatic (no auto-reply loops), and at most
`email.automatic_per_hour` of them go to one address in an hour; the others are marked sent without
a mail (`result.suppressed` says why).

`ZONEDESK_SMTP_URL`: `smtp://[USER:PASS@]HOST:PORT` (STARTTLS when the relay offers it and credentials
are given; without credentials plain SMTP to a local relay) or `smtps://` (TLS from the start).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy import select

from adapters.email import threads
from adapters.email.actions import action_link
from adapters.email.addresses import mail_domains, reply_address
from bot.clock import Clock
from bot.delivery.messages import Button, Message
from bot.delivery.outbox import Delivery, Failed, Retry, SendResult, Sent
from bot.desk.mailing import queue_mail
from bot.desk.unit import Tx
from bot.i18n import _, speaking
from bot.model import Identity, MailMessage, Request

log = logging.getLogger(__name__)

PLATFORM = "email"
HUMAN_KINDS = frozenset({"thread_reply"})  # with an author: an agent wrote it; everything else is automatic
SEND_TIMEOUT = 10.0


@dataclass(frozen=True)
class SmtpSettings:
    """Where mail goes out (`ZONEDESK_SMTP_URL`)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False  # smtps://: TLS from the first byte

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """Read `smtp://[USER:PASS@]HOST:PORT` or `smtps://...`; ValueError says what was expected."""
        parts = urlsplit(url.strip())
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError("ZONEDESK_SMTP_URL must be smtp://[USER:PASS@]HOST:PORT or smtps://... "
                             f"(e.g. smtp://127.0.0.1:25), not '{urlsplit(url)._replace(netloc='...').geturl()}'")
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError as exc:
            raise ValueError("ZONEDESK_SMTP_URL has a port that is not a number") from exc
        return cls(parts.hostname, port, unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None, parts.scheme == "smtps")


def sign_in_mailer(desk: Any) -> Callable[[Tx, str, Callable[[], Message]], Awaitable[bool]]:
    """The sign-in page's "e-mail me a link" (`bot.people.signin.SignIn.send_link(mailer=...)`): the link goes
    by mail to an address the directory knows or at one of the organisation's domains, in its owner's
    language; any other address gets nothing (and the page says the same either way)."""

    async def mail_link(tx: Tx, address: str, build: Callable[[], Message]) -> bool:
        known = desk.config.person(address) is not None or address.rsplit("@", 1)[-1] in mail_domains(desk.config)
        if not known:
            known = await tx.session.scalar(select(Identity.user_id).where(Identity.email == address).limit(1)) \
                is not None
        if not known or PLATFORM not in tx.unit.channels:
            return False
        message = await tx.say(await tx.language_of(address), build)
        await queue_mail(tx, address, message, request=None, kind="signin")
        return True

    return mail_link


class EmailSender:
    """Sends outbox rows of the `email` platform with aiosmtplib."""

    def __init__(self, desk: Any, smtp: SmtpSettings, secret: bytes, clock: Clock, own_domain: str) -> None:
        self.desk = desk  # bot.desk.Desk: configuration, sessions, links
        self.smtp = smtp
        self.secret = secret
        self.clock = clock
        self.own_domain = own_domain
        self._locks: dict[str, asyncio.Lock] = {}

    async def send(self, item: Delivery) -> SendResult:
        """Deliver one row; never raises for mail errors."""
        address = str(item.target.get("channel") or item.target.get("email") or "")
        if "@" not in address:
            return Failed("no e-mail address to send to")
        automatic = not (item.kind in HUMAN_KINDS and item.message.author)
        mid = threads.message_id(self.own_domain, f"outbox:{item.id}:{item.request_id}")
        # The cap is counted and this mail's slot taken in one transaction, one address at a time in this
        # process, before the mail goes: rows of several conversations are sent side by side.
        async with self._locks.setdefault(address, asyncio.Lock()):
            async with self.desk.transaction() as tx:
                session, now = tx.session, tx.now
                request = await session.get(Request, item.request_id) if item.request_id else None
                taken = await session.scalar(select(MailMessage.id).where(MailMessage.message_id == mid))
                if automatic and taken is None:
                    if request is not None and await threads.last_inbound_automatic(session, request.id):
                        return Sent({"suppressed": "the thread's last mail was automatic"})
                    if await threads.automatic_sent(session, address, now - timedelta(hours=1)) \
                            >= self.desk.config.email.automatic_per_hour:
                        return Sent({"suppressed": "hourly cap of automatic mail reached"})
                earlier = [m for m in (await threads.thread_of(session, request.id) if request else []) if m != mid]
                root_at = request.created_at if request is not None else now
                await threads.remember(session, mid, request.id if request is not None else None, direction="out",
                                       address=address, automatic=automatic, at=now)
        if len(self._locks) > 1000:
            self._locks.clear()
        mail = self.compose(item, address, request, earlier, automatic, root_at, mid)
        try:
            await aiosmtplib.send(mail, hostname=self.smtp.host, port=self.smtp.port, username=self.smtp.username,
                                  password=self.smtp.password, use_tls=self.smtp.tls,
                                  start_tls=None if self.smtp.username else False, timeout=SEND_TIMEOUT)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if all(500 <= c < 600 for c in codes):
                return Failed(f"the mail server refused {address}: {codes}")
            return Retry(f"the mail server deferred {address}: {codes}")
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                return Failed(f"the mail server answered {exc.code}")
            return Retry(f"the mail server answered {exc.code}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Retry(f"mail server unreachable: {type(exc).__name__}")
        return Sent({"message_id": mid})

    def compose(self, item: Delivery, address: str, request: Request | None, earlier: list[str],
                automatic: bool, root_at: Any, mid: str) -> EmailMessage:
        """The mail of one row, in its message's language."""
        message = item.message
        config = self.desk.config
        zone = config.zone(str(item.target.get("workspace") or (request.zone_id if request else "")) or "")
        zone = zone if zone is not None and zone.email else next((z for z in config.zones if z.email), None)
        sender = zone.email if zone is not None and zone.email else f"zonedesk@{self.own_domain}"
        mail = EmailMessage()
        with speaking(message.language or config.organisation.language):
            name = zone.name if zone is not None else config.organisation.name
            mail["From"] = formataddr((f"{config.organisation.name} {name}".strip(), sender))
            mail["To"] = address
            if request is not None and zone is not None and zone.email:
                mail["Reply-To"] = reply_address(self.secret, zone.email, request.id)
                subject = f"[#{request.id}] {request.title}"
                mail["Subject"] = ("Re: " + subject) if earlier else subject
            else:
                mail["Subject"] = message.title or _("Message from {name}", name=config.organisation.name)
            number = request.id if request is not None else None
            base = config.organisation.base_url

            def button_link(button: Button) -> str:
                return action_link(self.secret, base, address, number, button, item.id)

            body = render_text(message, self.desk.link(request.id) if request is not None else None, button_link)
        mail["Message-ID"] = mid
        mail["Date"] = format_datetime(self.clock.now())
        if earlier:
            mail["In-Reply-To"] = earlier[-1]
            mail["References"] = " ".join(earlier[:1] + earlier[-9:] if len(earlier) > 10 else earlier)
        if request is not None:
            root = earlier[0] if earlier else f"request:{request.id}"
            mail["Thread-Index"] = threads.thread_index(root, self.clock.now(), root_at)
        if automatic:
            mail["Auto-Submitted"] = "auto-generated"
            mail["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office answers to this
        mail.set_content(body)
        return mail


def render_text(message: Message, link: str | None, button_link: Callable[[Button], str] | None = None) -> str:
    """A neutral message as a plain-text mail body; buttons become links (`actions.action_link`: each acts
    once, as the recipient), or the request's page when there is no such link (said in the language spoken)."""
    lines: list[str] = []
    if message.title:
        lines += [message.title, ""]
    if message.author:
        lines.append(_("{name} wrote:", name=message.author))
    if message.text:
        lines += [message.text, ""]
    lines += [f"{name}: {value}" for name, value in message.fields]
    target = message.link or link
    if message.buttons and (target or button_link):
        lines.append("")
        for button in message.buttons:
            lines.append(_("{label}: {link}", label=button.label,
                           link=button_link(button) if button_link is not None else target))
    if target:
        lines += ["", _("Open the request: {link}", link=target)]
    if message.footer:
        lines += ["", message.footer]
    if link is not None:
        lines += ["", _("Answer this e-mail to add to the request; keep the number in the subject.")]
    return "\n".join(lines).strip() + "\n"
