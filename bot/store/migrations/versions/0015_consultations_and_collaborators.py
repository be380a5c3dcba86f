"""consultations and collaborators: one person asked for their view on one request, an outside address
brought into one request by mail (each withdrawn or removed by time, never deleted: the history names them)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "consultations",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("request_id", ID, nullable=False),
        sa.Column("person_email", sa.String(length=254), nullable=False),
        sa.Column("person_name", sa.String(length=200), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("invited_by", sa.String(length=254), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "person_email", name="uq_consultations_request_person"),
    )
    op.create_index("ix_consultations_request_id", "consultations", ["request_id"], unique=False)
    op.create_index("ix_consultations_person_email", "consultations", ["person_email"], unique=False)
    op.create_table(
        "collaborators",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("request_id", ID, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("invited_by", sa.String(length=254), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "email", name="uq_collaborators_request_email"),
    )
    op.create_index("ix_collaborators_request_id", "collaborators", ["request_id"], unique=False)
    op.create_index("ix_collaborators_email", "collaborators", ["email"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_collaborators_email", table_name="collaborators")
    op.drop_index("ix_collaborators_request_id", table_name="collaborators")
    op.drop_table("collaborators")
    op.drop_index("ix_consultations_person_email", table_name="consultations")
    op.drop_index("ix_consultations_request_id", table_name="consultations")
    op.drop_table("consultations")
