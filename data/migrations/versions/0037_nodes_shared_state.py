"""What engine nodes sharing one PostgreSQL must see of each other: an SMTP account's
connection slots (its cap on simultaneous connections held across nodes), the nodes
waiting for one, every mailbox's health as the node reading it says, and the node holding
each watch of the audit log (its watches end when it dies)

Revision ID: 0037
Revises: 0035
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "smtp_slots",
        sa.Column("limit_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=200), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["limit_id"],
            ["smtp_limits.id"],
            name=op.f("fk_smtp_slots_limit_id_smtp_limits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("limit_id", "slot", name=op.f("pk_smtp_slots")),
    )
    op.create_table(
        "smtp_slot_waits",
        sa.Column("limit_id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["limit_id"],
            ["smtp_limits.id"],
            name=op.f("fk_smtp_slot_waits_limit_id_smtp_limits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("limit_id", "node", name=op.f("pk_smtp_slot_waits")),
    )
    op.create_table(
        "mailbox_health",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("campaign_name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_mailbox_health_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_mailbox_health")),
    )
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("node", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("node")
    op.drop_table("mailbox_health")
    op.drop_table("smtp_slot_waits")
    op.drop_table("smtp_slots")
