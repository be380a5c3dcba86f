"""Filing: a request checked and built from any channel, then written alone or with its group.

`Intake.file_request` validates what the person gave (title, zone, category, team, urgency, on behalf
of), builds the row and hands it to `IntakeQueue`. A lone request is filed at once in its own
transaction; requests that arrive while a transaction is committing are filed together by the next
(group commit), with one statement per table for the group (`bot.desk.writes`). Each caller still gets
its own outcome: its request, or its own error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, partial
from typing import Any

from bot.access import Actor
from bot.config import AppConfig, Zone
from bot.delivery.messages import Button, Message
from bot.desk.types import Origin
from bot.desk.unit import TEXT_MAX, TITLE_MAX, Tx, Unit, clean_text, compute_priority
from bot.desk.writes import claim_keys, insert_requests, link_threads
from bot.errors import DeskError, Duplicate
from bot.i18n import N_, _, current, speaking
from bot.model import FormAnswer, Request

log = logging.getLogger(__name__)


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
    # The language of the person filing: a group is filed in the task of whoever started it, so each
    # filing's refusals are said in its own filer's language, not in the language of that task.
    spoken: str


class IntakeQueue:
    """Group commit for filing: requests that arrive while a transaction is writing share the next one.

    A lone request is filed at once, in its own transaction, with no added wait. Under a burst, the
    requests that queued up during one commit are filed together by the next: one claim, one insert
    per table and one commit for the group instead of one per request. Each caller still gets its own
    outcome (its request, or its own error: see `Intake._file_together`).
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
                    outcomes = await self.run([filing for filing, _future in group])
                except Exception as exc:  # `run` hands errors back per filing; this is a bug, told to all
                    outcomes = [exc] * len(group)
                except BaseException:  # the loop is shutting down: nobody may wait for ever
                    for _filing, future in [*group, *self.pending]:
                        future.cancel()
                    self.pending = []
                    raise
                self.groups.append(len(group))
                del self.groups[:-10_000]
                for (_filing, future), outcome in zip(group, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self.draining = False


def title_from_text(text: str, limit: int = 100) -> str:
    """A request title from a chat message: its first line, shortened on a word boundary."""
    first = next((line.strip() for line in text.strip().splitlines() if line.strip()), "")
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0]
    return (cut or first[:limit]).rstrip(" ,.;:") + "…"


# ---------------------------------------------------------------- routing
def mapped_zone(config: AppConfig, platform: str, *channels: str | None) -> str | None:
    """The zone `app.yaml` maps a channel to (`intake.channels`), trying each id the channel goes by."""
    mapping = config.intake.channels.get(platform, {})
    return next((mapping[channel] for channel in channels if channel and channel in mapping), None)


def intake_zone(config: AppConfig, platform: str, channel: str | None) -> str | None:
    """The zone a chat channel files into; for a DM, the dispatcher zone when `app.yaml` routes there."""
    mapped = mapped_zone(config, platform, channel)
    if mapped is None and config.intake.unrouted == "dispatcher":
        return config.intake.dispatcher_zone
    return mapped


def team_for(config: AppConfig, zone: Zone, category_id: str | None) -> str | None:
    """The team that handles a category of a zone (by the category or an ancestor), else the zone's default."""
    if category_id:
        lineage = _lineage(zone, category_id)
        for team in config.teams_in(zone.id):
            if lineage & set(team.categories):
                return team.id
    return zone.default_team


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


# A value that is not on the priority matrix's scale, refused in a whole sentence per what was given.
_NOT_ON_SCALE = {
    "urgency": N_("'{value}' is not an urgency. Choose one of: {allowed}."),
    "weight": N_("'{value}' is not a weight. Choose one of: {allowed}."),
}


def check_urgency(config: AppConfig, value: str, what: str = "urgency") -> str:
    """An urgency (or, with `what="weight"`, a weight: the same scale) from the priority matrix, or a
    refusal listing them (as people type them)."""
    allowed = list(config.priority.matrix)
    if value not in allowed:
        raise DeskError(_(_NOT_ON_SCALE[what], value=value, allowed=", ".join(allowed)))
    return value


