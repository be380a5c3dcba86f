"""The e-mail channel: requests by mail to a zone's address, answers by mail on the same request.

Mounted when `ZONEDESK_SMTP_LISTEN` or `ZONEDESK_SMTP_URL` is set (README "E-mail", decision 0016):

- `ZONEDESK_SMTP_LISTEN=HOST:PORT` starts the SMTP receiver inside `serve` (`receiver.py`: aiosmtpd's
  protocol on the server's own loop);
- `ZONEDESK_SMTP_URL=smtp://[USER:PASS@]HOST:PORT` (or `smtps://`) sends mail through the outbox
  (`sender.py`); without it no mail goes out, and the channel is not declared to the desk;
- `zones[].imap` mailboxes are read by a background job of `serve` (`imap.py`).

The pieces other features build on: `inbound.MailDesk` (the decision point every received mail goes
through; `parties` and `guest_mail` take in the guests of one request: outside collaborators and consulted
colleagues, `bot.desk.collaborators`), `threads` (Message-ID to request, the headers
that keep a thread), `addresses` (the zones' addresses and the per-request reply address) and
`bot.desk.mailing.queue_mail` (mail someone about a request from inside a unit of work).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web

from adapters.email.actions import MailActions
from adapters.email.imap import MailboxPoller
from adapters.email.inbound import PLATFORM, MailDesk, dkim_check
from adapters.email.receiver import parse_listen, start_receiver
from adapters.email.sender import EmailSender, SmtpSettings, sign_in_mailer
from bot.delivery.channels import ChannelInfo
from bot.desk.collaborators import mail_from_guest, party_in
from bot.desk.mailing import queue_mail
from bot.server import Services, StartupError

log = logging.getLogger(__name__)

CHANNEL = ChannelInfo(platform=PLATFORM, threads=True)
MAIL: web.AppKey[EmailRuntime] = web.AppKey("email")


def own_domain(base_url: str) -> str:
    """The domain of our Message-IDs: the desk's web host, so an employee's mail client (which names its
    own Message-IDs after the organisation's mail domain) is never mistaken for our own mail."""
    return (urlsplit(base_url).hostname or "zonedesk.invalid").lower()


@dataclass
class EmailRuntime:
    """The channel's parts in one process."""

    mail: MailDesk
    listen: tuple[str, int] | None
    sender: EmailSender | None
    pollers: list[MailboxPoller] = field(default_factory=list)
    server: asyncio.Server | None = None

    async def start(self, _app: web.Application) -> None:
        """Open the SMTP port (a port in use stops the server with a sentence)."""
        if self.listen is None:
            return
        try:
            self.server = await start_receiver(self.mail, *self.listen)
        except OSError as exc:
            raise StartupError(f"ZONEDESK_SMTP_LISTEN: cannot listen on {self.listen[0]}:{self.listen[1]} "
                               f"({exc.strerror or exc})") from exc

    async def close(self, _app: web.Application) -> None:
        """Stop taking mail."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


class EmailChannel:
    """The `zonedesk.channels` entry point for e-mail."""

    name = "email"

    def configured(self, env: Mapping[str, str]) -> bool:
        """Mail is wanted when the receiver or the relay is named."""
        return bool(env.get("ZONEDESK_SMTP_LISTEN") or env.get("ZONEDESK_SMTP_URL"))

    def mount(self, app: web.Application, services: Services, env: Mapping[str, str]) -> None:
        """The receiver (on startup), the outbox sender and the mailbox jobs."""
        domain = own_domain(services.config.organisation.base_url)
        checker = dkim_check() if services.config.email.dkim else None
        mail = MailDesk(services.desk, services.secret_key, dkim=checker, own_domain=domain,
                        parties=[party_in], guest_mail=mail_from_guest)
        listen = None
        if env.get("ZONEDESK_SMTP_LISTEN"):
            try:
                listen = parse_listen(env["ZONEDESK_SMTP_LISTEN"])
            except ValueError as exc:
                raise StartupError(str(exc)) from exc
        sender = None
        if env.get("ZONEDESK_SMTP_URL"):
            try:
                smtp = SmtpSettings.from_url(env["ZONEDESK_SMTP_URL"])
            except ValueError as exc:
                raise StartupError(str(exc)) from exc
            sender = EmailSender(services.desk, smtp, services.secret_key, services.clock, domain)
            services.enable(CHANNEL, sender)
            services.extras["mail_link"] = sign_in_mailer(services.desk)  # the sign-in page's "e-mail me a link"
            site = services.extras.get("web")  # the web channel is mounted first: buttons in mail open its pages
            if site is not None:
                MailActions(site, services.secret_key).add_routes(app.router)
        else:
            log.info("channel email: ZONEDESK_SMTP_URL is not set, so no mail goes out")
        runtime = EmailRuntime(mail, listen, sender)
        for zone in services.config.zones:
            if zone.imap is not None:
                poller = MailboxPoller(mail, zone, env)
                runtime.pollers.append(poller)
                services.periodic.append((f"imap:{zone.id}", zone.imap.every_seconds, poller.poll))
        app[MAIL] = runtime
        services.extras["email"] = runtime
        app.on_startup.append(runtime.start)
        app.on_cleanup.append(runtime.close)


channel = EmailChannel()

__all__ = ["CHANNEL", "MAIL", "EmailChannel", "EmailRuntime", "MailDesk", "channel", "queue_mail"]
