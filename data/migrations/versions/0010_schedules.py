"""schedules and queue limit: a campaign's time zone, dated exceptions, overflow

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_CAMPAIGN_REFERENCES = [
    ("overflow_campaign_id", "campaigns"),
    ("busy_template_id", "templates"),
    ("out_of_hours_template_id", "templates"),
]


def upgrade() -> None:
    # The batch copy of `campaigns` runs with foreign keys off (data/db.py): dropping the old
    # table would otherwise cascade into every interaction and membership.
    with op.batch_alter_table("campaigns") as batch:
        for column, target in _CAMPAIGN_REFERENCES:
            batch.add_column(sa.Column(column, sa.Integer(), nullable=True))
            batch.create_foreign_key(
                op.f(f"fk_campaigns_{column}_{target}"),
                target,
                [column],
                ["id"],
                ondelete="SET NULL",
            )
        batch.add_column(
            sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC")
        )
    op.add_column(
        "interactions",
        sa.Column("overflow", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_interactions_overflow", "interactions", ["overflow", "campaign_id"])
    op.create_table(
        "schedule_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start", sa.Time(), nullable=True),
        sa.Column("end", sa.Time(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_schedule_exceptions_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_exceptions")),
    )
    op.create_index(
        "ix_schedule_exceptions_campaign_day", "schedule_exceptions", ["campaign_id", "day"]
    )


def downgrade() -> None:
    op.drop_table("schedule_exceptions")
    op.drop_index("ix_interactions_overflow", table_name="interactions")
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("overflow")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_constraint(
            op.f("fk_campaigns_out_of_hours_template_id_templates"), type_="foreignkey"
        )
        batch.drop_constraint(op.f("fk_campaigns_busy_template_id_templates"), type_="foreignkey")
        batch.drop_constraint(
            op.f("fk_campaigns_overflow_campaign_id_campaigns"), type_="foreignkey"
        )
        batch.drop_column("out_of_hours_template_id")
        batch.drop_column("time_zone")
        batch.drop_column("busy_template_id")
        batch.drop_column("overflow_campaign_id")
