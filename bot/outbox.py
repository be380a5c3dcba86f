"""The durable outbox: messages are written with the change that caused them and sent after commit.

`enqueue` adds a row inside the caller's transaction. `OutboxWorker` claims due rows with a lease
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, a conditional update checked by row count on SQLite), hands
them to the platform's `Sender`, and records the outcome: sent, retry later with exponential back-off
and jitter (honouring Retry-After), or failed with a visible event in the request's history.

Ordering: a row is claimable only when no older row of the same `conversation` is still pending,
so replies reach a thread in the order they were accepted, across replicas too. Per-conversation
rate limits (Teams: 7 in 1 s, 60 in 30 s) are checked where rows are claimed, from `sent_at`.

A process killed after the platform accepted a message but before the row was marked sent leaves
an expired lease behind; the next claim marks that delivery `maybe_sent`, and a sender that can look
(Slack: the message metadata carries the outbox id) checks before posting again. Senders that cannot
look deliver at least once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.clock import Clock
from bot.messages import Message
from bot.model import Event, Outbox, ThreadLink
from bot.store import unavailable

log = logging.getLogger(__name__)


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
) -> dict[str, Any]:
    """The column values of one pending outbound message (for a bulk INSERT at the end of a transaction)."""
    body = dict(payload or {})
    if message is not None:
        body["message"] = message.to_dict()
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
        "claimed_until": None,
        "sent_at": None,
        "last_error": None,
        "result": None,
    }


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

    @property
    def message(self) -> Message | None:
        """The neutral message to render, if the row carries one."""
        data = self.payload.get("message")
        return Message.from_dict(data) if data else None


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


@dataclass(frozen=True)
class RateLimit:
    """At most `count` messages per conversation in `seconds`."""

    count: int
    seconds: float


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
    send_timeout: float = 15.0
    rate_limits: dict[str, tuple[RateLimit, ...]] = field(
        default_factory=lambda: {"teams": (RateLimit(7, 1.0), RateLimit(60, 30.0))}
    )


AfterSent = Callable[[AsyncSession, Outbox, dict[str, Any], datetime], Awaitable[None]]


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
            if busy:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.poll_interval)
            except TimeoutError:
                pass

    def stop(self) -> None:
        """Ask `run` to return after the current round."""
        self._stopping = True
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one batch of due rows, send them, record outcomes. Returns how many were handled."""
        claimed = await self._claim()
        if not claimed:
            return 0
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def one(item: Delivery) -> None:
            async with gate:
                outcome = await self._send(item)
                await self._record(item, outcome)

        await asyncio.gather(*(one(item) for item in claimed))
        return len(claimed)

    async def drain(self, rounds: int = 100) -> int:
        """Send everything that is due now (tests and `zonedesk` shutdown); returns rows handled."""
        total = 0
        for _ in range(rounds):
            handled = await self.run_once()
            total += handled
            if not handled:
                break
        return total

    async def _send(self, item: Delivery) -> SendResult:
        sender = self.senders.get(item.platform)
        if sender is None:
            return Retry(f"no {item.platform} channel is configured on this server")
        try:
            return await asyncio.wait_for(sender.send(item), timeout=self.settings.send_timeout)
        except TimeoutError:
            return Retry("timed out")
        except Exception as exc:  # a renderer bug must not wedge the queue: retry, then fail visibly
            log.exception("outbox: sender %s raised on row %s", item.platform, item.id)
            return Retry(f"internal error: {type(exc).__name__}")

    async def _claim(self) -> list[Delivery]:
        now = self.clock.now()
        older = aliased(Outbox)
        head_of_conversation = ~exists().where(
            and_(older.conversation == Outbox.conversation, older.id < Outbox.id, older.status == "pending")
        )
        due = and_(
            Outbox.status == "pending",
            Outbox.next_attempt_at <= now,
            or_(Outbox.claimed_until.is_(None), Outbox.claimed_until < now),
            head_of_conversation,
        )
        platforms = sorted(self.senders)
        async with self.sessions() as session, session.begin():
            query = select(Outbox).where(due, Outbox.platform.in_(platforms)).order_by(Outbox.id)
            query = query.limit(self.settings.batch)
            postgres = session.bind.dialect.name == "postgresql"
            if postgres:
                query = query.with_for_update(skip_locked=True, of=Outbox)
            rows = list((await session.execute(query)).scalars())
            rows = await self._within_rate_limits(session, rows, now)
            claimed: list[Outbox] = []
            # A lease that expired without an outcome (every outcome clears it) means the claimant died
            # somewhere around the send: the platform may have the message already.
            uncertain = {row.id for row in rows if row.claimed_until is not None}
            lease = now + self.settings.lease
            for row in rows:
                if postgres:
                    row.claimed_until = lease
                    row.attempts += 1
                    claimed.append(row)
                    continue
                result = await session.execute(
                    update(Outbox)
                    .where(
                        Outbox.id == row.id,
                        Outbox.status == "pending",
                        or_(Outbox.claimed_until.is_(None), Outbox.claimed_until < now),
                    )
                    .values(claimed_until=lease, attempts=Outbox.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    row.attempts += 1
                    claimed.append(row)
        return [
            Delivery(r.id, r.platform, r.kind, r.conversation, r.target, r.payload, r.request_id, r.attempts,
                     maybe_sent=r.id in uncertain)
            for r in claimed
        ]

    async def _within_rate_limits(self, session: AsyncSession, rows: Sequence[Outbox], now: datetime) -> list[Outbox]:
        limited = [r for r in rows if r.platform in self.settings.rate_limits]
        if not limited:
            return list(rows)
        longest = max(limit.seconds for r in limited for limit in self.settings.rate_limits[r.platform])
        conversations = sorted({r.conversation for r in limited})
        recent = await session.execute(
            select(Outbox.conversation, Outbox.sent_at).where(
                Outbox.conversation.in_(conversations),
                Outbox.sent_at >= now - timedelta(seconds=longest),
            )
        )
        sent: dict[str, list[datetime]] = {}
        for conversation, sent_at in recent:
            sent.setdefault(conversation, []).append(sent_at)
        keep = []
        for row in rows:
            limits = self.settings.rate_limits.get(row.platform, ())
            times = sent.get(row.conversation, [])
            if all(sum(1 for t in times if t > now - timedelta(seconds=lim.seconds)) < lim.count for lim in limits):
                keep.append(row)
        return keep

    def backoff(self, attempts: int) -> float:
        """Exponential back-off with full jitter, capped."""
        ceiling = min(self.settings.max_delay, self.settings.base_delay * (2 ** max(0, attempts - 1)))
        return random.uniform(ceiling / 2, ceiling)  # jitter, not security

    async def _record(self, item: Delivery, outcome: SendResult) -> None:
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            row = await session.get(Outbox, item.id)
            if row is None or row.status != "pending":
                return
            row.claimed_until = None
            if isinstance(outcome, Sent):
                row.status = "sent"
                row.sent_at = now
                row.result = outcome.result
                row.last_error = None
                await _after_sent(session, row, outcome.result)
                return
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


async def _after_sent(session: AsyncSession, row: Outbox, result: dict[str, Any]) -> None:
    """Remember the thread a sent message started, so replies in it reach the request."""
    link = row.payload.get("link_thread")
    channel, thread = result.get("channel"), result.get("thread")
    if not link or row.request_id is None or not channel or not thread:
        return
    try:
        async with session.begin_nested():
            session.add(
                ThreadLink(platform=row.platform, channel=channel, thread=thread, request_id=row.request_id,
                           purpose=str(link))
            )
    except IntegrityError:
        pass  # already linked (a resend after a crash)


async def backlog(sessions: async_sessionmaker[AsyncSession]) -> int:
    """How many rows wait to be sent (for /metrics and the load benchmark)."""
    async with sessions() as session:
        return int((await session.scalar(select(func.count()).where(Outbox.status == "pending"))) or 0)
