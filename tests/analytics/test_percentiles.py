"""Percentiles in the database against their definition, the same on SQLite and PostgreSQL.

The definition (`bot.analytics.measures`): linear interpolation between the closest ranks, PostgreSQL's
`percentile_cont`; on PostgreSQL the test also asks `percentile_cont` itself.
"""

from __future__ import annotations

import random
import statistics
from fractions import Fraction
from math import floor

import pytest
from sqlalchemy import Integer, func, literal, select, union_all

from bot import store
from bot.analytics.measures import interpolate, percentile_select, spreads


def reference(values: list[int], p: int) -> Fraction:
    """The p-th percentile by its definition: position h = 1 + (n - 1) * p / 100 among the sorted values."""
    ordered = sorted(values)
    h = 1 + Fraction((len(ordered) - 1) * p, 100)
    low = ordered[floor(h) - 1]
    high = ordered[min(floor(h), len(ordered) - 1)]
    return low + (high - low) * (h - floor(h))


def test_the_definition_is_the_textbook_one() -> None:
    assert reference([1800, 7200, 10800], 90) == 10080
    assert reference([900, 1800, 7200, 10800], 50) == 4500 == statistics.median([900, 1800, 7200, 10800])
    assert reference([5], 90) == 5 and interpolate(1, 90, 5, 5) == 5
    rng = random.Random(3)
    for size in range(2, 40):
        values = [rng.randint(0, 10_000) for _ in range(size)]
        # Python's "inclusive" quantiles are the same method; the 9th of 10 cut points is the 90th percentile.
        assert float(reference(values, 90)) == statistics.quantiles(values, n=10, method="inclusive")[8]
        assert reference(values, 50) == statistics.median(values)


# Period -> values: odd and even sizes, ties, a lone value, and one large period.
_rng = random.Random(11)
SAMPLES: dict[int, list[int]] = {
    0: [7],
    1: [3, 1],
    2: [10, 10, 10, 20],
    3: [_rng.randint(0, 500_000) for _ in range(9)],
    4: [_rng.randint(0, 500_000) for _ in range(10)],
    5: [_rng.randint(0, 100) for _ in range(37)],
    6: [_rng.randint(0, 2_000_000) for _ in range(150)],
}


async def test_the_database_agrees_with_the_definition(db_url: str) -> None:
    rows = [select(literal(period, Integer).label("period"), literal(value, Integer).label("value"))
            for period, values in SAMPLES.items() for value in values]
    source = union_all(*rows).subquery()
    engine = store.create_engine(db_url)
    try:
        async with engine.connect() as conn:
            found = spreads(await conn.execute(percentile_select(source)), len(SAMPLES))
            if conn.dialect.name == "postgresql":
                cont: dict[tuple[int, int], float] = {}
                for period, median, p90 in await conn.execute(
                        select(source.c.period, func.percentile_cont(0.5).within_group(source.c.value),
                               func.percentile_cont(0.9).within_group(source.c.value)).group_by(source.c.period)):
                    cont[int(period), 50], cont[int(period), 90] = float(median), float(p90)
                ours = {(i, p): value for i, s in enumerate(found) for p, value in ((50, s.median), (90, s.p90))}
                # percentile_cont works in floating point, the desk exactly: equal to the last few digits.
                assert cont == pytest.approx(ours, rel=1e-12)
    finally:
        await engine.dispose()
    for period, values in SAMPLES.items():
        spread = found[period]
        assert spread.count == len(values), period
        assert spread.median == float(reference(values, 50)), period
        assert spread.p90 == float(reference(values, 90)), period
