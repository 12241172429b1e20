"""smtp_sends: messages claimed per second through a capped SMTP account, so that its caps
hold across engine nodes sharing one PostgreSQL database

Revision ID: 0033
Revises: 0031
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "smtp_sends",
        sa.Column("limit_id", sa.Integer(), nullable=False),
        sa.Column("second", sa.BigInteger(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["limit_id"],
            ["smtp_limits.id"],
            name=op.f("fk_smtp_sends_limit_id_smtp_limits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("limit_id", "second", name=op.f("pk_smtp_sends")),
    )


def downgrade() -> None:
    op.drop_table("smtp_sends")
