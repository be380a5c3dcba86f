"""`percentile_cont` for SQLite, which lacks it: an aggregate every SQLite connection of the store is given.

PostgreSQL computes a continuous percentile with `percentile_cont(fraction) WITHIN GROUP (ORDER BY value)`:
linear interpolation between the closest ranks (Excel's PERCENTILE.INC, R's type 7). `continuous` is that
definition written as PostgreSQL's own code does it (`percentile_cont_final_common` and `float8_lerp`, in
double precision, in the same order of operations), so both databases give the same number to the last bit.

SQLite gets it as one aggregate, `zd_percentiles(period, value, ...)`, that reads a query's rows in one
pass, with no sort in SQL: each period's values of each value column are kept as 8-byte integers (an
`array`), and at the end each is sorted once and `FRACTIONS` picked from it, per period and over every row
together. It answers JSON: `{"periods": {"<period>": [count, [p, ...] per value column]}, "all": ...}`.
This is the exception issue 19 allows ("aggregate in the database, not in Python, except where a
database lacks the function"): the memory is that of the values themselves, 16 bytes a measured request
with two value columns, as PostgreSQL's own sort of them takes in `work_mem`.
"""

from __future__ import annotations

import json
import sqlite3
from array import array
from collections.abc import Sequence
from math import ceil, floor

FRACTIONS = (0.5, 0.9)
"""The percentiles `zd_percentiles` picks: the median and the 90th."""

NAME = "zd_percentiles"


def continuous(ordered: Sequence[int], fraction: float) -> float:
    """PostgreSQL's `percentile_cont(fraction)` of `ordered` (sorted ascending, not empty)."""
    position = fraction * (len(ordered) - 1)
    first_row, second_row = floor(position), ceil(position)
    first = float(ordered[first_row])
    if second_row == first_row:
        return first
    second = float(ordered[second_row])
    return first + (second - first) * (position - first_row)


def _spread(rows: int, values: list[array[int]]) -> list[object]:
    return [rows, [[continuous(ordered, f) for f in FRACTIONS] if ordered else [None] * len(FRACTIONS)
                   for ordered in (sorted(v) for v in values)]]


class _Percentiles:
    """The aggregate: values per period and value column, picked once every row is in."""

    def __init__(self) -> None:
        self.rows: dict[int, int] = {}
        self.periods: dict[int, list[array[int]]] = {}

    def step(self, period: int, *values: int | None) -> None:
        kept = self.periods.get(period)
        if kept is None:
            kept = self.periods[period] = [array("q") for _value in values]
        self.rows[period] = self.rows.get(period, 0) + 1
        for column, value in zip(kept, values, strict=True):
            if value is not None:
                column.append(value)

    def finalize(self) -> str:
        width = max((len(v) for v in self.periods.values()), default=0)
        everything = [array("q") for _column in range(width)]
        for kept in self.periods.values():
            for whole, column in zip(everything, kept, strict=True):
                whole.extend(column)
        found = {str(period): _spread(self.rows[period], kept) for period, kept in sorted(self.periods.items())}
        return json.dumps({"periods": found, "all": _spread(sum(self.rows.values()), everything)})


def register(connection: sqlite3.Connection) -> None:
    """Give one SQLite connection `zd_percentiles` (called wherever the store opens one)."""
    connection.create_aggregate(NAME, -1, _Percentiles)  # type: ignore[arg-type]
