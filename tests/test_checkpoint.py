"""The server's SQLite checkpoints run on a thread of their own, not inside a commit on the event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import store


async def _autocheckpoint(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar_one())


async def _write(engine: AsyncEngine, rows: int) -> None:
    for start in range(0, rows, 100):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO notes (body) VALUES (:body)"),
                               [{"body": f"{i:06d}" * 300} for i in range(start, start + 100)])


async def test_commits_leave_the_checkpoint_to_the_thread_and_get_theirs_back_after(tmp_path: Path) -> None:
    engine = store.create_engine(f"sqlite+aiosqlite:///{tmp_path}/desk.db")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    checkpoints = store.Checkpointer(engine, every=0.01)
    await checkpoints.start()
    try:
        assert await _autocheckpoint(engine) == 0, "commits no longer checkpoint on the event loop"
        checkpoints.checkpointed.clear()
        await _write(engine, 3000)  # about 5 MB: far past SQLite's own 1,000-page checkpoint
        assert await asyncio.to_thread(checkpoints.checkpointed.wait, 10)
        checkpoints.checkpointed.clear()
        assert await asyncio.to_thread(checkpoints.checkpointed.wait, 10)  # a round that began after the writes
        # Until a checkpoint copies them, new pages live only in the log: the database file itself grows
        # by the ~5 MB written only through the thread's checkpoints.
        assert (tmp_path / "desk.db").stat().st_size > 4_000_000, "the thread copied the log into the database"
    finally:
        await checkpoints.stop()
    assert await _autocheckpoint(engine) == 1000, "SQLite's own checkpoints are back"
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 3000
    await engine.dispose()


async def test_postgres_and_memory_databases_have_no_checkpoint_thread() -> None:
    engine = store.create_engine("sqlite+aiosqlite:///:memory:")
    checkpoints = store.Checkpointer(engine)
    await checkpoints.start()
    assert checkpoints._thread is None
    await checkpoints.stop()
    await engine.dispose()
