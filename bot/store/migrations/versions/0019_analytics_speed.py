"""analytics: a range's moves, clocks and surveys read from an index alone (SQLite), moves counted right (PostgreSQL)

A year's report reads every status move, SLA clock and survey of the year. SQLite found each by an index,
then read the row itself for the columns the figure needs (a status move's request and status, a clock's
kind, target and outcome, a survey's status and rating): one table lookup per row, a third to a half of
those statements at 100,000 requests. These indexes hold those columns, so SQLite reads them from the
index alone. The status-move index (with the moves' `data`) is SQLite's only: PostgreSQL scans the year's
events and hashes the requests, which an index would not beat (one with `data` included went unused), and
cannot put json in a B-tree key anyway. Covering indexes on `request_measures` went unused on both, so
there are none.

PostgreSQL gets statistics on the status a move names (`data ->> 'status'`) instead: without them it
guessed a year's moves at about 1,100 rows instead of 134,000 and looked up each move's request one by
one; with them (after the next ANALYZE, which autovacuum runs) it hashes the requests once.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        if (bind.dialect.server_version_info or (0,)) >= (14,):  # statistics on an expression: PostgreSQL 14+
            op.execute("CREATE STATISTICS st_events_status ON ((data ->> 'status')) FROM events")
    else:
        op.create_index("ix_events_moves", "events", ["kind", "at", "request_id", "data"], unique=False)
    op.create_index("ix_sla_clocks_attainment", "sla_clocks",
                    ["request_id", "started_at", "kind", "target_hours", "met_at", "breached_at"], unique=False)
    op.create_index("ix_surveys_satisfaction", "surveys", ["request_id", "sent_at", "status", "rating"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_surveys_satisfaction", table_name="surveys")
    op.drop_index("ix_sla_clocks_attainment", table_name="sla_clocks")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_events_status")
    else:
        op.drop_index("ix_events_moves", table_name="events")
