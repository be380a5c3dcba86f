"""The durable outbox: messages are written with the change that caused them and sent after commit.

`enqueue` adds a row inside the caller's transaction. `OutboxWorker` claims due rows with a lease
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, a conditional update checked by row count on SQLite), hands
them to the platform's `Sender`, and records the outcome: sent, retry later with exponential back-off
and jitter (honouring Retry-After), or failed with a visible event in the request's history.

Ordering: a row is claimable only when every older row of the same `conversation` is sent or
claimed with it, so replies reach a thread in the order they were accepted, across replicas too; a
worker sends the run of one conversation it claimed in order and stops at the first failure. Per-conversation
rate limits, as each channel declares them when it is mounted (`ChannelInfo.rate_limits`; Teams: 7 in 1 s,
60 in 30 s), are checked where rows are claimed, from `sent_at`.

A process killed after the platform accepted a message but before the row was marked sent leaves
an expired lease behind; the next claim marks that delivery `maybe_sent`, and a sender that can look
(Slack: the message metadata carries the outbox id) checks before posting again. Senders that cannot
look deliver at least once.

A row of kind `replace` (`REPLACE`) changes a message sent before instead of sending a new one: its
payload names the earlier row (`replaces`), whose `result` (Slack: channel and ts; Teams: conversation and
activity id) the worker hands to the sender as `Delivery.replaces`. It goes in the earlier row's
conversation, so it is never sent before it; when the earlier message never arrived (failed, or pruned)
there is nothing to change and the row is done without a call.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import Integer, bindparam, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.delivery.channels import RateLimit
from bot.delivery.messages import Message
from bot.i18n import _, ngettext, speaking
from bot.model import Event, Outbox, UtcDateTime
from bot.store import unavailable

log = logging.getLogger(__name__)

# The claim reads two small things through indexes, never the whole queue: the oldest sendable rows
# (due, not leased; `ix_outbox_queue` walks the pending rows in id order and stops at the limit), and
# the few rows that hold their conversation up (backing off, or leased), by conversation.
_SENDABLE = text("""
SELECT id, conversation, kind FROM outbox
WHERE status = 'pending' AND platform IN :platforms AND conversation NOT IN :resting
  AND next_attempt_at <= :now AND (claimed_until IS NULL OR claimed_until < :now)
