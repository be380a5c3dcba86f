"""Analytics: are we keeping our promises? Volume and backlog, first response and resolution times (median
and 90th percentile), SLA attainment and satisfaction, per day, week, month or range, by zone, team,
category, channel and assignee.

| module | holds |
|---|---|
| `figures` | each figure, defined once, computed with aggregates in the database |
| `measures` | durations and percentiles that SQLite and PostgreSQL compute alike |
| `periods` | a range cut into local days, weeks or months, and the SQL that finds a time's period |
| `query` | what a report asks for, and which requests it counts for its reader (`Policy.analytics_clause`) |
| `report` | a report for one reader: the figures, their totals, CSV tables, data for charts |

Who sees which figures is `bot.access.Policy.analytics_scope`: zone managers their zones, agents their
own teams, nobody else anything; a figure never counts a request its reader could not open.
"""

# The scheduler first: its weekly report reads `report`, and `figures` reads the SLA clocks from the scheduler,
# so either package may be imported first.
import bot.scheduler  # noqa: F401
from bot.analytics.query import NoFigures, Query
from bot.analytics.report import TABLES, Report, build_report, chart_data, csv_table

__all__ = ["TABLES", "NoFigures", "Query", "Report", "build_report", "chart_data", "csv_table"]
