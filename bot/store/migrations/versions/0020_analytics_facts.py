"""analytics facts: one narrow table of what the analytics count, kept by triggers with the request's dimensions

A year's report read every status move, SLA clock, survey and measure of the year and joined each to its
request for the reader's access clause and the filters: p95 1.4-1.9 s on SQLite and 1.2-1.3 s on
PostgreSQL at 100,000 requests (issue 19 asks for 500 ms). `analytics_facts` holds one row per counted
thing (decision 0010): a filing (0), a status move to resolved, closed, reopened or cancelled (1-4, keyed by
the event's id), a first response (5) and a resolution (6) with their calendar and working seconds (`a`,
`b`), an SLA clock (7, its kind as `label`, its state 0 running / 1 met in time / 2 breached as `a`, its
target in seconds as `b`) and a survey not withdrawn (8, keyed by its id, answered 1/0 as `a`, its rating
as `b`). Each row carries its request's zone, team, category, channel, assignee, requester and whether it
is cancelled, which is all the reader's clause and the filters read, so a report reads this table alone.
`at` is whole seconds since 1970 UTC (each time cut to its second, as the measures are).

Kept by the database, in the transaction of the row each fact mirrors, whatever writes it (the hot path's
multi-row statements, the seed, imports, erasure): inserting a request, a status event, a measure, a clock
or a survey adds its fact; changing a measure, a clock's outcome or a survey rewrites it; deleting removes
it (and a request's deletion cascades). A request's UPDATE that changes its zone, team, category, channel,
assignee, requester or cancellation rewrites every fact of the request in the same statement, so a figure
never counts a request for whoever held it before: a copy that could fall behind would be a leak in an
aggregate. The SLA states mirror `bot.scheduler.sla`'s MET_IN_TIME / BREACHED / RUNNING (a test compares).

SQLite: a WITHOUT ROWID table clustered by (fact, at, ...), so a range of one kind of fact is one
contiguous read with every column at hand; row triggers. PostgreSQL: statement triggers with transition
tables for inserts (a group of filed requests is one INSERT), row triggers for updates and deletes.

The analytics' two lists get an index of their order each (`ix_sla_clocks_breached_at`,
`ix_surveys_answered_at`): newest first, stopping at 50, instead of sorting a year's clocks or surveys.
The indexes that served the old statements go: `ix_events_kind_at` (0007), and 0019's covering indexes and
statistics (`ix_events_moves`, `ix_sla_clocks_attainment`, `ix_surveys_satisfaction`, `st_events_status`);
each was written on the filing path and nothing else reads them.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("(fact, at, request_id, label, source_id, zone_id, team_id, category_id, origin_platform, "
            "assignee_email, requester_email, cancelled, a, b)")
_DIMENSIONS = ("zone_id", "team_id", "category_id", "origin_platform", "assignee_email", "requester_email")
_MOVES = "('resolved', 'closed', 'reopened', 'cancelled')"
_MOVE_CODE = "CASE {s} WHEN 'resolved' THEN 1 WHEN 'closed' THEN 2 WHEN 'reopened' THEN 3 ELSE 4 END"
_SLA_STATE = "CASE WHEN {c}.breached_at IS NOT NULL THEN 2 WHEN {c}.met_at IS NOT NULL THEN 1 ELSE 0 END"


def _dims(r: str) -> str:
    return ", ".join(f"{r}.{d}" for d in _DIMENSIONS) + f", {r}.status = 'cancelled'"


class _Dialect:
    """What differs between the two databases in the facts' SQL."""

    def __init__(self, epoch: str, status: str, target: str) -> None:
        self.epoch, self.status, self.target = epoch, status, target

    def filed(self, r: str) -> str:
        return f"SELECT 0, {self.epoch.format(t=f'{r}.created_at')}, {r}.id, '', 0, {_dims(r)}, NULL, NULL"

    def moves(self, e: str, r: str) -> str:
        status = self.status.format(e=e)
        return (f"SELECT {_MOVE_CODE.format(s=status)}, {self.epoch.format(t=f'{e}.at')}, {r}.id, '', {e}.id, "
                f"{_dims(r)}, NULL, NULL FROM requests {r} WHERE {r}.id = {e}.request_id "
                f"AND {e}.kind = 'status' AND {status} IN {_MOVES}")

    def measures(self, m: str, r: str) -> list[str]:
        return [f"SELECT {code}, {self.epoch.format(t=f'{m}.{at}')}, {r}.id, '', 0, {_dims(r)}, {m}.{cal}, {m}.{work} "
                f"FROM requests {r} WHERE {r}.id = {m}.request_id AND {m}.{at} IS NOT NULL"
                for code, at, cal, work in ((5, "first_response_at", "first_response_seconds",
                                             "first_response_working_seconds"),
                                            (6, "resolved_at", "resolution_seconds", "resolution_working_seconds"))]

    def clocks(self, c: str, r: str) -> str:
        return (f"SELECT 7, {self.epoch.format(t=f'{c}.started_at')}, {r}.id, {c}.kind, 0, {_dims(r)}, "
                f"{_SLA_STATE.format(c=c)}, {self.target.format(c=c)} FROM requests {r} WHERE {r}.id = {c}.request_id")

    def surveys(self, s: str, r: str) -> str:
        return (f"SELECT 8, {self.epoch.format(t=f'{s}.sent_at')}, {r}.id, '', {s}.id, {_dims(r)}, "
                f"CASE WHEN {s}.status = 'answered' THEN 1 ELSE 0 END, {s}.rating FROM requests {r} "
                f"WHERE {r}.id = {s}.request_id AND {s}.status != 'withdrawn'")

    def backfill(self) -> list[str]:
        into = f"INSERT INTO analytics_facts {_COLUMNS} "
        return [into + self.filed("r") + " FROM requests r",
                into + self.moves("e", "r").replace(" FROM requests r WHERE", " FROM events e, requests r WHERE"),
                *(into + q.replace(" FROM requests r WHERE", " FROM request_measures m, requests r WHERE")
                  for q in self.measures("m", "r")),
                into + self.clocks("c", "r").replace(" FROM requests r WHERE", " FROM sla_clocks c, requests r WHERE"),
                into + self.surveys("s", "r").replace(" FROM requests r WHERE", " FROM surveys s, requests r WHERE")]


