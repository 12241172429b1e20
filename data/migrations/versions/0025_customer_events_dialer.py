"""customer events name the dialer record they are about (seen, unsubscribe, rejected, spam)

The public web service writes a `customer_events` row in the transaction that marks a dialer
record seen or unsubscribes its address, and the ingest one when a bounce or complaint marks a
record rejected or spam; the engine reads them to tell the dialer's dashboard. The table only
holds a day of news, so the copy SQLite needs to add a foreign key costs nothing.

Revision ID: 0025
Revises: 0023
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
# Chained to the head of main when this was written (0023); the lead re-chains at merge.
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dialer_record_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_customer_events_dialer_record_id_dialer_records"),
            "dialer_records",
            ["dialer_record_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_events", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_customer_events_dialer_record_id_dialer_records"), type_="foreignkey"
        )
        batch_op.drop_column("dialer_record_id")
