"""Database engine and sessions: SQLite (WAL, foreign keys on) by default, PostgreSQL for scale."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.pool import NullPool

from bot.store import sqlite_inline

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./zonedesk.db"
log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


def database_url() -> str:
    """The database URL from `ZONEDESK_DATABASE_URL`, or the embedded SQLite default."""
    return os.environ.get("ZONEDESK_DATABASE_URL") or DEFAULT_DATABASE_URL


def is_sqlite(url: str) -> bool:
    """True when the URL names SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def json_dumps(value: Any) -> str:
    """JSON columns are written with orjson: about ten values a filed request (history, outbox, timers),
    several times faster than `json.dumps`. Keys that are not strings are written as strings, as
    `json.dumps` does. Reading stays with the standard library (SQLAlchemy's default), which also
    accepts anything an older release wrote."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:  # what orjson does not take (an integer past 64 bits in a platform's payload)
        return json.dumps(value)


def create_engine(url: str | None = None, **kwargs: Any) -> AsyncEngine:
    """An async engine; on SQLite every connection gets WAL, foreign keys and a busy timeout."""
    url = url or database_url()
    kwargs.setdefault("json_serializer", json_dumps)
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Statements run inline on the loop over one connection: see bot/store/sqlite_inline.py.
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
            kwargs.setdefault("pool_timeout", 60)
            engine = create_async_engine(url, async_creator=sqlite_inline.creator(str(path)), **kwargs)
        else:
            engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            # aiosqlite starts transactions itself; take it out of the way so BEGIN IMMEDIATE works.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock at BEGIN: two writers queue instead of one failing
            # later with "database is locked" when it upgrades a read lock.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


class Checkpointer:
    """Copies SQLite's write-ahead log back into the database from a thread of its own.

    By default SQLite checkpoints inside whichever commit finds the log over 1,000 pages, and our
    statements run on the event loop (`bot.store.sqlite_inline`): with a database of 100,000 requests such a
    commit held the loop for 250-450 ms, every acknowledgement waiting behind it. `start` turns that
    off for the server's connection and checkpoints every `every` seconds on another connection
    (PASSIVE: it never waits for, or blocks, the server's readers and writer; the sqlite3 module lets
    go of the GIL while SQLite works). `stop` gives the connection its automatic checkpoints back.
    """

    def __init__(self, engine: AsyncEngine, every: float = 1.0) -> None:
        self.engine = engine
        self.path = sqlite_path(str(engine.url)) if is_sqlite(str(engine.url)) else None
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpointed = threading.Event()  # set after each round (tests wait on it)

    async def start(self) -> None:
        """Begin (SQLite database files only; PostgreSQL checkpoints on its own)."""
        if self.path is None or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()
        await self._autocheckpoint(0)

    async def stop(self) -> None:
        """Stop the thread and hand checkpoints back to SQLite's own (at the next commit over the limit)."""
        if self._thread is None:
            return
        with contextlib.suppress(Exception):  # the engine may already be gone; the next connection has the default
            await self._autocheckpoint(1000)
        self._stop.set()
        await asyncio.to_thread(self._thread.join, 5)
        self._thread = None

    async def _autocheckpoint(self, pages: int) -> None:
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={int(pages)}")

    def _run(self) -> None:
        assert self.path is not None
        connection = sqlite3.connect(str(self.path), timeout=5, isolation_level=None, check_same_thread=False)
        try:
            while not self._stop.wait(self.every):
                _checkpoint(connection)
                self.checkpointed.set()
            _checkpoint(connection)  # what the last second wrote
        finally:
            connection.close()


def _checkpoint(connection: sqlite3.Connection) -> None:
    try:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.Error as exc:  # the next round tries again; the log only grows meanwhile
        log.warning("sqlite checkpoint failed: %s", exc)


