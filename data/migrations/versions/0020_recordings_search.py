"""recordings search: full-text indexes kept by triggers in the writer's own transaction

`search_interactions` (FTS5, trigram: any part of an address, name or subject) is an external
content index over `interactions`. `search_bodies` (FTS5, unicode61 without diacritics: the
words of the messages) holds ONE document per interaction, its messages' text joined in id
order, so a hit is an interaction id: counting and intersecting need no join. Its content is
the view `search_body_docs`, which lets `rebuild` and `integrity-check` work.

Triggers on `interactions` and `messages` keep both in the same transaction as whatever wrote
the row (ingest, the outbox, a cascade delete): no service code knows the index exists. An
external content index must be told the exact old text to remove a document; each trigger
rebuilds the old document from the table plus `old.text`, in the same order the view uses.

A later migration that rebuilds `messages` or `interactions` (batch_alter_table on SQLite)
drops their triggers: it must run TRIGGERS again (tests/test_recordings_index.py notices).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
# Chained to the head of main when this was written (0019); the lead re-chains at merge.
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NL = "char(10)"


def _doc(
    interaction: str, *, without: str | None = None, plus: tuple[str, str] | None = None
) -> str:
    """The body document of `interaction` as SQL: its messages' text joined by newlines in
    id order, leaving out message `without` and adding (`id`, `text`) `plus`."""
    rows = f"SELECT id, text AS t FROM messages WHERE interaction_id = {interaction}"
    if without is not None:
        rows += f" AND id != {without}"
    if plus is not None:
        rows += f" UNION ALL SELECT {plus[0]}, {plus[1]}"
    return f"(SELECT group_concat(t, {NL}) FROM ({rows} ORDER BY 1))"


def _refresh(interaction: str, old_doc: str) -> str:
    """Statements replacing `interaction`'s document: remove `old_doc` (when it existed),
    index the current one (when the interaction still has messages)."""
    return (
        f"INSERT INTO search_bodies(search_bodies, rowid, body)"
        f" SELECT 'delete', {interaction}, d FROM (SELECT {old_doc} AS d) WHERE d IS NOT NULL;\n"
        f"INSERT INTO search_bodies(rowid, body)"
        f" SELECT {interaction}, d FROM (SELECT {_doc(interaction)} AS d) WHERE d IS NOT NULL;\n"
    )


TABLES = [
    "CREATE VIRTUAL TABLE search_interactions USING fts5("
    "client_email, client_name, subject,"
    " content='interactions', content_rowid='id', tokenize='trigram')",
    "CREATE VIEW search_body_docs AS"
    f" SELECT interaction_id, group_concat(text, {NL}) AS body"
    " FROM (SELECT interaction_id, text FROM messages ORDER BY interaction_id, id)"
    " GROUP BY interaction_id",
    "CREATE VIRTUAL TABLE search_bodies USING fts5("
    "body, content='search_body_docs', content_rowid='interaction_id',"
    " tokenize='unicode61 remove_diacritics 2')",
]

# A message moved to another interaction: that one's document before the move.
_MOVED_FROM = _doc("new.interaction_id", without="new.id")

TRIGGERS = [
    # ---- interactions: addresses, names, subjects ----
    "CREATE TRIGGER search_interactions_ai AFTER INSERT ON interactions BEGIN"
    " INSERT INTO search_interactions(rowid, client_email, client_name, subject)"
    " VALUES (new.id, new.client_email, new.client_name, new.subject); END",
    "CREATE TRIGGER search_interactions_ad AFTER DELETE ON interactions BEGIN"
    " INSERT INTO search_interactions(search_interactions, rowid, client_email, client_name,"
    " subject) VALUES ('delete', old.id, old.client_email, old.client_name, old.subject); END",
    "CREATE TRIGGER search_interactions_au"
    " AFTER UPDATE OF client_email, client_name, subject ON interactions BEGIN"
    " INSERT INTO search_interactions(search_interactions, rowid, client_email, client_name,"
    " subject) VALUES ('delete', old.id, old.client_email, old.client_name, old.subject);"
    " INSERT INTO search_interactions(rowid, client_email, client_name, subject)"
    " VALUES (new.id, new.client_email, new.client_name, new.subject); END",
    # ---- messages: one document per interaction ----
    "CREATE TRIGGER search_bodies_ai AFTER INSERT ON messages BEGIN\n"
    + _refresh("new.interaction_id", _doc("new.interaction_id", without="new.id"))
    + "END",
    "CREATE TRIGGER search_bodies_ad AFTER DELETE ON messages BEGIN\n"
    + _refresh("old.interaction_id", _doc("old.interaction_id", plus=("old.id", "old.text")))
    + "END",
    # A delivery state change touches neither column, so sending costs the index nothing.
    "CREATE TRIGGER search_bodies_au AFTER UPDATE OF text, interaction_id ON messages BEGIN\n"
    + _refresh(
        "old.interaction_id",
        _doc("old.interaction_id", without="old.id", plus=("old.id", "old.text")),
    )
    + "INSERT INTO search_bodies(search_bodies, rowid, body)"
    f" SELECT 'delete', new.interaction_id, d FROM (SELECT {_MOVED_FROM} AS d)"
    " WHERE d IS NOT NULL AND new.interaction_id != old.interaction_id;\n"
    "INSERT INTO search_bodies(rowid, body)"
    f" SELECT new.interaction_id, d FROM (SELECT {_doc('new.interaction_id')} AS d)"
    " WHERE d IS NOT NULL AND new.interaction_id != old.interaction_id;\n"
    "END",
]

# The sort orders the search offers, each with the id as tie-breaker (stable pages).
INDEXES = [
    ("ix_interactions_last_message_at", ["last_message_at", "id"]),
    ("ix_interactions_client_email", ["client_email", "id"]),
    ("ix_interactions_subject", ["subject", "id"]),
    # A campaign's interactions of a period, the commonest plain filter, without a sort.
    ("ix_interactions_campaign_created", ["campaign_id", "created_at"]),
]


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, "interactions", columns)
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL: tsvector + pg_trgm, see docs/recordings.md
    for statement in TABLES + TRIGGERS:
        op.execute(statement)
    # Existing data: both indexes built from their content in this transaction.
    op.execute("INSERT INTO search_interactions(search_interactions) VALUES ('rebuild')")
    op.execute("INSERT INTO search_bodies(search_bodies) VALUES ('rebuild')")


def downgrade() -> None:
    for name, _ in INDEXES:
        op.drop_index(name, table_name="interactions")
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in (
        "search_interactions_ai",
        "search_interactions_ad",
        "search_interactions_au",
        "search_bodies_ai",
        "search_bodies_ad",
        "search_bodies_au",
    ):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS search_bodies")
    op.execute("DROP VIEW IF EXISTS search_body_docs")
    op.execute("DROP TABLE IF EXISTS search_interactions")
