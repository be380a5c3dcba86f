"""The unit of work every use case is written on: a transaction, a request loaded for an actor, a
change recorded, messages queued.

A use case (in this package or a feature module beside it: approvals, surveys, the scheduler's jobs)
opens `Unit.transaction()`, loads the request with `Tx.load` at the access level it needs, changes
it, calls `Tx.record` (the history event, the priority where it applies, the scheduler's timers),
and queues what people should hear with `Tx.to_thread`, `Tx.to_person` or `Tx.to_triage`. All of it
commits together: history events and outbox rows are inserted with one statement each just before
commit, and the delivery worker is woken after it. Nothing here names a platform: messages go to the
channels declared live with `Unit.enable`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.access import Actor, Level, Policy, actor_for
from bot.clock import Clock
from bot.config import AppConfig, Zone
from bot.delivery.channels import ChannelInfo
from bot.delivery.messages import Message
from bot.delivery.outbox import outbox_row
from bot.desk.approvers import level_of
from bot.desk.writes import claim_key
from bot.errors import DeskError, NotFound
from bot.i18n import N_, _, choose, current, normalise, speaking
from bot.model import Event, Identity, Outbox, Request
from bot.people.languages import SavedChoices, language_code, language_for, save_language

TITLE_MAX = 200
_HINTS_KEPT = 50_000  # people whose client's language a process remembers
TEXT_MAX = 20_000


class Timers(Protocol):
    """What the scheduler needs to hear about: arm, re-arm or cancel timers inside the same transaction."""

    async def request_changed(self, session: AsyncSession, request: Request, now: datetime, kind: str) -> None:
        """Called after every change to a request, before commit."""
        ...


# What a person is told when a text they wrote is empty or too long, one pair of whole sentences per text
# (word order and gender differ by language): (empty, too long). `clean_text` is given the key.
TEXT_REFUSALS: dict[str, tuple[str, str]] = {
    "title": (N_("The title is empty; write a few words."),
              N_("The title is too long ({length} characters; at most {limit}).")),
    "description": (N_("The description is empty; write a few words."),
                    N_("The description is too long ({length} characters; at most {limit}).")),
    "resolution note": (N_("The resolution note is empty; write a few words."),
                        N_("The resolution note is too long ({length} characters; at most {limit}).")),
    "reason": (N_("The reason is empty; write a few words."),
               N_("The reason is too long ({length} characters; at most {limit}).")),
    "reply": (N_("The reply is empty; write a few words."),
              N_("The reply is too long ({length} characters; at most {limit}).")),
    "note": (N_("The note is empty; write a few words."),
             N_("The note is too long ({length} characters; at most {limit}).")),
    "message": (N_("The message is empty; write a few words."),
                N_("The message is too long ({length} characters; at most {limit}).")),
    "task title": (N_("The task title is empty; write a few words."),
                   N_("The task title is too long ({length} characters; at most {limit}).")),
    "task text": (N_("The task text is empty; write a few words."),
                  N_("The task text is too long ({length} characters; at most {limit}).")),
    "outcome": (N_("The outcome is empty; write a few words."),
                N_("The outcome is too long ({length} characters; at most {limit}).")),
}


def clean_text(value: str, what: str, *, required: bool, limit: int) -> str:
    """A person's text, stripped; refused with a sentence they can act on when empty or too long.

    `what` names the text, a key of `TEXT_REFUSALS` ("title", "reply"...), whose sentences say why.
    """
    value = (value or "").strip()
    empty, too_long = TEXT_REFUSALS[what]
    if required and not value:
        raise DeskError(_(empty))
    if len(value) > limit:
        said = current()
        raise DeskError(_(too_long, length=said.number(len(value)), limit=said.number(limit)))
    return value


def compute_priority(config: AppConfig, urgency: str, weight: str | None, category_id: str | None,
                     internal: str | None) -> str:
    """Requester's urgency x dispatcher's weight from the matrix, raised to any category floor."""
    prio = config.priority
    row = prio.matrix.get(urgency, {})
    level = row.get(weight or "normal", prio.default)
    candidates = [level] + [prio.floors[k] for k in (category_id, internal) if k and k in prio.floors]
    return max(candidates, key=prio.levels.index)


# A feature's reaction to a change recorded on any request, inside the same transaction (approvals are
# withdrawn when a request closes): registered with `reacts_to`, run by `Tx.record` after the event.
Reaction = Callable[["Tx", Request, Actor, str, dict[str, Any]], Awaitable[None]]
_REACTIONS: dict[str, list[Reaction]] = {}


def reacts_to(*kinds: str) -> Callable[[Reaction], Reaction]:
    """Register a reaction to changes of these kinds (`status`, `transferred`...): a feature module keeps
    its consequences to itself instead of the use case that made the change naming the feature."""

    def register(reaction: Reaction) -> Reaction:
        for kind in kinds:
            _REACTIONS.setdefault(kind, []).append(reaction)
        return reaction

    return register


# What a message for someone is given as: built already, or a builder (plain or async) that the unit of
# work calls while the recipient's language is spoken, so its `_()` words come out in that language.
Say = Message | Callable[[], Message] | Callable[[], Awaitable[Message]]

# Core tables: a multi-row INSERT through them compiles once, unlike the ORM's bulk path.
_EVENTS = cast(Table, Event.__table__)
_OUTBOX = cast(Table, Outbox.__table__)


@dataclass
class Tx:
    """One unit of work: the session, the instant every row of it is stamped with, and the history
    events and outbox rows it adds (inserted together, one statement each, just before commit)."""

    unit: Unit
    session: AsyncSession
    now: datetime
    events: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)  # inbound keys this transaction marks processed
    saved_languages: dict[str, str | None] = field(default_factory=dict)  # e-mail -> saved choice, read once

    # ---------------------------------------------------------------- requests
    async def load(self, actor: Actor, number: int, needed: Level, doing: str) -> Request:
        """The request, locked for this transaction where the database can, if the actor has `needed`.

        A request the actor may not know reads exactly as not found; one they may read but not act on
        says why, with `doing` ("reply to it", marked `N_` where it is written and said here in the
        actor's language: see `bot.access.Policy.require`).
        """
        request = await self.find(number)
        if request is None:
            raise NotFound(number)
        try:
            self.unit.policy.require(actor, request, needed, doing)
        except NotFound:
            # An approver may see the request (to decide) but never act on it: told so, not "not found".
            if needed > Level.APPROVER and await level_of(self.unit.policy, self.session, actor, request):
                raise DeskError(_("You can see request #{number} to decide its approval, but not {doing}.",
                                  number=number, doing=_(doing))) from None
            raise
        return request

    async def find(self, number: int) -> Request | None:
        """The request, locked where the database can, with no access check (the caller decides)."""
        query = select(Request).where(Request.id == number)
        if self.session.bind.dialect.name == "postgresql":
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def record(self, request: Request, actor: Actor, kind: str, *, reprioritise: bool = False,
                     **data: Any) -> None:
        """Record a change: its history event and the scheduler's timers; with `reprioritise`, the
        priority is computed again from urgency, weight and categories and written into the event."""
        if reprioritise:
            request.priority = compute_priority(self.unit.config, request.urgency, request.weight,
                                                request.category_id, request.internal_category)
            data["priority"] = request.priority
        if request.updated_at != self.now:  # a request filed in this transaction is left clean: no flush
            request.updated_at = self.now
        self.events.append({"request_id": request.id, "at": self.now, "actor_email": actor.email,
                            "actor_name": actor.name, "channel": actor.channel, "kind": kind, "data": data})
        if self.unit.timers is not None:
            await self.unit.timers.request_changed(self.session, request, self.now, kind)
        for reaction in _REACTIONS.get(kind, ()):
            await reaction(self, request, actor, kind, data)

    # ---------------------------------------------------------------- messages
    @property
    def wrote_outbox(self) -> bool:
        """The transaction queued outbound messages (the delivery worker should wake after commit)."""
        return bool(self.outbox)

    def enqueue(self, **values: Any) -> None:
        """Queue an outbound message with this transaction (see `bot.delivery.outbox.outbox_row`)."""
        self.outbox.append(outbox_row(self.now, **values))

    async def language_of(self, email: str | None, zone_id: str | None = None) -> str:
        """The language a person reads (`bot.people.languages`), read once per transaction; a channel's
        (no person) is its zone's. A platform's or browser's hint the unit saw for them counts."""
        if not email:
            return self.unit.channel_language(zone_id)
        key = email.strip().lower()
        if key not in self.saved_languages:
            await self.learn_languages([key])
        return self.unit.reading(key, self.saved_languages[key], self.unit.hints.get(key), zone_id)

    async def learn_languages(self, emails: Sequence[str]) -> None:
        """The saved languages of several people: as this process knows them (`SavedChoices`), the
        others read in one query (filing a burst asks this once)."""
        wanted = {e.strip().lower() for e in emails if e} - set(self.saved_languages)
        if not wanted:
            return
        self.saved_languages.update(await self.unit.choices.read(self.session, wanted))

    async def say(self, language: str, message: Say) -> Message:
        """A message in `language`: a builder is called while that language is spoken; a message built
        beforehand is taken as it is. Either way it is stamped with the language (`Message.language`)."""
        built = await _build(language, message)
        return built if built.language else replace(built, language=language)

    async def to_thread(self, request: Request, message: Say, *, kind: str = "thread_reply") -> None:
        """Post into the requester's original thread, if it came from a live channel with threads, in the
        requester's language."""
        if not self.unit.threaded(request.origin_platform) or not request.origin_channel:
            return
        language = await self.language_of(request.requester_email, request.zone_id)
        said = await _build(language, message)
        thread = request.origin_thread or request.origin_message
        self.enqueue(
            platform=request.origin_platform, kind=kind, request_id=request.id,
            conversation=f"{request.origin_channel}:{thread or ''}",
            target={"channel": request.origin_channel, "thread": thread, "workspace": request.origin_workspace,
                    "user": request.origin_user},
            message=said, language=language,
        )

    async def to_person(self, email: str | None, message: Say, request_id: int | None,
                        zone_id: str | None = None) -> None:
        """A direct message to a person on every live channel where we have seen them, in their language."""
        if not email:
            return
        rows = (await self.session.execute(
            select(Identity.platform, Identity.user_id).where(Identity.email == email.lower())
        )).all()
        live = [(platform, user_id) for platform, user_id in rows if platform in self.unit.channels]
        if not live:
            return
        language = await self.language_of(email, zone_id)
        said = await _build(language, message)
        for platform, user_id in live:
            self.enqueue(platform=platform, kind="dm", request_id=request_id, conversation=f"dm:{user_id}",
                         target={"user": user_id, "email": email}, message=said, language=language)

    async def to_channels(self, refs: Sequence[tuple[str, str]], message: Say, request_id: int, kind: str,
                          link_thread: str | None = None, *, zone_id: str | None = None) -> None:
        """Post in channels, given as (platform, channel id), in the zone's language (`Unit.channel_language`);
        those of channels not live are skipped."""
        live = [(platform, channel) for platform, channel in refs if platform in self.unit.channels]
        if not live:
            return
        language = self.unit.channel_language(zone_id)
        said = await _build(language, message)
        for platform, channel in live:
            self.enqueue(platform=platform, kind=kind, request_id=request_id,
                         conversation=f"{channel}:", target={"channel": channel}, message=said, language=language,
                         payload={"link_thread": link_thread} if link_thread else None)

    async def to_triage(self, zone_id: str, team_id: str | None, message: Say, request_id: int, kind: str,
                        link_thread: str | None = None) -> None:
        """Post where new work of a zone or team is announced (`Unit.triage_channels`)."""
        await self.to_channels(self.unit.triage_channels(zone_id, team_id), message, request_id, kind, link_thread,
                               zone_id=zone_id)

    async def write_rows(self) -> None:
        """Insert the queued events and outbox rows; called just before commit (which writes the rows
        held back with `store.defer`, new requests' timers and SLA clocks, if nothing did before)."""
        if self.events:
            await self.session.execute(insert(_EVENTS), self.events)
            self.events = []
        if self.outbox:
            await self.session.execute(insert(_OUTBOX), self.outbox)


async def _build(language: str, message: Say) -> Message:
    """A message as built while `language` is spoken (a builder, plain or async), or as given."""
    if not callable(message):
        return message
    with speaking(language):
        built = message()
        if not isinstance(built, Message):  # an async builder
            built = await built
    return built


class Unit:
    """Opens units of work over one configuration, database and clock, for the channels that are live."""

    def __init__(
        self,
        config: AppConfig,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        timers: Timers | None = None,
        on_commit: Callable[[], None] | None = None,
        on_settled: Callable[[Sequence[str]], None] | None = None,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.clock = clock
        self.policy = Policy(config)
        self.channels: dict[str, ChannelInfo] = {}
        self.timers = timers
        self.on_commit = on_commit
        self.on_settled = on_settled  # told the keys a commit marked processed (bot.delivery.inbox.Inbox.settled)
        # Forms and saved replies (bot.catalog.Catalog), set by the server: a request's form gives its
        # answers their order and words. Typed loosely: bot.catalog files requests through the desk.
        self.catalog: Any = None
        # The file store and the platforms' file sources (bot.files.Files), set by the server; typed loosely
        # for the same reason (bot.files records attachments through the unit of work).
        self.files: Any = None
        # What a person's platform or browser last said their language is (Slack's locale, Teams' activity
        # locale, Accept-Language), by e-mail: a hint for messages to them when they chose nothing. Kept
        # per process, and only a hint: a saved choice (`person_languages`) is read from the database.
        self.hints: dict[str, str] = {}
        # Sessions for long reads (analytics) that must not hold up the writer (`bot.store.reader_sessions`).
        self.readers: async_sessionmaker[AsyncSession] = sessions
        self.choices = SavedChoices(clock)  # people's saved languages, as this process last read them
        self._readings = lru_cache(maxsize=4096)(
            lambda _config, email, saved, hint, zone_id: language_for(self.config, email, saved, hint=hint,
                                                                      zone_id=zone_id).language)

    # ---------------------------------------------------------------- languages
    def hint(self, email: str | None, language: str | None) -> None:
        """Remember what a person's client says their language is (ignored when the desk does not speak it)."""
        code = normalise(language)
        if email and code is not None:
            if len(self.hints) >= _HINTS_KEPT and email.lower() not in self.hints:
                self.hints.pop(next(iter(self.hints)))  # the oldest: a bounded memory, not a directory
            self.hints[email.lower()] = code

    def reading(self, email: str, saved: str | None, hint: str | None, zone_id: str | None) -> str:
        """`bot.people.languages.language_for`, remembered: it is asked for every message queued, and its
        answer depends only on these and the (immutable) configuration."""
        return self._readings(id(self.config), email, saved, hint, zone_id)  # a new configuration: new answers

    def channel_language(self, zone_id: str | None) -> str:
        """The language of a channel post (triage, digests, reports): the zone's `language`, else the
        organisation's, else English."""
        zone = self.config.zone(zone_id) if zone_id else None
        return choose(zone.language if zone is not None else None, self.config.organisation.language)

    async def language(self, actor: Actor, zone_id: str | None = None) -> str:
        """The language an actor reads: their saved choice, else `app.yaml`'s, else their client's hint
        (`actor.extra["locale"]`, remembered for messages to them later), else the zone's or organisation's."""
        hint = actor.extra.get("locale")
        self.hint(actor.email, hint)
        saved = await self.saved_choice(actor.email)
        return language_for(self.config, actor.email, saved, hint=hint, zone_id=zone_id).language

    async def saved_choice(self, email: str) -> str | None:
        """The language a person saved, if any (as this process knows it; read when it does not)."""
        key = email.strip().lower()
        known = self.choices.known([key])
        if key in known:
            return known[key]
        async with self.sessions() as session:
            return (await self.choices.read(session, [key]))[key]

    async def choose_language(self, email: str, code: str, dedupe_key: str | None = None) -> str:
        """Save a person's choice (`/desk language`, the web's chooser); an unknown code raises DeskError
        and writes nothing. Returns the desk's code for it."""
        language = language_code(code)
        async with self.transaction(dedupe_key) as tx:
            await save_language(tx.session, email, language, tx.now)
        self.choices.saved(email, language)
        return language

    # ---------------------------------------------------------------- channels
    def enable(self, channel: ChannelInfo) -> None:
        """A channel is live: messages for its platform are queued from now on."""
        self.channels[channel.platform] = channel

    @property
    def platforms(self) -> frozenset[str]:
        """The platforms of the live channels."""
        return frozenset(self.channels)

    def threaded(self, platform: str | None) -> bool:
        """Whether answers can go back into a thread of this platform (a live channel with threads)."""
        channel = self.channels.get(platform or "")
        return channel is not None and channel.threads

    # ---------------------------------------------------------------- transactions
    @asynccontextmanager
    async def transaction(self, dedupe_key: str | None = None, source: str = "desk", *,
                          now: datetime | None = None) -> AsyncIterator[Tx]:
        """One transaction; with `dedupe_key`, a second attempt with the same key raises Duplicate.

        `now` stamps its rows with another instant than the clock's (the scheduler's tick time).
        """
        async with self.sessions() as session:
            tx = Tx(self, session, now or self.clock.now())
            async with session.begin():
                if dedupe_key is not None:
                    await claim_key(session, dedupe_key, source, tx.now)
                    tx.settled.append(dedupe_key)
                yield tx
                await tx.write_rows()
            if tx.wrote_outbox and self.on_commit is not None:
                self.on_commit()
            if tx.settled and self.on_settled is not None:
                self.on_settled(tx.settled)

    # ---------------------------------------------------------------- organisation
    def actor(self, email: str, name: str | None = None, channel: str = "web") -> Actor:
        """The actor for an e-mail on a channel."""
        return actor_for(self.config, email, name, channel)

    def link(self, number: int) -> str:
        """The web page of a request."""
        return f"{self.config.organisation.base_url.rstrip('/')}/requests/{number}"

    def zone(self, zone_id: str) -> Zone:
        """A zone by id; an unknown one is refused with the zones there are."""
        zone = self.config.zone(zone_id)
        if zone is None:
            known = ", ".join(f"{z.id} ({z.name})" for z in self.config.zones)
            raise DeskError(_("There is no zone '{zone}'. Zones: {known}.", zone=zone_id, known=known))
        return zone

    def triage_channels(self, zone_id: str, team_id: str | None) -> list[tuple[str, str]]:
        """Where new work of a zone/team is announced. A private team's work only in its own channel."""
        team = self.config.team(team_id) if team_id else None
        refs = team.triage if team is not None and team.triage else None
        if refs is None:
            if team is not None and team.private:
                return []  # never announce a private team's request where non-members read
            refs = self.zone(zone_id).triage
        return [(platform, channel) for platform, channel in sorted(refs.items()) if channel]
