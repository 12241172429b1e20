"""campaign removal: `campaigns.removed_at`, names unique among live campaigns only

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

A removed campaign keeps its row, so its interactions and messages (ON DELETE CASCADE) stay
and the recordings still show its name; a new campaign may take the name. The table-wide
unique constraint becomes a partial unique index over the campaigns not removed. Dropping a
constraint copies the table on SQLite: `Database.upgrade` runs migrations with foreign keys
off, so the copy does not cascade into the interactions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("removed_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint(op.f("uq_campaigns_name"), type_="unique")
    op.create_index(
        "uq_campaigns_live_name",
        "campaigns",
        ["name"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )


def downgrade() -> None:
    # Only possible while no removed campaign shares its name with a live one.
    op.drop_index("uq_campaigns_live_name", table_name="campaigns")
    with op.batch_alter_table("campaigns") as batch:
        batch.create_unique_constraint(op.f("uq_campaigns_name"), ["name"])
        batch.drop_column("removed_at")
