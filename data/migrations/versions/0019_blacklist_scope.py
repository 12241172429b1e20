"""blacklist per campaign: an unsubscribe applies to the campaign whose mail it came from, a
complaint (and an admin's entry without a campaign) to all; one entry per address and scope

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # `campaign_id` meant "came from"; it now means "applies to". Only unsubscribes keep it:
    # a complaint was always meant to stop every campaign's mail.
    op.execute(
        "UPDATE blacklist SET campaign_id = NULL"
        " WHERE source NOT IN ('unsubscribe-link', 'one-click')"
    )
    with op.batch_alter_table("blacklist") as batch:
        batch.drop_constraint(op.f("uq_blacklist_email"), type_="unique")
        batch.create_unique_constraint(
            op.f("uq_blacklist_email_campaign_id"), ["email", "campaign_id"]
        )
        batch.create_index(op.f("ix_blacklist_email"), ["email"], unique=False)


def downgrade() -> None:
    # One entry per address again: the earliest of each address stays, applying to all.
    op.execute(
        "DELETE FROM blacklist WHERE id NOT IN (SELECT min(id) FROM blacklist GROUP BY email)"
    )
    op.execute("UPDATE blacklist SET campaign_id = NULL")
    with op.batch_alter_table("blacklist") as batch:
        batch.drop_index(op.f("ix_blacklist_email"))
        batch.drop_constraint(op.f("uq_blacklist_email_campaign_id"), type_="unique")
        batch.create_unique_constraint(op.f("uq_blacklist_email"), ["email"])
