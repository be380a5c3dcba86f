"""The use cases: file, reply, note, claim, assign, status, transfer, tasks... one transaction each.

Every change (1) checks access through `bot.access`, (2) changes the request, (3) appends an
immutable history event, and (4) writes the outbound messages it causes to the outbox, all in one
transaction. Adapters call these with an `Actor` and show `DeskError` messages to the person.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Select, Table, bindparam, delete, func, insert, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.instrumentation import manager_of_class

from bot.access import Actor, Level, Policy, actor_for
from bot.clock import Clock
from bot.config import AppConfig, Team, Zone
from bot.delivery.messages import Button, Message
from bot.delivery.outbox import outbox_row
from bot.desk.status import OPEN, WAITING_REASONS, check_move
from bot.desk.types import (
    CommentView,
    EventView,
    Origin,
    RequestDetail,
    RequestSummary,
    TaskView,
)
from bot.errors import DeskError, Duplicate, NotFound
from bot.model import (
    Comment,
    Event,
    FormAnswer,
    Identity,
    Inbound,
    Label,
    Outbox,
    Relation,
    Request,
    Task,
    ThreadLink,
    UtcDateTime,
)

log = logging.getLogger(__name__)

TITLE_MAX = 200
TEXT_MAX = 20_000
LABEL_RE = re.compile(r"^[\w-]{1,40}$")
CHAT_PLATFORMS = frozenset({"slack", "teams"})


class Timers(Protocol):
    """What the scheduler needs to hear about: arm, re-arm or cancel timers inside the same transaction."""

    async def request_changed(self, session: AsyncSession, request: Request, now: datetime, kind: str) -> None:
        """Called after every change to a request, before commit."""
        ...


@dataclass(frozen=True)
class Filed:
    """What the person who filed a request is told."""

    number: int
    title: str
    zone_id: str
    zone_name: str
    team_id: str | None
    status: str


@dataclass
class _Filing:
    """A request checked and built, waiting for the transaction that files it."""

    actor: Actor
    origin: Origin
    zone: Zone
    title: str
    category_id: str | None
    form_id: str | None
    on_behalf: bool
    answers: tuple[tuple[str, str, str, Any], ...]
    dedupe_key: str | None
    link_origin_thread: bool
    after: Callable[[Tx, Request], Awaitable[None]] | None
    columns: dict[str, Any]  # the request row (a fresh Request per attempt: a rolled-back one keeps its id)


class IntakeQueue:
    """Group commit for filing: requests that arrive while a transaction is writing share the next one.

    A lone request is filed at once, in its own transaction, with no added wait. Under a burst, the
    requests that queued up during one commit are filed together by the next: one claim, one insert
    per table and one commit for the group instead of one per request. Each caller still gets its own
    outcome (its request, or its own error: see `Desk._file_together`).
    """

    MAX_GROUP = 32

    def __init__(self, run: Callable[[Sequence[_Filing]], Awaitable[list[Filed | Exception]]]) -> None:
        self.run = run
        self.pending: list[tuple[_Filing, asyncio.Future[Filed]]] = []
        self.draining = False
        self.task: asyncio.Future[None] | None = None
        self.groups: list[int] = []  # sizes of the groups committed (bench/throughput.py replays them)

    async def submit(self, filing: _Filing) -> Filed:
        """Queue a filing and wait for its outcome."""
        future: asyncio.Future[Filed] = asyncio.get_running_loop().create_future()
        self.pending.append((filing, future))
        if not self.draining:
            self.draining = True
            self.task = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self.pending:
                group, self.pending = self.pending[:self.MAX_GROUP], self.pending[self.MAX_GROUP:]
                try:
                    outcomes = await self.run([filing for filing, _ in group])
                except Exception as exc:  # `run` hands errors back per filing; this is a bug, told to all
                    outcomes = [exc] * len(group)
                except BaseException:  # the loop is shutting down: nobody may wait for ever
                    for _, future in [*group, *self.pending]:
                        future.cancel()
                    self.pending = []
                    raise
                self.groups.append(len(group))
                del self.groups[:-10_000]
                for (_, future), outcome in zip(group, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self.draining = False


# Core tables: a multi-row INSERT through them compiles once, unlike the ORM's bulk path.
_EVENTS = cast(Table, Event.__table__)
_OUTBOX = cast(Table, Outbox.__table__)


@dataclass
class Tx:
    """One unit of work: the session, the instant every row of it is stamped with, and the history
    events and outbox rows it adds (inserted together, one statement each, just before commit)."""

    session: AsyncSession
    now: datetime
    events: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)  # inbound keys this transaction marks processed

    @property
    def wrote_outbox(self) -> bool:
        """The transaction queued outbound messages (the delivery worker should wake after commit)."""
        return bool(self.outbox)

    def enqueue(self, **values: Any) -> None:
        """Queue an outbound message with this transaction (see `bot.delivery.outbox.outbox_row`)."""
        self.outbox.append(outbox_row(self.now, **values))

    async def write_rows(self) -> None:
        """Insert the queued events and outbox rows; called just before commit (which writes the rows
        held back with `store.defer`, new requests' timers and SLA clocks, if nothing did before)."""
        if self.events:
            await self.session.execute(insert(_EVENTS), self.events)
            self.events = []
        if self.outbox:
            await self.session.execute(insert(_OUTBOX), self.outbox)


def title_from_text(text: str, limit: int = 100) -> str:
    """A request title from a chat message: its first line, shortened on a word boundary."""
    first = next((line.strip() for line in text.strip().splitlines() if line.strip()), "")
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0]
    return (cut or first[:limit]).rstrip(" ,.;:") + "…"


def _clean_text(value: str, what: str, *, required: bool, limit: int) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DeskError(f"The {what} is empty; write a few words.")
    if len(value) > limit:
        raise DeskError(f"The {what} is too long ({len(value):,} characters; at most {limit:,}).")
    return value