def check_category(zone: Zone, category_id: str) -> str:
    """A category of the zone, or a refusal listing the zone's categories."""
    if zone.category(category_id) is None:
        names = ", ".join(sorted(zone.category_ids()))
        if not names:
            raise DeskError(_("'{category}' is not a category of {zone}. Categories: none.", category=category_id,
                              zone=zone.name))
        raise DeskError(_("'{category}' is not a category of {zone}. Categories: {names}.", category=category_id,
                          zone=zone.name, names=names))
    return category_id


def confirmation(number: int, zone_name: str, title: str, link: str) -> Message:
    """What the requester is told in their thread when their request is filed (a builder: said in the
    language being spoken, the requester's)."""
    return Message(
        title=_("Request #{number} is filed with {zone}", number=number, zone=zone_name),
        text=f"{title}\n" + _("We will answer in this thread. You can add details here at any time."),
        link=link, link_label=_("Follow #{number}", number=number),
        extra={"number": number, "confirmation": True},
    )


def filed_for_you(number: int, zone_name: str, title: str, filer: str, link: str) -> Message:
    """What a person hears, privately in chat where the desk knows them, when someone filed a request for
    them (a builder: said in their language). Such a request has no chat thread of its own, so the page
    is where the desk's answers are."""
    return Message(
        title=_("Request #{number} is filed for you with {zone}", number=number, zone=zone_name),
        text=f"{title}\n" + _("{name} filed it for you. The desk answers on its page; follow it and answer there.",
                              name=filer),
        link=link, link_label=_("Follow #{number}", number=number),
        extra={"number": number, "on_behalf": True},
    )


async def announce(tx: Tx, request: Request) -> None:
    """Tell the zone's (or private team's) triage channels about a new request, with Claim, Assign, Reply,
    in the channel's language."""
    unit = tx.unit
    zone = unit.zone(request.zone_id)
    category = zone.category(request.category_id) if request.category_id else None
    team = unit.config.team(request.team_id) if request.team_id else None

    def announcement() -> Message:
        # Priorities are `app.yaml`'s own ids (an organisation names its levels), shown as written.
        fields = [(_("Requester"), request.requester_name), (unit.config.organisation.zone_word, zone.name),
                  (_("Priority"), request.priority)]
        if category is not None:
            fields.append((_("Category"), category.name))
        if team is not None:
            fields.append((_("Team"), team.name))
        return Message(
            title=_("New request #{number}: {title}", number=request.id, title=request.title),
            text=request.description[:500],
            fields=tuple(fields),
            buttons=(
                Button("claim", _("Claim"), str(request.id), "primary"),
                Button("assign", _("Assign"), str(request.id)),
                Button("reply", _("Reply"), str(request.id)),
            ),
            link=unit.link(request.id),
            link_label=_("Open in Zonedesk"),
            footer=_("Replies in this thread are internal notes."),
            # the agent desk, for a digest that lists this announcement with others (bot.delivery.outbox.digest)
            extra={"number": request.id, "desk": f"{unit.config.organisation.base_url.rstrip('/')}/desk"},
        )

    await tx.to_triage(request.zone_id, request.team_id, announcement, request.id, "triage", link_thread="triage")


