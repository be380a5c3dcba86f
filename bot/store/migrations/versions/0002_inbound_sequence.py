"""inbound.sequence: events of one sender are processed in the order they arrived

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sequence", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_inbound_sequence", ["sequence", "processed_at", "received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_sequence")
        batch_op.drop_column("sequence")
