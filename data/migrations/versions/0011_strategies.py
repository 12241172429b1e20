"""routing strategies: who may receive and in what order, per campaign; member penalty and order

The unused `campaigns.strategy` (least_active, round_robin) becomes two choices:
`availability` (least_active and round_robin both meant "up to the maximum per agent") and
`delivery` (least_active -> least-active, round_robin -> round-robin). Members get a penalty
(weighted-random), a position (linear, round-robin; existing members keep the order they were
added in) and the time of their last assignment (least-recent); a campaign remembers who got
its last interaction (round-robin).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AVAILABILITY = ("one", "up-to-max", "pick-one", "pick-many")
DELIVERY = (
    "least-active",
    "round-robin",
    "linear",
    "weighted-random",
    "least-recent",
    "fewest-completed",
)


def _enum(name: str, values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(
            sa.Column(
                "availability",
                _enum("availability", AVAILABILITY),
                nullable=False,
                server_default="up-to-max",
            )
        )
        batch.add_column(
            sa.Column(
                "delivery",
                _enum("delivery", DELIVERY),
                nullable=False,
                server_default="least-active",
            )
        )
        batch.add_column(sa.Column("round_robin_last_user_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_campaigns_round_robin_last_user_id_users"),
            "users",
            ["round_robin_last_user_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.execute("UPDATE campaigns SET delivery = 'round-robin' WHERE strategy = 'round_robin'")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("strategy")
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("penalty", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("position", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True))
    # Members stand in the order they were added, numbered from 1 in each campaign.
    op.execute(
        "UPDATE memberships SET position = (SELECT COUNT(*) FROM memberships AS earlier"
        " WHERE earlier.campaign_id = memberships.campaign_id"
        " AND earlier.id <= memberships.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("last_assigned_at")
        batch.drop_column("position")
        batch.drop_column("penalty")
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(
            sa.Column(
                "strategy",
                _enum("strategy", ("least_active", "round_robin")),
                nullable=False,
                server_default="least_active",
            )
        )
    op.execute("UPDATE campaigns SET strategy = 'round_robin' WHERE delivery = 'round-robin'")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_constraint(
            op.f("fk_campaigns_round_robin_last_user_id_users"), type_="foreignkey"
        )
        batch.drop_column("round_robin_last_user_id")
        batch.drop_column("delivery")
        batch.drop_column("availability")
