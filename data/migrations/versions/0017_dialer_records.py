"""the email dialer as records: its schedule's zone and dates, SMTP account caps, dialer
attachments and which lists use them, one list name per dialer, lists being imported

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs, not batch copies: a copy of `dialers` would be a drop of the table
    # its lists and schedules reference.
    op.add_column(
        "dialers",
        sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC"),
    )
    op.add_column("dialers", sa.Column("starts_on", sa.Date(), nullable=True))
    op.add_column("dialers", sa.Column("ends_on", sa.Date(), nullable=True))
    op.add_column(
        "uploaded_files",
        sa.Column("purpose", sa.String(length=16), nullable=False, server_default=""),
    )
    # Nothing wrote dialer lists before this revision; should two of a dialer share a name,
    # the later ones are told apart by their id.
    op.execute(
        "UPDATE dialer_lists SET name = name || ' #' || id WHERE id NOT IN "
        "(SELECT MIN(id) FROM dialer_lists GROUP BY dialer_id, name)"
    )
    with op.batch_alter_table("dialer_lists") as batch:
        batch.add_column(
            sa.Column("importing", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_unique_constraint(op.f("uq_dialer_lists_dialer_id"), ["dialer_id", "name"])
    op.create_table(
        "smtp_limits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("smtp_host", sa.String(length=255), nullable=False),
        sa.Column("smtp_port", sa.Integer(), nullable=False),
        sa.Column("smtp_username", sa.String(length=320), nullable=False),
        sa.Column("per_minute", sa.Integer(), nullable=False),
        sa.Column("per_hour", sa.Integer(), nullable=False),
        sa.Column("per_day", sa.Integer(), nullable=False),
        sa.Column("connections", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smtp_limits")),
        sa.UniqueConstraint(
            "smtp_host", "smtp_port", "smtp_username", name=op.f("uq_smtp_limits_smtp_host")
        ),
    )
    op.create_table(
        "dialer_list_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["dialer_lists.id"],
            name=op.f("fk_dialer_list_attachments_list_id_dialer_lists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["uploaded_files.id"],
            name=op.f("fk_dialer_list_attachments_file_id_uploaded_files"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dialer_list_attachments")),
        sa.UniqueConstraint("list_id", "file_id", name=op.f("uq_dialer_list_attachments_list_id")),
    )
    op.create_index(
        op.f("ix_dialer_list_attachments_file_id"), "dialer_list_attachments", ["file_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_dialer_list_attachments_file_id"), "dialer_list_attachments")
    op.drop_table("dialer_list_attachments")
    op.drop_table("smtp_limits")
    with op.batch_alter_table("dialer_lists") as batch:
        batch.drop_constraint(op.f("uq_dialer_lists_dialer_id"), type_="unique")
        batch.drop_column("importing")
    op.drop_column("uploaded_files", "purpose")
    op.drop_column("dialers", "ends_on")
    op.drop_column("dialers", "starts_on")
    op.drop_column("dialers", "time_zone")