SQLITE = _Dialect(epoch="CAST(strftime('%s', {t}) AS INTEGER)", status="json_extract({e}.data, '$.status')",
                  target="CAST(round({c}.target_hours * 3600) AS INTEGER)")
POSTGRES = _Dialect(epoch="floor(extract(epoch FROM {t}))::bigint", status="({e}.data ->> 'status')",
                    target="round({c}.target_hours * 3600)::bigint")

_CHANGED = " OR ".join([*(f"old.{d} IS NOT new.{d}" for d in _DIMENSIONS),
                        "(old.status = 'cancelled') IS NOT (new.status = 'cancelled')"])
_REWRITE = ("UPDATE analytics_facts SET " + ", ".join(f"{d} = new.{d}" for d in _DIMENSIONS)
            + ", cancelled = new.status = 'cancelled' WHERE request_id = new.id")
_INTO = f"INSERT INTO analytics_facts {_COLUMNS} "


def sqlite_triggers() -> list[str]:
    """The SQLite triggers that keep `analytics_facts` in step. A later migration that makes SQLite recreate
    `requests`, `events`, `request_measures`, `sla_clocks` or `surveys` (batch mode "recreate") drops them
    and must create them again."""
    d = SQLITE
    first, resolution = d.measures("new", "r")
    forget_measures = "DELETE FROM analytics_facts WHERE request_id = old.request_id AND fact IN (5, 6);"
    forget_clock = "DELETE FROM analytics_facts WHERE request_id = old.request_id AND fact = 7 AND label = old.kind;"
    forget_survey = "DELETE FROM analytics_facts WHERE request_id = old.request_id AND fact = 8 AND source_id = old.id;"
    forget_move = ("DELETE FROM analytics_facts WHERE request_id = old.request_id AND fact IN (1, 2, 3, 4) "
                   "AND source_id = old.id;")
    return [
        f"CREATE TRIGGER analytics_requests_ai AFTER INSERT ON requests BEGIN {_INTO}"
        f"{d.filed('new')}; END",
        f"CREATE TRIGGER analytics_requests_au AFTER UPDATE OF {', '.join(_DIMENSIONS)}, status ON requests "
        f"WHEN {_CHANGED} BEGIN {_REWRITE}; END",
        f"CREATE TRIGGER analytics_events_ai AFTER INSERT ON events WHEN new.kind = 'status' BEGIN {_INTO}"
        f"{d.moves('new', 'r')}; END",
        f"CREATE TRIGGER analytics_events_au AFTER UPDATE OF kind, at, data ON events BEGIN {forget_move} {_INTO}"
        f"{d.moves('new', 'r')}; END",
        f"CREATE TRIGGER analytics_events_ad AFTER DELETE ON events WHEN old.kind = 'status' BEGIN {forget_move} END",
        f"CREATE TRIGGER analytics_measures_ai AFTER INSERT ON request_measures BEGIN {_INTO}{first}; "
        f"{_INTO}{resolution}; END",
        f"CREATE TRIGGER analytics_measures_au AFTER UPDATE ON request_measures BEGIN {forget_measures} "
        f"{_INTO}{first}; {_INTO}{resolution}; END",
        f"CREATE TRIGGER analytics_measures_ad AFTER DELETE ON request_measures BEGIN {forget_measures} END",
        f"CREATE TRIGGER analytics_clocks_ai AFTER INSERT ON sla_clocks BEGIN {_INTO}{d.clocks('new', 'r')}; END",
        "CREATE TRIGGER analytics_clocks_au AFTER UPDATE OF kind, target_hours, started_at, met_at, breached_at "
        f"ON sla_clocks BEGIN {forget_clock} {_INTO}{d.clocks('new', 'r')}; END",
        f"CREATE TRIGGER analytics_clocks_ad AFTER DELETE ON sla_clocks BEGIN {forget_clock} END",
        f"CREATE TRIGGER analytics_surveys_ai AFTER INSERT ON surveys BEGIN {_INTO}{d.surveys('new', 'r')}; END",
        "CREATE TRIGGER analytics_surveys_au AFTER UPDATE OF status, rating, sent_at ON surveys "
        f"BEGIN {forget_survey} {_INTO}{d.surveys('new', 'r')}; END",
        f"CREATE TRIGGER analytics_surveys_ad AFTER DELETE ON surveys BEGIN {forget_survey} END",
    ]


