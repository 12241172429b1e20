"""the email dialer sends: each record keeps its Message-ID, attempts and times

A record's Message-ID is what ties a bounce, a complaint, a seen image or the customer's
answer back to it; it is chosen before the SMTP transaction and stored with the state
`sending`, so a restart after a kill knows which records may have gone out.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs: no copy of a table that may hold millions of records.
    op.add_column(
        "dialer_records",
        sa.Column("rfc_message_id", sa.String(length=998), nullable=False, server_default=""),
    )
    op.add_column(
        "dialer_records",
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "dialer_records", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("dialer_records", sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("dialer_records", sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_dialer_records_rfc_message_id"), "dialer_records", ["rfc_message_id"])
    # The token of the record's public links (seen image, unsubscribe), minted when it is
    # sent; NULL until then, and NULLs never clash in a unique index.
    op.add_column("dialer_records", sa.Column("link_token", sa.String(length=22), nullable=True))
    op.create_index(
        op.f("ix_dialer_records_link_token"), "dialer_records", ["link_token"], unique=True
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_dialer_records_rfc_message_id"), table_name="dialer_records")
    op.drop_index(op.f("ix_dialer_records_link_token"), table_name="dialer_records")
    for column in (
        "link_token",
        "seen_at",
        "sent_at",
        "next_attempt_at",
        "attempts",
        "rfc_message_id",
    ):
        op.drop_column("dialer_records", column)
