"""break reasons kept by the admin in the database (they were a fixed engine setting)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import json
import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What a new installation starts with; the admin edits the list afterwards.
DEFAULT_REASONS = ["Lunch", "Coffee", "Meeting", "Training", "Personal"]


def initial_reasons() -> list[str]:
    """The list the engine setting POSTDESK_BREAK_REASONS (a JSON list) gave before this
    migration, so an upgrade keeps it; else the defaults."""
    try:
        configured = json.loads(os.environ.get("POSTDESK_BREAK_REASONS", ""))
    except ValueError:
        return DEFAULT_REASONS
    if isinstance(configured, list) and all(isinstance(r, str) for r in configured):
        names = list(dict.fromkeys(r.strip()[:40] for r in configured if r.strip()))
        return names or DEFAULT_REASONS
    return DEFAULT_REASONS


def upgrade() -> None:
    table = op.create_table(
        "break_reasons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_break_reasons")),
        sa.UniqueConstraint("name", name=op.f("uq_break_reasons_name")),
    )
    op.bulk_insert(
        table, [{"name": name, "position": i} for i, name in enumerate(initial_reasons())]
    )


def downgrade() -> None:
    op.drop_table("break_reasons")
