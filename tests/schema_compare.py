"""What the schema comparisons leave out: the migrated database against the models.

Shared by the SQLite check (`test_migrations.py`) and the PostgreSQL one
(`test_postgres_schema.py`), so neither test module imports the other.
"""

from __future__ import annotations


def not_a_search_index(name: str | None, type_: str, _parent: object) -> bool:
    """The FTS5 tables of migration 0020 (and their shadow tables) have no model: SQLAlchemy
    cannot declare a virtual table, and only the recordings search reads them. Nor do the
    PostgreSQL trigram and word indexes of 0029 (one database's, an expression among them)."""
    return not (type_ in ("table", "index") and (name or "").startswith("search_"))
