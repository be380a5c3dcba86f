"""request measures: each request's first response and resolution times, calendar and working, for analytics

One row per request with a first response or a resolution (`bot.model.RequestMeasure`), written by
`bot.analytics.measuring` in the transaction that settles it. The backfill measures every request already
answered or resolved from its history, with the calendars of the configuration `zonedesk serve` reads
($ZONEDESK_CONFIG, else ./app.yaml); without one it leaves the table empty and says to run
`zonedesk analytics rebuild --config ...`, which measures everything again (also after a calendar changes).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table(
        "request_measures",
        sa.Column("request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_seconds", sa.BigInteger(), nullable=True),
        sa.Column("first_response_working_seconds", sa.BigInteger(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_seconds", sa.BigInteger(), nullable=True),
        sa.Column("resolution_working_seconds", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id"),
    )
    with op.batch_alter_table("request_measures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_measures_first_response_at"), ["first_response_at"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_request_measures_resolved_at"), ["resolved_at"], unique=False)
    _backfill()


def _backfill() -> None:
    bind = op.get_bind()
    if not bind.execute(sa.text("SELECT 1 FROM requests LIMIT 1")).first():
        return  # a new database: nothing to measure
    from bot.analytics.measuring import rebuild
    from bot.config import ConfigError, load_config

    path = Path(os.environ.get("ZONEDESK_CONFIG") or "app.yaml")
    try:
        config = load_config(path)
    except (ConfigError, OSError) as exc:
        log.warning("request_measures left empty: no readable configuration at %s (%s); run "
                    "`zonedesk analytics rebuild --config PATH` for first response and resolution times", path, exc)
        return
    log.info("measured %d requests with the calendars of %s", rebuild(bind, config), path)


def downgrade() -> None:
    with op.batch_alter_table("request_measures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_measures_resolved_at"))
        batch_op.drop_index(batch_op.f("ix_request_measures_first_response_at"))
    op.drop_table("request_measures")
