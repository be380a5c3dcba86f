"""IMAP polling of a zone's mailbox (`zones[].imap`), with imap-tools off the event loop.

Each round (`every_seconds`, a background job of `serve`) logs in, reads the folder's UIDVALIDITY and
the UIDs above the last one filed, and fetches those messages with `BODY.PEEK[]` (nothing is marked
read, moved or deleted: the mailbox stays the organisation's record). The blocking IMAP calls run in a
thread (`asyncio.to_thread`); each message is then handed to the inbound decision point on the loop,
and only after that committed is the mailbox's `last_uid` moved past it (`mailbox_states`). A crash
between the fetch and the commit fetches the message again next round, and its inbound key (the
Message-ID, else mailbox + UIDVALIDITY + UID) files it once. A changed UIDVALIDITY (the server
renumbered the folder) reads the folder again from its start, with the same protection.

aioimaplib is GPL, so it is not used; imap-tools (Apache-2.0) wraps the standard library's imaplib.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass

from sqlalchemy import select

from adapters.email.inbound import MailDesk
from bot.config import ImapMailbox, Zone
from bot.model import MailboxState

log = logging.getLogger(__name__)

BATCH = 50  # messages fetched per round and mailbox
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


@dataclass(frozen=True)
class Fetched:
    """One round's read of a mailbox."""

    uidvalidity: int
    messages: tuple[tuple[int, bytes], ...]  # (uid, raw bytes), oldest first


def fetch(box: ImapMailbox, password: str, after_uid: int, known_validity: int | None) -> Fetched:
    """Blocking: the folder's UIDVALIDITY and up to BATCH messages above `after_uid` (all from the start when
    the UIDVALIDITY is not the known one)."""
    from imap_tools import MailBox, MailBoxUnencrypted

    client = MailBox(box.host, box.port, timeout=30) if box.tls else MailBoxUnencrypted(box.host, box.port, timeout=30)
    try:
        logged_in = client.login(box.user, password, initial_folder=box.folder)
    except Exception:
        with suppress(Exception):
            client.client.shutdown()  # a refused login leaves the connection open otherwise
        raise
    with logged_in as mailbox:
        status = mailbox.folder.status(box.folder, ["UIDVALIDITY"])
        validity = int(status["UIDVALIDITY"])
        start = after_uid if validity == known_validity else 0
        uids = sorted(int(u) for u in mailbox.uids(f"UID {start + 1}:*") if int(u) > start)[:BATCH]
        messages = []
        for uid in uids:
            kind, data = mailbox.client.uid("FETCH", str(uid), "(BODY.PEEK[])")
            raw = next((part[1] for part in data if isinstance(part, tuple) and len(part) > 1), None)
            if kind == "OK" and isinstance(raw, bytes):
                messages.append((uid, raw))
        return Fetched(validity, tuple(messages))


class MailboxPoller:
    """Reads one zone's mailbox into the desk."""

    def __init__(self, mail: MailDesk, zone: Zone, env: Mapping[str, str]) -> None:
        assert zone.imap is not None
        self.mail = mail
        self.zone = zone
        self.box: ImapMailbox = zone.imap
        self.env = env
        self.name = f"{zone.id}:{self.box.user}@{self.box.host}/{self.box.folder}"[:300]

    async def poll(self) -> None:
        """One round (a background job of `serve`)."""
        await self.read()

    async def read(self) -> int:
        """One round; returns how many messages were handed to the desk."""
        password = self.env.get(self.box.password_env)
        if not password:
            log.warning("email: %s is not set; the mailbox of zone %s is not read", self.box.password_env,
                        self.zone.id)
            return 0
        desk = self.mail.desk
        async with desk.sessions() as session:
            state = await session.get(MailboxState, self.name)
            validity, last = (state.uidvalidity, state.last_uid) if state is not None else (None, 0)
        fetched = await asyncio.to_thread(fetch, self.box, password, last, validity)
        if fetched.uidvalidity != validity:
            last = 0
            if validity is not None:
                log.warning("email: UIDVALIDITY of %s changed; reading it again (filed mail is not filed twice)",
                            self.name)
        for uid, raw in fetched.messages:
            key = f"imap:{self.name}:{fetched.uidvalidity}:{uid}"
            await self.mail.receive(raw, [], key=key, zone_id=self.zone.id)
            await self._advance(fetched.uidvalidity, uid)
        if not fetched.messages and fetched.uidvalidity != validity:
            await self._advance(fetched.uidvalidity, last)
        return len(fetched.messages)

    async def _advance(self, validity: int, uid: int) -> None:
        desk = self.mail.desk
        async with desk.transaction() as tx:
            state = (await tx.session.execute(select(MailboxState).where(
                MailboxState.mailbox == self.name))).scalar_one_or_none()
            if state is None:
                tx.session.add(MailboxState(mailbox=self.name, uidvalidity=validity, last_uid=uid,
                                            checked_at=tx.now))
            else:
                state.uidvalidity, state.last_uid, state.checked_at = validity, uid, tx.now
