"""analytics indexes: events by (kind, at), requests by (zone, created_at)

The analytics replay the backlog from status moves before and inside a range, and count the requests
filed before it. Without these SQLite read every request of the zones in view and all their history
for each of those counts (100,000 requests on SQLite: about 0.6 s of a report); with them the
"before the range" counts are a seek (under 1 ms) and the moves of a range read only status events.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_kind_at", ["kind", "at"], unique=False)
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index("ix_requests_zone_created", ["zone_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index("ix_requests_zone_created")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_kind_at")
