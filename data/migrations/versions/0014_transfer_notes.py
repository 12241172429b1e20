"""moving work between people: internal notes, and a campaign's policy for a logged-out
agent's open work

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs, not a batch copy: SQLite drops the old table when copying, and with
    # foreign keys on that would delete every interaction of the campaign (ON DELETE CASCADE).
    op.add_column(
        "campaigns",
        sa.Column("on_logout", sa.String(length=16), nullable=False, server_default="keep"),
    )
    op.add_column(
        "campaigns",
        sa.Column("requeue_after_minutes", sa.Integer(), nullable=False, server_default="15"),
    )
    op.create_table(
        "interaction_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_interaction_notes_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_interaction_notes_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_notes")),
    )
    op.create_index(
        op.f("ix_interaction_notes_interaction_id"), "interaction_notes", ["interaction_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_interaction_notes_interaction_id"), table_name="interaction_notes")
    op.drop_table("interaction_notes")
    op.drop_column("campaigns", "requeue_after_minutes")
    op.drop_column("campaigns", "on_logout")