ORDER BY id LIMIT :scan
""").bindparams(bindparam("now", type_=UtcDateTime()), bindparam("platforms", expanding=True),
                bindparam("resting", expanding=True), bindparam("scan", type_=Integer()))
_HELD = text("""
SELECT conversation, MIN(id) FROM (
    SELECT conversation, id FROM outbox WHERE status = 'pending' AND next_attempt_at > :now
    UNION ALL
    SELECT conversation, id FROM outbox WHERE status = 'pending' AND claimed_until >= :now
) AS held GROUP BY conversation
""").bindparams(bindparam("now", type_=UtcDateTime()))


REPLACE = "replace"  # the kind of a row that updates the message an earlier row sent (payload "replaces")


def outbox_row(
    now: datetime,
    *,
    platform: str,
    kind: str,
    conversation: str,
    target: dict[str, Any],
    message: Message | None = None,
    request_id: int | None = None,
    payload: dict[str, Any] | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """The column values of one pending outbound message (for a bulk INSERT at the end of a transaction).

    Every row has the same keys (one executemany takes its columns from the first row). The lease,
    the outcome and the error are left out: NULL until a worker sends the message. `language` is the
    one the message was written in, stored with it unless it carries its own (`Message.language`)."""
    body = dict(payload or {})
    if message is not None:
        body["message"] = message.to_dict()
        if language and not message.language:
            body["message"]["language"] = language
    return {
        "request_id": request_id,
        "platform": platform,
        "kind": kind,
        "conversation": f"{platform}:{conversation}",
        "target": target,
        "payload": body,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }


def replacing(earlier: Outbox, message: Message) -> dict[str, Any]:
    """The `outbox_row` arguments of a `replace` row that changes the message `earlier` sent into `message`
    (in `earlier`'s conversation, so it follows it)."""
    return {"platform": earlier.platform, "kind": REPLACE, "request_id": earlier.request_id,
            "conversation": earlier.conversation.split(":", 1)[1], "target": dict(earlier.target or {}),
            "message": message, "payload": {"replaces": earlier.id}}


def enqueue(
    session: AsyncSession,
    now: datetime,
    *,
    platform: str,
    kind: str,
    conversation: str,
    target: dict[str, Any],
    message: Message | None = None,
    request_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> Outbox:
    """Add an outbound message to the caller's transaction; it is sent only if that commits."""
    row = Outbox(**outbox_row(now, platform=platform, kind=kind, conversation=conversation, target=target,
                              message=message, request_id=request_id, payload=payload))
    session.add(row)
    return row


@dataclass(frozen=True)
class Delivery:
    """What a sender gets: one claimed outbox row."""

    id: int
    platform: str
    kind: str
    conversation: str
    target: dict[str, Any]
    payload: dict[str, Any]
    request_id: int | None
    attempts: int
    maybe_sent: bool = False  # an earlier claim expired with no outcome: its process may have sent it
    replaces: dict[str, Any] | None = None  # a `replace` row: what sending the earlier message returned

    @property
    def has_message(self) -> bool:
        """The row carries a message (the worker fails one that does not before any sender sees it)."""
        return bool(self.payload.get("message"))

    @property
    def message(self) -> Message:
        """The neutral message to render."""
        return Message.from_dict(self.payload["message"])

    @property
    def channel(self) -> str | None:
        """The channel (or conversation) to post in, when the row names one."""
        channel = self.target.get("channel")
        return str(channel) if channel else None

    @property
    def direct(self) -> bool:
        """The row goes to a person directly: a direct message, or a thread reply with no channel to post in."""
        return self.kind == "dm" or self.channel is None


@dataclass(frozen=True)
class Sent:
    """The platform accepted the message; `result` keeps what it returned (ids, timestamps)."""

    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Retry:
    """A passing failure (429, 5xx, timeout): try again, no sooner than `after` seconds if given."""

    error: str
    after: float | None = None


@dataclass(frozen=True)
class Failed:
    """A permanent failure (unknown channel, no such user): give up now."""

    error: str


SendResult = Sent | Retry | Failed


class Sender(Protocol):
    """One platform's delivery: render and send one row."""

    async def send(self, item: Delivery) -> SendResult:
        """Deliver and report the outcome; never raise for platform errors."""
        ...


@dataclass
class OutboxSettings:
    """Tuning of the delivery worker."""

    give_up_after: timedelta = timedelta(hours=24)
    lease: timedelta = timedelta(seconds=60)
    batch: int = 50
    concurrency: int = 16
    base_delay: float = 1.0
    max_delay: float = 300.0
    poll_interval: float = 1.0
    # After a round that sent something but not a full batch, the worker waits this long before the
    # next claim, so the commits of a burst share one claim: under load every commit would wake it,
    # and each claim reads the whole queue. An idle worker still wakes at once.
    linger: float = 0.05
    send_timeout: float = 15.0
    # Per platform; `Services.enable` fills it from each mounted channel's declaration (`ChannelInfo`).
    rate_limits: dict[str, tuple[RateLimit, ...]] = field(default_factory=dict)
    # Kinds whose rows, when several wait at once for one conversation, are sent as one digest message.
    digest_kinds: frozenset[str] = frozenset({"triage"})


class OutboxWorker:
    """Claims and sends outbox rows; several replicas may run one each on the same database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        senders: Mapping[str, Sender],
        settings: OutboxSettings | None = None,
        worker_id: str = "worker",
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.senders = dict(senders)
        self.settings = settings or OutboxSettings()
        self.worker_id = worker_id
        self._wake = asyncio.Event()
        self._stopping = False
        # Rate-limited conversations that used up their allowance, and until when: left out of the next
        # claims, so a channel Teams holds to 2 posts a second does not fill every batch with rows that
        # cannot go (the claim checks the limits from the database in any case).
        self._resting: dict[str, datetime] = {}

    def notify(self) -> None:
        """Wake the worker now (called after a commit that wrote outbox rows)."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until `stop` is called; waits for `notify` or the poll interval when idle."""
        while not self._stopping:
            try:
                busy = await self.run_once()
            except Exception as exc:  # a database outage must not kill the worker; it retries on the next poll
                if unavailable(exc):
                    log.warning("outbox: database unreachable; trying again in %.0f s", self.settings.poll_interval)
                else:
                    log.exception("outbox: delivery round failed")
                busy = 0
            if busy >= self.settings.batch:
                continue  # a full round: more is probably due
            if busy:  # a busy moment: let the commits of the next few ms share one claim
                await asyncio.sleep(self.settings.linger)
                continue
            self._wake.clear()
            try:  # idle: the next commit wakes the worker at once
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.poll_interval)
            except TimeoutError:
                pass

    def stop(self) -> None:
        """Ask `run` to return after the current round."""
        self._stopping = True
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one batch of due rows, send them, record outcomes. Returns how many were handled.

        Each conversation's claimed rows (a run, oldest first) are sent one after the other; different
        conversations are sent side by side. When a send does not succeed, the rest of its run is
        released unsent, so nothing overtakes a row that will be retried. Announcements that queued up
        together for one channel (`digest_kinds`, DIGEST_MIN or more in a row) go as one digest.
        """
        claimed = await self._claim()
        if not claimed:
            return 0
        runs: dict[str, list[Delivery]] = {}
        for item in claimed:
            runs.setdefault(item.conversation, []).append(item)
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def one_run(run: list[Delivery]) -> None:
            async with gate:
                parts = segments(run, lambda item: self._digest_kind(item.kind))
                for position, part in enumerate(parts):
                    item = part[0] if len(part) == 1 else digest(part)
                    outcome = await self._send(item)
                    await self._record(item, outcome, folded=[d.id for d in part[1:]])
                    if not isinstance(outcome, Sent):
                        await self._release([d.id for later in parts[position + 1:] for d in later]
                                            + [d.id for d in part[1:]])
                        return

        await asyncio.gather(*(one_run(run) for run in runs.values()))
        return len(claimed)

    async def drain(self, rounds: int = 100) -> int:
        """Send everything that is due now (tests and `zonedesk` shutdown); returns rows handled."""
        total = 0
        for _round in range(rounds):
            handled = await self.run_once()
            total += handled
            if not handled:
                break
        return total

    async def _send(self, item: Delivery) -> SendResult:
        sender = self.senders.get(item.platform)
        if sender is None:
            return Retry(f"no {item.platform} channel is configured on this server")
        if not item.has_message:
            return Failed(f"nothing to send for a {item.kind} row")
        if item.kind == REPLACE:
            earlier = await self._replaced(item)
            if not isinstance(earlier, Delivery):
                return earlier
            item = earlier
        try:
            return await asyncio.wait_for(sender.send(item), timeout=self.settings.send_timeout)
        except TimeoutError:
            return Retry("timed out")
        except Exception as exc:  # a renderer bug must not wedge the queue: retry, then fail visibly
            log.exception("outbox: sender %s raised on row %s", item.platform, item.id)
            return Retry(f"internal error: {type(exc).__name__}")

    async def _replaced(self, item: Delivery) -> Delivery | SendResult:
        """A `replace` row with what its earlier row's send returned; done at once when there is nothing to change."""
        earlier_id = item.payload.get("replaces")
        row = None
        if isinstance(earlier_id, int):
            async with self.sessions() as session:
                row = (await session.execute(select(Outbox.status, Outbox.result)
                                             .where(Outbox.id == earlier_id))).first()
        if row is None or row.status in ("failed", "folded"):
            return Sent({"skipped": "the message it replaces was never delivered"})
        if row.status != "sent":
            return Retry("the message it replaces is not sent yet")
        return replace(item, replaces=dict(row.result or {}))

    async def _claim(self) -> list[Delivery]:
        """Lease the next rows to send: each conversation's oldest pending rows, up to the first one that
        is backing off or leased by another worker, within its rate limits; the oldest rows first,
        whatever their conversation, up to a batch.

        The first claim tested "no older pending row" for each row, which made a backlog in one channel
        quadratic to drain; a window query over the pending rows after it cost a whole-queue sort per
        round, which under a sustained load held the event loop for tens of milliseconds at a time.
        """
        now = self.clock.now()
        platforms = sorted(self.senders)
        if not platforms:
            return []
        self._resting = {c: until for c, until in self._resting.items() if until > now}
        batch = self.settings.batch
        async with self.sessions() as session, session.begin():
            sendable = [(int(i), str(c), str(k)) for i, c, k in await session.execute(_SENDABLE, {
                "now": now, "platforms": platforms, "resting": [*self._resting, ""], "scan": batch * 4})]
            if not sendable:
                return []
            held = {str(c): int(i) for c, i in await session.execute(_HELD, {"now": now})}
            runs: dict[str, list[tuple[int, str]]] = {}
            cut: set[str] = set()
            count = 0
            for row_id, conversation, kind in sendable:  # id order: each conversation's rows come as its run
                if conversation in cut or held.get(conversation, row_id) < row_id:
                    cut.add(conversation)  # an older row must go first
                    continue
                runs.setdefault(conversation, []).append((row_id, kind))
                count += 1
                if count >= batch:
                    break
            allowance = await self._allowance(session, list(runs), now)
            chosen: list[tuple[int, str]] = []
            for conversation, run in runs.items():
                if conversation in allowance:  # a digest is one message against the limit
                    parts = segments(run, lambda row: self._digest_kind(row[1]))
                    run = [row for part in parts[:max(0, allowance[conversation])] for row in part]
                    if len(parts) >= allowance[conversation]:
                        self._resting[conversation] = now + timedelta(seconds=min(
                            lim.seconds for lim in self._limits(conversation)))
                chosen += [(row_id, conversation) for row_id, _kind in run]
            chosen.sort()
            if not chosen:
                return []
            query = select(Outbox).where(
                Outbox.id.in_([i for i, _ in chosen]), Outbox.status == "pending", Outbox.next_attempt_at <= now,
                or_(Outbox.claimed_until.is_(None), Outbox.claimed_until < now))
            if session.bind.dialect.name == "postgresql":  # rows another replica is claiming are skipped
                query = query.with_for_update(skip_locked=True, of=Outbox)
            locked = {row.id: row for row in (await session.execute(query)).scalars()}
            taken: list[Outbox] = []
            gap: set[str] = set()
            for row_id, conversation in chosen:
                row = locked.get(row_id)
                if conversation in gap or row is None:
                    gap.add(conversation)  # another replica took it meanwhile: what follows would overtake it
                    continue
                taken.append(row)
            if not taken:
                return []
            # A lease that expired without an outcome (every outcome clears it) means the claimant died
            # somewhere around the send: the platform may have the message already.
            uncertain = {row.id for row in taken if row.claimed_until is not None}
            await session.execute(
                update(Outbox).where(Outbox.id.in_([row.id for row in taken]), Outbox.status == "pending",
                                     or_(Outbox.claimed_until.is_(None), Outbox.claimed_until < now))
                .values(claimed_until=now + self.settings.lease, attempts=Outbox.attempts + 1)
                .execution_options(synchronize_session=False))
        return [
            Delivery(r.id, r.platform, r.kind, r.conversation, r.target, r.payload, r.request_id, r.attempts + 1,
                     maybe_sent=r.id in uncertain)
            for r in taken
        ]

    def _limits(self, conversation: str) -> tuple[RateLimit, ...]:
        """The rate limits of a conversation (keyed `platform:...`); none for platforms without them."""
        return self.settings.rate_limits.get(conversation.split(":", 1)[0], ())

    def _digest_kind(self, kind: str) -> str | None:
        """The kind a row may be folded into a digest with, or None when it is always sent alone."""
        return kind if kind in self.settings.digest_kinds else None

    async def _allowance(self, session: AsyncSession, conversations: Sequence[str], now: datetime) -> dict[str, int]:
        """How many more messages each rate-limited conversation may send now (conversations are keyed
        `platform:...`; conversations without limits are absent). Rows folded into a digest do not count."""
        limited = sorted({c for c in conversations if self._limits(c)})
        if not limited:
            return {}
        longest = max(limit.seconds for c in limited for limit in self._limits(c))
        recent = await session.execute(
            select(Outbox.conversation, Outbox.sent_at).where(
                Outbox.conversation.in_(limited), Outbox.status == "sent",
                Outbox.sent_at >= now - timedelta(seconds=longest)))
        sent: dict[str, list[datetime]] = {}
        for conversation, sent_at in recent:
            sent.setdefault(conversation, []).append(sent_at)
        allowance = {}
        for conversation in limited:
            times = sent.get(conversation, [])
            allowance[conversation] = min(
                limit.count - sum(1 for t in times if t > now - timedelta(seconds=limit.seconds))
                for limit in self._limits(conversation))
        return allowance

    async def _release(self, ids: Sequence[int]) -> None:
        """Give claimed rows back unsent (an earlier row of their run must be retried first)."""
        if not ids:
            return
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(Outbox).where(Outbox.id.in_(ids), Outbox.status == "pending")
                .values(claimed_until=None, attempts=Outbox.attempts - 1)
                .execution_options(synchronize_session=False))

    async def prune(self, keep: timedelta = timedelta(days=14), limit: int = 5000) -> int:
        """Delete sent messages older than `keep` (their payloads hold message text); failed rows stay, as
        the visible record of what never arrived. At most `limit` rows a call; returns how many went."""
        cutoff = self.clock.now() - keep
        async with self.sessions() as session, session.begin():
            old = select(Outbox.id).where(Outbox.status.in_(("sent", "folded")), Outbox.sent_at < cutoff).limit(limit)
            result = await session.execute(delete(Outbox).where(Outbox.id.in_(old.scalar_subquery()))
                                           .execution_options(synchronize_session=False))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def backoff(self, attempts: int) -> float:
        """Exponential back-off with full jitter, capped."""
        ceiling = min(self.settings.max_delay, self.settings.base_delay * (2 ** max(0, attempts - 1)))
        return random.uniform(ceiling / 2, ceiling)  # jitter, not security

    async def _record(self, item: Delivery, outcome: SendResult, folded: Sequence[int] = ()) -> None:
        """Write one outcome in its own transaction (a crash loses at most the outcome of a send in flight).

        A success, the common case, is one UPDATE (and the thread link, if the message starts one); the
        rows a digest carried (`folded`) are marked `folded` with it. A failure goes through the ORM,
        which it can afford; the folded rows are then released by the caller.
        """
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            if isinstance(outcome, Sent):
                done = await session.execute(
                    update(Outbox).where(Outbox.id == item.id, Outbox.status == "pending")
                    .values(status="sent", sent_at=now, result=outcome.result, last_error=None, claimed_until=None)
                    .execution_options(synchronize_session=False))
                if folded:
                    await session.execute(
                        update(Outbox).where(Outbox.id.in_(folded), Outbox.status == "pending")
                        .values(status="folded", sent_at=now, result={"digest": item.id}, last_error=None,
                                claimed_until=None)
                        .execution_options(synchronize_session=False))
                if done.rowcount == 1:  # type: ignore[attr-defined]
                    await _after_sent(session, item, outcome.result)
                return
            row = await session.get(Outbox, item.id)
            if row is None or row.status != "pending":
                return
            row.claimed_until = None
            row.last_error = outcome.error
            expired = now - row.created_at >= self.settings.give_up_after
            if isinstance(outcome, Failed) or expired:
                row.status = "failed"
                log.warning("outbox: gave up on row %s (%s): %s", row.id, row.kind, outcome.error)
                if row.request_id is not None:
                    session.add(
                        Event(
                            request_id=row.request_id,
                            at=now,
                            actor_email="zonedesk@system",
                            actor_name="Zonedesk",
                            channel=row.platform,
                            kind="delivery_failed",
                            data={"what": row.kind, "error": outcome.error[:500], "attempts": row.attempts},
                        )
                    )
                return
            delay = self.backoff(row.attempts)
            if outcome.after is not None:
                delay = max(delay, outcome.after)
            row.next_attempt_at = now + timedelta(seconds=delay)


