"""recordings search: an agent's recordings of a period, and sorted by client

- `ix_interactions_agent_created` (agent_id, created_at): an agent's interactions of a
  period (sent mail of a month, a campaign's month, as every third search is an agent's)
  are the few hundred rows of that range, instead of the period's every row (23,000 in a
  month of the benchmark) read to find the agent's, or the agent's every row (9,000) read
  to find the period's.
- `ix_interactions_agent_client` (agent_id, client_email): an agent's recordings sorted by
  client are walked in that order and stopped after a page, instead of walking everyone's
  client order (60 times more rows) probing each for the agent and the words.

Neither holds a column that changes with each message (last_message_at): a new message
touches neither; an interaction's creation and its assignment write one entry in each.
Plain B-tree indexes on both backends (PostgreSQL's planner uses them as it sees fit).

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0038"
# Chained to the head of main when this was written (0037); the lead re-chains at merge.
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("ix_interactions_agent_created", ["agent_id", "created_at"]),
    ("ix_interactions_agent_client", ["agent_id", "client_email"]),
]


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, "interactions", columns)


def downgrade() -> None:
    for name, _ in INDEXES:
        op.drop_index(name, table_name="interactions")
