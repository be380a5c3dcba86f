"""The inbound decision point for mail: file it, add it to its request, or only record it.

Every received mail, from the SMTP receiver or an IMAP mailbox, comes here (`MailDesk.receive`), once
per key (its Message-ID, else the mailbox's UIDVALIDITY and UID, else a digest of its bytes): the
desk's `dedupe_key` claims the key in the same transaction as the change, so a mail fetched twice
after a crash is filed once.

The rules (decision 0016, README "E-mail"):

1. **Which request it answers.** Our own Message-IDs (and those of mail that filed or commented on a
   request) in In-Reply-To/References first; then a `[#42]` in the subject, but only when the sender
   is a party to request 42 (its requester, or staff who may work it); then the request a valid
   per-request reply address names (`it+r42-TOKEN@`).
2. **Whether the sender is who they say.** A `From` can be forged. The sender is *verified* for a
   request when the mail reached that request's reply address (the TOKEN is only in our mail), or,
   with `email.dkim: true`, when a DKIM signature of the sender's own domain verifies. A verified
   party's mail is a comment (the requester) or a public reply (an agent of the request, delivered to
   the requester). Anything else that names a request (someone else quoting the number, a forward to
   the zone's plain address, a reply from a person who was only in Cc) is filed as a new request of
   its sender: it never reaches the request it quotes, and never says whether that request exists.
3. **New requests.** Mail from the organisation's domains (`addresses.mail_domains`) files a request
   in the zone whose address it reached; without a verified sender the request is marked "sender not
   verified" in its history (`mail_unverified`), which the requester and the zone's agents read. Mail
   from outside the organisation is recorded and not filed (no answer either: a service desk that
   answers strangers is a spam relay); `parties` lets a feature (outside collaborators, consulted
   colleagues) accept an address it invited as a party to one request, and `guest_mail` is what their
   verified mail becomes (`Desk.guest_mail`: a collaborator's comment, a colleague's internal note).
4. **Automatic mail** (`parse.Mail.automatic`) is filed or commented like any other and remembered as
   automatic: nothing automatic is sent back to its thread (`sender.EmailSender`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.email import threads
from adapters.email.addresses import Recipient, mail_domains, recipient
from adapters.email.parse import Mail, read_mail
from bot.access import Actor, Level
from bot.desk import Desk
from bot.desk.history import REQUESTER, Sentence, Words, register
from bot.desk.intake import title_from_text
from bot.desk.receive import handled, mark_handled
from bot.desk.types import EventView, Origin
from bot.desk.unit import TEXT_MAX, TITLE_MAX, Tx
from bot.errors import DeskError, Duplicate, NotFound
from bot.i18n import _
from bot.model import Identity, Request

log = logging.getLogger(__name__)

PLATFORM = "email"
UNVERIFIED = "mail_unverified"  # the history event that marks a request filed by an unverified sender
_SUBJECT_NUMBER = re.compile(r"\[#(\d{1,12})\]")
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv|vs|antw|wg|rif|odp|r|i)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)

# A feature that lets more addresses write on a request (outside collaborators, consulted colleagues) answers
# here: (the session already open, desk, request number, sender address) -> whether that address is a party
# to the request. It reads in the given session: under SQLite a second session would wait for the one
# connection this one holds.
PartyCheck = Callable[[AsyncSession, Desk, int, str], Awaitable[bool]]
# ...and what becomes of such a guest's verified mail: (desk, actor, number, text, dedupe_key=) -> an outcome
# word ("comment", "note"); DeskError/NotFound when it may not write after all.
GuestMail = Callable[..., Awaitable[str]]
DkimCheck = Callable[[bytes, str], Awaitable[bool]]


@dataclass(frozen=True)
class MailOutcome:
    """What became of a received mail."""

    outcome: str  # "filed" | "comment" | "reply" | "duplicate" | "ignored"
    number: int | None = None
    verified: bool = False
    reason: str = ""


@dataclass
class MailDesk:
    """Received mail into desk calls (the same use cases as chat: `file_request`, `comment`, `reply`)."""

    desk: Desk
    secret: bytes
    dkim: DkimCheck | None = None  # set when `email.dkim` is on (`dkim_check`)
    parties: list[PartyCheck] = field(default_factory=list)
    guest_mail: GuestMail | None = None  # where a verified guest's mail goes (`parties` said they are one)
    own_domain: str = "zonedesk.invalid"  # the domain of our Message-IDs

    def key(self, mail: Mail, fallback: str | None) -> str:
        """The inbound key: the Message-ID, else the caller's (mailbox, UIDVALIDITY, UID), else a digest."""
        if mail.message_id:
            return "email:mid:" + hashlib.sha256(mail.message_id.encode()).hexdigest()
        if fallback:
            return "email:" + fallback[:280]
        return "email:raw:" + hashlib.sha256(mail.raw).hexdigest()

    async def receive(self, raw: bytes, recipients: Sequence[str], *, envelope_sender: str | None = None,
                      key: str | None = None, zone_id: str | None = None) -> MailOutcome:
        """Decide and do, exactly once per key. `recipients`: the envelope's (SMTP) or the headers' (IMAP);
        `zone_id`: the mailbox's zone when the recipients name none (IMAP)."""
        config = self.desk.config
        own = (self.own_domain.lower(),)
        mail = read_mail(raw, envelope_sender=envelope_sender, own_domains=own)
        dedupe = self.key(mail, key)
        if await handled(self.desk, dedupe):
            return MailOutcome("duplicate", reason="seen before")
        addresses = list(recipients) or [*mail.to, *mail.cc]  # IMAP: no envelope, the headers say
        reached = [r for r in (recipient(config, self.secret, a) for a in addresses) if r is not None]
        if not reached and zone_id is not None and config.zone(zone_id) is not None:
            reached = [Recipient(config.zone(zone_id))]  # type: ignore[arg-type]
        if not reached:
            return await self._ignore(dedupe, "no zone address among the recipients")
        if not mail.sender:
            return await self._ignore(dedupe, "no sender address")
        if recipient(config, self.secret, mail.sender) is not None:
            return await self._ignore(dedupe, "sent from a zone's own address")  # our own mail come back: a loop
        to_request = next((r for r in reached if r.number is not None), reached[0])
        actor = await self._actor(mail)
        candidate, verified = await self._thread(mail, actor, to_request)
        if candidate is not None:
            request, level = candidate
            if verified:
                return await self._answer(mail, actor, request, level, dedupe)
        inside = mail.sender.rsplit("@", 1)[-1] in mail_domains(config)
        if not inside:
            return await self._ignore(dedupe, "sender outside the organisation")
        if not (mail.text or mail.subject):
            return await self._ignore(dedupe, "empty mail")
        signed = await self._dkim(mail)
        return await self._file(mail, actor, to_request.zone.id, dedupe, verified=signed)

    async def _thread(self, mail: Mail, actor: Actor, reached: Recipient
                      ) -> tuple[tuple[Request, Level] | None, bool]:
        """The request this mail answers and whether its sender is verified for it (see the module's rules)."""
        async with self.desk.sessions() as session:
            number = await threads.request_for(session, mail.thread_ids)
            by_subject = None
            if number is None:
                found = _SUBJECT_NUMBER.search(mail.subject)
                by_subject = int(found.group(1)) if found else None
            number = number or by_subject or reached.number
            if number is None:
                return None, False
            request = await session.get(Request, number)
            if request is None:
                return None, False
            level = self.desk.policy.level(actor, request)
            party = request.requester_email == actor.email or level >= Level.AGENT
            for check in self.parties:
                party = party or await check(session, self.desk, request.id, actor.email)
            if not party:
                return None, False
            session.expunge(request)
        verified = reached.number == number or await self._dkim(mail)
        return (request, level), verified

    async def _dkim(self, mail: Mail) -> bool:
        if self.dkim is None:
            return False
        try:
            return await self.dkim(mail.raw, mail.sender.rsplit("@", 1)[-1])
        except Exception:
            log.warning("email: DKIM check failed for a mail from %s", mail.sender)
            return False

    async def _actor(self, mail: Mail) -> Actor:
        """The sender as the directory knows them (`app.yaml`, then a chat platform's name), else the mail's."""
        name = mail.sender_name or None
        if self.desk.config.person(mail.sender) is None:
            async with self.desk.sessions() as session:
                known = (await session.execute(select(Identity.name).where(
                    Identity.email == mail.sender, Identity.name != ""))).scalars().first()
            name = known or name
        return self.desk.actor(mail.sender, name, channel=PLATFORM)

    async def _answer(self, mail: Mail, actor: Actor, request: Request, level: Level, key: str) -> MailOutcome:
        number = request.id
        text = (mail.reply_text or mail.text)[:TEXT_MAX]
        if not text.strip():
            return await self._ignore(key, "an empty reply", number)
        async def files(tx: Tx, request: Request, comment_id: int) -> None:
            await self._store_files(tx, mail, actor, request.id, comment_id)

        try:
            if level >= Level.AGENT and request.requester_email != actor.email:
                await self.desk.reply(actor, number, text, dedupe_key=key, after=files)
                outcome = "reply"
            elif request.requester_email == actor.email:
                added = await self.desk.comment(actor, number, text, dedupe_key=key, from_thread=True, after=files)
                if added is None:
                    return await self._ignore(key, "not a party", number)
                outcome = "comment"
            elif self.guest_mail is not None:  # a party only by a feature's say (`parties`)
                outcome = await self.guest_mail(self.desk, actor, number, text, dedupe_key=key)
            else:
                return await self._ignore(key, "not a party", number)
        except Duplicate:
            return MailOutcome("duplicate", number, True, "seen before")
        except (NotFound, DeskError) as exc:
            # A closed request takes no comment: the mail becomes a request of its own, as chat would say.
            log.info("email: reply to #%s filed as a new request (%s)", number, exc)
            return await self._file(mail, actor, request.zone_id, key, verified=True)
        async with self.desk.transaction() as tx:
            await threads.remember(tx.session, mail.message_id, number, direction="in", address=mail.sender,
                                   automatic=mail.automatic is not None, at=tx.now)
        return MailOutcome(outcome, number, True)

    async def _file(self, mail: Mail, actor: Actor, zone_id: str, key: str, *, verified: bool) -> MailOutcome:
        title = clean_subject(mail.subject) or title_from_text(mail.text) or _("(no subject)")
        description = mail.text[:TEXT_MAX] or title
        origin = Origin(platform=PLATFORM, workspace=zone_id, channel=mail.sender,
                        thread=(mail.message_id or "")[:200] or None, message=(mail.message_id or "")[:200] or None,
                        user=mail.sender)

        async def after(tx: Tx, request: Request) -> None:
            await threads.remember(tx.session, mail.message_id, request.id, direction="in", address=mail.sender,
                                   automatic=mail.automatic is not None, at=tx.now)
            if not verified:
                await tx.record(request, actor, UNVERIFIED, address=mail.sender)
            if mail.automatic is not None:
                await tx.record(request, actor, "mail_automatic", reason=mail.automatic)
            await self._store_files(tx, mail, actor, request.id, None)

        try:
            filed = await self.desk.file_request(actor, origin, title[:TITLE_MAX], description, zone_id=zone_id,
                                                 dedupe_key=key, link_origin_thread=False, after=after)
        except Duplicate:
            return MailOutcome("duplicate", reason="seen before")
        return MailOutcome("filed", filed.number, verified)

    async def _store_files(self, tx: Tx, mail: Mail, actor: Actor, number: int, comment_id: int | None) -> None:
        """The mail's files on the request (or its comment), in the same transaction (`bot.files`). A file over
        the store's limit is left out, and the history says which; the mail itself is kept."""
        if not mail.attachments or getattr(tx.unit, "files", None) is None:
            return
        from bot.files import FileTooLarge, store_attachment

        for attached in mail.attachments:
            try:
                await store_attachment(tx, number, comment_id, attached.filename, attached.content_type,
                                       attached.data, uploader=actor, public=True)
            except FileTooLarge:
                log.info("email: a file over the store's limit was left out of a mail on #%s", number)
                request = await tx.find(number)
                if request is not None:
                    await tx.record(request, actor, "mail_file_dropped", filename=attached.filename,
                                    size=len(attached.data))

    async def _ignore(self, key: str, reason: str, number: int | None = None) -> MailOutcome:
        log.info("email: a mail was recorded and not filed: %s", reason)
        await mark_handled(self.desk, key, PLATFORM)
        return MailOutcome("ignored", number, reason=reason)