DIGEST_MIN = 3  # this many announcements waiting together for one channel go as one message
DIGEST_MAX = 20  # and at most this many in one (Slack: 50 blocks; Teams: 80 KB per card)
T = TypeVar("T")


def segments(rows: Sequence[T], digest_kind: Callable[[T], str | None]) -> list[list[T]]:
    """A run cut into what is sent as one message: a digest for DIGEST_MIN or more consecutive rows of one
    digest kind (at most DIGEST_MAX each), every other row alone. The claim and the send cut alike."""
    parts: list[list[T]] = []
    i = 0
    while i < len(rows):
        kind, j = digest_kind(rows[i]), i + 1
        if kind is not None:
            while j < len(rows) and j - i < DIGEST_MAX and digest_kind(rows[j]) == kind:
                j += 1
        if j - i >= DIGEST_MIN:
            parts.append(list(rows[i:j]))
        else:
            parts.extend([row] for row in rows[i:j])
        i = j
    return parts


def digest(items: Sequence[Delivery]) -> Delivery:
    """One message for announcements that queued up together for one channel (a burst of new requests).

    It lists each request with its link, oldest first, and points to the agent desk; it carries the
    first row's id (a sender checking for a post made before a crash looks for that id). The platforms
    allow about one post a second per channel, so a burst announced one by one would trickle in for
    minutes. Replies in a digest's thread are not linked to any one request. Its own words are in the
    language the announcements were written in (`Message.language`).
    """
    first = items[0]
    lines = []
    desk_link = None
    language = None
    for item in items:
        if not item.has_message:
            continue
        message = item.message
        lines.append(f"• {message.title or message.text[:100]}" + (f" · {message.link}" if message.link else ""))
        desk_link = message.extra.get("desk") or desk_link
        language = language or message.language
    with speaking(language) as spoken:  # the words of the announcements it carries (one channel, one language)
        summary = Message(
            title=ngettext("{count} new request arrived together", "{count} new requests arrived together",
                           len(items)),
            text="\n".join(lines),
            link=desk_link, link_label=_("Open the desk") if desk_link else None,
            footer=_("Announced together because they arrived at once; open each to claim it."),
            extra={"digest": [item.request_id for item in items]}, language=spoken.language,
        )
    return Delivery(first.id, first.platform, first.kind, first.conversation, first.target,
                    {"message": summary.to_dict()}, None, first.attempts, maybe_sent=first.maybe_sent)


# A resend after a crash finds the thread linked already: nothing to do, and no savepoint needed.
_LINK_THREAD = text("INSERT INTO thread_links (platform, channel, thread, request_id, purpose) "
                    "VALUES (:platform, :channel, :thread, :request_id, :purpose) ON CONFLICT DO NOTHING")


async def _after_sent(session: AsyncSession, item: Delivery, result: dict[str, Any]) -> None:
    """Remember the thread a sent message started, so replies in it reach the request."""
    link = item.payload.get("link_thread")
    channel, thread = result.get("channel"), result.get("thread")
    if not link or item.request_id is None or not channel or not thread:
        return
    await session.execute(_LINK_THREAD, {"platform": item.platform, "channel": channel, "thread": thread,
                                         "request_id": item.request_id, "purpose": str(link)})


async def backlog(sessions: async_sessionmaker[AsyncSession]) -> int:
    """How many rows wait to be sent (for /metrics and the load benchmark)."""
    async with sessions() as session:
        return int((await session.scalar(select(func.count()).where(Outbox.status == "pending"))) or 0)
