"""Percentiles of measured durations, computed by the database, the same on SQLite and PostgreSQL.

**Percentiles** use linear interpolation between the closest ranks, the definition of PostgreSQL's
`percentile_cont`, Excel's `PERCENTILE.INC` and R's type 7: of n values sorted ascending v[1..n], the
p-th percentile (0 <= p <= 100) sits at position h = 1 + (n - 1) * p / 100, and is
v[floor(h)] + (h - floor(h)) * (v[floor(h) + 1] - v[floor(h)]). The median is the 50th: the middle
value, or the mean of the two middle values.

PostgreSQL computes them itself (`percentile_cont`, per period and, with GROUPING SETS, over the whole
range in the same statement). SQLite has no such function, so the store gives each of its connections one
(`bot.store.percentiles.zd_percentiles`) that follows PostgreSQL's own arithmetic to the last bit and
reads the rows in one pass with no sort in SQL. Both are asked through `spreads`, which answers the same
shapes whichever database it runs on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Subquery, func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from bot.store.percentiles import FRACTIONS, NAME

Column = ColumnElement[Any] | QueryableAttribute[Any]
"""A column or an expression over columns (a mapped attribute such as `Request.created_at` too)."""

PERCENTILES = tuple(round(f * 100) for f in FRACTIONS)
"""The percentiles every duration figure reports: the median and the 90th."""


@dataclass(frozen=True)
class Spread:
    """How many values a period has, and their percentiles (seconds), None when it has none."""

    count: int
    median: float | None
    p90: float | None


_EMPTY = Spread(0, None, None)


def _spread(count: int, picks: list[Any]) -> Spread:
    if not count or picks[0] is None:
        return Spread(count, None, None) if count else _EMPTY
    return Spread(count, float(picks[0]), float(picks[1]))


async def spreads(session: AsyncSession, source: Subquery, periods: int, values: tuple[str, ...] = ("value",), *,
                  whole: bool = False) -> tuple[list[list[Spread]], list[Spread]]:
    """Per value column of `source` (columns `period`, an index below `periods`, and `values`: one row per
    measured thing), one `Spread` per period, empty periods included; with `whole`, also one `Spread` per
    value column over every row together (else an empty list). One read of the rows."""
    found: list[dict[int, Spread]] = [{} for _value in values]
    totals: list[Spread] = []
    if session.bind.dialect.name == "postgresql":
        picks = [func.percentile_cont(f).within_group(source.c[name]) for name in values for f in FRACTIONS]
        grouping = func.grouping_sets(tuple_(source.c.period), text("()")) if whole else source.c.period
        width = len(FRACTIONS)
        for period, count, *rest in await session.execute(select(source.c.period, func.count(), *picks)
                                                          .group_by(grouping)):
            spread = [_spread(int(count), rest[i * width:(i + 1) * width]) for i in range(len(values))]
            if period is None:
                totals = spread
            else:
                for column, kept in zip(found, spread, strict=True):
                    column[int(period)] = kept
        if whole and not totals:
            totals = [_EMPTY for _value in values]
    else:
        answer = json.loads(await session.scalar(
            select(getattr(func, NAME)(source.c.period, *(source.c[name] for name in values)))) or "{}")
        for period, (count, columns) in answer.get("periods", {}).items():
            for column, picked in zip(found, columns, strict=True):
                column[int(period)] = _spread(count, picked)
        if whole:
            count, columns = answer.get("all", [0, []])
            totals = [_spread(count, columns[i]) if i < len(columns) else _EMPTY for i in range(len(values))]
    return [[kept.get(i, _EMPTY) for i in range(periods)] for kept in found], totals
