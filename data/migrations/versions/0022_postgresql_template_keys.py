"""PostgreSQL: the campaigns' template foreign keys that 0001 declared with use_alter

Alembic's create_table leaves out a foreign key marked use_alter (it expects a separate
create_foreign_key), so on PostgreSQL 0001 made the campaigns table without the keys to its
signature and confirmation templates; SQLite's table copies had them. Added here where missing.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = ("signature_template_id", "confirmation_template_id")


def _missing() -> list[str]:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return []
    present = {
        tuple(fk["constrained_columns"]) for fk in sa.inspect(bind).get_foreign_keys("campaigns")
    }
    return [column for column in KEYS if (column,) not in present]


def upgrade() -> None:
    for column in _missing():
        # What the key's ON DELETE SET NULL would have done to a template deleted meanwhile.
        op.execute(
            f"UPDATE campaigns SET {column} = NULL WHERE {column} IS NOT NULL"
            f" AND {column} NOT IN (SELECT id FROM templates)"
        )
        op.create_foreign_key(
            op.f(f"fk_campaigns_{column}_templates"),
            "campaigns",
            "templates",
            [column],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    pass  # the keys belong to the schema 0001 meant; nothing to undo