_SQLITE_TRIGGERS = ("requests_ai", "requests_au", "events_ai", "events_au", "events_ad", "measures_ai", "measures_au",
                    "measures_ad", "clocks_ai", "clocks_au", "clocks_ad", "surveys_ai", "surveys_au", "surveys_ad")


def _function(name: str, body: str) -> str:
    return f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$"


def _postgres_triggers() -> list[str]:
    """PostgreSQL: inserts by statement (transition table `added`), updates and deletes by row."""
    d = POSTGRES
    first, resolution = d.measures("new", "r")
    added_first, added_resolution = d.measures("n", "r")
    changed = _CHANGED.replace(" IS NOT ", " IS DISTINCT FROM ")
    forget_measures = "DELETE FROM analytics_facts WHERE request_id = old.request_id AND fact IN (5, 6);"
    forget_clock = "DELETE FROM analytics_facts WHERE request_id = old.request_id AND fact = 7 AND label = old.kind;"
    forget_survey = "DELETE FROM analytics_facts WHERE request_id = old.request_id AND fact = 8 AND source_id = old.id;"
    forget_move = ("DELETE FROM analytics_facts WHERE request_id = old.request_id AND fact IN (1, 2, 3, 4) "
                   "AND source_id = old.id;")

    def from_added(query: str, alias: str) -> str:
        return query.replace(" FROM requests r WHERE", f" FROM added {alias}, requests r WHERE")

    statements = [
        _function("analytics_requests_added", f"{_INTO}{d.filed('n')} FROM added n;"),
        "CREATE TRIGGER analytics_requests_added AFTER INSERT ON requests REFERENCING NEW TABLE AS added "
        "FOR EACH STATEMENT EXECUTE FUNCTION analytics_requests_added()",
        _function("analytics_requests_changed", f"{_REWRITE};"),
        f"CREATE TRIGGER analytics_requests_changed AFTER UPDATE OF {', '.join(_DIMENSIONS)}, status ON requests "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION analytics_requests_changed()",
        _function("analytics_events_added", f"{_INTO}{from_added(d.moves('n', 'r'), 'n')};"),
        "CREATE TRIGGER analytics_events_added AFTER INSERT ON events REFERENCING NEW TABLE AS added "
        "FOR EACH STATEMENT EXECUTE FUNCTION analytics_events_added()",
        _function("analytics_events_changed", f"{forget_move} {_INTO}{d.moves('new', 'r')};"),
        "CREATE TRIGGER analytics_events_changed AFTER UPDATE OF kind, at, data ON events FOR EACH ROW "
        "EXECUTE FUNCTION analytics_events_changed()",
        _function("analytics_events_removed", forget_move),
        "CREATE TRIGGER analytics_events_removed AFTER DELETE ON events FOR EACH ROW WHEN (old.kind = 'status') "
        "EXECUTE FUNCTION analytics_events_removed()",
        _function("analytics_measures_added", f"{_INTO}{from_added(added_first, 'n')}; "
                                              f"{_INTO}{from_added(added_resolution, 'n')};"),
        "CREATE TRIGGER analytics_measures_added AFTER INSERT ON request_measures REFERENCING NEW TABLE AS added "
        "FOR EACH STATEMENT EXECUTE FUNCTION analytics_measures_added()",
        _function("analytics_measures_changed", f"{forget_measures} {_INTO}{first}; {_INTO}{resolution};"),
        "CREATE TRIGGER analytics_measures_changed AFTER UPDATE ON request_measures FOR EACH ROW "
        "EXECUTE FUNCTION analytics_measures_changed()",
        _function("analytics_measures_removed", forget_measures),
        "CREATE TRIGGER analytics_measures_removed AFTER DELETE ON request_measures FOR EACH ROW "
        "EXECUTE FUNCTION analytics_measures_removed()",
        _function("analytics_clocks_added", f"{_INTO}{from_added(d.clocks('n', 'r'), 'n')};"),
        "CREATE TRIGGER analytics_clocks_added AFTER INSERT ON sla_clocks REFERENCING NEW TABLE AS added "
        "FOR EACH STATEMENT EXECUTE FUNCTION analytics_clocks_added()",
        _function("analytics_clocks_changed", f"{forget_clock} {_INTO}{d.clocks('new', 'r')};"),
        "CREATE TRIGGER analytics_clocks_changed AFTER UPDATE OF kind, target_hours, started_at, met_at, breached_at "
        "ON sla_clocks FOR EACH ROW EXECUTE FUNCTION analytics_clocks_changed()",
        _function("analytics_clocks_removed", forget_clock),
        "CREATE TRIGGER analytics_clocks_removed AFTER DELETE ON sla_clocks FOR EACH ROW "
        "EXECUTE FUNCTION analytics_clocks_removed()",
        _function("analytics_surveys_added", f"{_INTO}{from_added(d.surveys('n', 'r'), 'n')};"),
        "CREATE TRIGGER analytics_surveys_added AFTER INSERT ON surveys REFERENCING NEW TABLE AS added "
        "FOR EACH STATEMENT EXECUTE FUNCTION analytics_surveys_added()",
        _function("analytics_surveys_changed", f"{forget_survey} {_INTO}{d.surveys('new', 'r')};"),
        "CREATE TRIGGER analytics_surveys_changed AFTER UPDATE OF status, rating, sent_at ON surveys FOR EACH ROW "
        "EXECUTE FUNCTION analytics_surveys_changed()",
        _function("analytics_surveys_removed", forget_survey),
        "CREATE TRIGGER analytics_surveys_removed AFTER DELETE ON surveys FOR EACH ROW "
        "EXECUTE FUNCTION analytics_surveys_removed()",
    ]
    return statements


