"""One-time sign-in links: signed, expiring, single use (the use is recorded in the database), each landing
on a page of the site; and links asked for on the sign-in page, sent to the person's chat.

A link is `/login/<token>`: a random id (`login_tokens.jti`) signed with the server key, and, when it is
meant to open a page (a request's), that page's path, signed with it so nobody can bend it elsewhere.
The path must be on this site (`landing_path`): anything else is refused when the link is made and
ignored when it is redeemed.

Where links come from: `zonedesk login-link` (an operator), `/desk web` in chat and the Slack App Home's
and Teams' "Open Zonedesk" buttons (`bot.desk.commands`, answered privately to the person who asked),
and the sign-in page's "send me a link" (`SignIn.send_link`): someone types an address, and if the desk
knows that person in a live chat channel, the link goes to *their* direct messages there (`Tx.to_person`,
written in their language). The page says the same whether or not the address is known, so it tells
nobody who has an account, and it is rate limited per address and per client (`SENDS_PER_ADDRESS`,
`SENDS_PER_CLIENT` in `SEND_WINDOW`). The limits are rows of the `inbound` table, where every replica
sees them (a web form's one-time keys live there already): each address and client has that many slots,
a slot is taken by a conditional upsert that succeeds only when its last use is older than the window,
so at most that many sends fall in any window, across replicas, with no new table; the rows hold keyed
hashes, not the addresses typed, and go with the inbound table's retention. When the e-mail channel
exists, "e-mail me a link" is one more way of reaching the person in `send_link` (see the note there).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.delivery.messages import Message
from bot.errors import DeskError
from bot.i18n import N_, _
from bot.model import Inbound, LoginToken

if TYPE_CHECKING:  # the unit of work is handed in by the caller; nothing here imports the desk's use cases
    from collections.abc import Awaitable, Callable

    from bot.desk.unit import Tx, Unit

    # "E-mail me a link": a channel that mails an address itself (adapters/email) queues the message a builder
    # makes in the transaction it is given, and says whether it did (it mails only addresses it may).
    MailLink = Callable[[Tx, str, Callable[[], Message]], Awaitable[bool]]

LINK_TTL = timedelta(minutes=15)
# The shape `app.yaml` accepts for people's addresses (bot.config.Email): one "@", a dot in the domain, no spaces.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EMAIL_MAX = 254  # the longest address SMTP allows
LANDING_MAX = 500
# Why a link does not sign in (said in the reader's language where refused).
NOT_VALID = N_("This sign-in link is not valid. Ask for a new one.")
EXPIRED = N_("This sign-in link has expired. Ask for a new one.")
USED = N_("This sign-in link was already used. Ask for a new one.")
# The sign-in page's "send me a link": at most this many sends per address, and per client (its network
# address), in any window of this length. A person who mistypes twice still gets in; nobody can flood a
# colleague's chat with links, nor try many addresses quickly from one place.
SEND_WINDOW = LINK_TTL
SENDS_PER_ADDRESS = 3
SENDS_PER_CLIENT = 10
LIMIT_SOURCE = "signin"  # `inbound.source` of the limits' slots


class Asked(Enum):
    """What became of a link asked for on the sign-in page (the page says SENT and UNKNOWN alike)."""

    SENT = "sent"  # queued to the person's direct messages in at least one live chat channel
    UNKNOWN = "unknown"  # nobody by that address in a live chat channel: nothing sent, nothing minted
    LIMITED = "limited"  # too many asked for that address, or from that client, just now


def email_address(text: str) -> str:
    """`text` as the e-mail address a link signs in (trimmed, lower case); DeskError when it is none."""
    email = text.strip().lower()
    if len(email) > EMAIL_MAX or not EMAIL.match(email):
        raise DeskError(_("'{text}' is not an e-mail address; give one like you@example.com.", text=text.strip()[:80]))
    return email


def same_site(path: str | None) -> str | None:
    """`path` if it is an address on this site (`/requests/3?tab=x`), else None: it comes from a browser
    (or a link), so it must not send anyone elsewhere (`//evil.example`, `https:...`, `/\\evil.example`)."""
    if not path or len(path) > LANDING_MAX or not path.startswith("/") or path.startswith(("//", "/\\")):
        return None
    if any(c in path for c in "\\") or not path.isprintable():
        return None
    return path


def landing_path(path: str | None) -> str | None:
    """Where a sign-in link may land: a same-site page that is not itself part of signing in or out (a
    link landing on a spent link's page would only say it is spent); None for the default (the desk for
    staff, the portal for everyone else)."""
    path = same_site(path)
    if path is None or path.split("?", 1)[0].rstrip("/") in {"", "/login", "/logout"} \
            or path.startswith("/login/"):
        return None
    return path


class SignIn:
    """Creates, checks and redeems sign-in links for the web channel, and sends them to people's chats."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock, key: bytes, base_url: str) -> None:
        self.sessions = sessions
        self.clock = clock
        self.serializer = URLSafeSerializer(key, salt="zonedesk-login")
        self._hash_key = hashlib.sha256(b"zonedesk-signin-limit:" + key).digest()
        self.base_url = base_url.rstrip("/")

    async def create_link(self, email: str, ttl: timedelta = LINK_TTL, *, landing: str | None = None) -> str:
        """A URL that signs `email` in once, within `ttl`, and then opens `landing` (a path of this site;
        None: the desk for staff, the portal for everyone else). DeskError when `email` is not an e-mail
        address; ValueError when `landing` is not a page of this site."""
        address = email_address(email)
        async with self.sessions() as session, session.begin():
            return self._mint(session, address, _checked(landing), self.clock.now(), ttl)

    def _mint(self, session: AsyncSession, address: str, landing: str | None, now: datetime,
              ttl: timedelta = LINK_TTL) -> str:
        """Add a token row to `session` (committed by the caller) and return its link."""
        jti = secrets.token_urlsafe(24)
        session.add(LoginToken(jti=jti, email=address, created_at=now, expires_at=now + ttl))
        # Without a landing the token is the id alone, as links always were.
        token = self.serializer.dumps([jti, landing] if landing else jti)
        return f"{self.base_url}/login/{token}"

    def _read(self, token: str) -> tuple[str, str | None]:
        """The (id, landing) a token carries; DeskError when it was not signed by this server."""
        try:
            data = self.serializer.loads(token)
        except BadSignature as exc:
            raise DeskError(_(NOT_VALID)) from exc
        if isinstance(data, str):
            return data, None
        if isinstance(data, list) and len(data) == 2 and isinstance(data[0], str) and isinstance(data[1], str):
            return data[0], data[1]
        raise DeskError(_(NOT_VALID))

    def landing(self, token: str) -> str | None:
        """The page a link opens once redeemed, if it names one of this site (else None: the default)."""
        return landing_path(self._read(token)[1])

    async def check(self, token: str) -> str:
        """The e-mail a link would sign in, without using it up; DeskError when forged, expired or used.

        Opening a link only looks (chat apps and mail scanners fetch links to preview them), so the
        page can say at once that the link no longer works; only `redeem` spends it.
        """
        jti = self._read(token)[0]
        async with self.sessions() as session:
            row = await session.get(LoginToken, jti)
            if row is None:
                raise DeskError(_(NOT_VALID))
            if row.expires_at <= self.clock.now():
                raise DeskError(_(EXPIRED))
            if row.used_at is not None:
                raise DeskError(_(USED))
            return row.email

    async def redeem(self, token: str) -> str:
        """The e-mail a link signs in; raises DeskError when forged, expired or already used."""
        jti = self._read(token)[0]
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            row = await session.get(LoginToken, jti)
            if row is None:
                raise DeskError(_(NOT_VALID))
            if row.expires_at <= now:
                raise DeskError(_(EXPIRED))
            used = await session.execute(
                update(LoginToken).where(LoginToken.jti == row.jti, LoginToken.used_at.is_(None))
                .values(used_at=now).execution_options(synchronize_session=False))
            if used.rowcount != 1:  # type: ignore[attr-defined]
                raise DeskError(_(USED))
            return row.email

    # ---------------------------------------------------------------- "send me a link"
    async def send_link(self, unit: Unit, email: str, *, landing: str | None, client: str,
                        mailer: MailLink | None = None) -> Asked:
        """The sign-in page's "send me a sign-in link": a link for `email`, landing on `landing`, to that
        person's direct messages in every live chat channel where the desk knows them, in their language.

        `client` names who asks (their network address): it is limited like the address. DeskError when
        `email` is no e-mail address. Nothing is minted for an address nobody has in chat. With `mailer`
        ("e-mail me a link", the e-mail channel's), the link goes to the address by mail instead, under the
        same limits, and only where the mailer may send it.
        """
        address = email_address(email)
        target = landing_path(landing)
        async with unit.transaction() as tx:
            if not await self._take_slot(tx.session, "client", client, SENDS_PER_CLIENT, tx.now):
                return Asked.LIMITED
            if not await self._take_slot(tx.session, "address", address, SENDS_PER_ADDRESS, tx.now):
                return Asked.LIMITED
            minted: list[str] = []

            def message() -> Message:
                # Called by `to_person` only when the person has a live chat to receive it, in their language:
                # the link is minted in the same transaction as the message that carries it, or not at all.
                link = self._mint(tx.session, address, target, tx.now)
                minted.append(link)
                return Message(
                    title=_("Your sign-in link"),
                    text=_("Someone asked for a sign-in link to Zonedesk on its sign-in page. If that was you, "
                           "open it below: it works once, within 15 minutes. If it was not, ignore this message; "
                           "the link expires by itself."),
                    link=link, link_label=_("Open Zonedesk"))

            if mailer is not None:
                await mailer(tx, address, message)
            else:
                await tx.to_person(address, message, None)
        return Asked.SENT if minted else Asked.UNKNOWN

    async def _take_slot(self, session: AsyncSession, kind: str, who: str, slots: int, now: datetime) -> bool:
        """Take one of `who`'s `slots` sends in `SEND_WINDOW`: a slot is free when it was never used or last
        used a window ago. One upsert per slot tried, so two replicas cannot both take the same slot."""
        digest = hmac.new(self._hash_key, f"{kind}:{who}".encode(), hashlib.sha256).hexdigest()[:40]
        cutoff = now - SEND_WINDOW
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        for slot in range(slots):
            insert = dialect.insert(Inbound).values(key=f"{LIMIT_SOURCE}:{kind}:{digest}:{slot}", source=LIMIT_SOURCE,
                                                    received_at=now, processed_at=now, attempts=0)
            taken = insert.on_conflict_do_update(
                index_elements=[Inbound.key], set_={"received_at": now, "processed_at": now},
                where=Inbound.received_at < cutoff).returning(Inbound.key)
            if (await session.execute(taken)).first() is not None:
                return True
        return False


def _checked(landing: str | None) -> str | None:
    """A landing given by the desk itself: a page of this site, or a mistake in the code that asked."""
    if landing is None:
        return None
    found = landing_path(landing)
    if found is None:
        raise ValueError(f"a sign-in link may only land on a page of this site, not {landing[:80]!r}")
    return found


async def prune_tokens(sessions: async_sessionmaker[AsyncSession], now: datetime, keep: timedelta = timedelta(days=1),
                       limit: int = 5000) -> int:
    """Delete sign-in links and spent single-sign-on states that expired more than `keep` ago; at most
    `limit` rows a call (the retention job calls again while a backlog lasts). Returns how many went.

    Nothing is lost: an expired link is refused whether or not its row is there (a missing row reads as
    not valid), and a spent state's attempt expired with it, so a replay is refused by its age."""
    async with sessions() as session, session.begin():
        old = select(LoginToken.jti).where(LoginToken.expires_at < now - keep).limit(limit).scalar_subquery()
        result = await session.execute(delete(LoginToken).where(LoginToken.jti.in_(old))
                                       .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
