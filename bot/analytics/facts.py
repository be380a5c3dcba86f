"""The one table the figures read: `analytics_facts` (migration 0020, decision 0010), and the reader's clause
moved onto it.

Each row is one counted thing with its request's dimensions as they are now, kept by the database's
triggers in the transaction of the row it mirrors (a transfer or a reassignment rewrites the request's
facts in the same statement). The codes below are the migration's; `at` is whole seconds since 1970 UTC.

Who may count what is still said once, over `Request` (`Policy.analytics_clause` and the query's filters,
`bot.analytics.query.counted`); `over_facts` rewrites that clause column for column onto the facts, and
refuses a clause that reads a column the facts do not carry, so a later rule of access cannot be dropped
on the way without a test failing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column as TableColumn
from sqlalchemy import ColumnElement, Table
from sqlalchemy.sql import visitors

from bot.model import AnalyticsFact, Request

FILED = 0
RESOLVED = 1
CLOSED = 2
REOPENED = 3
CANCELLED = 4
FIRST_RESPONSE = 5
RESOLUTION = 6
SLA_CLOCK = 7  # label: the clock's kind; a: its state (below); b: its target in seconds
SURVEY = 8  # a: 1 when answered; b: the rating

MOVES = {"resolved": RESOLVED, "closed": CLOSED, "reopened": REOPENED, "cancelled": CANCELLED}
"""Status moves the volume counts, by the status moved to."""

# An SLA clock's state, as `bot.scheduler.sla` says it (MET_IN_TIME, BREACHED, RUNNING); the triggers compute it.
SLA_RUNNING = 0
SLA_MET_IN_TIME = 1
SLA_BREACHED = 2

_REQUESTS = Request.__table__
_FACTS: Table = AnalyticsFact.__table__  # type: ignore[assignment]
_CARRIED = {"id": "request_id", **{name: name for name in ("zone_id", "team_id", "category_id", "origin_platform",
                                                            "assignee_email", "requester_email")}}


class NotCarried(Exception):
    """A clause reads a request column the facts do not carry (a programming error: add it to migration 0020's
    successor and to `_CARRIED`, or the figures would count what the clause meant to leave out)."""


def over_facts(where: ColumnElement[bool]) -> ColumnElement[bool]:
    """`where`, a clause over `Request`, as the same clause over `AnalyticsFact`."""

    def replace(element: Any, **_kw: Any) -> Any:
        if isinstance(element, TableColumn) and element.table is _REQUESTS:
            name = _CARRIED.get(element.name)
            if name is None:
                raise NotCarried(element.name)
            return _FACTS.c[name]
        return None

    return visitors.replacement_traverse(where, {}, replace)
