"""requests: a board column in its order (most urgent priority, then oldest) walked by index

The status board (`bot.desk.board`) shows each open status of a zone with its most urgent and oldest
requests first. Ordering by a priority rank read every request of the column and sorted it (10 to 15 ms
a column at 100,000 requests on either database, six open columns a board). With (zone, status,
priority, filed) each priority level of a column is a range of this index, read in filing order and cut
at the page's end; the team at its end lets the access rule (private teams) and a team's board be checked
from the index, which also counts a board's columns per priority by itself.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index("ix_requests_board", ["zone_id", "status", "priority", "created_at", "id", "team_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index("ix_requests_board")
