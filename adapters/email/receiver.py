"""The SMTP receiver: aiosmtpd's SMTP protocol on the server's own event loop (`ZONEDESK_SMTP_LISTEN`).

Not aiosmtpd's `Controller` (which runs its own loop in a thread): `start_receiver` calls
`loop.create_server` with `aiosmtpd.smtp.SMTP`, so the receiver shares the desk's loop and database
connections like any other channel. Refusals happen during the SMTP dialogue, so the sending server
keeps the mail and tells its sender:

- `550 5.1.1` for a recipient that is no zone's address (or its plus-addressed reply form);
- `452 4.5.3` after `email.max_recipients` recipients (the client sends the rest again later);
- `552 5.3.4` for a message over `email.max_size_kb` (aiosmtpd checks the size as it reads);
- `451 4.3.0` when the desk could not file it (the database is away): the client retries.

`250` is said only after the transaction that filed or recorded the mail committed, so a mail that
was accepted is never lost.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from adapters.email.addresses import recipient
from adapters.email.inbound import MailDesk

log = logging.getLogger(__name__)


class Handler:
    """aiosmtpd's handler hooks over the desk's inbound decision point."""

    def __init__(self, mail: MailDesk) -> None:
        self.mail = mail

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        config = self.mail.desk.config
        if recipient(config, self.mail.secret, address) is None:
            return "550 5.1.1 No such mailbox here"
        if len(envelope.rcpt_tos) >= config.email.max_recipients:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or (envelope.content if isinstance(envelope.content, bytes) else b"")
        try:
            outcome = await self.mail.receive(bytes(raw), list(envelope.rcpt_tos),
                                              envelope_sender=envelope.mail_from or "")
        except Exception:
            log.exception("email: a received mail could not be handled; the sender is asked to try again")
            return "451 4.3.0 Temporary failure, please try again later"
        log.info("email: received mail %s%s", outcome.outcome, f" #{outcome.number}" if outcome.number else "")
        return "250 2.0.0 OK"


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:2525` for IPv6) as host and port; ValueError with what was expected."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"ZONEDESK_SMTP_LISTEN must be HOST:PORT (e.g. 0.0.0.0:2525), not '{value}'")
    return (host.strip("[]") or "0.0.0.0"), int(port)  # noqa: S104  (a receiver listens where it is told)


async def start_receiver(mail: MailDesk, host: str, port: int, *, hostname: str | None = None) -> asyncio.Server:
    """Listen for SMTP on the running loop; returns the server (close it to stop)."""
    loop = asyncio.get_running_loop()
    handler = Handler(mail)
    limit = mail.desk.config.email.max_size_kb * 1024

    def protocol() -> Any:
        return SMTP(handler, data_size_limit=limit, enable_SMTPUTF8=True, hostname=hostname or "zonedesk",
                    ident="Zonedesk", loop=loop)

    server = await loop.create_server(protocol, host=host, port=port)
    log.info("email: SMTP receiver listening on %s:%s", host, port)
    return server
