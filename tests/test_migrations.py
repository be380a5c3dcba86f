"""The committed migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot import store
from bot.model import Base


def modelled(name: str | None, type_: str, parent_names: object) -> bool:
    """What the models describe: everything but the full-text index (migration 0010), whose FTS5 virtual
    tables and their shadow tables (SQLite) and maintained tables (PostgreSQL), all named `search_*`, are
    kept by triggers and read with SQL of their own (`bot.desk.search`), not through the models."""
    return not (type_ == "table" and name is not None and name.startswith("search_"))


def for_this_database(dialect: str):  # type: ignore[no-untyped-def]
    """Autogenerate's object filter: an index the models make for one database only (`ddl_if(dialect=...)`,
    migration 0019's status-move index) is compared on that database only, as only there is it created."""
    def include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        only = getattr(obj, "_ddl_if", None)
        return only is None or only.dialect is None or only.dialect == dialect

    return include


async def test_migrations_match_the_models(db_url: str) -> None:
    engine = store.create_engine(db_url)
    try:
        async with engine.connect() as conn:
            def diff(sync_conn):  # type: ignore[no-untyped-def]
                context = MigrationContext.configure(sync_conn, opts={
                    "compare_type": True, "include_name": modelled,
                    "include_object": for_this_database(sync_conn.dialect.name)})
                return compare_metadata(context, Base.metadata)

            changes = await conn.run_sync(diff)
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert not changes, f"models and migrations differ; write a migration: {changes}"
    assert {t.name for t in Base.metadata.sorted_tables} <= tables


async def test_sqlite_runs_with_wal_and_foreign_keys(sqlite_url: str) -> None:
    from sqlalchemy import text

    engine = store.create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await engine.dispose()
