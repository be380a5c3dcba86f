"""Percentiles of measured durations, one answer on SQLite and PostgreSQL, and the shape of a per-period read.

**Percentiles** use linear interpolation between the closest ranks, the definition of PostgreSQL's
`percentile_cont`, Excel's `PERCENTILE.INC` and R's type 7: of n values sorted ascending v[1..n], the
p-th percentile (0 <= p <= 100) sits at position h = 1 + (n - 1) * p / 100, and is
v[floor(h)] + (h - floor(h)) * (v[floor(h) + 1] - v[floor(h)]). The median is the 50th: the middle
value, or the mean of the two middle values.

PostgreSQL computes them itself: `percentile_cont` per period and, with GROUPING SETS, over the whole range
in the same statement. SQLite has no such function (issue 19 allows Python where a database lacks one):
it gathers each period's values in the database (`json_group_array`, one range read per period), and
`continuous` picks the percentiles from them as PostgreSQL's own C does (`percentile_cont_final_common`
and `float8_lerp`: double precision, the same order of operations), so both databases give the same
number to the last bit. The values are held while they are sorted: 8 bytes and a Python int each, as
PostgreSQL's sort holds them in `work_mem`.

**Per period**: SQLite's GROUP BY sorts every row it groups, so on SQLite `per_period` reads each period's
range of the facts on its own (a UNION ALL of range reads, grouped by the leading column of the facts'
key, which needs no sort); PostgreSQL hashes, so there one read finds each row's period
(`Periods.index_of`) and groups by it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from math import ceil, floor
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    and_,
    func,
    literal,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.analytics.periods import Column, Periods
from bot.desk.unit import Unit

FRACTIONS = (0.5, 0.9)
"""The percentiles every duration figure reports: the median and the 90th."""

Rows = Callable[[ColumnElement[bool]], Select[Any]]
"""The rows of a figure narrowed by one more condition (a range of moments): `select(...).where(..., extra)`."""


# PostgreSQL, for the analytics' read transactions only: no JIT compilation (it costs 150-200 ms a statement
# here, more than these statements take to run); room to sort a year's measures in memory instead of on disk
# (a bound per sort, whatever the number of requests); and a plan for each statement's own values. asyncpg
# prepares every statement, and from its sixth run PostgreSQL may keep a generic plan made without the
# range's dates and the reader's zones: a year's report then took 620-690 ms instead of 360-370 (all zones,
# 100,000 requests). SQLite has none of these settings.
_POSTGRES_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL work_mem = '32MB'",
                      "SET LOCAL plan_cache_mode = force_custom_plan")


@asynccontextmanager
async def reading(unit: Unit) -> AsyncIterator[AsyncSession]:
    """One read transaction on the readers' connection (`Desk.readers`: off the event loop's own on SQLite),
    tuned for the analytics' statements: a report's figures, or the lists beneath them."""
    async with unit.readers() as session, session.begin():
        if session.bind.dialect.name == "postgresql":
            for setting in _POSTGRES_SETTINGS:
                await session.execute(text(setting))
        yield session


def continuous(ordered: Sequence[int], fraction: float) -> float:
    """PostgreSQL's `percentile_cont(fraction)` of `ordered` (sorted ascending, not empty)."""
    position = fraction * (len(ordered) - 1)
    first_row, second_row = floor(position), ceil(position)
    first = float(ordered[first_row])
    if second_row == first_row:
        return first
    second = float(ordered[second_row])
    return first + (second - first) * (position - first_row)


@dataclass(frozen=True)
class Spread:
    """How many values a period has, and their percentiles (seconds), None when it has none."""

    count: int
    median: float | None
    p90: float | None


_EMPTY = Spread(0, None, None)


def _picked(count: int, values: list[int]) -> Spread:
    if not values:
        return Spread(count, None, None)
    values.sort()
    return Spread(count, continuous(values, FRACTIONS[0]), continuous(values, FRACTIONS[1]))


def _inside(moment: Column, low: int, high: int) -> ColumnElement[bool]:
    return and_(moment >= low, moment < high)


def per_period(session: AsyncSession, periods: Periods, moment: Column,
               rows: Rows) -> Select[Any] | CompoundSelect[Any]:
    """`rows` (aggregates, grouped as the figure needs) per period, with the period's index last: on SQLite
    one range read per period, elsewhere one read grouped by `Periods.index_of`. `rows` must group by
    nothing but its own keys; the period is added here."""
    if session.bind.dialect.name == "sqlite":
        return union_all(*(rows(_inside(moment, low, high)).add_columns(literal(p.index, Integer).label("period"))
                           for p, (low, high) in zip(periods.periods, periods.bounds(), strict=True)))
    period = periods.index_of(moment)
    found = rows(_inside(moment, periods.start_second, periods.end_second)).add_columns(period.label("period"))
    # One period is the constant 0, which GROUP BY would read as a column's position.
    return found.group_by(period) if len(periods.periods) > 1 else found


async def spreads(session: AsyncSession, periods: Periods, moment: Column, rows: Rows, width: int, *,
                  whole: bool = False) -> tuple[list[list[Spread]], list[Spread]]:
    """Per value column of `rows` (`width` plain columns, one row per measured thing, `moment` its time in
    whole seconds), one `Spread` per period, empty periods included; with `whole`, also one `Spread` per value
    column over every row together (else an empty list)."""
    found: list[dict[int, Spread]] = [{} for _value in range(width)]
    totals: list[Spread] = []
    if session.bind.dialect.name == "postgresql":
        source = (rows(_inside(moment, periods.start_second, periods.end_second))
                  .add_columns(periods.index_of(moment).label("period")).subquery())
        columns = list(source.c)[:width]
        picks = [func.percentile_cont(f).within_group(c) for c in columns for f in FRACTIONS]
        grouping = func.grouping_sets(tuple_(source.c.period), text("()")) if whole else source.c.period
        for period, count, *rest in await session.execute(select(source.c.period, func.count(), *picks)
                                                          .group_by(grouping)):
            spread = [Spread(int(count), *(None if v is None else float(v) for v in rest[2 * i:2 * i + 2]))
                      for i in range(width)]
            if period is None:
                totals = spread
            else:
                for column, kept in zip(found, spread, strict=True):
                    column[int(period)] = kept
        if whole and not totals:
            totals = [_EMPTY] * width
    else:
        everything: list[list[int]] = [[] for _value in range(width)]
        total = 0
        for period, count, *arrays in await session.execute(_gathered(periods, moment, rows, width)):
            total += int(count)
            for i, array in enumerate(arrays):
                values = [v for v in json.loads(array) if v is not None]
                found[i][int(period)] = _picked(int(count), values)
                everything[i] += values
        if whole:
            totals = [_picked(total, values) for values in everything]
    return [[kept.get(i, _EMPTY) for i in range(len(periods.periods))] for kept in found], totals


def _gathered(periods: Periods, moment: Column, rows: Rows, width: int) -> CompoundSelect[Any]:
    """SQLite: per period with rows, its index, its count and each value column as a JSON array."""
    reads = []
    for p, (low, high) in zip(periods.periods, periods.bounds(), strict=True):
        source = rows(_inside(moment, low, high)).subquery()
        reads.append(select(literal(p.index, Integer), func.count(),
                            *(func.json_group_array(c) for c in list(source.c)[:width])))
    return union_all(*reads)
