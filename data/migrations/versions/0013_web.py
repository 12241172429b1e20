"""the public web service: message tokens and seen counts, full ratings, unsubscribe sources

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch copy: SQLite drops the old table when copying, and with
    # foreign keys on that would delete every interaction of the campaign (ON DELETE CASCADE).
    op.add_column(
        "campaigns",
        sa.Column("track_replies", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "message_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seen_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_links_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_links")),
        sa.UniqueConstraint("message_id", name=op.f("uq_message_links_message_id")),
        sa.UniqueConstraint("token", name=op.f("uq_message_links_token")),
    )
    # Nothing wrote ratings before this revision; should a row exist twice for a message,
    # the newest stays (a later rating replaces an earlier one from now on).
    op.execute(
        "DELETE FROM ratings WHERE id NOT IN (SELECT MAX(id) FROM ratings GROUP BY message_id)"
    )
    with op.batch_alter_table("ratings") as batch:
        batch.add_column(sa.Column("interaction_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("agent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch.create_unique_constraint(op.f("uq_ratings_message_id"), ["message_id"])
        batch.create_index(op.f("ix_ratings_interaction_id"), ["interaction_id"])
        batch.create_index(op.f("ix_ratings_agent_id"), ["agent_id"])
        batch.create_index(op.f("ix_ratings_campaign_id"), ["campaign_id"])
        batch.create_foreign_key(
            op.f("fk_ratings_interaction_id_interactions"),
            "interactions",
            ["interaction_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_foreign_key(
            op.f("fk_ratings_agent_id_users"), "users", ["agent_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_foreign_key(
            op.f("fk_ratings_campaign_id_campaigns"),
            "campaigns",
            ["campaign_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("blacklist") as batch:
        batch.add_column(
            sa.Column("source", sa.String(length=32), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_blacklist_campaign_id_campaigns"),
            "campaigns",
            ["campaign_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # Every entry so far came from a complaint (RFC 5965 report) in ingest.
    op.execute("UPDATE blacklist SET source = 'complaint'")


def downgrade() -> None:
    with op.batch_alter_table("blacklist") as batch:
        batch.drop_constraint(op.f("fk_blacklist_campaign_id_campaigns"), type_="foreignkey")
        batch.drop_column("campaign_id")
        batch.drop_column("source")
    with op.batch_alter_table("ratings") as batch:
        batch.drop_constraint(op.f("fk_ratings_campaign_id_campaigns"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_ratings_agent_id_users"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_ratings_interaction_id_interactions"), type_="foreignkey")
        batch.drop_index(op.f("ix_ratings_campaign_id"))
        batch.drop_index(op.f("ix_ratings_agent_id"))
        batch.drop_index(op.f("ix_ratings_interaction_id"))
        batch.drop_constraint(op.f("uq_ratings_message_id"), type_="unique")
        batch.drop_column("campaign_id")
        batch.drop_column("agent_id")
        batch.drop_column("interaction_id")
    op.drop_table("message_links")
    op.drop_column("campaigns", "track_replies")
