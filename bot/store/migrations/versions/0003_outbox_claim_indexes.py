"""outbox: indexes for the claim (pending rows in id order; leased rows)

The claim reads the oldest sendable rows and the rows that hold a conversation up, both through an
index, instead of sorting the whole queue each round.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_queue", ["status", "id"], unique=False)
        batch_op.create_index("ix_outbox_claimed", ["status", "claimed_until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_claimed")
        batch_op.drop_index("ix_outbox_queue")
