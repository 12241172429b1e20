"""chat lines remember when their recipient read them (lines sent to someone away wait)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("supervisor_chat") as batch:
        batch.add_column(sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))
    # Lines from before: their recipients were told live, or never will be; not news now.
    op.execute("UPDATE supervisor_chat SET read_at = at")


def downgrade() -> None:
    with op.batch_alter_table("supervisor_chat") as batch:
        batch.drop_column("read_at")