def reader_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for long reads (analytics) that must not hold up everything else.

    On a SQLite file the server's engine runs statements on the event loop over its one connection
    (`bot.store.sqlite_inline`): a report scanning a year of history would stall every acknowledgement
    and writer for a second. Long reads get their own read-only connection instead, through aiosqlite,
    whose statements run on a thread (SQLite lets go of the GIL meanwhile; WAL lets it read beside the
    writer), opened per read and closed after it, in one deferred transaction so its figures agree.
    Elsewhere (PostgreSQL, an in-memory SQLite) they are the server's own sessions."""
    url = engine.url
    if not is_sqlite(str(url)) or sqlite_path(str(url)) is None:
        return sessionmaker(engine)
    reader = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

    @event.listens_for(reader.sync_engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(reader.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")  # deferred: a read snapshot, no write lock

    return sessionmaker(reader)


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (we render them after the transaction)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "heads") -> None:
    """Run Alembic migrations up to `revision` (blocking; call from a thread when a loop runs)."""
    from alembic import command

    command.upgrade(_alembic_config(url or database_url()), revision)


async def upgrade_async(url: str | None = None) -> None:
    """Run migrations without blocking the event loop (Alembic's async env runs its own loop)."""
    await asyncio.to_thread(upgrade, url)


async def is_empty(engine: AsyncEngine) -> bool:
    """True when the database has none of our tables yet (a fresh install)."""
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    return "alembic_version" not in names and "requests" not in names


async def current_revisions(engine: AsyncEngine) -> set[str]:
    """The Alembic revisions (one per branch head) the database is at."""
    async with engine.connect() as conn:
        try:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        except Exception:  # the table is absent on a fresh database
            return set()
    return {str(r[0]) for r in rows}


def unavailable(exc: BaseException) -> bool:
    """True when `exc` means the database cannot be reached or is not accepting work right now.

    A stopped or restarting PostgreSQL (refused connections, "the database system is starting up",
    connections terminated by an administrator), a dropped connection, a pool that gave no connection
    in time, or a SQLite file that stays locked. Such a failure is the service's, not the request's:
    the caller answers 503 so the platform sends it again, and nothing was saved.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DisconnectionError | PoolTimeout):
            return True
        if isinstance(current, OperationalError | InterfaceError) and any(
                sign in str(current).lower() for sign in _OUTAGE_WORDS):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if type(current).__name__ in _DRIVER_OUTAGES and _from_database_layer(current):
            return True
        if isinstance(current, OSError) and _from_database_layer(current):
            return True  # the driver could not open its socket (refused, unreachable, reset, timed out)
        current = current.__cause__ or current.__context__
    return False


_DATABASE_LAYER = (f"{os.sep}sqlalchemy{os.sep}", f"{os.sep}asyncpg{os.sep}", f"{os.sep}aiosqlite{os.sep}",
                   f"{os.sep}bot{os.sep}sqlite_inline.py")


def _from_database_layer(exc: BaseException) -> bool:
    """True when the exception passed through the database stack (not, say, a Slack API call's socket)."""
    frame = exc.__traceback__
    while frame is not None:
        if any(part in frame.tb_frame.f_code.co_filename for part in _DATABASE_LAYER):
            return True
        frame = frame.tb_next
    return False


# How drivers word an outage (SQLite reuses OperationalError for "no such table", which is a bug, not one).
_OUTAGE_WORDS = ("locked", "unable to open", "disk i/o", "connection", "connect", "closed", "shutdown",
                 "starting up", "shutting down", "terminat", "timeout", "timed out", "refused", "broken pipe")

# asyncpg's own names for a server that is down or going down (checked by name: asyncpg is optional).
_DRIVER_OUTAGES = frozenset({
    "CannotConnectNowError", "ConnectionDoesNotExistError", "ConnectionFailureError", "AdminShutdownError",
    "CrashShutdownError", "ServerNotReadyError", "TooManyConnectionsError", "InterfaceError",
    "ConnectionRejectionError",
})


DEFERRED = "zonedesk.deferred"
"""`session.info` key: rows held back to be inserted together before the next statement or the commit."""


def defer(session: AsyncSession | Session, statement: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Hold rows back to be written with the rest of the transaction's, one executemany per statement.

    For rows nothing reads back while the transaction runs (a new request's timers and SLA clocks): a
    group of filings writes them with one statement instead of one per request. They are written
    before the session's next statement, whatever it reads (`_write_held_first`), and before commit,
    so no query in the transaction can miss them; a rollback drops them.
    """
    if rows:
        held: dict[int, tuple[Any, list[dict[str, Any]]]] = session.info.setdefault(DEFERRED, {})
        held.setdefault(id(statement), (statement, []))[1].extend(rows)


def _write_held(session: Session) -> None:
    """Write the rows `defer` held back, in the order their statements were first deferred.

    Rows of one statement that name different columns (a column left out where it is NULL) go in
    one executemany per set of columns: an executemany takes its columns from its first row, and
    would drop the values of a column that only later rows name, without a word.
    """
    held = session.info.pop(DEFERRED, None)  # popped first: the writes below pass through the hook
    if held:
        for statement, rows in held.values():
            shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for row in rows:
                shapes.setdefault(tuple(row), []).append(row)
            for same in shapes.values():
                session.execute(statement, same)


@event.listens_for(Session, "do_orm_execute")
def _write_held_first(state: ORMExecuteState) -> None:
    _write_held(state.session)


event.listen(Session, "before_commit", _write_held)  # what no statement wrote since


@event.listens_for(Session, "after_rollback")
def _drop_held(session: Session) -> None:
    session.info.pop(DEFERRED, None)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commit on success, roll back on any error."""
    async with factory() as session, session.begin():
        yield session
