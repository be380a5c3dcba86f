"""requests: the list orders (updated, filed) walked by index, with the access rule's and filters' columns

A request list (`bot.desk.listing`) is most often "everything I may see, most recently updated first":
every request of the agent's zones (three quarters of 100,000 in the seeded data) and their own. SQLite
answered it by reading all of those rows and sorting them (about 0.35 s at 100,000). With these
indexes it walks the requests in the list's order, checks the zone, team, status, requester, assignee
and priority from the index itself, and stops at the end of the page (under 1 ms; a filter that
matches nothing walks the whole index in about 20 ms). The same for lists sorted by when requests
were filed.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERED = ["id", "zone_id", "team_id", "status", "requester_email", "assignee_email", "priority"]


def upgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index("ix_requests_updated_order", ["updated_at", *COVERED], unique=False)
        batch_op.create_index("ix_requests_created_order", ["created_at", *COVERED], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index("ix_requests_created_order")
        batch_op.drop_index("ix_requests_updated_order")
