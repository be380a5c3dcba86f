"""SQLite for the async engine without a thread hop per statement.

aiosqlite runs every statement on a helper thread and wakes the event loop for each result: about
0.2 ms a statement here, which caps a ten-statement transaction near 500/s while SQLite itself does
20,000 such transactions a second. This module gives SQLAlchemy's aiosqlite dialect a connection
with the same (async) interface that calls `sqlite3` directly on the loop's thread: each statement
takes microseconds, so the loop is blocked less than by the hop it replaces.

Safety rests on one rule: the engine keeps ONE connection (`pool_size=1`), so a transaction that
awaits something else while holding SQLite's write lock makes other coroutines wait for the pool,
asynchronously, instead of spinning in SQLite's busy handler on the loop. Another process holding
the lock (a CLI command) is waited for by the busy timeout, as any SQLite client would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any


class InlineCursor:
    """A cursor whose coroutines complete at once."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def description(self) -> Any:
        """Column descriptions of the last query."""
        return self._cursor.description

    @property
    def lastrowid(self) -> int | None:
        """Row id of the last insert."""
        return self._cursor.lastrowid

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""
        return self._cursor.rowcount

    async def execute(self, operation: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        """Run one statement."""
        if parameters is None:
            self._cursor.execute(operation)
        else:
            self._cursor.execute(operation, parameters)
        return self

    async def executemany(self, operation: str, seq_of_parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        """Run one statement for many parameter sets."""
        self._cursor.executemany(operation, seq_of_parameters)
        return self

    async def fetchone(self) -> Any:
        """The next row."""
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """The next rows."""
        return self._cursor.fetchmany(size) if size is not None else self._cursor.fetchmany()

    async def fetchall(self) -> list[Any]:
        """All remaining rows."""
        return self._cursor.fetchall()

    async def close(self) -> None:
        """Release the cursor."""
        self._cursor.close()


class _ImmediateQueue:
    """Stands in for aiosqlite's work queue: SQLAlchemy sets isolation_level through it."""

    def __init__(self) -> None:
        pass

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # surfaced to the awaiting caller, as aiosqlite would
            future.set_exception(exc)


class InlineConnection:
    """The subset of aiosqlite.Connection that SQLAlchemy's aiosqlite dialect uses."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._tx = _ImmediateQueue()

    @property
    def isolation_level(self) -> str | None:
        """sqlite3's transaction handling mode."""
        return self._conn.isolation_level

    async def cursor(self) -> InlineCursor:
        """A new cursor."""
        return InlineCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        """Run one statement on a new cursor."""
        cursor = InlineCursor(self._conn.cursor())
        return await cursor.execute(sql, parameters)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        """Register a SQL function."""
        self._conn.create_function(*args, **kwargs)

    async def commit(self) -> None:
        """Commit."""
        self._conn.commit()

    async def rollback(self) -> None:
        """Roll back."""
        self._conn.rollback()

    async def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    async def stop(self) -> None:
        """Terminate (the dialect calls this on forced close)."""
        self._conn.close()


def creator(path: str, timeout: float = 30.0) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine` opening `path` inline."""

    async def connect() -> InlineConnection:
        connection = sqlite3.connect(path, timeout=timeout, check_same_thread=False, isolation_level=None)
        return InlineConnection(connection)

    return connect
