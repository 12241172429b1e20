"""presence in the database: open console streams, and who paused or logged out an agent

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("paused_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("logged_out_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("logged_out_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_users_paused_by_id_users"),
            "users",
            ["paused_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_foreign_key(
            op.f("fk_users_logged_out_by_id_users"),
            "users",
            ["logged_out_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # Before, these decisions were kept as the start of the status reason, which the engine
    # wrote itself ("paused by NAME", "logged out by NAME"); who did it was not kept.
    op.execute(
        "UPDATE users SET paused_at = status_since"
        " WHERE status = 'paused' AND status_reason LIKE 'paused by %'"
    )
    op.execute(
        "UPDATE users SET logged_out_at = status_since"
        " WHERE status = 'offline' AND status_reason LIKE 'logged out by %'"
    )
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("as_agent", sa.Boolean(), nullable=False),
        sa.Column("as_supervisor", sa.Boolean(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_console_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
    )
    op.create_index(op.f("ix_console_sessions_user_id"), "console_sessions", ["user_id"])
    op.create_index(op.f("ix_console_sessions_node"), "console_sessions", ["node"])
    op.create_index(op.f("ix_console_sessions_seen_at"), "console_sessions", ["seen_at"])


def downgrade() -> None:
    op.drop_table("console_sessions")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("fk_users_logged_out_by_id_users"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_users_paused_by_id_users"), type_="foreignkey")
        batch.drop_column("logged_out_by_id")
        batch.drop_column("logged_out_at")
        batch.drop_column("paused_by_id")
        batch.drop_column("paused_at")
