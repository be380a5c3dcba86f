"""Percentiles in the database against their definition, the same on SQLite and PostgreSQL.

The definition (`bot.analytics.measures`): linear interpolation between the closest ranks, PostgreSQL's
`percentile_cont`. PostgreSQL computes it itself; on SQLite the database gathers each period's values and
`continuous` follows PostgreSQL's arithmetic: on both the figures equal `continuous` to the last bit, and
the textbook definition to the last few digits (PostgreSQL works in floating point).
"""

from __future__ import annotations

import random
import statistics
from datetime import date, timedelta
from fractions import Fraction
from math import floor

import pytest
from sqlalchemy import BigInteger, ColumnElement, Integer, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot import store
from bot.analytics.measures import continuous, spreads
from bot.analytics.periods import build_periods


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
    assert reference([5], 90) == 5 and continuous([5], 0.9) == 5
    assert continuous([1800, 7200, 10800], 0.9) == pytest.approx(10080, rel=1e-12)
    rng = random.Random(3)
    for size in range(2, 40):
        values = [rng.randint(0, 10_000) for _ in range(size)]
        # Python's "inclusive" quantiles are the same method; the 9th of 10 cut points is the 90th percentile.
        assert float(reference(values, 90)) == statistics.quantiles(values, n=10, method="inclusive")[8]
        assert reference(values, 50) == statistics.median(values) == continuous(sorted(values), 0.5)
        assert continuous(sorted(values), 0.9) == pytest.approx(float(reference(values, 90)), rel=1e-12)


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
    # One day per sample (and one empty day after them), each value at a moment inside its day.
    periods = build_periods("day", date(2026, 11, 1), date(2026, 11, 1) + timedelta(days=len(SAMPLES)), "UTC")
    rows = [select(literal(periods.bounds()[day][0] + 60 * i, BigInteger).label("at"),
                   literal(value, Integer).label("value"), literal(value * 3 + 1, Integer).label("other"))
            for day, values in SAMPLES.items() for i, value in enumerate(values)]
    source = union_all(*rows).subquery()

    def measured(inside: ColumnElement[bool]):  # type: ignore[no-untyped-def]
        return select(source.c.value, source.c.other).where(inside)

    engine = store.create_engine(db_url)
    try:
        async with AsyncSession(engine) as session:
            (found, other), (whole, whole_other) = await spreads(session, periods, source.c.at, measured, 2,
                                                                 whole=True)
    finally:
        await engine.dispose()
    everything = sorted(v for values in SAMPLES.values() for v in values)
    for period, values in [*SAMPLES.items(), (None, everything)]:
        spread = whole if period is None else found[period]
        assert spread.count == len(values), period
        # PostgreSQL's own arithmetic, to the last bit, on both databases.
        assert (spread.median, spread.p90) == (continuous(sorted(values), 0.5), continuous(sorted(values), 0.9))
        assert spread.median == pytest.approx(float(reference(values, 50)), rel=1e-12), period
        assert spread.p90 == pytest.approx(float(reference(values, 90)), rel=1e-12), period
        shifted = whole_other if period is None else other[period]
        assert shifted.median == continuous(sorted(v * 3 + 1 for v in values), 0.5), period
    # A period with no values has none, and is not left out.
    assert found[len(SAMPLES)].count == 0 and found[len(SAMPLES)].median is None
