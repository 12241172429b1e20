"""several engine nodes: who is alive (`engine_nodes`), which node reads each campaign's
mailbox and sends its outbox (`mailbox_leases`), and blobs kept in the database (`blobs`)

The lease is a row with an owner and an expiry in the database's clock, renewed by its node
every few seconds; a node that stops renewing loses it to another. `blobs` holds raw mail and
attachments by sha256 when the database is PostgreSQL and no shared blob directory is set; on
SQLite it stays empty (the files under the data dir are the store).

Revision ID: 0031
Revises: 0029
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
# Chained to the head of main when this was written (0029); the lead re-chains at merge.
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "engine_nodes",
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("node", name=op.f("pk_engine_nodes")),
    )
    op.create_table(
        "mailbox_leases",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=200), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_mailbox_leases_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_mailbox_leases")),
    )
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blobs")),
    )


def downgrade() -> None:
    op.drop_table("blobs")
    op.drop_table("mailbox_leases")
    op.drop_table("engine_nodes")
