"""Shared fixtures: a migrated database (SQLite file, or PostgreSQL when configured), a fake clock, the core."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot import store
from bot.clock import FakeClock
from bot.config import AppConfig, load_config
from bot.model import Base
from bot.server import Services, build_services

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("ZONEDESK_TEST_POSTGRES_URL")
# A Tuesday morning in Oslo working hours (09:00 local).
START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _postgres_reachable() -> bool:
    if not POSTGRES_URL:
        return False
    import asyncpg  # type: ignore[import-untyped]

    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg", "postgresql"), timeout=3)
        except Exception:
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


POSTGRES_OK = _postgres_reachable()


def postgres_skip_reason(url: str | None, reachable: bool) -> str:
    """Why the PostgreSQL tests do not run here ('' when they do); never the URL, which may hold a password."""
    if not url:
        return "ZONEDESK_TEST_POSTGRES_URL is not set (CI sets it)"
    if not reachable:
        return "ZONEDESK_TEST_POSTGRES_URL is set, but that PostgreSQL server is not reachable"
    return ""


POSTGRES_SKIP_REASON = postgres_skip_reason(POSTGRES_URL, POSTGRES_OK)
if os.environ.get("CI") and POSTGRES_URL and not POSTGRES_OK:
    raise RuntimeError(f"CI: ZONEDESK_TEST_POSTGRES_URL is set but {POSTGRES_URL} is not reachable")


@pytest.fixture(scope="session")
def config() -> AppConfig:
    """The shipped sample configuration: tests exercise the same company a new user sees."""
    return load_config(ROOT / "app.yaml")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating per test would be slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    store.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


_pg_migrated = False


def _reset_postgres() -> None:
    global _pg_migrated
    assert POSTGRES_URL
    if not _pg_migrated:
        async def drop() -> None:
            engine = store.create_engine(POSTGRES_URL)
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await engine.dispose()

        asyncio.run(drop())
        store.upgrade(POSTGRES_URL)
        _pg_migrated = True
        return

    async def truncate() -> None:
        engine = store.create_engine(POSTGRES_URL)
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        await engine.dispose()

    asyncio.run(truncate())


async def fresh_postgres(admin_url: str, name: str) -> str:
    """An empty PostgreSQL database of this run's own (named after the process: runs side by side must
    not share one), dropped first if a run left it behind. `drop_postgres` removes it afterwards."""
    import asyncpg  # type: ignore[import-untyped]

    admin = await asyncpg.connect(admin_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name}_{os.getpid()} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {name}_{os.getpid()}")
    finally:
        await admin.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}_{os.getpid()}"


async def drop_postgres(database_url: str) -> None:
    """Drop a database made by `fresh_postgres` (its servers are stopped)."""
    import asyncpg  # type: ignore[import-untyped]

    base, name = database_url.rsplit("/", 1)
    admin = await asyncpg.connect(base.replace("postgresql+asyncpg", "postgresql") + "/postgres")
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture
async def own_postgres(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """An empty PostgreSQL database of the test's own, for tests that run servers or replicas on it (they
    migrate it): named after the test's module and this process, dropped afterwards."""
    assert POSTGRES_URL
    url = await fresh_postgres(POSTGRES_URL, "zd_" + request.module.__name__.replace(".", "_"))
    yield url
    await drop_postgres(url)


def database_params() -> list[object]:
    """SQLite always; PostgreSQL when ZONEDESK_TEST_POSTGRES_URL is set and reachable."""
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=[
            pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_OK, reason=POSTGRES_SKIP_REASON)]),
    ]


@pytest.fixture(params=database_params())
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    if request.param == "postgres":
        _reset_postgres()
        assert POSTGRES_URL
        yield POSTGRES_URL
        return
    path = tmp_path / "zonedesk.db"
    shutil.copy(sqlite_template, path)
    yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh migrated SQLite database, for tests that are about a channel rather than the database."""
    path = tmp_path / "zonedesk.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def clock() -> FakeClock:
    """The injected clock, starting on a Tuesday inside Oslo working hours."""
    return FakeClock(START)


@pytest.fixture
async def services(db_url: str, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Services]:
    """The core wired on a fresh database (no channel mounted)."""
    env = {"ZONEDESK_SECRET_KEY": "test-secret-key-0123456789abcdef"}
    built = build_services(ROOT / "app.yaml", db_url, clock=clock, env=env)
    yield built
    await built.engine.dispose()
