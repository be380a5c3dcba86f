"""Schedule rows: arm, re-arm and cancel timers by key, and claim the due ones with a lease.

A timer's `key` names what it is for ("stale:42", "sla:42:resolution"), so arming the same key again
replaces the timer instead of adding a second one. `cancelled_at` ends a timer's cycle: a timer kept
across changes (`Timer.keep`) that has already fired stays fired until its cycle ends, so it fires
once per cycle however often the request changes.

Claiming is one conditional UPDATE over the partial index of open timers: `FOR UPDATE SKIP LOCKED` in
its sub-select on PostgreSQL, so replicas take disjoint rows without waiting on each other; on SQLite
the write lock taken at BEGIN serialises claimants and the UPDATE's own condition
(`claimed_until < now`) decides. The rows it returns are the claim; each carries a token that the
runner checks again, with a conditional UPDATE, in the transaction that acts and marks it done.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, bindparam, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import store
from bot.model import Schedule, UtcDateTime


@dataclass(frozen=True)
class Timer:
    """Something to do at `due_at`; `keep`: leave an armed or already fired timer of this key alone."""

    key: str
    kind: str
    due_at: datetime
    request_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    keep: bool = False


@dataclass(frozen=True)
class Claimed:
    """A due row this process holds a lease on; `token` proves the lease is still ours."""

    id: int
    key: str
    kind: str
    request_id: int | None
    due_at: datetime
    data: dict[str, Any]
    attempts: int
    token: str


@dataclass(frozen=True)
class Armed:
    """A timer row as it stands (not cancelled): enough to decide whether it must change."""

    id: int
    key: str
    kind: str
    due_at: datetime
    done: bool


_ARM_SQL = (
    "INSERT INTO schedules (key, kind, request_id, due_at, data, attempts) "
    "VALUES (:key, :kind, :request_id, :due_at, :data, 0) "
    "ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, request_id = excluded.request_id, "
    "due_at = excluded.due_at, data = excluded.data, done_at = NULL, cancelled_at = NULL, "
    "claimed_until = NULL, claimed_by = NULL, attempts = 0, outcome = NULL"
)
_PARAMS = (bindparam("due_at", type_=UtcDateTime()), bindparam("data", type_=JSON()))
_ARM = text(_ARM_SQL).bindparams(*_PARAMS)
# Arm unless a timer of that key is armed or fired in its current cycle.
_ENSURE = text(_ARM_SQL + " WHERE schedules.cancelled_at IS NOT NULL").bindparams(*_PARAMS)


def _values(timer: Timer) -> dict[str, Any]:
    return {"key": timer.key, "kind": timer.kind, "request_id": timer.request_id, "due_at": timer.due_at,
            "data": timer.data}


def arm_before_commit(session: AsyncSession, timers: Sequence[Timer]) -> None:
    """Arm a new request's timers with the rest of its transaction's (a group of filings: one statement).

    The rows are written before the session's next statement or its commit (`store.defer`), so
    nothing in the same transaction can miss them.
    """
    store.defer(session, _ARM, [_values(t) for t in timers])


async def arm(session: AsyncSession, timers: Sequence[Timer]) -> None:
    """Arm timers now, replacing any timer of the same key (fired, cancelled or pending)."""
    if timers:
        await session.execute(_ARM, [_values(t) for t in timers])


async def ensure(session: AsyncSession, timers: Sequence[Timer]) -> None:
    """Arm timers whose key has no timer in its current cycle; leave the others as they are."""
    if timers:
        await session.execute(_ENSURE, [_values(t) for t in timers])


_CANCEL = text(
    "UPDATE schedules SET cancelled_at = :now WHERE id IN :ids AND cancelled_at IS NULL"
).bindparams(bindparam("now", type_=UtcDateTime()), bindparam("ids", expanding=True))
# Runs in the transaction of every change to a request: plain SQL, compiled once.
_ARMED = text(
    "SELECT id, key, kind, due_at, done_at IS NOT NULL AS done FROM schedules "
    "WHERE request_id = :request_id AND cancelled_at IS NULL AND kind IN :kinds"
).bindparams(bindparam("kinds", expanding=True)).columns(due_at=UtcDateTime())


async def cancel_ids(session: AsyncSession, ids: Iterable[int], now: datetime) -> None:
    """End the cycle of these timers (pending ones never fire)."""
    wanted = sorted(set(ids))
    if wanted:
        await session.execute(_CANCEL, {"now": now, "ids": wanted})


async def cancel_keys(session: AsyncSession, keys: Iterable[str], now: datetime) -> None:
    """End the cycle of the timers with these keys."""
    wanted = sorted(set(keys))
    if wanted:
        await session.execute(
            update(Schedule).where(Schedule.key.in_(wanted), Schedule.cancelled_at.is_(None))
            .values(cancelled_at=now).execution_options(synchronize_session=False))


async def armed_for(session: AsyncSession, request_id: int, kinds: Iterable[str]) -> dict[str, Armed]:
    """The request's timers of these kinds in their current cycle, by key."""
    rows = await session.execute(_ARMED, {"request_id": request_id, "kinds": sorted(kinds)})
    return {key: Armed(id_, key, kind, due, bool(done)) for id_, key, kind, due, done in rows}


