"""Measures computed in the database the same way on SQLite and PostgreSQL: durations in whole seconds,
and percentiles of them per period.

**Durations** are whole seconds between two stored times: each time is cut to its second (its
fraction dropped), then one is taken from the other, so both databases give the same integer.

**Percentiles** use linear interpolation between the closest ranks, the definition of PostgreSQL's
`percentile_cont`, Excel's `PERCENTILE.INC` and R's type 7: of n values sorted ascending v[1..n],
the p-th percentile (0 <= p <= 100) sits at position h = 1 + (n - 1) * p / 100, and is
v[floor(h)] + (h - floor(h)) * (v[floor(h) + 1] - v[floor(h)]). The median is the 50th: the middle
value, or the mean of the two middle values. SQLite has no `percentile_cont`, so the database numbers
the values of each period (`ROW_NUMBER` and `COUNT` as window functions) and picks the two values
around the position with integer arithmetic only; Python then interpolates between those two, once
per period. Nothing grows with the number of requests outside the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import floor
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Integer, Select, Subquery, and_, case, cast, extract, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

Column = ColumnElement[Any] | QueryableAttribute[Any]
"""A column or an expression over columns (a mapped attribute such as `Request.created_at` too)."""

PERCENTILES = (50, 90)
"""The percentiles every duration figure reports: the median and the 90th."""


class epoch_seconds(FunctionElement[int]):  # an SQL function, named as SQLAlchemy names them
    """Whole seconds since 1970-01-01 UTC of a stored time (its fraction of a second dropped)."""

    type = BigInteger()
    name = "epoch_seconds"
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # Times are stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC; strftime('%s') reads them and drops the fraction.
    (moment,) = list(element.clauses)
    return compiler.process(cast(func.strftime("%s", moment), Integer), **kw)


@compiles(epoch_seconds)
def _epoch_default(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # PostgreSQL: EXTRACT(EPOCH ...) of a timestamptz is exact (numeric); FLOOR drops the fraction as SQLite does.
    (moment,) = list(element.clauses)
    return compiler.process(cast(func.floor(extract("epoch", moment)), BigInteger), **kw)


def seconds_between(start: Column, end: Column) -> ColumnElement[int]:
    """SQL: whole seconds from `start` to `end` (both stored times)."""
    return epoch_seconds(end) - epoch_seconds(start)


def percentile_select(source: Subquery, percentiles: tuple[int, ...] = PERCENTILES,
                      values: tuple[str, ...] = ("value",), *, whole: bool = False) -> Select[Any]:
    """Per period of `source` (columns `period` and `values`: one row per measured thing), its count and, for
    each value column and each percentile, the two values around its position (`interpolate` finishes the
    job). Several value columns of the same rows (calendar and working time) are ranked in one read.

    Columns: period, n, then (low, high) for each of `percentiles` of each of `values`, in that order. With
    `whole`, the same again for every row together (the whole range), ranked in the same read: the count of
    all rows, then (low, high) pairs, each found in the row of the period that holds that value and NULL in
    the others (`spreads_of` takes them).
    """
    ranks = [func.row_number().over(partition_by=source.c.period, order_by=source.c[name]).label(f"rank_{name}")
             for name in values]
    total = func.count().over(partition_by=source.c.period).label("total")
    overall: list[ColumnElement[Any]] = []
    if whole:
        overall = [func.row_number().over(order_by=source.c[name]).label(f"all_rank_{name}") for name in values]
        overall.append(func.count().over().label("all_total"))
    ranked = select(source.c.period, *(source.c[name] for name in values), *ranks, total, *overall).subquery()

    def picks(n: ColumnElement[Any], prefix: str) -> list[ColumnElement[Any]]:
        found: list[ColumnElement[Any]] = []
        for name in values:
            r, v = ranked.c[f"{prefix}rank_{name}"], ranked.c[name]
            for p in percentiles:
                # h - 1 = (n - 1) * p / 100; compared times 100, so every term is an integer.
                at = (n - 1) * p
                low = and_((r - 1) * 100 <= at, r * 100 > at)  # the rank floor(h)
                high = and_((r - 1) * 100 >= at, (r - 2) * 100 < at)  # the rank ceil(h)
                found += [func.max(case((low, v))), func.max(case((high, v)))]
        return found

    columns: list[ColumnElement[Any]] = [ranked.c.period, func.max(ranked.c.total), *picks(ranked.c.total, "")]
    if whole:
        columns += [func.max(ranked.c.all_total), *picks(ranked.c.all_total, "all_")]
    return select(*columns).group_by(ranked.c.period)


def interpolate(n: int, p: int, low: float, high: float) -> float:
    """The p-th percentile of n values from the values at ranks floor(h) and ceil(h) (see the module)."""
    position = Fraction((n - 1) * p, 100)
    below, above = Fraction(low), Fraction(high)  # exact, whatever number type the driver returned
    return float(below + (above - below) * (position - floor(position)))


@dataclass(frozen=True)
class Spread:
    """How many values a period has, and their percentiles (seconds), None when it has none."""

    count: int
    median: float | None
    p90: float | None


def spreads(rows: Any, periods: int) -> list[Spread]:
    """`percentile_select`'s rows (with `PERCENTILES`, one value column) as one `Spread` per period, empty
    periods included."""
    return spreads_of(rows, periods, 1)[0][0]


def spreads_of(rows: Any, periods: int, values: int, *, whole: bool = False
               ) -> tuple[list[list[Spread]], list[Spread]]:
    """`percentile_select`'s rows (with `PERCENTILES` and `values` value columns) as, per value column, one
    `Spread` per period, empty periods included; with `whole`, also one `Spread` per value column for every
    row together (else an empty list)."""
    width = 4 * values
    found: list[dict[int, Spread]] = [{} for _column in range(values)]
    everything: list[Any] = [None] * (width + 1)
    for period, n, *rest in rows:
        count = int(n)
        for column in range(values):
            low50, high50, low90, high90 = rest[4 * column:4 * column + 4]
            found[column][int(period)] = Spread(count, interpolate(count, 50, low50, high50),
                                                interpolate(count, 90, low90, high90))
        if whole:
            everything = [kept if kept is not None else new for kept, new in zip(everything, rest[width:], strict=True)]
    per_period = [[kept.get(i, Spread(0, None, None)) for i in range(periods)] for kept in found]
    totals: list[Spread] = []
    if whole:
        count = int(everything[0] or 0)
        for column in range(values):
            low50, high50, low90, high90 = everything[1 + 4 * column:5 + 4 * column]
            totals.append(Spread(count, interpolate(count, 50, low50, high50), interpolate(count, 90, low90, high90))
                          if count else Spread(0, None, None))
    return per_period, totals
