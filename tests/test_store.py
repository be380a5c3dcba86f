"""What the data layer's shortcuts on the filing path must never change: what is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Table, insert, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import store
from bot.model import Schedule

SCHEDULES = Schedule.__table__
assert isinstance(SCHEDULES, Table)


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = store.create_engine(db_url)
    yield store.sessionmaker(engine)
    await engine.dispose()


async def _stored(sessions: async_sessionmaker[AsyncSession]) -> list[Schedule]:
    async with sessions() as session:
        return list((await session.execute(select(Schedule).order_by(Schedule.key))).scalars())


async def test_a_batch_keeps_every_time_and_json_value_it_was_given(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    # A transaction binds its own instant over and over (the bind remembers the last one); rows in
    # between carry other instants, the same instant in another offset, and no time at all.
    now = datetime(2026, 11, 23, 9, 30, 15, 250_000, tzinfo=UTC)
    oslo = now.astimezone(timezone(timedelta(hours=1)))
    times = [now, now, now + timedelta(microseconds=1), now, oslo, None, now, datetime(2027, 1, 1, tzinfo=UTC), now]
    data = [{"n": i, "text": "Grüße, «Zoë» 👋", "nested": {"list": [1, 2.5, None, True]}, 7: "seven",
             "big": 2**70 + i}  # a platform's payload may carry integers past 64 bits
            for i in range(len(times))]
    async with sessions() as session, session.begin():
        await session.execute(insert(SCHEDULES), [
            {"key": f"k{i}", "kind": "stale", "due_at": now, "claimed_until": when, "data": data[i]}
            for i, when in enumerate(times)])
    stored = await _stored(sessions)
    assert [s.claimed_until for s in stored] == times
    assert all(s.due_at == now and s.due_at.tzinfo is not None for s in stored)
    # Keys that are not strings come back as strings, as the standard library writes them.
    assert [s.data for s in stored] == [{**{k: v for k, v in d.items() if k != 7}, "7": "seven"} for d in data]


async def test_a_naive_time_is_refused_even_right_after_an_aware_one(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    now = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    with pytest.raises(StatementError, match="naive datetime"):
        async with sessions() as session, session.begin():
            await session.execute(insert(SCHEDULES), [
                {"key": "aware", "kind": "stale", "due_at": now},
                {"key": "naive", "kind": "stale", "due_at": now.replace(tzinfo=None)}])
    assert await _stored(sessions) == []


async def test_held_back_rows_that_name_different_columns_are_all_written_whole_at_commit(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    # One executemany takes its columns from its first row: a column that only a later row names
    # would be dropped without a word. Rows held back with `store.defer` may differ (NULLs left out).
    now = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    statement = insert(SCHEDULES)
    async with sessions() as session, session.begin():
        store.defer(session, statement, [{"key": "plain", "kind": "stale", "due_at": now}])
        store.defer(session, statement, [
            {"key": "claimed", "kind": "stale", "due_at": now, "claimed_by": "replica-2",
             "claimed_until": now + timedelta(minutes=1)},
            {"key": "other", "kind": "sla", "due_at": now + timedelta(hours=1)}])
    by_key = {s.key: s for s in await _stored(sessions)}
    assert set(by_key) == {"plain", "claimed", "other"}
    assert by_key["claimed"].claimed_by == "replica-2"
    assert by_key["claimed"].claimed_until == now + timedelta(minutes=1)
    assert by_key["plain"].claimed_by is None and by_key["other"].kind == "sla"


async def test_the_next_query_in_the_transaction_sees_held_back_rows(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    now = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    async with sessions() as session, session.begin():
        store.defer(session, insert(SCHEDULES), [{"key": "stale:1", "kind": "stale", "due_at": now}])
        found = (await session.execute(text("SELECT key FROM schedules"))).scalars().all()
        assert found == ["stale:1"], "a plain-SQL read saw the held row"
        store.defer(session, insert(SCHEDULES), [{"key": "stale:2", "kind": "stale", "due_at": now}])
        got = await session.scalar(select(Schedule).where(Schedule.kind == "stale").order_by(Schedule.id.desc()))
        assert got is not None and got.key == "stale:2", "an ORM read saw it too"
    assert [s.key for s in await _stored(sessions)] == ["stale:1", "stale:2"]  # each written once


async def test_a_rollback_drops_held_back_rows(sessions: async_sessionmaker[AsyncSession]) -> None:
    now = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    async with sessions() as session:
        with pytest.raises(RuntimeError):
            async with session.begin():
                store.defer(session, insert(SCHEDULES), [{"key": "lost", "kind": "stale", "due_at": now}])
                raise RuntimeError("the action failed")
        async with session.begin():  # the same session, a new transaction: nothing of the failed one
            store.defer(session, insert(SCHEDULES), [{"key": "kept", "kind": "stale", "due_at": now}])
    assert [s.key for s in await _stored(sessions)] == ["kept"]


async def test_a_long_read_on_sqlite_has_its_own_read_only_connection_and_never_holds_up_the_writer(
        sqlite_url: str) -> None:
    """Analytics reads through `Desk.readers`: on a SQLite file that is a connection of its own (the
    server's one connection runs statements on the event loop), which cannot write, and a filing
    commits while a report's read transaction is open."""
    import asyncio

    from bot.clock import FakeClock
    from bot.desk.types import Origin
    from bot.server import build_services
    from tests.conftest import ROOT, START

    services = build_services(ROOT / "app.yaml", sqlite_url, clock=FakeClock(START),
                              env={"ZONEDESK_SECRET_KEY": "test-secret-key-0123456789abcdef"})
    try:
        desk = services.desk
        assert desk.readers is not services.sessions
        async with desk.readers() as reading, reading.begin():
            assert await reading.scalar(text("SELECT count(*) FROM requests")) == 0
            zack = desk.actor("zack@nordlys.example", "Zack", channel="web")
            filed = await asyncio.wait_for(  # a guard against a hang, not a timing: it finishes at once
                desk.file_request(zack, Origin("web"), "Printer jam", zone_id="it"),
                timeout=30)
            assert filed.number == 1
            assert await reading.scalar(text("SELECT count(*) FROM requests")) == 0  # its snapshot holds
        async with desk.readers() as reading:
            assert await reading.scalar(text("SELECT count(*) FROM requests")) == 1
            with pytest.raises(Exception, match=r"readonly|read-only|query_only"):
                await reading.execute(text("DELETE FROM requests"))
    finally:
        await services.engine.dispose()
