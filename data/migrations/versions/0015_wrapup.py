"""wrap-up: dispositions per campaign (in levels) and one wrap-up row per close

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

Existing campaigns get no codes, so their closes go on as before; the setting that asks for a
code on close is on (it matters only once a campaign has codes).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch copy: copying `campaigns` with foreign keys on would
    # cascade into every row that references it (see 0013).
    op.add_column(
        "campaigns",
        sa.Column("disposition_required", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.create_table(
        "dispositions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_dispositions_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["dispositions.id"],
            name=op.f("fk_dispositions_parent_id_dispositions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispositions")),
        sa.UniqueConstraint(
            "campaign_id", "parent_id", "name", name=op.f("uq_dispositions_campaign_id")
        ),
    )
    op.create_index(op.f("ix_dispositions_campaign_id"), "dispositions", ["campaign_id"])
    op.create_table(
        "interaction_wrapups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("disposition_id", sa.Integer(), nullable=True),
        sa.Column("disposition_path", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_interaction_wrapups_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_interaction_wrapups_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["users.id"],
            name=op.f("fk_interaction_wrapups_agent_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["disposition_id"],
            ["dispositions.id"],
            name=op.f("fk_interaction_wrapups_disposition_id_dispositions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_wrapups")),
    )
    op.create_index(
        op.f("ix_interaction_wrapups_interaction_id"), "interaction_wrapups", ["interaction_id"]
    )
    op.create_index(
        "ix_interaction_wrapups_closed_at",
        "interaction_wrapups",
        ["closed_at", "campaign_id", "disposition_path"],
    )


def downgrade() -> None:
    op.drop_table("interaction_wrapups")
    op.drop_table("dispositions")
    op.drop_column("campaigns", "disposition_required")