def _due(now: datetime) -> Any:
    return (
        Schedule.done_at.is_(None),
        Schedule.cancelled_at.is_(None),
        Schedule.due_at <= now,
        or_(Schedule.claimed_until.is_(None), Schedule.claimed_until < now),
    )


async def claim_due(session: AsyncSession, now: datetime, token: str, lease: timedelta, limit: int) -> list[Claimed]:
    """Take a lease on up to `limit` due rows, earliest first; rows another claimant holds are skipped."""
    pick = select(Schedule.id).where(*_due(now)).order_by(Schedule.due_at).limit(limit)
    if session.bind.dialect.name == "postgresql":
        # A locking CTE runs once; as an IN (sub-select) PostgreSQL may run it again for every row.
        picked = pick.with_for_update(skip_locked=True).cte("picked")
        chosen = Schedule.id == picked.c.id
    else:
        chosen = Schedule.id.in_(pick.scalar_subquery())
    statement = (
        update(Schedule)
        .where(chosen, *_due(now))
        .values(claimed_until=now + lease, claimed_by=token, attempts=Schedule.attempts + 1)
        .returning(Schedule.id, Schedule.key, Schedule.kind, Schedule.request_id, Schedule.due_at, Schedule.data,
                   Schedule.attempts)
        .execution_options(synchronize_session=False)
    )
    rows = (await session.execute(statement)).all()
    claimed = [Claimed(r[0], r[1], r[2], r[3], r[4], dict(r[5] or {}), r[6], token) for r in rows]
    claimed.sort(key=lambda c: (c.due_at, c.id))
    return claimed


# The statements every group of fired timers runs, as plain SQL: compiling their ORM form cost more
# than executing them, and a tick may run them for a thousand timers.
_TAKE = text(
    "UPDATE schedules SET done_at = :now, claimed_until = NULL, outcome = NULL "
    "WHERE id IN :ids AND claimed_by = :token AND done_at IS NULL AND cancelled_at IS NULL RETURNING id"
).bindparams(bindparam("now", type_=UtcDateTime()), bindparam("ids", expanding=True))
_DONE = text("UPDATE schedules SET outcome = :outcome WHERE id = :id")
_AGAIN = text(
    "UPDATE schedules SET outcome = :outcome, done_at = NULL, due_at = :due_at, data = :data, claimed_by = NULL, "
    "attempts = 0 WHERE id = :id"
).bindparams(*_PARAMS)


async def take(session: AsyncSession, claimed: Sequence[Claimed], now: datetime) -> set[int]:
    """Mark claimed rows done where the lease is still ours and nobody cancelled or re-armed them.

    Runs before their jobs, in the transaction that runs them: on PostgreSQL it locks the rows until
    commit, so a concurrent change that cancels or re-arms one waits, then finds it done. Returns the
    ids taken; the others are no longer this claim's to run.
    """
    taken: set[int] = set()
    for token in sorted({row.token for row in claimed}):
        ids = sorted(row.id for row in claimed if row.token == token)
        result = await session.execute(_TAKE, {"now": now, "ids": ids, "token": token})
        taken.update(int(found) for found in result.scalars())
    return taken


async def record(session: AsyncSession, outcomes: Sequence[tuple[int, str]]) -> None:
    """What the jobs of taken rows did (shown in `schedules.outcome`)."""
    if outcomes:
        await session.execute(_DONE, [{"id": id_, "outcome": outcome[:200]} for id_, outcome in outcomes])


async def again(session: AsyncSession, row: Claimed, outcome: str, due_at: datetime, data: dict[str, Any]) -> None:
    """A taken row's timer waits for its next moment (the next reminder, the next stage) instead of ending."""
    await session.execute(_AGAIN, {"outcome": outcome[:200], "id": row.id, "due_at": due_at, "data": data})


async def give_back(session: AsyncSession, unrun: Sequence[Claimed]) -> None:
    """Let go of claimed rows not run yet (claimable again at once; the claim does not count as an attempt)."""
    for token in {row.token for row in unrun}:
        await session.execute(
            update(Schedule).where(Schedule.id.in_(sorted(r.id for r in unrun if r.token == token)),
                                   Schedule.claimed_by == token, Schedule.done_at.is_(None))
            .values(claimed_until=None, claimed_by=None, attempts=Schedule.attempts - 1)
            .execution_options(synchronize_session=False))


async def release(session: AsyncSession, row: Claimed, now: datetime, error: str, retry_at: datetime | None) -> None:
    """After a failed attempt: try again at `retry_at`, or give up (done, with the error) when None."""
    values: dict[str, Any] = {"outcome": f"error: {error}"[:200], "claimed_until": retry_at}
    if retry_at is None:
        values.update(done_at=now, outcome=f"failed: {error}"[:200])
    await session.execute(
        update(Schedule).where(Schedule.id == row.id, Schedule.claimed_by == row.token, Schedule.done_at.is_(None))
        .values(**values).execution_options(synchronize_session=False))
