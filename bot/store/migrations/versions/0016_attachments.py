"""attachments: files on a request, from Slack and Teams as references fetched when opened, or stored bytes
(e-mail) in the file store by key

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("request_id", ID, nullable=False),
        sa.Column("comment_id", ID, nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("declared_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("uploader_email", sa.String(length=254), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("store_key", sa.String(length=100), nullable=True),
        sa.Column("ref", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_attachments_request_id", "attachments", ["request_id"], unique=False)
    op.create_index("ix_attachments_store_key", "attachments", ["store_key"], unique=False)
    op.create_index("ix_attachments_uploader_email", "attachments", ["uploader_email"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_attachments_uploader_email", table_name="attachments")
    op.drop_index("ix_attachments_store_key", table_name="attachments")
    op.drop_index("ix_attachments_request_id", table_name="attachments")
    op.drop_table("attachments")