class Desk:
    """The service desk's use cases over one configuration, database and clock."""

    def __init__(
        self,
        config: AppConfig,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        platforms: frozenset[str] = frozenset(),
        timers: Timers | None = None,
        on_commit: Callable[[], None] | None = None,
        on_settled: Callable[[Sequence[str]], None] | None = None,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.clock = clock
        self.policy = Policy(config)
        self.platforms = platforms & CHAT_PLATFORMS
        self.timers = timers
        self.on_commit = on_commit
        self.on_settled = on_settled  # told the keys a commit marked processed (bot.delivery.inbox.Inbox.settled)
        # Filing under a burst shares transactions (IntakeQueue); off, every request commits alone.
        self.group_commit = True
        self._intake = IntakeQueue(self._file_together)
        # Forms and saved replies (bot.catalog.Catalog), set by the server; the core's commands use it.
        self.catalog: Any = None

    # ---------------------------------------------------------------- plumbing
    def actor(self, email: str, name: str | None = None, channel: str = "web") -> Actor:
        """The actor for an e-mail on a channel."""
        return actor_for(self.config, email, name, channel)

    def link(self, number: int) -> str:
        """The web page of a request."""
        return f"{self.config.organisation.base_url.rstrip('/')}/requests/{number}"

    @asynccontextmanager
    async def transaction(self, dedupe_key: str | None = None, source: str = "desk") -> AsyncIterator[Tx]:
        """One transaction; with `dedupe_key`, a second attempt with the same key raises Duplicate."""
        async with self.sessions() as session:
            tx = Tx(session, self.clock.now())
            async with session.begin():
                if dedupe_key is not None:
                    await _claim_key(session, dedupe_key, source, tx.now)
                    tx.settled.append(dedupe_key)
                yield tx
                await tx.write_rows()
            if tx.wrote_outbox and self.on_commit is not None:
                self.on_commit()
            if tx.settled and self.on_settled is not None:
                self.on_settled(tx.settled)

    async def _request(self, tx: Tx, actor: Actor, number: int, needed: Level, doing: str) -> Request:
        query = select(Request).where(Request.id == number)
        if tx.session.bind.dialect.name == "postgresql":
            query = query.with_for_update()
        request = (await tx.session.execute(query)).scalar_one_or_none()
        if request is None:
            raise NotFound(number)
        self.policy.require(actor, request, needed, doing)
        return request

    def _zone(self, zone_id: str) -> Zone:
        zone = self.config.zone(zone_id)
        if zone is None:
            known = ", ".join(f"{z.id} ({z.name})" for z in self.config.zones)
            raise DeskError(f"There is no zone '{zone_id}'. Zones: {known}.")
        return zone

    async def _changed(self, tx: Tx, request: Request, actor: Actor, kind: str, **data: Any) -> None:
        if request.updated_at != tx.now:  # a request filed in this transaction is left clean: no flush
            request.updated_at = tx.now
        tx.events.append({"request_id": request.id, "at": tx.now, "actor_email": actor.email,
                          "actor_name": actor.name, "channel": actor.channel, "kind": kind, "data": data})
        if self.timers is not None:
            await self.timers.request_changed(tx.session, request, tx.now, kind)

    def _to_thread(self, tx: Tx, request: Request, message: Message, *, kind: str = "thread_reply") -> None:
        """Post into the requester's original thread, if it came from a chat channel we serve."""
        if request.origin_platform not in self.platforms or not request.origin_channel:
            return
        thread = request.origin_thread or request.origin_message
        tx.enqueue(
            platform=request.origin_platform, kind=kind, request_id=request.id,
            conversation=f"{request.origin_channel}:{thread or ''}",
            target={"channel": request.origin_channel, "thread": thread, "workspace": request.origin_workspace,
                    "user": request.origin_user},
            message=message,
        )

    async def _direct(self, tx: Tx, email: str | None, message: Message, request_id: int | None) -> None:
        """A direct message to a person on every chat platform where we have seen them."""
        if not email:
            return
        rows = await tx.session.execute(
            select(Identity.platform, Identity.user_id).where(Identity.email == email.lower())
        )
        for platform, user_id in rows:
            if platform not in self.platforms:
                continue
            tx.enqueue(platform=platform, kind="dm", request_id=request_id,
                    conversation=f"dm:{user_id}", target={"user": user_id, "email": email}, message=message)

    def _to_channels(self, tx: Tx, refs: Sequence[tuple[str, str]], message: Message, request_id: int,
                     kind: str, link_thread: str | None = None) -> None:
        for platform, channel in refs:
            if platform not in self.platforms:
                continue
            tx.enqueue(platform=platform, kind=kind, request_id=request_id,
                    conversation=f"{channel}:", target={"channel": channel}, message=message,
                    payload={"link_thread": link_thread} if link_thread else None)

    def triage_channels(self, zone_id: str, team_id: str | None) -> list[tuple[str, str]]:
        """Where new work of a zone/team is announced. A private team's work only in its own channel."""
        team = self.config.team(team_id) if team_id else None
        refs = team.triage if team is not None and (team.triage.slack or team.triage.teams) else None
        if refs is None:
            if team is not None and team.private:
                return []  # never announce a private team's request where non-members read
            refs = self._zone(zone_id).triage
        return [(p, c) for p, c in (("slack", refs.slack), ("teams", refs.teams)) if c]

    def _announce(self, tx: Tx, request: Request) -> None:
        zone = self._zone(request.zone_id)
        category = zone.category(request.category_id) if request.category_id else None
        fields = [("Requester", request.requester_name), ("Zone", zone.name), ("Priority", request.priority)]
        if category is not None:
            fields.append(("Category", category.name))
        if request.team_id and (team := self.config.team(request.team_id)):
            fields.append(("Team", team.name))
        message = Message(
            title=f"New request #{request.id}: {request.title}",
            text=request.description[:500],
            fields=tuple(fields),
            buttons=(
                Button("claim", "Claim", str(request.id), "primary"),
                Button("assign", "Assign", str(request.id)),
                Button("reply", "Reply", str(request.id)),
            ),
            link=self.link(request.id),
            link_label="Open in Zonedesk",
            footer="Replies in this thread are internal notes.",
            # the agent desk, for a digest that lists this announcement with others (bot.delivery.outbox.digest)
            extra={"number": request.id, "desk": f"{self.config.organisation.base_url.rstrip('/')}/desk"},
        )
        self._to_channels(tx, self.triage_channels(request.zone_id, request.team_id), message, request.id,
                          "triage", link_thread="triage")

    # ---------------------------------------------------------------- routing helpers
    def intake_zone(self, platform: str, channel: str | None) -> str | None:
        """The zone a chat channel files into; for a DM, the dispatcher zone when `app.yaml` routes there."""
        mapping = self.config.intake.slack_channels if platform == "slack" else self.config.intake.teams_channels
        if channel and channel in mapping:
            return mapping[channel]
        if self.config.intake.unrouted == "dispatcher":
            return self.config.intake.dispatcher_zone
        return None

    def filing_zones(self) -> list[Zone]:
        """Zones a requester may choose from."""
        return list(self.config.zones)

    def _team_for(self, zone: Zone, category_id: str | None) -> str | None:
        if category_id:
            lineage = _lineage(zone, category_id)
            for team in self.config.teams_in(zone.id):
                if lineage & set(team.categories):
                    return team.id
        return zone.default_team

    def compute_priority(self, urgency: str, weight: str | None, category_id: str | None,
                         internal: str | None) -> str:
        """Requester's urgency x dispatcher's weight from the matrix, raised to any category floor."""
        prio = self.config.priority
        row = prio.matrix.get(urgency, {})
        level = row.get(weight or "normal", prio.default)
        candidates = [level] + [prio.floors[k] for k in (category_id, internal) if k and k in prio.floors]
        return max(candidates, key=prio.levels.index)

    def _reprioritise(self, request: Request) -> None:
        """Priority follows urgency, weight and categories: recomputed whenever one of them changes."""
        request.priority = self.compute_priority(request.urgency, request.weight, request.category_id,
                                                 request.internal_category)

    def _requester_or_agent(self, actor: Actor, request: Request, doing: str) -> None:
        """Some changes are the requester's as much as the desk's (cancel, reopen, urgency)."""
        if self.policy.level(actor, request) < Level.AGENT and request.requester_email != actor.email:
            raise DeskError(f"Only the requester or an agent of the request's zone can {doing}.")

    def _check_urgency(self, value: str, what: str = "urgency") -> str:
        allowed = list(self.config.priority.matrix)
        if value not in allowed:
            article = "an" if what[:1] in "aeiou" else "a"
            raise DeskError(f"'{value}' is not {article} {what}. Choose one of: {', '.join(allowed)}.")
        return value

    def _check_category(self, zone: Zone, category_id: str) -> str:
        if zone.category(category_id) is None:
            names = ", ".join(sorted(zone.category_ids())) or "none"
            raise DeskError(f"'{category_id}' is not a category of {zone.name}. Categories: {names}.")
        return category_id

    # ---------------------------------------------------------------- filing
    async def file_request(
        self,
        actor: Actor,
        origin: Origin,
        title: str,
        description: str = "",
        *,
        zone_id: str | None = None,
        category_id: str | None = None,
        urgency: str | None = None,
        on_behalf_of: tuple[str, str] | None = None,
        form_id: str | None = None,
        answers: Sequence[tuple[str, str, str, Any]] = (),
        deadline: datetime | None = None,
        dedupe_key: str | None = None,
        link_origin_thread: bool = True,
        team_id: str | None = None,
        after: Callable[[Tx, Request], Awaitable[None]] | None = None,
    ) -> Filed:
        """File a request from any channel. Unknown people file as requesters; `on_behalf_of` is for dispatchers."""
        title = _clean_text(title, "title", required=True, limit=TITLE_MAX)
        description = _clean_text(description, "description", required=False, limit=TEXT_MAX)
        zone_id = zone_id or self.intake_zone(origin.platform, origin.channel)
        if zone_id is None:
            raise DeskError("Choose a zone for this request.")
        zone = self._zone(zone_id)
        if category_id:
            self._check_category(zone, category_id)
        named_team = self.config.team(team_id) if team_id is not None else None
        if team_id is not None and (named_team is None or named_team.zone != zone.id):
            raise DeskError(f"'{team_id}' is not a team of {zone.name}.")
        urgency = self._check_urgency(urgency or self.config.priority.default)
        requester_email, requester_name = actor.email, actor.name
        if on_behalf_of is not None:
            if not actor.is_dispatcher:
                raise DeskError("Only a dispatcher can file a request on behalf of someone else.")
            requester_email, requester_name = on_behalf_of[0].strip().lower(), on_behalf_of[1]
            if "@" not in requester_email:
                raise DeskError(f"'{on_behalf_of[0]}' is not an e-mail address.")
        filing = _Filing(
            actor=actor, origin=origin, zone=zone, title=title, category_id=category_id, form_id=form_id,
            on_behalf=on_behalf_of is not None, answers=tuple(answers), dedupe_key=dedupe_key,
            link_origin_thread=link_origin_thread, after=after,
            columns=dict(
                zone_id=zone.id, team_id=team_id or self._team_for(zone, category_id),
                requester_email=requester_email,
                requester_name=requester_name, filed_by_email=actor.email, title=title, description=description,
                status="new", urgency=urgency, priority=self.compute_priority(urgency, None, category_id, None),
                category_id=category_id, deadline=deadline, form_id=form_id, origin_platform=origin.platform,
                origin_workspace=origin.workspace, origin_channel=origin.channel, origin_thread=origin.thread,
                origin_message=origin.message, origin_user=origin.user,
            ),
        )
        if not self.group_commit:
            return await self._file_alone(filing)
        return await self._intake.submit(filing)

    async def _file_alone(self, filing: _Filing) -> Filed:
        """File one request in its own transaction; its errors are the caller's."""
        async with self.transaction() as tx:
            (outcome,) = await self._file_group(tx, [filing])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def _file_together(self, filings: Sequence[_Filing]) -> list[Filed | Exception]:
        """Group commit: file many requests in one transaction (the intake queue's batches).

        Any failure other than a duplicate key rolls the whole group back and files each request
        alone, so one bad request never takes its neighbours with it and each gets its own error.
        """
        if len(filings) == 1:
            try:
                return [await self._file_alone(filings[0])]
            except Exception as exc:  # handed to the one waiting caller
                return [exc]
        try:
            async with self.transaction() as tx:
                return await self._file_group(tx, filings)
        except Exception:
            log.debug("intake: a group of %d failed; filing each alone", len(filings), exc_info=True)
        outcomes: list[Filed | Exception] = []
        for filing in filings:
            try:
                outcomes.append(await self._file_alone(filing))
            except Exception as exc:  # handed to the caller waiting for this request
                outcomes.append(exc)
        return outcomes

    async def _file_group(self, tx: Tx, filings: Sequence[_Filing]) -> list[Filed | Exception]:
        """The writes of filing, for one request or many, with one statement per table for the group.

        Keys claimed in one upsert (a key seen before, or twice in the group, is a Duplicate for that
        request only), requests inserted in one flush, origin threads linked in one insert; then each
        request's history event, timers, confirmation and triage announcement.
        """
        outcomes: list[Filed | Exception | None] = [None] * len(filings)
        keyed: dict[str, int] = {}
        for i, filing in enumerate(filings):
            if filing.dedupe_key is None:
                continue
            if filing.dedupe_key in keyed:
                outcomes[i] = Duplicate(filing.dedupe_key)
            else:
                keyed[filing.dedupe_key] = i
        if keyed:
            claimed = await _claim_keys(tx.session, [(key, filings[i].origin.platform) for key, i in keyed.items()],
                                        tx.now)
            for key, i in keyed.items():
                if key not in claimed:
                    outcomes[i] = Duplicate(key)
            tx.settled.extend(claimed)
        waiting = [(i, f) for i, f in enumerate(filings) if outcomes[i] is None]
        made = await _insert_requests(tx.session, [f.columns for _, f in waiting], tx.now)
        live = [(i, f, request) for (i, f), request in zip(waiting, made, strict=True)]
        links = []
        for _, filing, request in live:
            origin = filing.origin
            for field_id, label, kind, value in filing.answers:
                tx.session.add(
                    FormAnswer(request_id=request.id, field_id=field_id, label=label, kind=kind, value=value))
            thread = origin.thread or origin.message
            if filing.link_origin_thread and origin.platform in CHAT_PLATFORMS and origin.channel and thread:
                links.append({"platform": origin.platform, "channel": origin.channel, "thread": thread,
                              "request_id": request.id, "purpose": "origin"})
        if links:
            linked = await _link_threads(tx.session, links)
            if len(linked) != len(links):
                raise DeskError("This thread already belongs to a request; reply in it instead.")
        for i, filing, request in live:
            zone = filing.zone
            await self._changed(tx, request, filing.actor, "filed", zone=zone.id, team=request.team_id,
                                category=filing.category_id, title=filing.title, on_behalf=filing.on_behalf,
                                form=filing.form_id)
            self._to_thread(tx, request, Message(
                title=f"Request #{request.id} is filed with {zone.name}",
                text=f"{filing.title}\nWe will answer in this thread. You can add details here at any time.",
                link=self.link(request.id), link_label=f"Follow #{request.id}",
                extra={"number": request.id, "confirmation": True},
            ), kind="confirmation")
            self._announce(tx, request)
            if filing.after is not None:
                await filing.after(tx, request)
            outcomes[i] = Filed(request.id, filing.title, zone.id, zone.name, request.team_id, request.status)
        return [o for o in outcomes if o is not None]

    # ---------------------------------------------------------------- conversation
    async def reply(self, actor: Actor, number: int, text: str, *, dedupe_key: str | None = None,
                    deliver: bool = True) -> int:
        """A public reply from an agent: stored, and delivered into the requester's original thread."""
        text = _clean_text(text, "reply", required=True, limit=TEXT_MAX)
        async with self.transaction(dedupe_key) as tx:
            request = await self._request(tx, actor, number, Level.AGENT, "reply to it")
            comment = Comment(request_id=number, author_email=actor.email, author_name=actor.name, public=True,
                              body=text, channel=actor.channel, created_at=tx.now)
            tx.session.add(comment)
            if request.first_response_at is None:
                request.first_response_at = tx.now
            await tx.session.flush()
            await self._changed(tx, request, actor, "replied", comment=comment.id)
            if deliver:
                self._to_thread(tx, request, Message(text=text, author=actor.name,
                                                     extra={"number": number, "comment": comment.id}))
            return comment.id

    async def note(self, actor: Actor, number: int, text: str, *, dedupe_key: str | None = None) -> int:
        """An internal note: visible to agents who may read the request, never delivered to the requester."""
        text = _clean_text(text, "note", required=True, limit=TEXT_MAX)
        async with self.transaction(dedupe_key) as tx:
            request = await self._request(tx, actor, number, Level.AGENT, "add notes")
            comment = Comment(request_id=number, author_email=actor.email, author_name=actor.name, public=False,
                              body=text, channel=actor.channel, created_at=tx.now)
            tx.session.add(comment)
            await tx.session.flush()
            await self._changed(tx, request, actor, "noted", comment=comment.id)
            return comment.id

    async def comment(self, actor: Actor, number: int, text: str, *, dedupe_key: str | None = None,
                      from_thread: bool = False) -> int | None:
        """The requester adds to their request (web, or a message in the original thread).

        An agent writing in the requester's thread makes a public reply that is already in the
        thread, so it is stored but not delivered again. Anyone else in the thread is ignored.
        """
        text = _clean_text(text, "message", required=True, limit=TEXT_MAX)
        async with self.transaction(dedupe_key) as tx:
            request = (await tx.session.execute(select(Request).where(Request.id == number))).scalar_one_or_none()
            if request is None:
                raise NotFound(number)
            level = self.policy.level(actor, request)
            if level >= Level.AGENT and request.requester_email != actor.email:
                comment = Comment(request_id=number, author_email=actor.email, author_name=actor.name, public=True,
                                  body=text, channel=actor.channel, created_at=tx.now)
                tx.session.add(comment)
                if request.first_response_at is None:
                    request.first_response_at = tx.now
                await tx.session.flush()
                await self._changed(tx, request, actor, "replied", comment=comment.id, in_thread=True)
                return comment.id
            if request.requester_email != actor.email:
                if from_thread:
                    return None
                # A reader is told why they may not write; anyone else reads "not found".
                self.policy.require(actor, request, Level.AGENT, "write on it")
                raise NotFound(number)
            if request.status in {"closed", "cancelled"}:
                raise DeskError(f"Request #{number} is {request.status}; file a new request or ask to reopen it.")
            comment = Comment(request_id=number, author_email=actor.email, author_name=actor.name, public=True,
                              body=text, channel=actor.channel, created_at=tx.now)
            tx.session.add(comment)
            await tx.session.flush()
            moved = None
            if request.status == "waiting" and request.waiting_reason == "requester":
                request.status, request.waiting_reason, moved = "in_progress", None, "in_progress"
            await self._changed(tx, request, actor, "commented", comment=comment.id, status=moved)
            await self._direct(tx, request.assignee_email, Message(
                title=f"{actor.name} wrote on #{number}: {request.title}", text=text[:500],
                link=self.link(number), extra={"number": number}), number)
            return comment.id

    # ---------------------------------------------------------------- ownership
    def _can_work(self, person: Actor, request: Request) -> bool:
        return self.policy.level(person, request) >= Level.AGENT and person.is_staff

    async def claim(self, actor: Actor, number: int, *, dedupe_key: str | None = None) -> str:
        """Take a request oneself: assignee is the actor, status accepted."""
        async with self.transaction(dedupe_key) as tx:
            request = await self._request(tx, actor, number, Level.AGENT, "claim it")
            if request.status not in OPEN:
                raise DeskError(f"Request #{number} is {request.status}; reopen it before claiming.")
            if request.assignee_email == actor.email:
                raise DeskError(f"You already have request #{number}.")
            previous = request.assignee_email
            request.assignee_email = actor.email
            if request.team_id is None or request.team_id not in actor.teams:
                own = [t for t in self.config.teams_in(request.zone_id) if t.id in actor.teams]
                request.team_id = own[0].id if own else request.team_id
            if request.status in {"new", "assigned", "reopened"}:
                request.status = "accepted"
            await self._changed(tx, request, actor, "claimed", previous=previous, status=request.status)
            return request.status

    async def assign(self, actor: Actor, number: int, assignee_email: str, *, dedupe_key: str | None = None) -> str:
        """Give a request to an agent of its zone (of its private team, if it has one)."""
        async with self.transaction(dedupe_key) as tx:
            request = await self._request(tx, actor, number, Level.AGENT, "assign it")
            if request.status not in OPEN:
                raise DeskError(f"Request #{number} is {request.status}; reopen it before assigning.")
            assignee = self.actor(assignee_email, channel=actor.channel)
            if not assignee.known or not self._can_work(assignee, request):
                raise DeskError(f"{assignee_email} is not an agent who can work on request #{number}.")
            if assignee.email == actor.email:
                raise DeskError("To take it yourself, use claim.")
            previous = request.assignee_email
            request.assignee_email = assignee.email
            if request.team_id is None or request.team_id not in assignee.teams:
                own = [t for t in self.config.teams_in(request.zone_id) if t.id in assignee.teams]
                request.team_id = own[0].id if own else request.team_id
            if request.status != "waiting":
                request.status = "assigned"
            await self._changed(tx, request, actor, "assigned", assignee=assignee.email, previous=previous)
            await self._direct(tx, assignee.email, Message(
                title=f"{actor.name} assigned you #{number}: {request.title}", text=request.description[:500],
                link=self.link(number), buttons=(Button("accept", "Accept", str(number), "primary"),),
                extra={"number": number}), number)
            return assignee.name

    async def accept(self, actor: Actor, number: int, *, dedupe_key: str | None = None) -> None:
        """The assignee confirms they take the request."""
        async with self.transaction(dedupe_key) as tx:
            request = await self._request(tx, actor, number, Level.AGENT, "accept it")
            if request.assignee_email != actor.email:
                raise DeskError(f"Request #{number} is not assigned to you.")
            check_move(number, request.status, "accepted")
            request.status = "accepted"
            await self._changed(tx, request, actor, "accepted")

    # ---------------------------------------------------------------- status
    async def set_status(self, actor: Actor, number: int, status: str, *, reason: str | None = None,
                         dedupe_key: str | None = None) -> None:
        """Move a request through the status machine; illegal moves are refused with what is allowed."""
        async with self.transaction(dedupe_key) as tx:
            request = await self._request(tx, actor, number, Level.AGENT, "change its status")
            await self._move(tx, actor, request, status, reason)

    async def _move(self, tx: Tx, actor: Actor, request: Request, status: str, reason: str | None) -> None:
        number = request.id
        check_move(number, request.status, status)
        if status in {"resolved", "closed"} and not self.policy.can_resolve_in(request.zone_id):
            raise DeskError(f"{self._zone(request.zone_id).name} routes requests but does not resolve them; "
                            "transfer it to the zone that handles it.")
        if status == "waiting":
            reason = reason or "requester"
            if reason not in WAITING_REASONS:
                raise DeskError(f"Waiting on what? Choose one of: {', '.join(WAITING_REASONS)}.")
        elif reason is not None and status != "cancelled":
            reason = None
        previous = request.status
        request.status = status
        request.waiting_reason = reason if status == "waiting" else None
        if status == "resolved":
            request.resolved_at = tx.now
        if status == "closed":
            request.closed_at = tx.now
            request.closed_by = "agent" if actor.channel != "scheduler" else "auto"
        if status == "reopened":
            request.resolved_at = request.closed_at = request.closed_by = None
        await self._changed(tx, request, actor, "status", previous=previous, status=status, reason=reason)
        told = {
            "resolved": f"Request #{number} is resolved. If it is not, answer here and we reopen it.",
            "closed": f"Request #{number} is closed.",
            "reopened": f"Request #{number} is reopened; we are on it again.",
            "cancelled": f"Request #{number} is cancelled.",
        }
        if status == "waiting" and reason == "requester":
            told["waiting"] = f"Request #{number} is waiting for your answer: reply in this thread."
        if status in told:
            self._to_thread(tx, request, Message(text=told[status], extra={"number": number, "status": status}),
                            kind="status")

    async def cancel(self, actor: Actor, number: int, reason: str | None = None, *,
                     dedupe_key: str | None = None) -> None:
        """Cancel an open request: its requester or an agent of its zone."""
        async with self.transaction(dedupe_key) as tx:
            request = await self._request(tx, actor, number, Level.REQUESTER, "cancel it")
            self._requester_or_agent(actor, request, "cancel it")
            await self._move(tx, actor, request, "cancelled", reason)

    async def reopen(self, actor: Actor, number: int, reason: str | None = None, *,
                     dedupe_key: str | None = None) -> None:
        """Reopen a resolved or closed request: its requester or an agent of its zone."""
        async with self.transaction(dedupe_key) as tx:
            request = await self._request(tx, actor, number, Level.REQUESTER, "reopen it")
            self._requester_or_agent(actor, request, "reopen it")
            await self._move(tx, actor, request, "reopened", None)
            if reason:
                tx.session.add(Comment(request_id=number, author_email=actor.email, author_name=actor.name,
                                       public=True, body=_clean_text(reason, "reason", required=False, limit=TEXT_MAX),
                                       channel=actor.channel, created_at=tx.now))

    # ---------------------------------------------------------------- fields
    async def set_urgency(self, actor: Actor, number: int, urgency: str) -> str:
        """The requester's (or an agent's) urgency; the priority is computed again."""
        urgency = self._check_urgency(urgency)
        async with self.transaction() as tx:
            request = await self._request(tx, actor, number, Level.REQUESTER, "change its urgency")
            self._requester_or_agent(actor, request, "change the urgency")
            previous = request.urgency
            request.urgency = urgency
            self._reprioritise(request)
            await self._changed(tx, request, actor, "urgency", previous=previous, urgency=urgency,
                                priority=request.priority)
            return request.priority

    async def set_weight(self, actor: Actor, number: int, weight: str) -> str:
        """The dispatcher's (or agent's) weight; the priority is computed again."""
        weight = self._check_urgency(weight, "weight")
        async with self.transaction() as tx:
            request = await self._request(tx, actor, number, Level.AGENT, "weigh it")
            previous = request.weight
            request.weight = weight
            self._reprioritise(request)
            await self._changed(tx, request, actor, "weight", previous=previous, weight=weight,
                                priority=request.priority)
            return request.priority

    async def set_category(self, actor: Actor, number: int, category_id: str | None) -> str:
        """A category of the request's own zone (or none)."""
        async with self.transaction() as tx:
            request = await self._request(tx, actor, number, Level.AGENT, "change its category")
            if category_id is not None:
                self._check_category(self._zone(request.zone_id), category_id)
            previous = request.category_id
            request.category_id = category_id
            self._reprioritise(request)
            await self._changed(tx, request, actor, "category", previous=previous, category=category_id,
                                priority=request.priority)
            return request.priority

    async def set_internal_category(self, actor: Actor, number: int, internal: str | None) -> str:
        """The team's own classification (incident, change...), from the zone's list."""
        async with self.transaction() as tx:
            request = await self._request(tx, actor, number, Level.AGENT, "change its internal category")
            zone = self._zone(request.zone_id)
            if internal is not None and internal not in zone.internal_categories:
                allowed = ", ".join(zone.internal_categories) or "none are defined"
                raise DeskError(f"'{internal}' is not an internal category of {zone.name}: {allowed}.")
            previous = request.internal_category
            request.internal_category = internal
            self._reprioritise(request)
            await self._changed(tx, request, actor, "internal_category", previous=previous, internal=internal,
                                priority=request.priority)
            return request.priority

    async def set_deadline(self, actor: Actor, number: int, deadline: datetime | None) -> None:
        """A due date for the request (or none)."""
        if deadline is not None and deadline.tzinfo is None:
            raise DeskError("The deadline needs a time zone.")
        async with self.transaction() as tx:
            request = await self._request(tx, actor, number, Level.AGENT, "set its deadline")
            previous = request.deadline
            request.deadline = deadline
            await self._changed(tx, request, actor, "deadline", previous=previous.isoformat() if previous else None,
                                deadline=deadline.isoformat() if deadline else None)

    async def add_label(self, actor: Actor, number: int, label: str) -> None:
        """A personal label: only its owner sees it, so it is not part of the shared history."""
        label = label.strip().lower()
        if not LABEL_RE.match(label):
            raise DeskError("A label is one word of letters, digits, '-' or '_' (at most 40).")
        async with self.transaction() as tx:
            await self._request(tx, actor, number, Level.REQUESTER, "label it")
            try:
                async with tx.session.begin_nested():
                    tx.session.add(Label(request_id=number, owner_email=actor.email, label=label))
            except IntegrityError:
                pass  # already labelled: the outcome the person wanted

    async def remove_label(self, actor: Actor, number: int, label: str) -> None:
        """Remove one of the actor's own labels."""
        async with self.transaction() as tx:
            await self._request(tx, actor, number, Level.REQUESTER, "label it")
            await tx.session.execute(delete(Label).where(
                Label.request_id == number, Label.owner_email == actor.email, Label.label == label.strip().lower()))

    async def relate(self, actor: Actor, number: int, other: int) -> None:
        """Relate two requests of the same zone."""
        if number == other:
            raise DeskError("A request cannot be related to itself.")
        async with self.transaction() as tx:
            first = await self._request(tx, actor, number, Level.AGENT, "relate it")
            second = await self._request(tx, actor, other, Level.READER, "relate to it")
            if first.zone_id != second.zone_id:
                raise DeskError("Relations exist only between requests of the same zone.")
            a, b = sorted((number, other))
            try:
                async with tx.session.begin_nested():
                    tx.session.add(Relation(a_id=a, b_id=b))
            except IntegrityError as exc:
                raise DeskError(f"#{number} and #{other} are already related.") from exc
            await self._changed(tx, first, actor, "related", other=other)
            await self._changed(tx, second, actor, "related", other=number)

    # ---------------------------------------------------------------- zones
    async def transfer(self, actor: Actor, number: int, to_zone: str, *, category_id: str | None = None,
                       reason: str | None = None, dedupe_key: str | None = None) -> str:
        """Move a request to another zone (a dispatcher zone's routing is a transfer too).

        Only to zones the current zone may transfer to, while transfers are switched on. The request
        loses its relations and its zone-specific categories, becomes new in the target zone, and the
        origin zone keeps no access unless the target zone's visibility grants it.
        """
        async with self.transaction(dedupe_key) as tx:
            request = await self._request(tx, actor, number, Level.AGENT, "transfer it")
            source = self._zone(request.zone_id)
            target = self._zone(to_zone)
            if not source.transfers_enabled:
                raise DeskError(f"Transfers out of {source.name} are switched off.")
            if target.id not in source.transfer_to:
                allowed = ", ".join(self._zone(z).name for z in source.transfer_to) or "no zone"
                raise DeskError(f"{source.name} may not transfer requests to {target.name}. Allowed: {allowed}.")
            if request.status not in OPEN:
                raise DeskError(f"Request #{number} is {request.status}; only open requests can be transferred.")
            if category_id is not None:
                self._check_category(target, category_id)
            await tx.session.execute(delete(Relation).where(or_(Relation.a_id == number, Relation.b_id == number)))
            request.zone_id = target.id
            request.category_id = category_id
            request.internal_category = None
            request.team_id = self._team_for(target, category_id)
            request.assignee_email = None
            request.status = "new"
            request.waiting_reason = None
            self._reprioritise(request)
            await self._changed(tx, request, actor, "transferred", source=source.id, target=target.id,
                                category=category_id, reason=reason)
            self._to_thread(tx, request, Message(text=f"Request #{number} is now handled by {target.name}.",
                                                 extra={"number": number}), kind="status")
            self._announce(tx, request)
            return target.name

    async def create_task(self, actor: Actor, number: int, title: str, body: str = "", *,
                          to_zone: str | None = None, to_team: str | None = None,
                          to_agent: str | None = None) -> int:
        """Ask a team or agent (possibly in another zone) to do something; they see the task, not the request."""
        title = _clean_text(title, "task title", required=True, limit=TITLE_MAX)
        body = _clean_text(body, "task text", required=False, limit=TEXT_MAX)
        team: Team | None = None
        if to_team is not None:
            team = self.config.team(to_team)
            if team is None:
                raise DeskError(f"There is no team '{to_team}'.")
            to_zone = team.zone
        if to_agent is not None:
            agent = self.actor(to_agent)
            if not agent.is_staff:
                raise DeskError(f"{to_agent} is not an agent.")
            if to_zone is None:
                to_zone = sorted(agent.zones)[0]
            elif to_zone not in agent.zones:
                raise DeskError(f"{to_agent} does not work in that zone.")
            if team is not None and team.id not in agent.teams:
                raise DeskError(f"{to_agent} is not a member of {team.name}.")
            to_agent = agent.email
        if to_zone is None:
            raise DeskError("Name the team or agent the task is for.")
        target = self._zone(to_zone)
        async with self.transaction() as tx:
            request = await self._request(tx, actor, number, Level.AGENT, "create tasks")
            source = self._zone(request.zone_id)
            if target.id != source.id:
                if not source.tasks_enabled:
                    raise DeskError(f"Tasks to other zones are switched off in {source.name}.")
                if target.id not in source.tasks_to:
                    allowed = ", ".join(self._zone(z).name for z in source.tasks_to) or "no zone"
                    raise DeskError(f"{source.name} may not send tasks to {target.name}. Allowed: {allowed}.")
            task = Task(request_id=number, from_zone=source.id, to_zone=target.id, to_team=to_team,
                        to_agent=to_agent, title=title, body=body, status="open", created_by=actor.email,
                        created_at=tx.now)
            tx.session.add(task)
            await tx.session.flush()
            await self._changed(tx, request, actor, "task_created", task=task.id, zone=target.id, team=to_team,
                                agent=to_agent, title=title)
            message = Message(title=f"New task T{task.id} from {source.name}: {title}", text=body[:1500],
                              link=f"{self.config.organisation.base_url.rstrip('/')}/tasks/{task.id}",
                              buttons=(Button("task_done", "Mark done", str(task.id), "primary"),),
                              extra={"task": task.id})
            if to_agent is not None:
                await self._direct(tx, to_agent, message, number)
            else:
                channels = self.triage_channels(target.id, to_team)
                self._to_channels(tx, channels, message, number, "task")
            return task.id

    async def complete_task(self, actor: Actor, task_id: int, outcome: str = "") -> int:
        """The receiver marks a task done; the request's owners hear of it."""
        outcome = _clean_text(outcome, "outcome", required=False, limit=TEXT_MAX)
        async with self.transaction() as tx:
            task = await tx.session.get(Task, task_id)
            if task is None:
                raise DeskError(f"Task T{task_id} was not found.")
            request = await tx.session.get(Request, task.request_id)
            assert request is not None
            if not self.policy.receives_task(actor, task) and self.policy.level(actor, request) < Level.AGENT:
                raise DeskError(f"Task T{task_id} was not found.")
            if task.status != "open":
                raise DeskError(f"Task T{task_id} is already {task.status}.")
            task.status, task.done_at, task.done_by, task.outcome = "done", tx.now, actor.email, outcome or None
            await self._changed(tx, request, actor, "task_done", task=task.id, outcome=outcome[:500])
            if request.status == "waiting" and request.waiting_reason == "task":
                still_open = await tx.session.scalar(select(func.count()).where(
                    Task.request_id == request.id, Task.status == "open"))
                if not still_open:
                    request.status, request.waiting_reason = "in_progress", None
            # The request's owners: its assignee, and the agent who asked for the task if they still
            # work on the request (it may have moved to a zone of which they see nothing since).
            owners = [request.assignee_email]
            if self.policy.level(self.actor(task.created_by), request) >= Level.AGENT:
                owners.append(task.created_by)
            done = Message(title=f"Task T{task.id} on #{request.id} is done: {task.title}", text=outcome[:1500],
                           link=self.link(request.id), extra={"number": request.id})
            for email in dict.fromkeys(e.lower() for e in owners if e):
                await self._direct(tx, email, done, request.id)
            return request.id

    # ---------------------------------------------------------------- reading
    async def get_request(self, actor: Actor, number: int) -> RequestDetail:
        """A request as this person may see it (NotFound when they may not know it exists)."""
        async with self.sessions() as session:
            request = await session.get(Request, number)
            if request is None:
                raise NotFound(number)
            level = self.policy.level(actor, request)
            if level == Level.NONE:
                raise NotFound(number)
            return await self._detail(session, actor, request, level)

    async def _detail(self, session: AsyncSession, actor: Actor, request: Request, level: Level) -> RequestDetail:
        staff = level >= Level.READER
        comments_q = select(Comment).where(Comment.request_id == request.id).order_by(Comment.id)
        if not staff:
            comments_q = comments_q.where(Comment.public.is_(True))
        comments = tuple(CommentView(c.id, c.author_email, c.author_name, c.public, c.body, c.channel, c.created_at)
                         for c in (await session.execute(comments_q)).scalars())
        history: tuple[EventView, ...] = ()
        tasks: tuple[TaskView, ...] = ()
        related: tuple[int, ...] = ()
        if staff:
            events = await session.execute(select(Event).where(Event.request_id == request.id).order_by(Event.id))
            history = tuple(EventView(e.at, e.actor_name, e.actor_email, e.channel, e.kind, e.data)
                            for e in events.scalars())
            rows = await session.execute(select(Task).where(Task.request_id == request.id).order_by(Task.id))
            tasks = tuple(_task_view(t) for t in rows.scalars())
            rel = await session.execute(select(Relation).where(
                or_(Relation.a_id == request.id, Relation.b_id == request.id)))
            related = tuple(sorted(r.b_id if r.a_id == request.id else r.a_id for r in rel.scalars()))
        labels = tuple(sorted((await session.execute(select(Label.label).where(
            Label.request_id == request.id, Label.owner_email == actor.email))).scalars()))
        answers = tuple((a.field_id, a.label, a.value) for a in (await session.execute(
            select(FormAnswer).where(FormAnswer.request_id == request.id))).scalars())
        zone = self.config.zone(request.zone_id)
        category = zone.category(request.category_id) if zone and request.category_id else None
        assignee = self.config.person(request.assignee_email) if request.assignee_email else None
        return RequestDetail(
            number=request.id, level=level, title=request.title, description=request.description,
            zone_id=request.zone_id, zone_name=zone.name if zone else request.zone_id, team_id=request.team_id,
            status=request.status, waiting_reason=request.waiting_reason, urgency=request.urgency,
            weight=request.weight if staff else None, priority=request.priority,
            category_id=request.category_id, category_name=category.name if category else None,
            internal_category=request.internal_category if staff else None, deadline=request.deadline,
            assignee_email=request.assignee_email,
            assignee_name=assignee.name if assignee else request.assignee_email,
            requester_email=request.requester_email, requester_name=request.requester_name,
            origin_platform=request.origin_platform, created_at=request.created_at, updated_at=request.updated_at,
            satisfaction=request.satisfaction, form_id=request.form_id, comments=comments, history=history,
            tasks=tasks, labels=labels, related=related, answers=answers,
        )

    def _list_query(self, actor: Actor, scope: str, status: str | None, zone_id: str | None,
                    text: str | None) -> Select[tuple[Request]]:
        if scope == "mine":
            where = Request.requester_email == actor.email
        elif scope == "assigned":
            where = (Request.assignee_email == actor.email) & self.policy.request_clause(actor, Level.AGENT)
        elif scope == "queue":
            where = self.policy.request_clause(actor, Level.AGENT) & Request.status.in_(sorted(OPEN))
        else:
            where = self.policy.request_clause(actor, Level.REQUESTER)
        query = select(Request).where(where)
        if status == "open":
            query = query.where(Request.status.in_(sorted(OPEN)))
        elif status:
            query = query.where(Request.status == status)
        if zone_id:
            query = query.where(Request.zone_id == zone_id)
        if text:
            pattern = f"%{text.strip()}%"
            query = query.where(or_(Request.title.ilike(pattern), Request.description.ilike(pattern)))
        return query

    async def list_requests(self, actor: Actor, *, scope: str = "all", status: str | None = None,
                            zone_id: str | None = None, text: str | None = None, limit: int = 50,
                            offset: int = 0) -> list[RequestSummary]:
        """Requests this person may see, filtered in SQL by the access rules. Scopes: all, mine, queue, assigned."""
        newest = (Request.updated_at.desc(), Request.id.desc())
        # The page's numbers first, then their rows: the numbers come from an index (ix_requests_list)
        # without reading, let alone sorting, every open request of the zones.
        page = (self._list_query(actor, scope, status, zone_id, text).with_only_columns(Request.id)
                .order_by(*newest).limit(limit).offset(offset))
        query = select(Request).where(Request.id.in_(page.scalar_subquery())).order_by(*newest)
        async with self.sessions() as session:
            rows = (await session.execute(query)).scalars()
            return [RequestSummary(r.id, r.title, r.zone_id, r.team_id, r.status, r.priority, r.assignee_email,
                                   r.requester_email, r.requester_name, r.updated_at, r.created_at) for r in rows]

    async def count_requests(self, actor: Actor, *, scope: str = "all", status: str | None = None) -> int:
        """How many requests `list_requests` would find without a limit."""
        query = self._list_query(actor, scope, status, None, None).with_only_columns(func.count())
        async with self.sessions() as session:
            return int(await session.scalar(query) or 0)

    async def list_tasks(self, actor: Actor, *, status: str | None = "open") -> list[TaskView]:
        """Tasks addressed to this person, their teams or their zones."""
        query = select(Task).where(self.policy.task_clause(actor))
        if status:
            query = query.where(Task.status == status)
        async with self.sessions() as session:
            return [_task_view(t) for t in (await session.execute(query.order_by(Task.id.desc()))).scalars()]

    async def get_task(self, actor: Actor, task_id: int) -> TaskView:
        """A task for its receivers, or for whoever may read its request."""
        async with self.sessions() as session:
            task = await session.get(Task, task_id)
            if task is not None:
                request = await session.get(Request, task.request_id)
                if request is not None and (self.policy.receives_task(actor, task)
                                            or self.policy.level(actor, request) >= Level.READER):
                    return _task_view(task)
        raise DeskError(f"Task T{task_id} was not found.")

    async def handled(self, key: str) -> bool:
        """Whether an inbound key was marked processed (a platform re-sending something already answered)."""
        async with self.sessions() as session:
            return await session.scalar(
                select(Inbound.key).where(Inbound.key == key, Inbound.processed_at.is_not(None))) is not None

    async def mark_handled(self, key: str, source: str) -> None:
        """Mark an inbound key processed on its own (an answer that changed nothing); a second mark is a no-op."""
        with suppress(Duplicate):
            async with self.transaction(dedupe_key=key, source=source):
                pass

    async def thread_request(self, platform: str, channel: str, thread: str) -> tuple[int, str] | None:
        """The request a chat thread belongs to, and whether it is the origin or the triage thread."""
        async with self.sessions() as session:
            row = (await session.execute(select(ThreadLink.request_id, ThreadLink.purpose).where(
                ThreadLink.platform == platform, ThreadLink.channel == channel, ThreadLink.thread == thread))).first()
        return None if row is None else (int(row[0]), str(row[1]))


_REQUESTS = cast(Table, Request.__table__)
_REQUEST_CLASS = manager_of_class(Request)
# Every column of a new request but its number, with the model's defaults: the row is written with
# Core and its ORM object is built complete, so nothing about it is ever loaded back.
_NEW_REQUEST = {column.key: getattr(column.default, "arg", None) if column.default is not None
                and column.default.is_scalar else None for column in _REQUESTS.columns if not column.primary_key}
# The defaults the INSERT carries: the columns a filing gives no value and that have no default are
# left out (NULL by the table's own definition), so each row binds a third fewer values.
_FILING_DEFAULTS = {key: value for key, value in _NEW_REQUEST.items() if value is not None}


async def _insert_requests(session: AsyncSession, rows: Sequence[dict[str, Any]], now: datetime) -> list[Request]:
    """Insert new requests with one statement and return them as persistent ORM objects, in order.

    The ORM's own flush inserts one row per statement on SQLite (it cannot trust the order RETURNING
    gives there). Here a group is one multi-row INSERT: on PostgreSQL SQLAlchemy orders the returned
    numbers by parameter (`sort_by_parameter_order`); on SQLite the numbers are sorted, since the rows
    of one INSERT take ascending numbers in the order of its VALUES (the write lock is ours).
    """
    if not rows:
        return []
    values = [{**_FILING_DEFAULTS, **row, "created_at": now, "updated_at": now} for row in rows]
    ordered = session.bind.dialect.name != "sqlite"
    statement = insert(_REQUESTS).returning(_REQUESTS.c.id, sort_by_parameter_order=ordered)
    numbers = [int(n) for n in (await session.execute(statement, values)).scalars()]
    if not ordered:
        numbers.sort()
    configure_mappers()  # a constructor would have (a no-op once done); new_instance does not
    made = []
    for number, row in zip(numbers, values, strict=True):
        # As a query loads a row: the column values straight into the instance's dict, no attribute
        # events (a constructor fires one per column, 34 of them); then the row's identity.
        request = _REQUEST_CLASS.new_instance()
        request.__dict__.update(_NEW_REQUEST, **row, id=number)
        make_transient_to_detached(request)
        made.append(request)
    session.add_all(made)  # persistent: later changes in this transaction are flushed as UPDATEs
    return made


async def _claim_key(session: AsyncSession, key: str, source: str, now: datetime) -> None:
    """Mark an inbound key handled inside the action's transaction; a second claim raises Duplicate.

    The key may already be recorded, unprocessed, by `bot.delivery.inbox` (Slack: recorded before the ack);
    then this transaction is the one that processes it. Otherwise it is recorded here (Teams, web).
    One statement either way (an upsert that only updates an unprocessed row), no savepoint.
    """
    if key not in await _claim_keys(session, [(key, source)], now):
        raise Duplicate(key)


async def _claim_keys(session: AsyncSession, keys: Sequence[tuple[str, str]], now: datetime) -> set[str]:
    """`_claim_key` for a group of (key, source) in one statement; returns the keys this transaction claimed."""
    rows = await session.execute(_many(_CLAIM_KEYS, len(keys)), {
        "now": now, **{f"key{i}": key for i, (key, _) in enumerate(keys)},
        **{f"source{i}": source for i, (_, source) in enumerate(keys)}})
    return {str(row[0]) for row in rows}


async def _link_threads(session: AsyncSession, links: Sequence[dict[str, Any]]) -> list[int]:
    """Link origin threads to their requests in one statement; returns the request ids that got their link."""
    values = {f"{name}{i}": value for i, link in enumerate(links) for name, value in link.items()}
    return [int(row[0]) for row in await session.execute(_many(_LINK_THREADS, len(links)), values)]


@dataclass(frozen=True)
class _ManyRows:
    """A multi-row INSERT as text: the head, one VALUES group with `{i}` in its parameter names, the tail."""

    head: str
    row: str
    tail: str


# SQL that SQLite and PostgreSQL both speak, as text(): SQLAlchemy does not cache the compiled form of
# its ON CONFLICT constructs, and compiling them cost a millisecond a request on the hottest path.
_CLAIM_KEYS = _ManyRows(
    "INSERT INTO inbound (key, source, received_at, processed_at, attempts) VALUES ",
    "(:key{i}, :source{i}, :now, :now, 0)",
    " ON CONFLICT (key) DO UPDATE SET processed_at = excluded.processed_at WHERE inbound.processed_at IS NULL "
    "RETURNING key")
_LINK_THREADS = _ManyRows(
    "INSERT INTO thread_links (platform, channel, thread, request_id, purpose) VALUES ",
    "(:platform{i}, :channel{i}, :thread{i}, :request_id{i}, :purpose{i})",
    " ON CONFLICT DO NOTHING RETURNING request_id")
_TEXTS: dict[tuple[_ManyRows, int], Any] = {}


def _many(shape: _ManyRows, count: int) -> Any:
    """The statement for `count` rows, built once per size (text() with bound parameters: nothing inlined)."""
    statement = _TEXTS.get((shape, count))
    if statement is None:
        sql = shape.head + ", ".join(shape.row.format(i=i) for i in range(count)) + shape.tail
        statement = text(sql)
        if shape is _CLAIM_KEYS:
            statement = statement.bindparams(bindparam("now", type_=UtcDateTime()))
        if len(_TEXTS) < 512:
            _TEXTS[(shape, count)] = statement
    return statement


def _task_view(task: Task) -> TaskView:
    return TaskView(task.id, task.request_id, task.from_zone, task.to_zone, task.to_team, task.to_agent, task.title,
                    task.body, task.status, task.created_by, task.created_at, task.outcome)


def _lineage(zone: Zone, category_id: str) -> set[str]:
    """The category and its ancestors (a team handling 'access' handles 'software-access')."""

    def path(nodes: Sequence[Any], trail: list[str]) -> list[str] | None:
        for node in nodes:
            if node.id == category_id:
                return [*trail, node.id]
            found = path(node.children, [*trail, node.id])
            if found:
                return found
        return None

    return set(path(zone.categories, []) or [category_id])
