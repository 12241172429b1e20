"""interactions.message_count: each interaction's number of messages, kept by triggers

Every list of interactions shows how many messages each has (the inbox, the supervisors'
lists, a page of the recordings search). Counted per row at read time, that is an index
seek per interaction into `ix_messages_interaction_id`: on the 1M-message benchmark the
count was half of what reading a page of 40 scattered rows cost (0.18 ms of 0.36 ms,
bench/search.py), and an inbox of thousands grouped the same index every time a console
started. Stored on the row, it is read with the row.

Triggers keep it in the writer's own transaction, whatever wrote the message (ingest's
batches, the outbox, a transfer's copies, a cascade delete): as with the search index
(0020), no service code has to remember it. A message moved to another interaction
counts in its new one only.

On SQLite the column is added with ALTER TABLE, not a table rebuild: the search triggers
of 0020 on `interactions` stay.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ADD = "UPDATE interactions SET message_count = message_count + 1 WHERE id = new.interaction_id;"
_REMOVE = "UPDATE interactions SET message_count = message_count - 1 WHERE id = old.interaction_id;"

SQLITE_TRIGGERS = {
    "messages_count_ai": f"AFTER INSERT ON messages BEGIN {_ADD} END",
    "messages_count_ad": f"AFTER DELETE ON messages BEGIN {_REMOVE} END",
    "messages_count_au": (
        "AFTER UPDATE OF interaction_id ON messages"
        f" WHEN new.interaction_id IS NOT old.interaction_id BEGIN {_REMOVE} {_ADD} END"
    ),
}

# One function for the three events. `SET search_path FROM CURRENT`: the tables it names
# are found where they were at creation, whatever the session's path (a restore's is empty).
PG_FUNCTION = """
CREATE OR REPLACE FUNCTION postdesk_count_messages() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.interaction_id IS NOT DISTINCT FROM NEW.interaction_id THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE interactions SET message_count = message_count - 1 WHERE id = OLD.interaction_id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    UPDATE interactions SET message_count = message_count + 1 WHERE id = NEW.interaction_id;
  END IF;
  RETURN NULL;
END $$
"""
PG_TRIGGER = (
    "CREATE TRIGGER messages_count AFTER INSERT OR DELETE OR UPDATE OF interaction_id"
    " ON messages FOR EACH ROW EXECUTE FUNCTION postdesk_count_messages()"
)

BACKFILL = (
    "UPDATE interactions SET message_count ="
    " (SELECT count(*) FROM messages WHERE messages.interaction_id = interactions.id)"
    " WHERE EXISTS (SELECT 1 FROM messages WHERE messages.interaction_id = interactions.id)"
)


def upgrade() -> None:
    op.add_column(
        "interactions",
        sa.Column("message_count", sa.Integer(), nullable=False, server_default="0"),
    )
    if op.get_bind().dialect.name == "sqlite":
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    else:
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    # Existing data, in the same transaction as the triggers: no message is missed.
    op.execute(BACKFILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS messages_count ON messages")
        op.execute("DROP FUNCTION IF EXISTS postdesk_count_messages()")
    op.drop_column("interactions", "message_count")