def clean_subject(subject: str) -> str:
    """A request title from a subject: reply and forward prefixes and `[#N]` tokens taken off."""
    text = _SUBJECT_NUMBER.sub(" ", subject)
    text = _SUBJECT_PREFIX.sub("", text)
    return " ".join(text.split())[:TITLE_MAX]


def dkim_check(dns: Callable[..., Any] | None = None) -> DkimCheck:
    """A DKIM check with dkimpy (off the event loop: it asks DNS): a signature of the sender's own domain
    (or a parent of it) that verifies. `dns` replaces the DNS lookup (tests)."""
    import dkim

    def verify(raw: bytes, domain: str) -> bool:
        checker = dkim.DKIM(raw)
        signatures = checker.present() and len([h for h in checker.headers if h[0].lower() == b"dkim-signature"])
        for index in range(int(signatures or 0)):
            ok = checker.verify(idx=index, dnsfunc=dns) if dns is not None else checker.verify(idx=index)
            signer = (checker.domain or b"").decode(errors="replace").lower()
            if ok and (domain == signer or domain.endswith("." + signer)):
                return True
        return False

    async def check(raw: bytes, domain: str) -> bool:
        return await asyncio.to_thread(verify, raw, domain.lower())

    return check


def _unverified(w: Words, e: EventView) -> Sentence:
    """A mail filed it whose sender could not be verified (no per-request token, no DKIM)."""
    return Sentence(_("Sender not verified: this came by e-mail from {address}, which may have been forged.",
                      address=str(e.data.get("address") or "")), REQUESTER)


def _automatic(w: Words, e: EventView) -> Sentence:
    """The mail was sent automatically (an auto-reply): nothing automatic answers it."""
    return Sentence(_("This came by an automatic e-mail ({reason}); no automatic answer is sent.",
                      reason=str(e.data.get("reason") or "")), REQUESTER)


def _file_dropped(w: Words, e: EventView) -> Sentence:
    """A file of a mail was over the store's limit and is not on the request."""
    return Sentence(_("The file {name} that came with an e-mail was too large to keep.",
                      name=str(e.data.get("filename") or "")), REQUESTER)


register("mail_file_dropped", _file_dropped)
register(UNVERIFIED, _unverified)
register("mail_automatic", _automatic)
