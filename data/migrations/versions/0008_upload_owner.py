"""uploads belong to the user who uploaded them (a token alone no longer attaches a file)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Uploads from before have no owner, so nobody can attach them: upload the file again.
    with op.batch_alter_table("uploaded_files") as batch:
        batch.add_column(sa.Column("uploader_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_uploaded_files_uploader_id_users"),
            "users",
            ["uploader_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("uploaded_files") as batch:
        batch.drop_constraint(op.f("fk_uploaded_files_uploader_id_users"), type_="foreignkey")
        batch.drop_column("uploader_id")
