"""What the bench scripts share: a database emptied before seeding, and the percentiles they print.

Imported by the scripts as `bench.common` (each puts the project's root on `sys.path` first).
"""

from __future__ import annotations

import statistics

from sqlalchemy import text

from bot import store


async def empty_database(url: str) -> None:
    """Drop everything in a PostgreSQL database (a SQLite file is always a fresh one)."""
    if store.is_sqlite(url):
        return
    engine = store.create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def percentiles(seconds: list[float]) -> tuple[float, float, float]:
    """Median, p95 and p99 in milliseconds (linear interpolation, as the analytics page's own percentiles)."""
    ms = sorted(s * 1000 for s in seconds)
    if len(ms) == 1:
        return ms[0], ms[0], ms[0]
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return statistics.median(ms), cuts[94], cuts[98]
