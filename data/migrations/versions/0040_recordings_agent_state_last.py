"""recordings search: an agent's interactions of one state, newest first, from one index

`ix_interactions_agent` (agent_id, state) becomes `ix_interactions_agent_state_last`
(agent_id, state, last_message_at). Every lookup the old one served (an agent's open
interactions: the inbox, the router's load) is a prefix of the new one. What it adds: a
supervisor's "agent + closed" search walks that agent's closed interactions already in the
result's order and stops after a page (40 entries), and counts them to the cap without
reading a row, instead of counting the agent's ~8,000 closed rows to decide how to sort
them (~0.5 ms of ~1 ms on the 1M-message benchmark).

The entry changes with each message (last_message_at), as `ix_interactions_agent_last`'s
does: one index replaced by one, so writing costs about what it did.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0040"
# Chained to the head of main when this was written (0039); the lead re-chains at merge.
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_interactions_agent_state_last",
        "interactions",
        ["agent_id", "state", "last_message_at"],
    )
    op.drop_index("ix_interactions_agent", table_name="interactions")


def downgrade() -> None:
    op.create_index("ix_interactions_agent", "interactions", ["agent_id", "state"])
    op.drop_index("ix_interactions_agent_state_last", table_name="interactions")
