"""recordings search: indexes for the filters supervisors and agents combine most

- `ix_interactions_agent_last` (agent_id, last_message_at): an agent's own recordings,
  newest first (what every agent's search is), read in order and stopped after a page,
  instead of walking everyone's newest-first order to find one agent's rows in 60.
- `ix_interactions_direction_created` (direction, created_at): "sent mail of a period"
  seeks its rows in order instead of reading the whole period to check each one's direction.
- `ix_interactions_created_client` (created_at, client_email, client_name, last_message_at):
  any part of an address within a period is checked, and the matches sorted newest first, in
  the index alone (no row read), where the trigram index reads a common domain's every hit.

- `ix_interactions_campaign_created` gains last_message_at: a campaign's period, newest first,
  is sorted in the index instead of reading each of its rows.

Plain B-tree indexes on both backends (PostgreSQL's planner uses them as it sees fit); built
for the existing rows by CREATE INDEX here.

Revision ID: 0035
Revises: 0033
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0035"
# Chained to the head of main when this was written (0033); the lead re-chains at merge.
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("ix_interactions_agent_last", ["agent_id", "last_message_at"]),
    ("ix_interactions_direction_created", ["direction", "created_at"]),
    (
        "ix_interactions_created_client",
        ["created_at", "client_email", "client_name", "last_message_at"],
    ),
]


CAMPAIGN = "ix_interactions_campaign_created"


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, "interactions", columns)
    op.drop_index(CAMPAIGN, table_name="interactions")
    op.create_index(CAMPAIGN, "interactions", ["campaign_id", "created_at", "last_message_at"])


def downgrade() -> None:
    op.drop_index(CAMPAIGN, table_name="interactions")
    op.create_index(CAMPAIGN, "interactions", ["campaign_id", "created_at"])
    for name, _ in INDEXES:
        op.drop_index(name, table_name="interactions")
