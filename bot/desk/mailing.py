"""Mail about a request, queued from inside a unit of work: the one way a feature (outside collaborators,
consultation, sign-in links) mails someone. The e-mail channel (`adapters/email`) sends the rows; the core
never imports it, so the row's shape is defined here and the channel's sender reads it.

A mail about a request threads with the request's mail (when it came by mail) and answers to the request's
reply address. `kind` is the outbox kind: `thread_reply` is a person's mail, any other kind is automatic
(and counts against the per-address hourly cap). Nothing is queued when mail out is not configured.
"""

from __future__ import annotations

from bot.delivery.messages import Message
from bot.desk.unit import Tx
from bot.model import Request

MAIL = "email"  # the e-mail channel's platform name


async def queue_mail(tx: Tx, address: str, message: Message, *, request: Request | None,
                     kind: str = "thread_reply", zone_id: str | None = None) -> None:
    """Queue a mail to `address` in this transaction (see the module's words)."""
    if MAIL not in tx.unit.channels:
        return
    address = address.lower()
    thread = (request.origin_thread or request.origin_message) if request is not None and \
        request.origin_platform == MAIL else None
    tx.enqueue(platform=MAIL, kind=kind, request_id=request.id if request is not None else None,
               conversation=f"{address}:{thread or ''}",
               target={"channel": address, "thread": thread,
                       "workspace": zone_id or (request.zone_id if request is not None else None)},
               message=message, language=message.language)