_POSTGRES_FUNCTIONS = ("requests_added", "requests_changed", "events_added", "events_changed", "events_removed",
                       "measures_added", "measures_changed", "measures_removed", "clocks_added", "clocks_changed",
                       "clocks_removed", "surveys_added", "surveys_changed", "surveys_removed")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "analytics_facts",
        sa.Column("fact", sa.SmallInteger(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("label", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("zone_id", sa.String(length=40), nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=True),
        sa.Column("category_id", sa.String(length=40), nullable=True),
        sa.Column("origin_platform", sa.String(length=10), nullable=False),
        sa.Column("assignee_email", sa.String(length=254), nullable=True),
        sa.Column("requester_email", sa.String(length=254), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("a", sa.BigInteger(), nullable=True),
        sa.Column("b", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("fact", "at", "request_id", "label", "source_id"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_analytics_facts_request", "analytics_facts", ["request_id"], unique=False)
    for statement in (POSTGRES if postgres else SQLITE).backfill():
        op.execute(statement)
    for statement in _postgres_triggers() if postgres else sqlite_triggers():
        op.execute(statement)
    # The analytics' lists walk these, newest first, and stop at their cap of 50 (`bot.analytics.details`).
    op.create_index("ix_sla_clocks_breached_at", "sla_clocks", ["breached_at"], unique=False)
    op.create_index("ix_surveys_answered_at", "surveys", ["answered_at"], unique=False)
    # What served the statements the facts replace.
    op.drop_index("ix_surveys_satisfaction", table_name="surveys")
    op.drop_index("ix_sla_clocks_attainment", table_name="sla_clocks")
    op.drop_index("ix_events_kind_at", table_name="events")
    if postgres:
        op.execute("DROP STATISTICS IF EXISTS st_events_status")
        op.execute("ANALYZE analytics_facts")
    else:
        op.drop_index("ix_events_moves", table_name="events")
        op.execute("ANALYZE analytics_facts")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for name in _POSTGRES_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS analytics_{name}() CASCADE")
        if (op.get_bind().dialect.server_version_info or (0,)) >= (14,):
            op.execute("CREATE STATISTICS st_events_status ON ((data ->> 'status')) FROM events")
    else:
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS analytics_{name}")
        op.create_index("ix_events_moves", "events", ["kind", "at", "request_id", "data"], unique=False)
    op.create_index("ix_events_kind_at", "events", ["kind", "at"], unique=False)
    op.create_index("ix_sla_clocks_attainment", "sla_clocks",
                    ["request_id", "started_at", "kind", "target_hours", "met_at", "breached_at"], unique=False)
    op.create_index("ix_surveys_satisfaction", "surveys", ["request_id", "sent_at", "status", "rating"], unique=False)
    op.drop_index("ix_surveys_answered_at", table_name="surveys")
    op.drop_index("ix_sla_clocks_breached_at", table_name="sla_clocks")
    op.drop_index("ix_analytics_facts_request", table_name="analytics_facts")
    op.drop_table("analytics_facts")
