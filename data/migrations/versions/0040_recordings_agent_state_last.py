"""recordings search: an agent's mail of one state newest first; addresses and subjects
checked along the newest-first index without reading rows

- `ix_interactions_agent` (agent_id, state) becomes `ix_interactions_agent_state_last`
  (agent_id, state, last_message_at). Every lookup the old one served (an agent's open
  interactions: the inbox, the router's load) is a prefix of the new one. What it adds: a
  supervisor's "agent + closed" search walks that agent's closed interactions already in
  the result's order and stops after a page (40 entries), and counts them to the cap
  without reading a row, instead of counting the agent's ~8,000 closed rows to decide how
  to sort them (~0.5 ms of ~1 ms on the 1M-message benchmark). The entry changes with
  each message (last_message_at), as `ix_interactions_agent_last`'s does: one index
  replaced by one.
- `ix_interactions_last_message_at` (last_message_at, id) gains the client's address and
  name and the subject. A common part of an address or subject (`gmail.com`, `refund`) is
  found by walking that index newest first and checking each entry with LIKE: ~1,000
  entries for a page of a domain, 400 of a subject word, each a row read (~1.4 us) before,
  now checked in the index entry itself. Same name: every INDEXED BY keeps working. The
  entries grow by those three texts (~60 bytes); the entry was rewritten with each
  message already.
- `ix_interactions_agent_created` (agent_id, created_at, 0038) gains campaign_id and
  direction: an agent's campaign or sent mail of a month is counted, and sent mail by date
  walked, in the index alone (the agent's ~375 rows of a month each read for its campaign
  or direction before). Neither column changes with a message; a transfer to another
  campaign now rewrites this entry too.

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


LAST = "ix_interactions_last_message_at"
LAST_COVERING = ["last_message_at", "id", "client_email", "client_name", "subject"]
AGENT_CREATED = "ix_interactions_agent_created"
AGENT_CREATED_COVERING = ["agent_id", "created_at", "campaign_id", "direction"]


def upgrade() -> None:
    op.drop_index(LAST, table_name="interactions")
    op.create_index(LAST, "interactions", LAST_COVERING)
    op.drop_index(AGENT_CREATED, table_name="interactions")
    op.create_index(AGENT_CREATED, "interactions", AGENT_CREATED_COVERING)
    op.create_index(
        "ix_interactions_agent_state_last",
        "interactions",
        ["agent_id", "state", "last_message_at"],
    )
    op.drop_index("ix_interactions_agent", table_name="interactions")


def downgrade() -> None:
    op.drop_index(LAST, table_name="interactions")
    op.create_index(LAST, "interactions", ["last_message_at", "id"])
    op.drop_index(AGENT_CREATED, table_name="interactions")
    op.create_index(AGENT_CREATED, "interactions", ["agent_id", "created_at"])
    op.create_index("ix_interactions_agent", "interactions", ["agent_id", "state"])
    op.drop_index("ix_interactions_agent_state_last", table_name="interactions")