class Intake(Unit):
    """A unit of work that files requests; under a burst, through its group commit queue."""

    group_commit = True  # filing under a burst shares transactions; off, every request commits alone

    @cached_property
    def queue(self) -> IntakeQueue:
        """The group commit queue of this desk's filings."""
        return IntakeQueue(self._file_together)

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
        """File a request from any channel. Unknown people file as requesters.

        `on_behalf_of` (e-mail, name): the request is the requester's as if they had filed it (their
        lists, their page); the history says who filed it for them. Dispatchers may, and agents in a
        zone they work (`Policy.may_file_on_behalf`); `bot.desk.behalf.requester_for` says who
        the e-mail is."""
        title = clean_text(title, "title", required=True, limit=TITLE_MAX)
        description = clean_text(description, "description", required=False, limit=TEXT_MAX)
        config = self.config
        zone_id = zone_id or intake_zone(config, origin.platform, origin.channel)
        if zone_id is None:
            raise DeskError(_("Choose a zone for this request."))
        zone = self.zone(zone_id)
        if category_id:
            check_category(zone, category_id)
        named_team = config.team(team_id) if team_id is not None else None
        if team_id is not None and (named_team is None or named_team.zone != zone.id):
            raise DeskError(_("'{team}' is not a team of {zone}.", team=team_id, zone=zone.name))
        urgency = check_urgency(config, urgency or config.priority.default)
        requester_email, requester_name = actor.email, actor.name
        if on_behalf_of is not None:
            if not self.policy.may_file_on_behalf(actor, zone.id):
                raise DeskError(_("Only a dispatcher or an agent of {zone} can file a request there on behalf of "
                                  "someone else.", zone=zone.name))
            requester_email, requester_name = on_behalf_of[0].strip().lower(), on_behalf_of[1]
            if "@" not in requester_email:
                raise DeskError(_("'{email}' is not an e-mail address.", email=on_behalf_of[0]))
        filing = _Filing(
            actor=actor, origin=origin, zone=zone, title=title, category_id=category_id, form_id=form_id,
            on_behalf=on_behalf_of is not None, answers=tuple(answers), dedupe_key=dedupe_key,
            link_origin_thread=link_origin_thread, after=after, spoken=current().language,
            columns=dict(
                zone_id=zone.id, team_id=team_id or team_for(config, zone, category_id),
                requester_email=requester_email,
                requester_name=requester_name, filed_by_email=actor.email, title=title, description=description,
                status="new", urgency=urgency, priority=compute_priority(config, urgency, None, category_id, None),
                category_id=category_id, deadline=deadline, form_id=form_id, origin_platform=origin.platform,
                origin_workspace=origin.workspace, origin_channel=origin.channel, origin_thread=origin.thread,
                origin_message=origin.message, origin_user=origin.user,
            ),
        )
        if not self.group_commit:
            return await self._file_alone(filing)
        return await self.queue.submit(filing)

    async def _file_alone(self, filing: _Filing) -> Filed:
        """File one request in its own transaction; its errors are the caller's, in their language."""
        with speaking(filing.spoken):
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
                with speaking(filing.spoken):
                    outcomes[i] = Duplicate(filing.dedupe_key)
            else:
                keyed[filing.dedupe_key] = i
        if keyed:
            claimed = await claim_keys(tx.session, [(key, filings[i].origin.platform) for key, i in keyed.items()],
                                        tx.now)
            for key, i in keyed.items():
                if key not in claimed:
                    with speaking(filings[i].spoken):
                        outcomes[i] = Duplicate(key)
            tx.settled.extend(claimed)
        waiting = [(i, f) for i, f in enumerate(filings) if outcomes[i] is None]
        made = await insert_requests(tx.session, [f.columns for _i, f in waiting], tx.now)
        live = [(i, f, request) for (i, f), request in zip(waiting, made, strict=True)]
        links = []
        for _i, filing, request in live:
            origin = filing.origin
            for field_id, label, kind, value in filing.answers:
                tx.session.add(
                    FormAnswer(request_id=request.id, field_id=field_id, label=label, kind=kind, value=value))
            thread = origin.thread or origin.message
            if filing.link_origin_thread and self.threaded(origin.platform) and origin.channel and thread:
                links.append({"platform": origin.platform, "channel": origin.channel, "thread": thread,
                              "request_id": request.id, "purpose": "origin"})
        if links:
            linked = await link_threads(tx.session, links)
            if len(linked) != len(links):
                raise DeskError(_("This thread already belongs to a request; reply in it instead."))
        # The confirmations go out in each requester's language: their saved choices read in one query.
        await tx.learn_languages([request.requester_email for _i, _filing, request in live
                                  if self.threaded(request.origin_platform)])
        for i, filing, request in live:
            zone = filing.zone
            with speaking(filing.spoken):  # what the filing's own steps refuse is said to its filer
                await tx.record(request, filing.actor, "filed", zone=zone.id, team=request.team_id,
                                category=filing.category_id, title=filing.title, on_behalf=filing.on_behalf,
                                form=filing.form_id)
                await tx.to_thread(request, partial(confirmation, request.id, zone.name, filing.title,
                                                    self.link(request.id)), kind="confirmation")
                await announce(tx, request)
                if filing.on_behalf:  # the requester did not file it: told privately where they know us
                    await tx.to_person(request.requester_email, partial(
                        filed_for_you, request.id, zone.name, filing.title, filing.actor.name, self.link(request.id)),
                        request.id, zone.id)
                if filing.after is not None:
                    await filing.after(tx, request)
            outcomes[i] = Filed(request.id, filing.title, zone.id, zone.name, request.team_id, request.status)
        return [o for o in outcomes if o is not None]

